use std::collections::VecDeque;
use std::fmt;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, ready};
use std::time::Instant;

use bytes::{Bytes, BytesMut};
use futures_sink::Sink;
use tokio::io::AsyncWrite;

use super::shared::{SendPoll, Shared, Written};
use crate::error::{Error, SendError};
use crate::limit::Limit;
use crate::stats::{Stats, StatsCell, StatsHandle};
use crate::sync::Arc;

/// The writing half of a bounded buffer: Node's `Writable`, with its
/// `write()` → `false` and `'drain'`.
///
/// Made by [`buffer`](crate::buffer()) or [`BufferConfig::build`](crate::BufferConfig::build).
/// There are two ways to respect backpressure:
///
/// - **Node style**: [`write`](Writer::write) never waits; it answers
///   [`Written::Full`] once the buffer reaches its high mark, and the producer
///   then awaits [`drained`](Writer::drained).
/// - **Await style**: [`send`](Writer::send), the [`Sink`] impl and (for
///   `Writer<Bytes>`) the [`AsyncWrite`] impl wait for room first, so the
///   buffered amount never exceeds the high mark plus one chunk.
///
/// # Closing
/// [`end`](Writer::end) (also `Sink::poll_close` and `AsyncWrite::poll_shutdown`)
/// lets the reader take what is buffered and then see the end of the stream.
/// [`abort`](Writer::abort) discards what is buffered and makes the reader see
/// the error at once. Dropping the writer without either is an error the
/// reader can tell apart from a clean end ([`Error::is_writer_dropped`]).
/// Once the reader is dropped, every write fails with an error for which
/// [`Error::is_reader_gone`] is true, handing the chunk back.
///
/// # Examples
/// ```
/// use bytes::Bytes;
/// use futures::StreamExt;
/// use weir::{buffer, Limit, Written};
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), weir::Error> {
/// let (mut tx, mut rx) = buffer::<Bytes>(Limit::bytes(8));
/// let producer = tokio::spawn(async move {
///     for word in ["stream", "with", "backpressure"] {
///         if tx.write(Bytes::from(word))? == Written::Full {
///             tx.drained().await?; // Node's once('drain')
///         }
///     }
///     tx.end();
///     Ok::<_, weir::Error>(())
/// });
/// let mut text = Vec::new();
/// while let Some(chunk) = rx.next().await {
///     text.extend_from_slice(&chunk?);
/// }
/// producer.await.unwrap()?;
/// assert_eq!(text, b"streamwithbackpressure");
/// # Ok(()) }
/// ```
#[must_use = "sinks do nothing unless written to"]
pub struct Writer<T> {
    shared: Arc<Shared<T>>,
    closed: bool,
    /// Chunks fed through the `Sink` side and not yet handed to the buffer
    /// (see "Batches" on the `Sink` impl), and their size.
    gathered: VecDeque<T>,
    gathered_size: usize,
    /// The buffered amount at the last hand-over, exact then and never lower
    /// since (only the reader takes away): an upper bound that needs no
    /// lock. `None` when unknown.
    last: Option<usize>,
    /// The last write reached the high mark: `poll_ready` must look.
    full_hint: bool,
    waiting_since: Option<Instant>,
}

impl<T> fmt::Debug for Writer<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Writer")
            .field("name", &self.shared.name)
            .field("buffered", &self.buffered())
            .field("high", &self.shared.high())
            .field("closed", &self.closed)
            .finish()
    }
}

impl<T> Writer<T> {
    pub(crate) fn new(shared: Arc<Shared<T>>) -> Self {
        Writer {
            shared,
            closed: false,
            gathered: VecDeque::new(),
            gathered_size: 0,
            last: None,
            full_hint: false,
            waiting_since: None,
        }
    }

    /// Hands the gathered chunks to the buffer in one batch.
    fn hand_over(&mut self) -> Result<(), Error> {
        if self.gathered.is_empty() {
            return Ok(());
        }
        let size = std::mem::take(&mut self.gathered_size);
        match self.shared.push_batch(&mut self.gathered, size) {
            Ok((answer, buffered)) => {
                self.full_hint = answer == Written::Full;
                self.last = Some(buffered);
                Ok(())
            }
            Err(e) => {
                // The reader is gone (or the buffer closed): nobody will read them.
                self.gathered.clear();
                Err(e)
            }
        }
    }

