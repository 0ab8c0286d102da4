//! Commit batches bounded in messages and in bytes.

use std::fmt;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use futures_core::Stream;
use tokio::time::{Instant, Sleep};
use weir_core::Error;

use crate::ack::Acked;

/// A stream of items gathered into batches (`Vec`s) of at most `max_items`
/// items and about `max_bytes` bytes (as `weigh` counts them), handed on
/// early once `max_wait` has passed since a batch's first item: for a sink
/// that commits (writes, fsyncs, acknowledges) a batch at once.
///
/// Unlike a batch stage bounded in items only, what it holds stays bounded
/// in bytes whatever the messages' sizes: a batch is closed as soon as it
/// reaches `max_bytes` (so it holds at most `max_bytes` plus one item's
/// weight), and the stream is polled only when downstream takes a batch, so
/// a source before it (a [`JetStreamSource`](crate::JetStreamSource), with
/// its byte-bounded pulls) is read only as fast as batches are committed.
///
/// # Errors
/// An error of the stream before it is passed on after the batch gathered
/// so far (which is handed on first, so that its items are committed), and
/// ends the stream.
#[must_use = "streams do nothing unless polled"]
pub struct Batches<S, T> {
    upstream: S,
    items: Vec<T>,
    bytes: usize,
    max_items: usize,
    max_bytes: usize,
    max_wait: Duration,
    weigh: fn(&T) -> usize,
    sleep: Option<Pin<Box<Sleep>>>,
    error: Option<Error>,
    done: bool,
}

impl<S, T> fmt::Debug for Batches<S, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Batches")
            .field("max_items", &self.max_items)
            .field("max_bytes", &self.max_bytes)
            .field("max_wait", &self.max_wait)
            .field("held_items", &self.items.len())
            .field("held_bytes", &self.bytes)
            .finish()
    }
}

/// The weight of a message read from JetStream: its payload's length.
fn payload_len(item: &Acked<Bytes>) -> usize {
    item.value().len()
}

impl<S> Batches<S, Acked<Bytes>>
where
    S: Stream<Item = Result<Acked<Bytes>, Error>> + Unpin,
{
    /// Batches of messages read from JetStream, weighed by their payloads.
    /// `max_items` and `max_bytes` of 0 are raised to 1.
    pub fn messages(upstream: S, max_items: usize, max_bytes: usize, max_wait: Duration) -> Self {
        Batches::new(upstream, max_items, max_bytes, max_wait, payload_len)
    }
}

impl<S, T> Batches<S, T>
where
    S: Stream<Item = Result<T, Error>> + Unpin,
{
    /// Batches of `upstream`'s items, each weighing what `weigh` says.
    /// `max_items` and `max_bytes` of 0 are raised to 1.
    pub fn new(
        upstream: S,
        max_items: usize,
        max_bytes: usize,
        max_wait: Duration,
        weigh: fn(&T) -> usize,
    ) -> Self {
        let max_items = max_items.max(1);
        Batches {
            upstream,
            items: Vec::new(),
            bytes: 0,
            max_items,
            max_bytes: max_bytes.max(1),
            max_wait,
            weigh,
            sleep: None,
            error: None,
            done: false,
        }
    }

    fn take(&mut self) -> Vec<T> {
        self.bytes = 0;
        self.sleep = None;
        std::mem::take(&mut self.items)
    }
}

