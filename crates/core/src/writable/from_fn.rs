use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use futures_sink::Sink;

use crate::error::Error;

/// A writable that hands each chunk to an async function and waits for it
/// before taking the next. Made by [`from_fn`].
///
/// It is `Unpin` whatever the function's future is (the call in progress
/// lives in one heap slot, allocated once and reused for every chunk), so
/// `SinkExt::send` works on it directly.
#[must_use = "sinks do nothing unless chunks are sent into them"]
pub struct FromFn<F, Fut> {
    f: F,
    pending: Pin<Box<Option<Fut>>>,
}

/// A writable whose write is `f(chunk).await` (Node's
/// `new Writable({ objectMode: true, async write(chunk) { … } })`).
///
/// One call at a time: the sink is ready for the next chunk only once the
/// call for the previous one has finished, so a slow `f` holds back whatever
/// feeds the sink (backpressure). `poll_flush` and `poll_close` wait for the
/// call in progress.
///
/// # Errors
/// The first error a call returns is returned by the next `poll_ready`,
/// `poll_flush` or `poll_close` (so by `send`, `forward` or a pipeline's sink
/// stage).
///
/// # Cancel safety
/// Dropping the sink drops the call in progress, if any.
///
/// # Examples
/// ```
/// use futures::SinkExt;
/// use std::sync::{Arc, Mutex};
/// use weir::writable;
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), weir::Error> {
/// let seen = Arc::new(Mutex::new(Vec::new()));
/// let log = seen.clone();
/// let mut sink = writable::from_fn(move |n: u32| {
///     let log = log.clone();
///     async move {
///         tokio::task::yield_now().await; // a database insert, an HTTP call…
///         log.lock().map_err(|_| weir::Error::msg("poisoned"))?.push(n);
///         Ok(())
///     }
/// });
/// sink.send(1).await?;
/// sink.send(2).await?;
/// sink.close().await?;
/// assert_eq!(*seen.lock().unwrap(), [1, 2]);
/// # Ok(()) }
/// ```
pub fn from_fn<T, F, Fut>(f: F) -> FromFn<F, Fut>
where
    F: FnMut(T) -> Fut,
    Fut: Future<Output = Result<(), Error>>,
{
    FromFn {
        f,
        pending: Box::pin(None),
    }
}

impl<F, Fut> Unpin for FromFn<F, Fut> {}

impl<F, Fut> FromFn<F, Fut>
where
    Fut: Future<Output = Result<(), Error>>,
{
    fn poll_pending(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        if let Some(fut) = self.pending.as_mut().as_pin_mut() {
            let res = ready!(fut.poll(cx));
            self.pending.set(None);
            return Poll::Ready(res);
        }
        Poll::Ready(Ok(()))
    }
}

impl<T, F, Fut> Sink<T> for FromFn<F, Fut>
where
    F: FnMut(T) -> Fut,
    Fut: Future<Output = Result<(), Error>>,
{
    type Error = Error;

    fn poll_ready(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        self.get_mut().poll_pending(cx)
    }

    fn start_send(self: Pin<&mut Self>, chunk: T) -> Result<(), Error> {
        let this = self.get_mut();
        let fut = (this.f)(chunk);
        this.pending.set(Some(fut));
        Ok(())
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        self.get_mut().poll_pending(cx)
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        self.get_mut().poll_pending(cx)
    }
}

impl<F, Fut> fmt::Debug for FromFn<F, Fut> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FromFn")
            .field("busy", &self.pending.is_some())
            .finish()
    }
}
