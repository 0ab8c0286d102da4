use bytes::{Bytes, BytesMut};
use weir_core::{Error, Output, Transform};

/// The default maximum line length: 1 MiB (not part of the semver contract).
const DEFAULT_MAX_LINE: usize = 1024 * 1024;

/// Splits a byte stream into lines, across chunk boundaries.
///
/// A [`Transform`] from `Bytes` to `Bytes`: each output chunk is one line
/// without its `\n` (and, by default, without the `\r` of a `\r\n`). Lines
/// inside one input chunk are slices of it (no copy); only a line spanning
/// chunks is gathered. A last line without a newline is emitted at the end
/// of input; empty lines are emitted as empty chunks.
///
/// A line longer than the maximum (1 MiB by default) is an error as soon as
/// it is seen to be too long, so a stream without newlines cannot make it
/// buffer forever.
///
/// # Errors
/// A line longer than the maximum: an error for which `Error::is_limit` is
/// true, naming the line number and the byte offset where the line starts.
///
/// # Examples
/// ```
/// use bytes::Bytes;
/// use futures::TryStreamExt;
/// use weir::codecs::Lines;
/// use weir::{readable, ReadableExt};
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), weir::Error> {
/// let src = readable::from_iter([&b"GET /a\r\nGET"[..], b" /b\n", b"\nlast"].map(Bytes::from_static));
/// let lines: Vec<Bytes> = src.through(Lines::new()).try_collect().await?;
/// assert_eq!(lines, ["GET /a", "GET /b", "", "last"]);
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct Lines {
    pending: BytesMut,
    max: usize,
    crlf: bool,
    /// Stream offset of the first byte of the current line.
    line_start: u64,
    line_no: u64,
}

impl Lines {
    /// Lines split on `\n`, a trailing `\r` removed, at most 1 MiB each.
    pub fn new() -> Self {
        Lines::builder().build()
    }

    /// Lines of at most `max` bytes (not counting the line ending).
    pub fn with_max_length(max: usize) -> Self {
        Lines::builder().max_length(max).build()
    }

    /// A builder for the maximum length and `\r\n` handling.
    pub fn builder() -> LinesBuilder {
        LinesBuilder {
            max: DEFAULT_MAX_LINE,
            crlf: true,
        }
    }

    fn too_long(&self) -> Error {
        Error::limit(format!(
            "lines: line {} starting at byte offset {} is longer than {} bytes",
            self.line_no, self.line_start, self.max
        ))
    }

    /// Finishes one line (without its `\n`).
    fn emit(
        &mut self,
        mut line: Bytes,
        consumed: u64,
        out: &mut Output<Bytes>,
    ) -> Result<(), Error> {
        if self.crlf && line.last() == Some(&b'\r') {
            line.truncate(line.len() - 1);
        }
        if line.len() > self.max {
            return Err(self.too_long());
        }
        out.push(line);
        self.line_start += consumed;
        self.line_no += 1;
        Ok(())
    }

    /// The longest a line may be while its end is not yet seen: one more
    /// byte when it may still end in `\r\n`.
    fn pending_cap(&self) -> usize {
        self.max.saturating_add(usize::from(self.crlf))
    }
}

impl Default for Lines {
    fn default() -> Self {
        Lines::new()
    }
}

impl Transform for Lines {
    type In = Bytes;
    type Out = Bytes;

    fn transform(&mut self, chunk: Bytes, out: &mut Output<Bytes>) -> Result<(), Error> {
        let mut start = 0;
        while let Some(i) = chunk[start..].iter().position(|&b| b == b'\n') {
            let end = start + i;
            let (line, len) = if self.pending.is_empty() {
                (chunk.slice(start..end), end - start)
            } else {
                if self.pending.len() + (end - start) > self.pending_cap() {
                    return Err(self.too_long());
                }
                self.pending.extend_from_slice(&chunk[start..end]);
                let len = self.pending.len();
                (self.pending.split().freeze(), len)
            };
            self.emit(line, len as u64 + 1, out)?;
            start = end + 1;
        }
        let rest = &chunk[start..];
        if self.pending.len() + rest.len() > self.pending_cap() {
            return Err(self.too_long());
        }
        self.pending.extend_from_slice(rest);
        Ok(())
    }

    fn flush(&mut self, out: &mut Output<Bytes>) -> Result<(), Error> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let len = self.pending.len() as u64;
        let line = self.pending.split().freeze();
        self.emit(line, len, out)
    }

    fn name(&self) -> &str {
        "lines"
    }
}

/// Configures [`Lines`]. Made by [`Lines::builder`].
///
/// # Examples
/// ```
/// use weir::codecs::Lines;
///
/// // Keep `\r` as part of the line; refuse lines over 16 KiB.
/// let lines = Lines::builder().crlf(false).max_length(16 * 1024).build();
/// # let _ = lines;
/// ```
#[derive(Debug, Clone)]
pub struct LinesBuilder {
    max: usize,
    crlf: bool,
}

impl LinesBuilder {
    /// The longest line accepted, in bytes, not counting the line ending.
    /// Default 1 MiB (not part of the semver contract).
    pub fn max_length(&mut self, max: usize) -> &mut Self {
        self.max = max;
        self
    }

    /// Whether a `\r` before the `\n` is removed (so `\r\n` ends lines
    /// too). Default `true`; with `false` only `\n` is removed.
    pub fn crlf(&mut self, yes: bool) -> &mut Self {
        self.crlf = yes;
        self
    }

    /// The transform.
    pub fn build(&self) -> Lines {
        Lines {
            pending: BytesMut::new(),
            max: self.max,
            crlf: self.crlf,
            line_start: 0,
            line_no: 1,
        }
    }
}
