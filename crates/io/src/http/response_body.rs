use std::fmt;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use futures_core::Stream;
use http_body::{Body, Frame, SizeHint};
use weir_core::Error;

type BoxReadable = Pin<Box<dyn Stream<Item = Result<Bytes, Error>> + Send + 'static>>;

enum Kind {
    Empty,
    Full(Option<Bytes>),
    Readable(BoxReadable),
}

/// An HTTP body (hyper's [`Body`]) made from any weir readable of `Bytes`
/// (Node's `readable.pipe(res)`).
///
/// Hyper asks for the next chunk only when it has room to write it, so the
/// readable is pulled at the pace the client takes the bytes: a slow client
/// slows the source, and what is read ahead of the client is bounded by
/// hyper's write buffer and the kernel's socket buffers, whatever the body's
/// size. An error from the readable ends the response early (hyper then
/// closes the connection, so the client sees a truncated transfer, never a
/// complete-looking one).
///
/// # Examples
/// ```
/// use bytes::Bytes;
/// use http_body_util::BodyExt;
/// use weir_io::http::ResponseBody;
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), weir_core::Error> {
/// let chunks = weir_core::readable::from_iter((0..3).map(|i| Bytes::from(format!("part {i};"))));
/// let body = ResponseBody::from_readable(chunks);
/// let all = body.collect().await?.to_bytes();
/// assert_eq!(all, "part 0;part 1;part 2;");
/// # Ok(()) }
/// ```
#[must_use = "bodies do nothing unless polled"]
pub struct ResponseBody {
    kind: Kind,
    len: Option<u64>,
}

impl fmt::Debug for ResponseBody {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match &self.kind {
            Kind::Empty => "empty",
            Kind::Full(_) => "full",
            Kind::Readable(_) => "readable",
        };
        f.debug_struct("ResponseBody")
            .field("kind", &kind)
            .field("len", &self.len)
            .finish()
    }
}

impl ResponseBody {
    /// A body with nothing in it.
    pub fn empty() -> Self {
        ResponseBody {
            kind: Kind::Empty,
            len: Some(0),
        }
    }

    /// A body of one chunk.
    pub fn full(bytes: impl Into<Bytes>) -> Self {
        let bytes = bytes.into();
        ResponseBody {
            len: Some(bytes.len() as u64),
            kind: Kind::Full(Some(bytes)),
        }
    }

    /// A body pulled from `readable`, of unknown length (sent chunked
    /// unless the response has a `Content-Length`).
    pub fn from_readable<S>(readable: S) -> Self
    where
        S: Stream<Item = Result<Bytes, Error>> + Send + 'static,
    {
        ResponseBody {
            kind: Kind::Readable(Box::pin(readable)),
            len: None,
        }
    }