    /// Records the answer of a write made outside the `Sink` side.
    fn wrote(&mut self, answer: Written) {
        self.full_hint = answer == Written::Full;
        self.last = None;
    }

    /// Writes `chunk` without waiting: Node's `writable.write(chunk)`.
    ///
    /// The chunk is accepted, and the answer says whether to go on
    /// ([`Written::Ready`]) or to stop and await [`drained`](Writer::drained)
    /// ([`Written::Full`]): `Full` once the buffered amount reaches the high
    /// mark, and on every write after that until the reader has brought it
    /// down to the low mark.
    ///
    /// A producer that ignores `Full` and keeps writing meets the hard cap,
    /// where the [`Overflow`](crate::Overflow) policy decides: by default the
    /// write fails (the chunk is handed back); lossy policies drop a chunk and
    /// answer `Full`.
    ///
    /// # Errors
    /// Hands the chunk back in a [`SendError`] whose error says why: the reader
    /// is gone ([`Error::is_reader_gone`]), the writer already ended
    /// ([`Error::is_ended`]) or aborted ([`Error::is_aborted`]), or the write
    /// would pass the hard cap under [`Overflow::Error`](crate::Overflow::Error)
    /// ([`Error::is_overflow`]).
    ///
    /// # Examples
    /// ```
    /// use weir::{buffer, Limit, Written};
    ///
    /// let (mut tx, _rx) = buffer::<&'static str>(Limit::bytes(10));
    /// assert_eq!(tx.write("abc").unwrap(), Written::Ready);     // 3 of 10
    /// assert_eq!(tx.write("defgh").unwrap(), Written::Ready);   // 8 of 10
    /// assert_eq!(tx.write("ijk").unwrap(), Written::Full);      // 11: time to wait
    /// ```
    pub fn write(&mut self, chunk: T) -> Result<Written, SendError<T>> {
        if let Err(e) = self.hand_over() {
            return Err(SendError::new(chunk, e));
        }
        let answer = self.shared.push(chunk)?;
        self.wrote(answer);
        Ok(answer)
    }

