//! The error type shared by every weir crate.

use std::fmt;
use std::io;
use std::sync::Arc;

/// A boxed error, as carried in [`Error::source`](std::error::Error::source).
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// What went wrong in a stream, a buffer or a stage.
///
/// `Error` is opaque: ask it what it is with the `is_*` methods, which stage it
/// came from with [`stage`](Error::stage), and what caused it with
/// [`source`](std::error::Error::source). Its `Display` is one short lowercase
/// line naming the stage (when known) and the kind of failure with its message;
/// the underlying cause (an `io::Error`, say) is in the source chain.
///
/// # `std::io::Error` interop
/// `From<io::Error>` wraps an I/O error (and unwraps a weir `Error` that was
/// carried inside an `io::Error` earlier, so a round trip loses nothing).
/// `From<Error> for io::Error` gives back the original I/O error for I/O
/// failures and otherwise an `io::Error` of a fitting kind
/// (`InvalidData` for corrupt input, `BrokenPipe` when the reader is gone, …)
/// whose `get_ref()` downcasts to this `Error`.
///
/// # Examples
/// ```
/// use weir::Error;
///
/// let err = Error::corrupt("bad crc32").with_stage("gunzip");
/// assert!(err.is_corrupt());
/// assert_eq!(err.stage(), Some("gunzip"));
/// assert_eq!(err.to_string(), "gunzip: corrupt input: bad crc32");
///
/// let io: std::io::Error = err.into();
/// assert_eq!(io.kind(), std::io::ErrorKind::InvalidData);
/// let back = Error::from(io);
/// assert!(back.is_corrupt());
/// ```
pub struct Error {
    inner: Box<Inner>,
}

struct Inner {
    kind: Kind,
    stage: Option<Arc<str>>,
    message: Option<Box<str>>,
    source: Option<BoxError>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Io,
    Corrupt,
    Limit,
    Overflow,
    Aborted,
    ReaderGone,
    WriterDropped,
    Ended,
    Cancelled,
    Timeout,
    Stalled,
    Panicked,
    Other,
}

impl Kind {
    fn describe(self) -> &'static str {
        match self {
            Kind::Io => "i/o error",
            Kind::Corrupt => "corrupt input",
            Kind::Limit => "limit exceeded",
            Kind::Overflow => "buffer overflow",
            Kind::Aborted => "aborted",
            Kind::ReaderGone => "reader gone",
            Kind::WriterDropped => "writer dropped before end",
            Kind::Ended => "write after end",
            Kind::Cancelled => "cancelled",
            Kind::Timeout => "timed out",
            Kind::Stalled => "stalled",
            Kind::Panicked => "panicked",
            Kind::Other => "error",
        }
    }

    fn io_kind(self) -> io::ErrorKind {
        match self {
            Kind::Io | Kind::Other | Kind::Panicked => io::ErrorKind::Other,
            Kind::Corrupt => io::ErrorKind::InvalidData,
            Kind::Limit | Kind::Overflow => io::ErrorKind::OutOfMemory,
            Kind::Aborted | Kind::Cancelled => io::ErrorKind::Interrupted,
            Kind::ReaderGone | Kind::Ended => io::ErrorKind::BrokenPipe,
            Kind::WriterDropped => io::ErrorKind::UnexpectedEof,
            Kind::Timeout | Kind::Stalled => io::ErrorKind::TimedOut,
        }
    }
}

impl Error {
    fn new(kind: Kind) -> Self {
        Error {
            inner: Box::new(Inner {
                kind,
                stage: None,
                message: None,
                source: None,
            }),
        }
    }

    fn with_message(kind: Kind, message: impl Into<String>) -> Self {
        let mut e = Error::new(kind);
        e.inner.message = Some(message.into().into_boxed_str());
        e
    }

    fn with_source(kind: Kind, source: impl Into<BoxError>) -> Self {
        let mut e = Error::new(kind);
        e.inner.source = Some(source.into());
        e
    }