    /// A body of what `pipeline` produces, and a handle on its run's report
    /// (Node's `stream.pipeline(source, gzip, res, callback)`).
    ///
    /// The pipeline ends in a bounded buffer (64 KiB) that the body reads,
    /// and the run starts when hyper first asks for the body: each stage
    /// runs on its own task as in [`Run::run`](weir_pipe::Run::run), and
    /// hyper pulls at the client's pace, so a slow client holds back the
    /// whole pipeline (the buffers bound what is read ahead).
    ///
    /// - **Errors abort the response.** When a stage fails, the body ends
    ///   with the run's error: hyper then closes the connection without
    ///   finishing the body (no final chunk of a chunked body; fewer bytes
    ///   than a declared `Content-Length`), so the client sees an incomplete
    ///   response, never a clean end. The body ends cleanly only once the
    ///   run has succeeded.
    /// - **The report** is handed to the [`ReportHandle`](super::ReportHandle) once the body has
    ///   ended (before the client has read the end).
    /// - **Dropping the body** (the client went away) cancels the run: its
    ///   tasks are aborted, and the handle reports an
    ///   [`is_aborted`](Error::is_aborted) error.
    ///
    /// Any readable can be a pipeline's source (`Pipeline::from`); a
    /// readable alone needs no pipeline: see
    /// [`from_readable`](ResponseBody::from_readable), whose errors abort
    /// the response the same way.
    ///
    /// # Panics
    /// Polling the body outside a Tokio runtime panics, as
    /// [`Run::run`](weir_pipe::Run::run) does: its stages are spawned as
    /// tasks. (Hyper polls it on the connection's task.)
    ///
    /// # Examples
    /// Compress a generated stream into a response:
    /// ```
    /// use bytes::Bytes;
    /// use http_body_util::BodyExt;
    /// use weir_io::http::ResponseBody;
    /// use weir_pipe::Pipeline;
    ///
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), weir_core::Error> {
    /// let lines = weir_core::readable::from_iter((0..1000).map(|i| Bytes::from(format!("line {i}\n"))));
    /// let pipeline = Pipeline::from(lines)
    ///     .named("generate")
    ///     .through("gzip", weir_codecs::GzipEncoder::new());
    /// let (body, report) = ResponseBody::from_pipeline(pipeline);
    /// // In a handler: `Response::new(body)` (with `Content-Encoding: gzip`).
    /// let gz = body.collect().await?.to_bytes();
    /// let report = report.report().await?;
    /// assert_eq!(report.bytes_out, gz.len() as u64);
    /// # Ok(()) }
    /// ```
    #[cfg(feature = "pipe")]
    #[cfg_attr(docsrs, doc(cfg(feature = "pipe")))]
    pub fn from_pipeline(pipeline: weir_pipe::Pipeline<Bytes>) -> (Self, super::ReportHandle) {
        let (stream, handle) = super::pipeline_body::PipelineStream::new(pipeline);
        (ResponseBody::from_readable(stream), handle)
    }

    /// Declares the body's exact length (hyper then sends it as
    /// `Content-Length`). A readable that then yields more or fewer bytes
    /// makes hyper end the connection with an error.
    pub fn with_len(mut self, len: u64) -> Self {
        self.len = Some(len);
        self
    }
}

impl Body for ResponseBody {
    type Data = Bytes;
    type Error = Error;

    /// # Return value
    /// - `Poll::Pending`: the readable has nothing yet; the waker is registered.
    /// - `Poll::Ready(Some(Ok(frame)))`: the next data frame (never empty).
    /// - `Poll::Ready(Some(Err(e)))`: the readable failed; the body is over.
    /// - `Poll::Ready(None)`: the end; fused.
    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Error>>> {
        let this = self.get_mut();
        match &mut this.kind {
            Kind::Empty => Poll::Ready(None),
            Kind::Full(b) => {
                let next = b.take().filter(|b| !b.is_empty());
                this.kind = Kind::Empty;
                Poll::Ready(next.map(|b| Ok(Frame::data(b))))
            }
            Kind::Readable(s) => loop {
                match s.as_mut().poll_next(cx) {
                    Poll::Pending => return Poll::Pending,
                    Poll::Ready(Some(Ok(chunk))) if chunk.is_empty() => continue,
                    Poll::Ready(Some(Ok(chunk))) => {
                        return Poll::Ready(Some(Ok(Frame::data(chunk))));
                    }
                    Poll::Ready(Some(Err(e))) => {
                        this.kind = Kind::Empty;
                        return Poll::Ready(Some(Err(e.with_stage("http.body"))));
                    }
                    Poll::Ready(None) => {
                        this.kind = Kind::Empty;
                        return Poll::Ready(None);
                    }
                }
            },
        }
    }

    fn is_end_stream(&self) -> bool {
        match &self.kind {
            Kind::Empty => true,
            Kind::Full(b) => b.as_ref().is_none_or(Bytes::is_empty),
            Kind::Readable(_) => self.len == Some(0),
        }
    }

    fn size_hint(&self) -> SizeHint {
        match (&self.kind, self.len) {
            (Kind::Empty, _) => SizeHint::with_exact(0),
            (Kind::Full(b), _) => SizeHint::with_exact(b.as_ref().map_or(0, |b| b.len() as u64)),
            (Kind::Readable(_), Some(n)) => SizeHint::with_exact(n),
            (Kind::Readable(_), None) => SizeHint::default(),
        }
    }
}
