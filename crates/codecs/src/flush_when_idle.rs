use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use futures_core::{FusedStream, Stream};
use pin_project_lite::pin_project;
use weir_core::Error;

pin_project! {
    /// A byte stream that passes its upstream on and, whenever the upstream
    /// has nothing ready after some data, yields one empty chunk. Made by
    /// [`flush_when_idle`].
    #[derive(Debug)]
    #[must_use = "streams do nothing unless polled"]
    pub struct FlushWhenIdle<S> {
        #[pin]
        inner: S,
        dirty: bool,
    }
}

/// Wraps a byte stream so that an encoder after it sync-flushes whenever the
/// stream has nothing ready: the consumer of a live compressed stream (a
/// log tail, an HTTP response) then never waits behind a half-full
/// compressor.
///
/// Every encoder in this crate built with `flush_on_empty(true)` treats an
/// empty input chunk as a request to flush what it has taken so far (see
/// [`SyncFlush`](crate::SyncFlush)); this adapter yields such a chunk each
/// time `upstream` returns `Pending` after having yielded data since the last
/// one. While data keeps coming, nothing is added, so a busy stream
/// compresses as well as ever. A [`GzipDecoder`](crate::GzipDecoder)
/// decoding BGZF on several threads hands on the blocks it has in flight.
/// (Other transforms ignore empty chunks.)
///
/// # Examples
/// ```
/// use bytes::Bytes;
/// use futures::StreamExt;
/// use weir::codecs::{flush_when_idle, GzipDecoder, GzipEncoder};
/// use weir::{readable, ReadableExt};
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), weir::Error> {
/// let (tx, rx) = tokio::sync::mpsc::channel::<Bytes>(4);
/// let upstream = readable::from_stream(tokio_stream_from(rx));
/// let encoder = GzipEncoder::builder().flush_on_empty(true).build();
/// let mut gz = flush_when_idle(upstream).through(encoder).through(GzipDecoder::new());
///
/// tx.send(Bytes::from_static(b"first event\n")).await.unwrap();
/// // No more input yet, but the event comes through the encoder at once.
/// let got = gz.next().await.unwrap()?;
/// assert_eq!(got, "first event\n");
/// # drop(tx);
/// # Ok(()) }
/// # fn tokio_stream_from(mut rx: tokio::sync::mpsc::Receiver<Bytes>) -> impl futures::Stream<Item = Bytes> {
/// #     futures::stream::poll_fn(move |cx| rx.poll_recv(cx))
/// # }
/// ```
pub fn flush_when_idle<S>(upstream: S) -> FlushWhenIdle<S>
where
    S: Stream<Item = Result<Bytes, Error>>,
{
    FlushWhenIdle {
        inner: upstream,
        dirty: false,
    }
}

impl<S> FlushWhenIdle<S> {
    /// The upstream stream.
    pub fn get_ref(&self) -> &S {
        &self.inner
    }

    /// The upstream stream.
    pub fn into_inner(self) -> S {
        self.inner
    }
}

impl<S> Stream for FlushWhenIdle<S>
where
    S: Stream<Item = Result<Bytes, Error>>,
{
    type Item = Result<Bytes, Error>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.project();
        match this.inner.poll_next(cx) {
            Poll::Ready(Some(Ok(chunk))) => {
                if !chunk.is_empty() {
                    *this.dirty = true;
                }
                Poll::Ready(Some(Ok(chunk)))
            }
            Poll::Pending if *this.dirty => {
                // The upstream registered our waker; hand a flush request
                // down meanwhile.
                *this.dirty = false;
                Poll::Ready(Some(Ok(Bytes::new())))
            }
            other => other,
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let (lo, hi) = self.inner.size_hint();
        (lo, hi.and_then(|h| h.checked_mul(2)))
    }
}

impl<S> FusedStream for FlushWhenIdle<S>
where
    S: FusedStream<Item = Result<Bytes, Error>>,
{
    fn is_terminated(&self) -> bool {
        self.inner.is_terminated()
    }
}