    /// An I/O failure; `source` is the underlying error.
    pub fn io(source: io::Error) -> Self {
        Error::from(source)
    }

    /// Input that cannot be decoded: a bad checksum, a truncated frame, a
    /// malformed header. `message` says what was wrong (and where, if known).
    pub fn corrupt(message: impl Into<String>) -> Self {
        Error::with_message(Kind::Corrupt, message)
    }

    /// A configured limit was exceeded (maximum output size, line length,
    /// request body size, expansion ratio…).
    pub fn limit(message: impl Into<String>) -> Self {
        Error::with_message(Kind::Limit, message)
    }

    /// A write past a buffer's hard cap under the [`Overflow::Error`](crate::Overflow::Error) policy.
    pub fn overflow(message: impl Into<String>) -> Self {
        Error::with_message(Kind::Overflow, message)
    }

    /// The stream was aborted on purpose (Node's `destroy(err)`); `reason`
    /// says why.
    pub fn aborted(reason: impl Into<String>) -> Self {
        Error::with_message(Kind::Aborted, reason)
    }

    /// The stream was aborted because of another error, kept as the source.
    pub fn aborted_by(source: impl Into<BoxError>) -> Self {
        Error::with_source(Kind::Aborted, source)
    }

    /// The consuming side has gone away (a dropped reader, a closed peer).
    pub fn reader_gone() -> Self {
        Error::new(Kind::ReaderGone)
    }

    /// The producing side went away without ending the stream: what was
    /// received is incomplete.
    pub fn writer_dropped() -> Self {
        Error::new(Kind::WriterDropped)
    }

    /// A write was attempted after the stream was ended.
    pub fn ended() -> Self {
        Error::new(Kind::Ended)
    }

    /// The work was cancelled from outside (a cancellation token, a dropped
    /// future).
    pub fn cancelled() -> Self {
        Error::new(Kind::Cancelled)
    }

    /// An operation took longer than allowed; `message` says which.
    pub fn timeout(message: impl Into<String>) -> Self {
        Error::with_message(Kind::Timeout, message)
    }

    /// A run made no progress for longer than allowed (a pipeline's stall
    /// watchdog); `message` says what every stage was waiting on.
    pub fn stalled(message: impl Into<String>) -> Self {
        Error::with_message(Kind::Stalled, message)
    }

    /// A stage panicked; `message` is the panic's payload when it was a string.
    pub fn panicked(message: impl Into<String>) -> Self {
        Error::with_message(Kind::Panicked, message)
    }

    /// Any other failure, wrapping its cause.
    pub fn other(source: impl Into<BoxError>) -> Self {
        Error::with_source(Kind::Other, source)
    }

    /// Any other failure, described by a message.
    pub fn msg(message: impl Into<String>) -> Self {
        Error::with_message(Kind::Other, message)
    }

    /// Names the stage this error came from, unless one is already named
    /// (the innermost stage is the one that failed).
    #[must_use]
    pub fn with_stage(mut self, stage: impl Into<Arc<str>>) -> Self {
        if self.inner.stage.is_none() {
            self.inner.stage = Some(stage.into());
        }
        self
    }

    /// The stage this error came from, if known.
    pub fn stage(&self) -> Option<&str> {
        self.inner.stage.as_deref()
    }

    /// The message given when the error was made, if any.
    pub fn message(&self) -> Option<&str> {
        self.inner.message.as_deref()
    }

