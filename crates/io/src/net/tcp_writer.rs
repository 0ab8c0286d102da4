use std::collections::VecDeque;
use std::fmt;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, ready};

use bytes::Bytes;
use futures_core::Stream;
use futures_sink::Sink;
use tokio::io::{AsyncWrite, AsyncWriteExt};
use tokio::net::tcp::OwnedWriteHalf;
use tokio::sync::Notify;
use tokio::task::JoinHandle;
use weir_core::writable::poll_write_chunks;
use weir_core::{
    BufferConfig, Error, Limit, Reader, SendError, Stats, StatsHandle, Writer, Written,
};

use crate::counter::ByteCounter;
use crate::trace::io_debug;

/// Where the task leaves the error that stopped it, for the writer to report
/// instead of a bare "reader gone".
type Failure = Arc<Mutex<Option<Error>>>;

/// The cork a [`TcpWriter`] shares with its task: how many `cork()` calls
/// are not undone yet (only the writer changes it), and the wake-up its
/// last `uncork()` sends the task.
#[derive(Debug, Default)]
struct Cork {
    depth: AtomicU32,
    uncorked: Notify,
}

impl Cork {
    fn is_corked(&self) -> bool {
        self.depth.load(Ordering::Acquire) > 0
    }
}

/// The writable half of a [`TcpStream`](super::TcpStream): a bounded weir
/// buffer in front of the socket, drained into it by a task of its own
/// (Node's `net.Socket` as a `Writable`).
///
/// It has both of weir's writing styles:
/// - Node's: [`write`](TcpWriter::write) never waits and answers
///   [`Written::Full`] once the buffer is at its high mark;
///   [`drained`](TcpWriter::drained) waits for it to drain (`'drain'`).
/// - Await: [`send`](TcpWriter::send) and the `Sink<Bytes>` impl wait for
///   room first, so the buffer never holds more than the high mark plus one
///   chunk.
///
/// The task takes what is buffered in batches of up to the high mark and
/// writes each batch with vectored writes, so the bytes in memory are at
/// most twice the high mark plus two chunks.
///
/// # Cork
/// [`cork`](TcpWriter::cork) makes the task hold chunks back even when the
/// socket is idle (Node's `socket.cork()`); [`uncork`](TcpWriter::uncork)
/// lets them go, together, in one vectored write. While corked the task
/// still writes once it holds a high mark's worth (backpressure holds, and
/// a producer waiting for room never waits for an uncork), and the end of
/// the stream sends what it holds.
///
/// # Closing
/// [`end`](TcpWriter::end) lets the task write what is buffered and then
/// shut down the socket's write side; [`finish`](TcpWriter::finish) does
/// that and waits for it, reporting any socket error. Closing the `Sink`
/// is `finish`. [`abort`](TcpWriter::abort), or dropping the writer without
/// ending it, discards what is buffered and arranges for the connection to
/// be reset rather than closed cleanly.
///
/// # Examples
/// ```
/// use bytes::Bytes;
/// use futures::TryStreamExt;
/// use weir_io::net::{connect, listen};
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), weir_core::Error> {
/// let listener = listen("127.0.0.1:0").await?;
/// let addr = listener.local_addr()?;
/// let server = tokio::spawn(async move {
///     let (sock, _) = listener.accept().await?;
///     let (reader, _writer) = sock.into_split();
///     reader.try_fold(0usize, |n, c| async move { Ok(n + c.len()) }).await
/// });
/// let (_reader, mut writer) = connect(addr).await?.into_split();
/// for _ in 0..100 {
///     if writer.write(Bytes::from(vec![7u8; 10_000]))? == weir_core::Written::Full {
///         writer.drained().await?; // Node's 'drain'
///     }
/// }
/// writer.finish().await?; // everything written, write side shut down
/// assert_eq!(server.await.unwrap()?, 1_000_000);
/// # Ok(()) }
/// ```
#[must_use = "sinks do nothing unless polled"]
pub struct TcpWriter {
    writer: Writer<Bytes>,
    task: Option<JoinHandle<()>>,
    failure: Failure,
    written: ByteCounter,
    hwm: usize,
    stage: Arc<str>,
    cork: Arc<Cork>,
}

impl fmt::Debug for TcpWriter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TcpWriter")
            .field("stage", &self.stage)
            .field("buffered", &self.writer.buffered())
            .field("hwm", &self.hwm)
            .field("written", &self.written.get())
            .finish()
    }
}

