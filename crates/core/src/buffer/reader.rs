use std::collections::VecDeque;
use std::fmt;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Instant;

use bytes::{Buf, Bytes};
use futures_core::{FusedStream, Stream};
use tokio::io::{AsyncBufRead, AsyncRead, ReadBuf};

use super::shared::{Refill, Shared};
use crate::error::Error;
use crate::limit::Limit;
use crate::stats::{Stats, StatsCell, StatsHandle, bump};
use crate::sync::Arc;

/// The reading half of a bounded buffer: a `Stream` of `Result<T, Error>`.
///
/// Taking a chunk frees its room at once; when a full buffer drains to its
/// low mark, the writer is woken (Node's `'drain'`).
///
/// The stream yields the chunks in the order they were written, then:
/// `None` after [`Writer::end`](crate::Writer::end); an error for which
/// [`Error::is_aborted`] is true after [`Writer::abort`](crate::Writer::abort)
/// (at once, buffered chunks discarded); an error for which
/// [`Error::is_writer_dropped`] is true if the writer was dropped without
/// ending (after the chunks buffered before that). After an error or the end
/// the stream is fused: it yields `None` forever.
///
/// `Reader<Bytes>` is also an [`AsyncRead`] and an [`AsyncBufRead`]: `fill_buf`
/// lends the current chunk itself, without copying.
///
/// Dropping the reader frees what is buffered and makes further writes fail.
///
/// # Examples
/// ```
/// use bytes::Bytes;
/// use tokio::io::AsyncBufReadExt;
/// use weir::{buffer, Limit};
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> std::io::Result<()> {
/// let (mut tx, rx) = buffer::<Bytes>(Limit::bytes(1024));
/// tx.send(Bytes::from("first line\nsecond ")).await?;
/// tx.send(Bytes::from("line\n")).await?;
/// tx.end();
/// let mut lines = rx.lines();
/// assert_eq!(lines.next_line().await?.as_deref(), Some("first line"));
/// assert_eq!(lines.next_line().await?.as_deref(), Some("second line"));
/// assert_eq!(lines.next_line().await?, None);
/// # Ok(()) }
/// ```
#[must_use = "streams do nothing unless polled"]
pub struct Reader<T> {
    shared: Arc<Shared<T>>,
    /// Chunks taken from the queue in one batch, handed out one by one. They
    /// count as buffered until handed out.
    cache: VecDeque<T>,
    done: bool,
    /// The stream ended cleanly (the writer's `end()` was seen).
    saw_end: bool,
    waiting_since: Option<Instant>,
    /// The chunk being read through `AsyncRead`/`AsyncBufRead` (bytes only).
    current: Option<T>,
}

impl<T> fmt::Debug for Reader<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Reader")
            .field("name", &self.shared.name)
            .field("available", &self.available())
            .field("done", &self.done)
            .finish()
    }
}

impl<T> Reader<T> {
    pub(crate) fn new(shared: Arc<Shared<T>>) -> Self {
        Reader {
            shared,
            cache: VecDeque::new(),
            done: false,
            saw_end: false,
            waiting_since: None,
            current: None,
        }
    }

    /// Takes a chunk if one is buffered, without waiting.
    ///
    /// Returns `None` when nothing is buffered (whether or not more may come);
    /// use the `Stream` impl to wait and to see the end or an error.
    pub fn try_next(&mut self) -> Option<T> {
        if self.done {
            return None;
        }
        loop {
            if let Some(item) = self.next_cached() {
                return Some(item);
            }
            match self.shared.refill(&mut self.cache, None) {
                Refill::Filled => continue,
                _ => return None,
            }
        }
    }

    /// Hands out the next cached chunk, counting it as read.
    #[inline]
    fn next_cached(&mut self) -> Option<T> {
        if self.cache.is_empty() {
            return None;
        }
        if self.shared.is_aborted() {
            self.drop_cache();
            return None;
        }
        let item = self.cache.pop_front()?;
        let size = self.shared.limit.measure(&item);
        bump(&self.shared.stats.reads, 1);
        bump(&self.shared.stats.read, size as u64);
        self.shared.consumed(size);
        Some(item)
    }

    /// Drops the cached chunks unread (abort, or the reader going away).
    fn drop_cache(&mut self) {
        let units: usize = self
            .cache
            .iter()
            .map(|c| self.shared.limit.measure(c))
            .sum();
        self.shared.stats.discard(self.cache.len(), units);
        self.cache.clear();
    }

    /// What is buffered now, ready to be taken, in the limit's unit (the
    /// same amount as [`Writer::buffered`](crate::Writer::buffered); named
    /// apart from `StreamExt::buffered`, which a `Reader` also has).
    pub fn available(&self) -> usize {
        self.shared.stats.buffered()
    }

    /// The number of chunks buffered now.
    pub fn len(&self) -> usize {
        self.shared.queued() + self.cache.len()
    }

