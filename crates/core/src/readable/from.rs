use std::fmt;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_core::{Stream, TryStream};
use pin_project_lite::pin_project;

use crate::error::{BoxError, Error};

/// A readable stream yielding the items of an iterator. Made by [`from_iter`].
#[must_use = "streams do nothing unless polled"]
pub struct FromIter<I> {
    iter: I,
}

/// A readable stream of the items of `iter`, each `Ok` (Node's
/// `Readable.from(iterable)`). It never waits: backpressure simply means it
/// is not polled.
///
/// # Examples
/// ```
/// use futures::TryStreamExt;
/// use weir::readable;
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), weir::Error> {
/// let v: Vec<char> = readable::from_iter("abc".chars()).try_collect().await?;
/// assert_eq!(v, ['a', 'b', 'c']);
/// # Ok(()) }
/// ```
pub fn from_iter<I: IntoIterator>(iter: I) -> FromIter<I::IntoIter> {
    FromIter {
        iter: iter.into_iter(),
    }
}

impl<I: Iterator> Stream for FromIter<I> {
    type Item = Result<I::Item, Error>;

    fn poll_next(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        // `FromIter` holds no pinned state (see the `Unpin` impl below).
        Poll::Ready(self.get_mut().iter.next().map(Ok))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.iter.size_hint()
    }
}

impl<I> Unpin for FromIter<I> {}

impl<I> fmt::Debug for FromIter<I> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("FromIter")
    }
}

pin_project! {
    /// A readable stream wrapping an infallible `Stream`. Made by [`from_stream`].
    #[must_use = "streams do nothing unless polled"]
    pub struct FromStream<S> {
        #[pin]
        inner: S,
    }
}

/// A readable stream of the items of `stream`, each `Ok`.
///
/// # Examples
/// ```
/// use futures::{stream, TryStreamExt};
/// use weir::readable;
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), weir::Error> {
/// let v: Vec<u8> = readable::from_stream(stream::iter([1u8, 2])).try_collect().await?;
/// assert_eq!(v, [1, 2]);
/// # Ok(()) }
/// ```
pub fn from_stream<S: Stream>(stream: S) -> FromStream<S> {
    FromStream { inner: stream }
}

impl<S: Stream> Stream for FromStream<S> {
    type Item = Result<S::Item, Error>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.project().inner.poll_next(cx).map(|o| o.map(Ok))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.inner.size_hint()
    }
}

impl<S> fmt::Debug for FromStream<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("FromStream")
    }
}

pin_project! {
    /// A readable stream wrapping a fallible `Stream`. Made by [`from_try_stream`].
    #[must_use = "streams do nothing unless polled"]
    pub struct FromTryStream<S> {
        #[pin]
        inner: S,
        done: bool,
    }
}

/// A readable stream of the items of a fallible `stream`, its errors
/// converted into [`Error`]. It ends after the first error.
///
/// Any error type that converts into a [`BoxError`] will do (every
/// `std::error::Error + Send + Sync + 'static`: `io::Error`, weir's own
/// [`Error`], `tokio-util`'s `LinesCodecError`, …), so a `FramedRead`
/// enters weir without a `map_err`. A weir `Error` comes through as
/// itself, an `io::Error` as `Error::from(io)` makes it (its kind kept),
/// anything else as an error whose `Display` is the original's text.
///
/// # Examples
/// ```
/// use futures::{stream, TryStreamExt};
/// use weir::readable;
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let src = stream::iter([Ok(1u8), Err(std::io::Error::other("disk on fire")), Ok(3)]);
/// let res: Result<Vec<u8>, weir::Error> = readable::from_try_stream(src).try_collect().await;
/// assert_eq!(res.unwrap_err().to_string(), "disk on fire");
/// # }
/// ```
///
/// A `tokio-util` `FramedRead`, whose errors are the codec's own:
/// ```
/// use futures::TryStreamExt;
/// use tokio_util::codec::{FramedRead, LinesCodec};
/// use weir::readable;
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), weir::Error> {
/// let lines = FramedRead::new(&b"one\ntwo\n"[..], LinesCodec::new());
/// let v: Vec<String> = readable::from_try_stream(lines).try_collect().await?;
/// assert_eq!(v, ["one", "two"]);
/// # Ok(()) }
/// ```
pub fn from_try_stream<S>(stream: S) -> FromTryStream<S>
where
    S: TryStream,
    S::Error: Into<BoxError>,
{
    FromTryStream {
        inner: stream,
        done: false,
    }
}

impl<S> Stream for FromTryStream<S>
where
    S: TryStream,
    S::Error: Into<BoxError>,
{
    type Item = Result<S::Ok, Error>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.project();
        if *this.done {
            return Poll::Ready(None);
        }
        match this.inner.try_poll_next(cx) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(Some(Ok(x))) => Poll::Ready(Some(Ok(x))),
            Poll::Ready(Some(Err(e))) => {
                *this.done = true;
                Poll::Ready(Some(Err(Error::from(e.into()))))
            }
            Poll::Ready(None) => {
                *this.done = true;
                Poll::Ready(None)
            }
        }
    }
}

impl<S> fmt::Debug for FromTryStream<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("FromTryStream")
    }
}