impl TcpWriter {
    /// A writer in front of any `AsyncWrite` (the write half of a socket is
    /// the usual one): a buffer with the given high mark, drained into `io`
    /// by a spawned task. Must be called inside a Tokio runtime.
    ///
    /// # Examples
    /// ```
    /// use bytes::Bytes;
    ///
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), weir_core::Error> {
    /// let (near, mut far) = tokio::io::duplex(1024);
    /// let mut w = weir_io::net::TcpWriter::from_async_write(near, 4096);
    /// w.send(Bytes::from_static(b"hello")).await?;
    /// w.finish().await?;
    /// let mut got = String::new();
    /// tokio::io::AsyncReadExt::read_to_string(&mut far, &mut got).await?;
    /// assert_eq!(got, "hello");
    /// # Ok(()) }
    /// ```
    pub fn from_async_write<W>(io: W, hwm: usize) -> TcpWriter
    where
        W: AsyncWrite + Unpin + Send + 'static,
    {
        TcpWriter::spawn_with(io, hwm, Arc::from("write"), |_| {})
    }

    pub(crate) fn spawn_socket(io: OwnedWriteHalf, hwm: usize, stage: Arc<str>) -> TcpWriter {
        TcpWriter::spawn_with(io, hwm, stage, |half| {
            // No FIN: the peer must not take a broken transfer for a whole
            // one. With a zero linger the socket is reset once the read half
            // is gone too.
            let _ = half.as_ref().set_zero_linger();
            half.forget();
        })
    }

    fn spawn_with<W>(io: W, hwm: usize, stage: Arc<str>, reset: fn(W)) -> TcpWriter
    where
        W: AsyncWrite + Unpin + Send + 'static,
    {
        let hwm = hwm.max(1);
        let (writer, reader) = BufferConfig::new(Limit::<Bytes>::bytes(hwm))
            .name(stage.clone())
            .build();
        let failure = Failure::default();
        let written = ByteCounter::new();
        let cork = Arc::new(Cork::default());
        let task = tokio::spawn(pump(
            reader,
            io,
            hwm,
            written.clone(),
            failure.clone(),
            stage.clone(),
            reset,
            cork.clone(),
        ));
        TcpWriter {
            writer,
            task: Some(task),
            failure,
            written,
            hwm,
            stage,
            cork,
        }
    }

    /// Buffers `chunk` without waiting (Node's `socket.write(chunk)`).
    /// Answers [`Written::Full`] once the buffer is at its high mark: stop,
    /// and wait for [`drained`](TcpWriter::drained).
    ///
    /// # Errors
    /// Hands the chunk back with the reason: the socket's own error once it
    /// has failed (the peer reset the connection, say), an overflow if
    /// `Full` was ignored up to the hard cap (twice the high mark), or an
    /// error for which [`Error::is_ended`] is true after
    /// [`end`](TcpWriter::end).
    pub fn write(&mut self, chunk: Bytes) -> Result<Written, SendError<Bytes>> {
        self.writer.write(chunk).map_err(|e| self.explain_send(e))
    }

    /// A failed write's chunk, with (a copy of) the socket's error when that
    /// is the cause; the error itself stays for `finish`.
    fn explain_send(&self, e: SendError<Bytes>) -> SendError<Bytes> {
        let (chunk, err) = e.into_parts();
        let err = match self
            .failure
            .lock()
            .ok()
            .and_then(|f| f.as_ref().map(Error::duplicate))
        {
            Some(cause) if err.is_reader_gone() => cause,
            _ => err.with_stage(self.stage.clone()),
        };
        SendError::new(chunk, err)
    }

    /// Waits for room, then buffers `chunk`.
    ///
    /// # Cancel safety
    /// As the buffer's [`Writer::send`]: if the future is dropped before it
    /// completes, the chunk was not buffered, and it is dropped with the
    /// future. To keep it, await [`drained`](TcpWriter::drained) (cancel
    /// safe) and then call [`write`](TcpWriter::write), which never waits.
    ///
    /// # Errors
    /// As [`write`](TcpWriter::write), handing the chunk back.
    pub async fn send(&mut self, chunk: Bytes) -> Result<(), SendError<Bytes>> {
        match self.writer.send(chunk).await {
            Ok(()) => Ok(()),
            Err(e) => Err(self.explain_send(e)),
        }
    }

    /// Waits until the buffer has drained to its low mark (Node's
    /// `'drain'`); at once if it is not full.
    ///
    /// # Cancel safety
    /// Cancel safe: dropping the future loses nothing.
    ///
    /// # Errors
    /// The error that stopped the writer (see [`write`](TcpWriter::write)).
    pub async fn drained(&mut self) -> Result<(), Error> {
        match self.writer.drained().await {
            Ok(()) => Ok(()),
            Err(e) => Err(self.explain(e)),
        }
    }

    /// Ends the stream (Node's `socket.end()`): what is buffered is written,
    /// then the socket's write side is shut down. Reading goes on. Returns at
    /// once; [`finish`](TcpWriter::finish) waits.
    pub fn end(&mut self) {
        self.writer.end();
    }

    /// Ends the stream and waits until everything is written and the write
    /// side shut down. Returns the bytes written to the socket.
    ///
    /// # Cancel safety
    /// Cancel safe: the stream stays ended and the task goes on; calling
    /// `finish` again waits afresh.
    ///
    /// # Errors
    /// The socket error that stopped the task, if any.
    pub async fn finish(&mut self) -> Result<u64, Error> {
        std::future::poll_fn(|cx| self.poll_finish(cx)).await
    }

    /// Discards what is buffered and stops (Node's `socket.destroy(err)`):
    /// the connection is reset, not closed cleanly, once the read half is
    /// gone too.
    pub fn abort(&mut self, err: Error) {
        self.writer.abort(err);
    }

    /// Holds chunks back until [`uncork`](TcpWriter::uncork) (Node's
    /// `socket.cork()`): the task keeps the chunks written from now on
    /// instead of sending each as the socket is free, and sends them
    /// together, in one vectored write (up to 64 chunks per write), at the
    /// last `uncork`. Calls nest, as in Node. A chunk the task is already
    /// writing still goes out.
    ///
    /// Backpressure still holds: the task holds at most a high mark's worth
    /// (it writes them as soon as it does), so memory stays within twice
    /// the high mark plus two chunks and a producer waiting for room never
    /// waits for an uncork. Held chunks count in neither
    /// [`buffered`](TcpWriter::buffered) nor the buffer's stats (the task
    /// has taken them), but [`bytes_written`](TcpWriter::bytes_written)
    /// only counts them once written. [`end`](TcpWriter::end) and
    /// [`finish`](TcpWriter::finish) send what is held (Node's `end()`
    /// uncorks).
    ///
    /// # Examples
    /// ```
    /// use bytes::Bytes;
    ///
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), weir_core::Error> {
    /// let (near, mut far) = tokio::io::duplex(1024);
    /// let mut w = weir_io::net::TcpWriter::from_async_write(near, 4096);
    /// w.cork();
    /// let _ = w.write(Bytes::from_static(b"HTTP/1.1 200 OK\r\n"))?;
    /// let _ = w.write(Bytes::from_static(b"\r\n"))?;
    /// w.uncork(); // both leave in one write
    /// w.finish().await?;
    /// let mut got = String::new();
    /// tokio::io::AsyncReadExt::read_to_string(&mut far, &mut got).await?;
    /// assert_eq!(got, "HTTP/1.1 200 OK\r\n\r\n");
    /// # Ok(()) }
    /// ```
    pub fn cork(&mut self) {
        let depth = self.cork.depth.load(Ordering::Acquire);
        self.cork
            .depth
            .store(depth.saturating_add(1), Ordering::Release);
    }

    /// Undoes one [`cork`](TcpWriter::cork) (Node's `socket.uncork()`);
    /// after the last one, the task sends what it holds in one vectored
    /// write. Does nothing if not corked.
    pub fn uncork(&mut self) {
        let depth = self.cork.depth.load(Ordering::Acquire);
        if depth == 0 {
            return;
        }
        self.cork.depth.store(depth - 1, Ordering::Release);
        if depth == 1 {
            // A permit if the task is not waiting yet: it cannot miss it.
            self.cork.uncorked.notify_one();
        }
    }

    /// Whether chunks are held back (see [`cork`](TcpWriter::cork)).
    pub fn is_corked(&self) -> bool {
        self.cork.is_corked()
    }

    /// Bytes buffered and not yet taken by the task.
    pub fn buffered(&self) -> usize {
        self.writer.buffered()
    }

    /// The buffer's high mark in bytes.
    pub fn high_water_mark(&self) -> usize {
        self.hwm
    }

    /// Bytes written to the socket so far.
    pub fn bytes_written(&self) -> u64 {
        self.written.get()
    }

    /// A live count of the bytes written to the socket.
    pub fn counter(&self) -> ByteCounter {
        self.written.clone()
    }

    /// The buffer's counters (Full episodes, drains, peak, waits).
    pub fn stats(&self) -> Stats {
        self.writer.stats()
    }

    /// A handle to read the buffer's counters while the writer is owned
    /// elsewhere.
    pub fn stats_handle(&self) -> StatsHandle {
        self.writer.stats_handle()
    }

    /// Polls until the task has finished after [`end`](TcpWriter::end).
    ///
    /// # Return value
    /// - `Poll::Pending`: the task is still writing; the waker is registered.
    /// - `Poll::Ready(Ok(n))`: all `n` bytes were written and the write side
    ///   was shut down.
    /// - `Poll::Ready(Err(e))`: the task stopped on `e`; polling again gives
    ///   a "reader gone" error.
    ///
    /// # Errors
    /// The socket's error that stopped the task, as the return value says.
    pub fn poll_finish(&mut self, cx: &mut Context<'_>) -> Poll<Result<u64, Error>> {
        self.writer.end();
        if let Some(task) = self.task.as_mut() {
            let joined = ready!(Pin::new(task).poll(cx));
            self.task = None;
            if let Err(e) = joined {
                return Poll::Ready(Err(
                    Error::panicked(e.to_string()).with_stage(self.stage.clone())
                ));
            }
        }
        match self.take_failure() {
            Some(e) => Poll::Ready(Err(e)),
            None => Poll::Ready(Ok(self.written.get())),
        }
    }

    fn take_failure(&self) -> Option<Error> {
        self.failure.lock().ok().and_then(|mut f| f.take())
    }

    /// The task's own error in place of "reader gone", when there is one.
    fn explain(&self, e: Error) -> Error {
        if e.is_reader_gone()
            && let Some(cause) = self.take_failure()
        {
            return cause;
        }
        e.with_stage(self.stage.clone())
    }
}

