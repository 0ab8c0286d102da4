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