    /// Whether this is an I/O failure.
    pub fn is_io(&self) -> bool {
        self.inner.kind == Kind::Io
    }
    /// Whether the input was corrupt (undecodable, truncated, bad checksum).
    pub fn is_corrupt(&self) -> bool {
        self.inner.kind == Kind::Corrupt
    }
    /// Whether a configured limit was exceeded.
    pub fn is_limit(&self) -> bool {
        self.inner.kind == Kind::Limit
    }
    /// Whether a write went past a buffer's hard cap.
    pub fn is_overflow(&self) -> bool {
        self.inner.kind == Kind::Overflow
    }
    /// Whether the stream was aborted on purpose.
    pub fn is_aborted(&self) -> bool {
        self.inner.kind == Kind::Aborted
    }
    /// Whether the consuming side has gone away.
    pub fn is_reader_gone(&self) -> bool {
        self.inner.kind == Kind::ReaderGone
    }
    /// Whether the producer went away without ending the stream.
    pub fn is_writer_dropped(&self) -> bool {
        self.inner.kind == Kind::WriterDropped
    }
    /// Whether a write came after the end.
    pub fn is_ended(&self) -> bool {
        self.inner.kind == Kind::Ended
    }
    /// Whether the work was cancelled.
    pub fn is_cancelled(&self) -> bool {
        self.inner.kind == Kind::Cancelled
    }
    /// Whether something timed out.
    pub fn is_timeout(&self) -> bool {
        self.inner.kind == Kind::Timeout
    }
    /// Whether a run was ended by its stall watchdog (no stage made progress
    /// for the stall timeout); [`stage`](Error::stage) names the stage that
    /// held it.
    pub fn is_stalled(&self) -> bool {
        self.inner.kind == Kind::Stalled
    }
    /// Whether a stage panicked.
    pub fn is_panic(&self) -> bool {
        self.inner.kind == Kind::Panicked
    }

    /// The `io::ErrorKind` this error maps to, for the underlying I/O error's
    /// own kind when it is an I/O failure.
    pub fn io_kind(&self) -> io::ErrorKind {
        if self.inner.kind == Kind::Io
            && let Some(e) = self
                .inner
                .source
                .as_ref()
                .and_then(|s| s.downcast_ref::<io::Error>())
        {
            return e.kind();
        }
        self.inner.kind.io_kind()
    }

    /// Whether `other` is the same kind of error (ignoring stage and message).
    #[cfg(feature = "testing")]
    pub(crate) fn same_kind(&self, other: &Error) -> bool {
        self.inner.kind == other.inner.kind
    }