use std::future::Future;

impl Sink<Bytes> for TcpWriter {
    type Error = Error;

    fn poll_ready(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        let this = self.get_mut();
        match Pin::new(&mut this.writer).poll_ready(cx) {
            Poll::Ready(Err(e)) => Poll::Ready(Err(this.explain(e))),
            other => other,
        }
    }

    fn start_send(self: Pin<&mut Self>, chunk: Bytes) -> Result<(), Error> {
        let this = self.get_mut();
        Pin::new(&mut this.writer)
            .start_send(chunk)
            .map_err(|e| this.explain(e))
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        let this = self.get_mut();
        match Sink::poll_flush(Pin::new(&mut this.writer), cx) {
            Poll::Ready(Err(e)) => Poll::Ready(Err(this.explain(e))),
            other => other,
        }
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        let this = self.get_mut();
        ready!(Sink::poll_flush(Pin::new(&mut this.writer), cx)).map_err(|e| this.explain(e))?;
        this.poll_finish(cx).map_ok(drop)
    }
}

/// The task: takes batches from the buffer and writes them, then shuts the
/// write side down at the end. While corked, it holds what it takes until
/// the uncork, a high mark's worth, or the end.
#[allow(clippy::too_many_arguments)]
async fn pump<W>(
    mut rx: Reader<Bytes>,
    mut io: W,
    batch_max: usize,
    written: ByteCounter,
    failure: Failure,
    stage: Arc<str>,
    reset: fn(W),
    cork: Arc<Cork>,
) where
    W: AsyncWrite + Unpin,
{
    let mut batch: VecDeque<Bytes> = VecDeque::new();
    let fail = |e: Error| {
        if let Ok(mut f) = failure.lock() {
            *f = Some(e.with_stage(stage.clone()));
        }
    };
    let mut ended = false;
    while !ended {
        let first = std::future::poll_fn(|cx| Pin::new(&mut rx).poll_next(cx)).await;
        let mut next = first;
        let mut size = 0usize;
        loop {
            match next {
                Some(Ok(chunk)) => {
                    size += chunk.len();
                    batch.push_back(chunk);
                }
                None => ended = true,
                Some(Err(e)) => {
                    // Aborted, or the writer dropped without ending: no clean end.
                    io_debug!(stage = %stage, "tcp write side reset");
                    fail(e);
                    drop(rx);
                    reset(io);
                    return;
                }
            }
            if ended {
                break;
            }
            while size < batch_max {
                match rx.try_next() {
                    Some(chunk) => {
                        size += chunk.len();
                        batch.push_back(chunk);
                    }
                    None => break,
                }
            }
            if size >= batch_max || !cork.is_corked() {
                break;
            }
            // Corked, with room to hold more: wait for the uncork (a permit
            // left by one that came meanwhile counts), or take the next chunk.
            let got = loop {
                tokio::select! {
                    biased;
                    () = cork.uncorked.notified() => {
                        if !cork.is_corked() {
                            break None;
                        }
                        // A permit from an uncork undone since: keep holding.
                    }
                    n = std::future::poll_fn(|cx| Pin::new(&mut rx).poll_next(cx)) => break Some(n),
                }
            };
            match got {
                Some(n) => next = n,
                None => break,
            }
        }
        if let Err(e) = write_batch(&mut io, &mut batch, &written).await {
            fail(Error::from(e));
            return;
        }
    }
    if let Err(e) = io.shutdown().await {
        fail(Error::from(e));
        return;
    }
    io_debug!(stage = %stage, written.bytes = written.get(), "tcp write side shut down");
}

/// Writes every chunk of `batch`, vectored.
async fn write_batch<W: AsyncWrite + Unpin>(
    io: &mut W,
    batch: &mut VecDeque<Bytes>,
    written: &ByteCounter,
) -> io::Result<()> {
    while !batch.is_empty() {
        let n = std::future::poll_fn(|cx| poll_write_chunks(Pin::new(&mut *io), cx, batch)).await?;
        written.add(n);
    }
    Ok(())
}