    /// Waits until the buffer has room: at once when it is below its high
    /// mark, otherwise once the reader has drained it to the low mark
    /// (Node's `'drain'` event).
    ///
    /// # Cancel safety
    /// Cancel safe. Dropping the future loses nothing; calling `drained` again
    /// waits afresh.
    ///
    /// # Errors
    /// Fails with an error for which [`Error::is_reader_gone`] is true if the
    /// reader is dropped (there is nobody left to drain the buffer).
    ///
    /// # Examples
    /// ```
    /// use futures::StreamExt;
    /// use weir::{buffer, Limit, Written};
    ///
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), weir::Error> {
    /// let (mut tx, mut rx) = buffer::<u32>(Limit::items(2));
    /// assert_eq!(tx.write(1)?, Written::Ready);
    /// assert_eq!(tx.write(2)?, Written::Full);
    /// let reader = tokio::spawn(async move {
    ///     let first = rx.next().await;
    ///     (first, rx) // keep the reader alive: dropping it fails the writer
    /// });
    /// tx.drained().await?; // the reader took one: 1 left, the low mark is 1
    /// let (first, _rx) = reader.await.unwrap();
    /// assert_eq!(first.transpose()?, Some(1));
    /// # Ok(()) }
    /// ```
    pub async fn drained(&mut self) -> Result<(), Error> {
        std::future::poll_fn(|cx| self.poll_drained(cx)).await
    }

    /// Polls for room, as [`drained`](Writer::drained) waits for it.
    ///
    /// # Return value
    /// - `Poll::Pending`: the buffer is full; the waker is registered and is
    ///   woken when the reader drains it to the low mark or goes away.
    /// - `Poll::Ready(Ok(()))`: there is room.
    /// - `Poll::Ready(Err(e))`: the reader is gone.
    ///
    /// # Errors
    /// One for which [`Error::is_reader_gone`] is true.
    pub fn poll_drained(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        if let Err(e) = self.hand_over() {
            return Poll::Ready(Err(e));
        }
        match self.shared.poll_room(cx) {
            Poll::Pending => {
                if self.waiting_since.is_none() {
                    let now = Instant::now();
                    self.waiting_since = Some(now);
                    StatsCell::wait_started(&self.shared.stats.writer_since, now);
                }
                Poll::Pending
            }
            Poll::Ready(r) => {
                if let Some(t) = self.waiting_since.take() {
                    StatsCell::wait_ended(
                        &self.shared.stats.writer_since,
                        &self.shared.stats.writer_wait_ns,
                        t.elapsed(),
                    );
                }
                if r.is_ok() {
                    self.full_hint = false;
                }
                Poll::Ready(r)
            }
        }
    }

    /// Polls for room to send one more chunk, as `Sink::poll_ready` does.
    /// Below the high mark it answers without taking the buffer's lock.
    ///
    /// # Return value
    /// Like [`poll_drained`](Writer::poll_drained), and also
    /// `Poll::Ready(Err(e))` with [`Error::is_ended`] once this writer has
    /// ended or aborted.
    ///
    /// # Errors
    /// As the return value says: the reader is gone, or this writer ended.
    pub fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        if self.closed {
            return Poll::Ready(Err(self.named(Error::ended())));
        }
        if !self.full_hint {
            // The last write left room, and only the reader has acted since.
            return Poll::Ready(Ok(()));
        }
        self.poll_drained(cx)
    }

    fn named(&self, e: Error) -> Error {
        match &self.shared.name {
            Some(n) => e.with_stage(n.clone()),
            None => e,
        }
    }

    /// Waits for room, then writes `chunk`: with `send`, the buffered amount
    /// never exceeds the high mark plus one chunk.
    ///
    /// # Cancel safety
    /// If the future is dropped before it completes, the chunk was not
    /// written, and it is dropped with the future. To keep it, await
    /// [`drained`](Writer::drained) (cancel safe) and then call
    /// [`write`](Writer::write), which never waits.
    ///
    /// # Errors
    /// Hands the chunk back in a [`SendError`] if the reader is gone or this
    /// writer has ended or aborted.
    ///
    /// # Examples
    /// ```
    /// use futures::StreamExt;
    /// use weir::{buffer, Limit};
    ///
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), weir::Error> {
    /// let (mut tx, rx) = buffer::<u64>(Limit::items(4));
    /// let sum = tokio::spawn(async move {
    ///     rx.fold(0, |acc, n| async move { acc + n.unwrap() }).await
    /// });
    /// for n in 1..=100 {
    ///     tx.send(n).await?; // waits whenever 4 items are buffered
    ///     assert!(tx.buffered() <= 4);
    /// }
    /// tx.end();
    /// assert_eq!(sum.await.unwrap(), 5050);
    /// # Ok(()) }
    /// ```
    pub async fn send(&mut self, chunk: T) -> Result<(), SendError<T>> {
        if let Err(e) = self.hand_over() {
            return Err(SendError::new(chunk, e));
        }
        // `send` does not learn the answer of its write: let `poll_ready`
        // look next time.
        self.full_hint = true;
        self.last = None;
        let mut slot = Some(chunk);
        std::future::poll_fn(|cx| {
            let Some(chunk) = slot.take() else {
                // Not reached: the future is not polled after it completes.
                return Poll::Ready(Ok(()));
            };
            if self.closed {
                return Poll::Ready(Err(SendError::new(chunk, self.named(Error::ended()))));
            }
            match self.shared.poll_send(cx, chunk) {
                SendPoll::Pending(chunk) => {
                    slot = Some(chunk);
                    if self.waiting_since.is_none() {
                        let now = Instant::now();
                        self.waiting_since = Some(now);
                        StatsCell::wait_started(&self.shared.stats.writer_since, now);
                    }
                    Poll::Pending
                }
                done => {
                    if let Some(t) = self.waiting_since.take() {
                        StatsCell::wait_ended(
                            &self.shared.stats.writer_since,
                            &self.shared.stats.writer_wait_ns,
                            t.elapsed(),
                        );
                    }
                    match done {
                        SendPoll::Failed(chunk, e) => Poll::Ready(Err(SendError::new(chunk, e))),
                        _ => Poll::Ready(Ok(())),
                    }
                }
            }
        })
        .await
    }

    /// Ends the stream: the reader takes what is buffered, then sees the end
    /// (Node's `writable.end()`). Later writes fail with [`Error::is_ended`].
    /// Calling it again does nothing.
    pub fn end(&mut self) {
        // Gathered chunks go first; if the reader is gone they have nowhere to go.
        let _ = self.hand_over();
        self.closed = true;
        self.shared.end();
    }

    /// Waits until the reader has taken every chunk of the ended stream:
    /// Node's `'finish'` event (`stream.finished(writable)`). Call it after
    /// [`end`](Writer::end) (or `Sink::close`, `AsyncWrite::shutdown`).
    ///
    /// A chunk counts as taken once the reader has handed it out (from its
    /// `Stream`, `try_next` or `AsyncRead` side), whether or not the reader
    /// has polled again to see the end. Once finished, it stays finished,
    /// even after the reader is dropped.
    ///
    /// # Cancel safety
    /// Cancel safe. Dropping the future loses nothing; calling `finished`
    /// again waits afresh.
    ///
    /// # Errors
    /// - [`Error::is_reader_gone`]: the reader was dropped before it had
    ///   taken every chunk (or before the stream ended).
    /// - [`Error::is_aborted`]: this writer aborted; the reader will never
    ///   take what was discarded.
    /// - Any other error, at once, if this writer has neither ended nor
    ///   aborted: nothing could end the stream while `finished` borrows the
    ///   writer, so waiting would never end.
    ///
    /// # Examples
    /// ```
    /// use futures::StreamExt;
    /// use weir::{buffer, Limit};
    ///
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), weir::Error> {
    /// let (mut tx, rx) = buffer::<u32>(Limit::items(4));
    /// let consumer = tokio::spawn(rx.for_each(|n| async move { let _ = n; }));
    /// for n in 0..10 {
    ///     tx.send(n).await?;
    /// }
    /// tx.end();
    /// tx.finished().await?; // Node's 'finish': the consumer took all ten
    /// # consumer.await.unwrap();
    /// # Ok(()) }
    /// ```
    pub async fn finished(&mut self) -> Result<(), Error> {
        std::future::poll_fn(|cx| self.poll_finished(cx)).await
    }

    /// Polls for the end of the stream, as [`finished`](Writer::finished)
    /// waits for it.
    ///
    /// # Return value
    /// - `Poll::Pending`: the reader has not taken every chunk yet; the waker
    ///   is registered and is woken when it has taken the last one or goes
    ///   away.
    /// - `Poll::Ready(Ok(()))`: the writer ended and the reader took
    ///   everything.
    /// - `Poll::Ready(Err(e))`: that will never happen (see the errors).
    ///
    /// # Errors
    /// As [`finished`](Writer::finished).
    pub fn poll_finished(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        if !self.closed {
            return Poll::Ready(Err(self.named(Error::msg(
                "finished() before end(): the stream is still open",
            ))));
        }
        self.shared.poll_finished(cx)
    }

    /// Aborts the stream (Node's `destroy(err)`): what is buffered is
    /// discarded and the reader sees `err` on its next read. Later writes fail.
    /// Aborting once the stream is finished (ended, and every chunk handed
    /// to the reader), or twice, does nothing.
    pub fn abort(&mut self, err: Error) {
        self.gathered.clear();
        self.gathered_size = 0;
        self.closed = true;
        self.shared.abort(err);
    }

    /// What is buffered now, in the limit's unit (including chunks fed
    /// through the `Sink` side and not yet flushed).
    pub fn buffered(&self) -> usize {
        self.shared.stats.buffered() + self.gathered_size
    }

    /// Whether the buffer is full: a `write` now would answer
    /// [`Written::Full`] and `drained` would wait.
    pub fn is_full(&self) -> bool {
        self.shared.is_full()
    }

    /// Whether the reader has been dropped (every write would fail).
    pub fn is_reader_gone(&self) -> bool {
        self.shared.is_reader_gone()
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
}

// `Writer<T>` holds no pinned state (gathered chunks are never pinned).
impl<T> Unpin for Writer<T> {}

impl<T> Drop for Writer<T> {
    fn drop(&mut self) {
        // What was fed still reaches the reader, ahead of the error saying the
        // stream is incomplete.
        let _ = self.hand_over();
        // A wait cut short (a cancelled task) counts up to now.
        if let Some(t) = self.waiting_since.take() {
            StatsCell::wait_ended(
                &self.shared.stats.writer_since,
                &self.shared.stats.writer_wait_ns,
                t.elapsed(),
            );
        }
        self.shared.writer_dropped();
    }
}

/// As a `Sink`, a `Writer` waits for room in `poll_ready` (so the bound of
/// high mark plus one chunk holds: a batch is handed over before it could
/// reach the high mark).
///
/// # Batches
/// `start_send` gathers chunks on the writer's side and hands them to the
/// buffer in one batch (one lock, one wake-up of a waiting reader) when they
/// would take it past half its high mark, when 64 have gathered, or on
/// `poll_flush`/`poll_close`. So flush after `feed`, as the `Sink` contract
/// asks (`SinkExt::send`, `send_all` and `forward` do it whenever their
/// source has nothing ready); `write` and `send` hand a chunk over at once.
/// Chunks gathered when the writer is dropped are still delivered.
impl<T> Sink<T> for Writer<T> {
    type Error = Error;

    fn poll_ready(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        Writer::poll_ready(self.get_mut(), cx)
    }

    fn start_send(self: Pin<&mut Self>, item: T) -> Result<(), Error> {
        let this = self.get_mut();
        if this.closed {
            return Err(this.named(Error::ended()));
        }
        let shared = &this.shared;
        if shared.batch == 1 {
            // Lossy buffers take chunks one at a time.
            let answer = shared.push(item).map_err(Error::from)?;
            this.wrote(answer);
            return Ok(());
        }
        this.gathered_size += shared.limit.measure(&item);
        this.gathered.push_back(item);
        // Hand over when the batch could reach the high mark (the full
        // decision is made under the lock, on the exact amount), at the wake
        // mark (so a waiting reader is woken at least that often), and at 64
        // chunks. `last` is an upper bound, so the bound holds without
        // reading the reader's progress.
        let hand_over = match this.last {
            None => true,
            Some(last) => {
                last.saturating_add(this.gathered_size) >= shared.high()
                    || this.gathered_size >= shared.wake_mark
                    || this.gathered.len() >= shared.batch
            }
        };
        if hand_over {
            this.hand_over()?;
        }
        Ok(())
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        Poll::Ready(self.get_mut().hand_over())
    }

    fn poll_close(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        let this = self.get_mut();
        let res = this.hand_over();
        this.end();
        Poll::Ready(res)
    }
}

/// Bytes written through `AsyncWrite` are copied into one new chunk per call,
/// of at most the high mark (send `Bytes` with [`Writer::send`] to avoid the
/// copy). Vectored writes gather their slices into one chunk.
impl AsyncWrite for Writer<Bytes> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        if buf.is_empty() {
            return Poll::Ready(Ok(0));
        }
        ready!(this.poll_ready(cx))?;
        let n = buf.len().min(this.shared.high());
        let answer = this
            .shared
            .push(Bytes::copy_from_slice(&buf[..n]))
            .map_err(io::Error::from)?;
        this.wrote(answer);
        Poll::Ready(Ok(n))
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let total: usize = bufs.iter().map(|b| b.len()).sum();
        if total == 0 {
            return Poll::Ready(Ok(0));
        }
        ready!(this.poll_ready(cx))?;
        let n = total.min(this.shared.high());
        let mut chunk = BytesMut::with_capacity(n);
        for b in bufs {
            let room = n - chunk.len();
            if room == 0 {
                break;
            }
            chunk.extend_from_slice(&b[..b.len().min(room)]);
        }
        let answer = this.shared.push(chunk.freeze()).map_err(io::Error::from)?;
        this.wrote(answer);
        Poll::Ready(Ok(n))
    }

    fn is_write_vectored(&self) -> bool {
        true
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.get_mut().end();
        Poll::Ready(Ok(()))
    }
}
