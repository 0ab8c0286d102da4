use std::fmt;
use std::pin::Pin;
use std::task::{Context, Poll, ready};
use std::time::Duration;

use futures_core::Stream;
use pin_project_lite::pin_project;
use tokio::time::{Instant, Sleep};
use weir_core::{DEFAULT_BYTES, DEFAULT_ITEMS, Error, Limit};

pin_project! {
    /// A stream that lets at most a given amount per second through: bytes
    /// for byte chunks, items for objects. A slow consumer on demand.
    ///
    /// Each chunk is released when the chunks before it have "used up" their
    /// time at the rate (`sent / rate` after the first chunk), so the average
    /// rate over any stretch of the run is the configured one, and nothing
    /// is buffered: the throttle holds at most the one chunk it is timing.
    ///
    /// # Examples
    /// ```
    /// use bytes::Bytes;
    /// use futures::TryStreamExt;
    /// use weir::pipe::Throttle;
    /// use weir::readable;
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)] async fn main() -> Result<(), weir::Error> {
    /// let src = readable::from_iter((0..10).map(|_| Bytes::from(vec![0u8; 1000])));
    /// let t0 = tokio::time::Instant::now();
    /// let chunks: Vec<Bytes> = Throttle::new(src, 5000).try_collect().await?; // 5000 bytes/s
    /// assert_eq!(chunks.len(), 10);
    /// // 10 000 bytes at 5000 bytes/s: the last chunk leaves after 9000 bytes' worth.
    /// assert_eq!(t0.elapsed().as_millis(), 1800);
    /// # Ok(()) }
    /// ```
    #[must_use = "streams do nothing unless polled"]
    pub struct Throttle<S, T> {
        #[pin]
        inner: S,
        per_second: f64,
        limit: Limit<T>,
        start: Option<Instant>,
        sent: u64,
        held: Option<T>,
        sleep: Option<Pin<Box<Sleep>>>,
    }
}

impl<S, T: 'static> Throttle<S, T> {
    /// Throttles `inner` to `per_second` bytes (or items) per second (at
    /// least 1).
    pub fn new(inner: S, per_second: u64) -> Self {
        Throttle {
            inner,
            per_second: per_second.max(1) as f64,
            limit: Limit::auto(DEFAULT_BYTES, DEFAULT_ITEMS),
            start: None,
            sent: 0,
            held: None,
            sleep: None,
        }
    }
}

impl<S, T> Stream for Throttle<S, T>
where
    S: Stream<Item = Result<T, Error>>,
{
    type Item = Result<T, Error>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.project();
        if this.held.is_none() {
            match ready!(this.inner.poll_next(cx)) {
                Some(Ok(chunk)) => {
                    let start = *this.start.get_or_insert_with(Instant::now);
                    let due = start + Duration::from_secs_f64(*this.sent as f64 / *this.per_second);
                    *this.sent += this.limit.measure(&chunk) as u64;
                    if due <= Instant::now() {
                        return Poll::Ready(Some(Ok(chunk)));
                    }
                    *this.held = Some(chunk);
                    *this.sleep = Some(Box::pin(tokio::time::sleep_until(due)));
                }
                other => return Poll::Ready(other),
            }
        }
        if let Some(sleep) = this.sleep.as_mut() {
            ready!(sleep.as_mut().poll(cx));
        }
        *this.sleep = None;
        Poll::Ready(this.held.take().map(Ok))
    }
}

impl<S, T> fmt::Debug for Throttle<S, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Throttle")
            .field("per_second", &self.per_second)
            .field("sent", &self.sent)
            .finish()
    }
}

use std::future::Future;