impl<S, T> Stream for Batches<S, T>
where
    S: Stream<Item = Result<T, Error>> + Unpin,
    T: Unpin,
{
    type Item = Result<Vec<T>, Error>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        if let Some(e) = this.error.take() {
            this.done = true;
            return Poll::Ready(Some(Err(e)));
        }
        if this.done {
            return Poll::Ready(None);
        }
        loop {
            match Pin::new(&mut this.upstream).poll_next(cx) {
                Poll::Ready(Some(Ok(item))) => {
                    this.bytes = this.bytes.saturating_add((this.weigh)(&item));
                    this.items.push(item);
                    if this.items.len() == 1 {
                        this.sleep = Some(Box::pin(tokio::time::sleep_until(
                            Instant::now() + this.max_wait,
                        )));
                    }
                    if this.items.len() >= this.max_items || this.bytes >= this.max_bytes {
                        return Poll::Ready(Some(Ok(this.take())));
                    }
                }
                Poll::Ready(Some(Err(e))) => {
                    if this.items.is_empty() {
                        this.done = true;
                        return Poll::Ready(Some(Err(e)));
                    }
                    this.error = Some(e);
                    return Poll::Ready(Some(Ok(this.take())));
                }
                Poll::Ready(None) => {
                    this.done = true;
                    if this.items.is_empty() {
                        return Poll::Ready(None);
                    }
                    return Poll::Ready(Some(Ok(this.take())));
                }
                Poll::Pending => {
                    if let Some(sleep) = this.sleep.as_mut()
                        && sleep.as_mut().poll(cx).is_ready()
                    {
                        return Poll::Ready(Some(Ok(this.take())));
                    }
                    return Poll::Pending;
                }
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use futures_util::StreamExt;

    fn chunks(sizes: &[usize]) -> impl Stream<Item = Result<Vec<u8>, Error>> + Unpin {
        futures_util::stream::iter(sizes.iter().map(|&n| Ok(vec![0u8; n])).collect::<Vec<_>>())
    }

    fn lens(batch: &[Vec<u8>]) -> Vec<usize> {
        batch.iter().map(Vec::len).collect()
    }

    #[tokio::test]
    async fn a_batch_closes_at_its_byte_bound_whatever_the_count() {
        let sizes = [300, 300, 300, 10, 10, 1000, 5];
        let b = Batches::new(chunks(&sizes), 100, 512, Duration::from_secs(60), Vec::len);
        let got: Vec<Vec<usize>> = b.map(|r| lens(&r.unwrap())).collect().await;
        // 300+300 reaches 512: closed; then 300+10+10+1000 (one item over at
        // most); then the rest at the end.
        assert_eq!(got, vec![vec![300, 300], vec![300, 10, 10, 1000], vec![5]]);
    }

    #[tokio::test]
    async fn a_batch_closes_at_its_item_bound() {
        let sizes = [1; 7];
        let b = Batches::new(
            chunks(&sizes),
            3,
            1 << 20,
            Duration::from_secs(60),
            Vec::len,
        );
        let got: Vec<usize> = b.map(|r| r.unwrap().len()).collect().await;
        assert_eq!(got, vec![3, 3, 1]);
    }

    #[tokio::test]
    async fn an_error_comes_after_the_batch_gathered_so_far() {
        let upstream = futures_util::stream::iter(vec![
            Ok(vec![1u8]),
            Ok(vec![2u8]),
            Err(Error::msg("broken")),
            Ok(vec![3u8]),
        ]);
        let mut b = Batches::new(upstream, 10, 100, Duration::from_secs(60), Vec::len);
        assert_eq!(b.next().await.unwrap().unwrap(), vec![vec![1u8], vec![2u8]]);
        assert!(b.next().await.unwrap().is_err());
        assert!(b.next().await.is_none());
    }

    #[tokio::test(start_paused = true)]
    async fn a_partial_batch_goes_after_max_wait() {
        let (tx, rx) = tokio::sync::mpsc::channel::<Result<Vec<u8>, Error>>(4);
        let upstream = tokio_stream_from(rx);
        let mut b = Batches::new(upstream, 10, 100, Duration::from_millis(50), Vec::len);
        tx.send(Ok(vec![7u8; 3])).await.unwrap();
        let start = Instant::now();
        let batch = b.next().await.unwrap().unwrap();
        assert_eq!(lens(&batch), vec![3]);
        assert!(start.elapsed() >= Duration::from_millis(50));
        drop(tx);
        assert!(b.next().await.is_none());
    }

    /// A receiver as a stream (without tokio-stream).
    fn tokio_stream_from<T: Send + 'static>(
        rx: tokio::sync::mpsc::Receiver<T>,
    ) -> impl Stream<Item = T> + Unpin {
        Box::pin(futures_util::stream::unfold(rx, |mut rx| async move {
            rx.recv().await.map(|v| (v, rx))
        }))
    }
}