    /// Whether no chunk is buffered now.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether the writer has ended, aborted or gone: nothing will be added
    /// beyond what is buffered.
    pub fn is_closed(&self) -> bool {
        self.shared.is_closed()
    }

    /// Whether the stream was seen to end cleanly: the writer ended and
    /// everything was read (not an error).
    pub(crate) fn saw_end(&self) -> bool {
        self.saw_end
    }

    /// The buffer's limit (high mark and unit).
    pub fn limit(&self) -> Limit<T> {
        self.shared.limit
    }

    /// The buffer's name, if it has one.
    pub fn name(&self) -> Option<&str> {
        self.shared.name.as_deref()
    }

    /// A snapshot of the buffer's counters.
    pub fn stats(&self) -> Stats {
        self.shared.handle().stats()
    }

    /// A handle that reads the buffer's counters from anywhere.
    pub fn stats_handle(&self) -> StatsHandle {
        self.shared.handle()
    }

    /// Polls for the next chunk, as the `Stream` impl does.
    ///
    /// # Return value
    /// - `Poll::Pending`: nothing is buffered and the writer is still open; the
    ///   waker is registered and is woken by the next write, end, abort or
    ///   writer drop.
    /// - `Poll::Ready(Some(Ok(chunk)))`: the oldest buffered chunk.
    /// - `Poll::Ready(Some(Err(e)))`: the writer aborted, or was dropped
    ///   without ending; the stream is finished.
    /// - `Poll::Ready(None)`: the writer ended and everything was read; also
    ///   every poll after an error (the stream is fused).
    ///
    /// # Errors
    /// The writer's abort error, or one for which
    /// [`Error::is_writer_dropped`] is true.
    pub fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<T, Error>>> {
        if self.done {
            return Poll::Ready(None);
        }
        let out = loop {
            if let Some(item) = self.next_cached() {
                break Some(Ok(item));
            }
            match self.shared.refill(&mut self.cache, Some(cx)) {
                Refill::Filled => continue,
                Refill::Empty => {
                    if self.waiting_since.is_none() {
                        let now = Instant::now();
                        self.waiting_since = Some(now);
                        StatsCell::wait_started(&self.shared.stats.reader_since, now);
                    }
                    return Poll::Pending;
                }
                Refill::End => {
                    self.done = true;
                    self.saw_end = true;
                    break None;
                }
                Refill::Failed(e) => {
                    self.done = true;
                    break Some(Err(e));
                }
            }
        };
        if let Some(t) = self.waiting_since.take() {
            StatsCell::wait_ended(
                &self.shared.stats.reader_since,
                &self.shared.stats.reader_wait_ns,
                t.elapsed(),
            );
        }
        Poll::Ready(out)
    }
}

impl<T> Drop for Reader<T> {
    fn drop(&mut self) {
        self.drop_cache();
        // A wait cut short (a cancelled task) counts up to now.
        if let Some(t) = self.waiting_since.take() {
            StatsCell::wait_ended(
                &self.shared.stats.reader_since,
                &self.shared.stats.reader_wait_ns,
                t.elapsed(),
            );
        }
        self.shared.reader_dropped();
    }
}

impl<T> Stream for Reader<T> {
    type Item = Result<T, Error>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.get_mut().poll_recv(cx)
    }
}

impl<T> FusedStream for Reader<T> {
    fn is_terminated(&self) -> bool {
        self.done
    }
}

// `Reader<T>` holds no pinned state.
impl<T> Unpin for Reader<T> {}

impl AsyncBufRead for Reader<Bytes> {
    fn poll_fill_buf(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<&[u8]>> {
        let this = self.get_mut();
        loop {
            if this.current.as_ref().is_some_and(|c| !c.is_empty()) {
                break;
            }
            match this.poll_recv(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Some(Ok(chunk))) => this.current = Some(chunk),
                Poll::Ready(Some(Err(e))) => return Poll::Ready(Err(e.into())),
                Poll::Ready(None) => {
                    this.current = None;
                    return Poll::Ready(Ok(&[]));
                }
            }
        }
        Poll::Ready(Ok(this.current.as_deref().unwrap_or(&[])))
    }

    fn consume(self: Pin<&mut Self>, amt: usize) {
        if let Some(c) = self.get_mut().current.as_mut() {
            c.advance(amt.min(c.len()));
        }
    }
}

impl AsyncRead for Reader<Bytes> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        if buf.remaining() == 0 {
            return Poll::Ready(Ok(()));
        }
        let src = match self.as_mut().poll_fill_buf(cx) {
            Poll::Pending => return Poll::Pending,
            Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
            Poll::Ready(Ok(src)) => src,
        };
        let n = src.len().min(buf.remaining());
        buf.put_slice(&src[..n]);
        self.consume(n);
        Poll::Ready(Ok(()))
    }
}