    /// A copy of this error for a second receiver: same kind, stage and
    /// message; the source is kept as its text (a boxed source cannot be
    /// cloned in general).
    pub fn duplicate(&self) -> Error {
        let mut e = Error::new(self.inner.kind);
        e.inner.stage = self.inner.stage.clone();
        e.inner.message = self.inner.message.clone();
        if let Some(src) = &self.inner.source {
            e.inner.source = Some(if let Some(io) = src.downcast_ref::<io::Error>() {
                Box::new(io::Error::new(io.kind(), io.to_string()))
            } else {
                src.to_string().into()
            });
        }
        e
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("Error");
        d.field("kind", &self.inner.kind);
        if let Some(stage) = &self.inner.stage {
            d.field("stage", stage);
        }
        if let Some(m) = &self.inner.message {
            d.field("message", m);
        }
        if let Some(s) = &self.inner.source {
            d.field("source", s);
        }
        d.finish()
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(stage) = &self.inner.stage {
            write!(f, "{stage}: ")?;
        }
        match (&self.inner.message, self.inner.kind) {
            (Some(m), Kind::Other) => f.write_str(m),
            (Some(m), kind) => write!(f, "{}: {m}", kind.describe()),
            (None, Kind::Io | Kind::Other) => match &self.inner.source {
                // An I/O error's own text is the clearest one-line cause.
                Some(s) => write!(f, "{s}"),
                None => f.write_str(self.inner.kind.describe()),
            },
            (None, kind) => f.write_str(kind.describe()),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match (&self.inner.source, self.inner.kind, &self.inner.message) {
            // Display already printed the source's text for these.
            (Some(s), Kind::Io | Kind::Other, None) => s.source(),
            (Some(s), _, _) => Some(&**s),
            (None, _, _) => None,
        }
    }
}

impl From<io::Error> for Error {
    fn from(e: io::Error) -> Self {
        if e.get_ref().is_some_and(|inner| inner.is::<Error>()) {
            if let Some(inner) = e.into_inner()
                && let Ok(ours) = inner.downcast::<Error>()
            {
                return *ours;
            }
            // Unreachable in practice: `is::<Error>()` was true above.
            return Error::msg("i/o error");
        }
        Error::with_source(Kind::Io, e)
    }
}

/// Takes back whatever error a box holds: a boxed [`Error`] comes out as
/// itself, a boxed `io::Error` as [`From<io::Error>`](#impl-From%3CError%3E-for-Error)
/// makes it, and anything else becomes an error of kind "other" (none of
/// the `is_*` methods is true) holding the box, its text as the `Display`.
///
/// # Examples
/// ```
/// use weir::{BoxError, Error};
///
/// let boxed: BoxError = Error::corrupt("bad crc32").into();
/// assert!(Error::from(boxed).is_corrupt());
/// let boxed: BoxError = "no such user".into();
/// assert_eq!(Error::from(boxed).to_string(), "no such user");
/// ```
impl From<BoxError> for Error {
    fn from(e: BoxError) -> Self {
        match e.downcast::<Error>() {
            Ok(ours) => *ours,
            Err(e) => match e.downcast::<io::Error>() {
                Ok(io) => Error::from(*io),
                Err(other) => Error::with_source(Kind::Other, other),
            },
        }
    }
}

impl From<Error> for io::Error {
    fn from(e: Error) -> Self {
        if e.inner.kind == Kind::Io && e.inner.stage.is_none() {
            let Error { inner } = e;
            let Inner { source, .. } = *inner;
            if let Some(src) = source {
                return match src.downcast::<io::Error>() {
                    Ok(io) => *io,
                    Err(other) => io::Error::other(other),
                };
            }
            return io::Error::other("i/o error");
        }
        let kind = e.io_kind();
        io::Error::new(kind, e)
    }
}

/// A chunk that could not be written, handed back with the reason.
///
/// Returned by [`Writer::write`](crate::Writer::write) and
/// [`Writer::send`](crate::Writer::send) so that a failed write loses nothing:
/// [`into_inner`](SendError::into_inner) returns the chunk. With `?` it
/// converts into [`Error`], dropping the chunk.
pub struct SendError<T> {
    chunk: T,
    error: Error,
}

impl<T> SendError<T> {
    /// A chunk that could not be written, and why: for adapters built on a
    /// buffer that hand back the chunk with a more precise reason.
    ///
    /// # Examples
    /// ```
    /// use weir::{Error, SendError};
    ///
    /// let e = SendError::new("chunk", Error::reader_gone());
    /// assert_eq!(e.into_parts().0, "chunk");
    /// ```
    pub fn new(chunk: T, error: Error) -> Self {
        SendError { chunk, error }
    }

    /// Why the write failed.
    pub fn error(&self) -> &Error {
        &self.error
    }

    /// The chunk that was not written.
    pub fn into_inner(self) -> T {
        self.chunk
    }

    /// The chunk and the reason.
    pub fn into_parts(self) -> (T, Error) {
        (self.chunk, self.error)
    }
}

impl<T> fmt::Debug for SendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SendError")
            .field("error", &self.error)
            .finish_non_exhaustive()
    }
}

impl<T> fmt::Display for SendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.error, f)
    }
}

impl<T> std::error::Error for SendError<T> {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        std::error::Error::source(&self.error)
    }
}

impl<T> From<SendError<T>> for Error {
    fn from(e: SendError<T>) -> Self {
        e.error
    }
}

impl<T> From<SendError<T>> for io::Error {
    fn from(e: SendError<T>) -> Self {
        e.error.into()
    }
}
