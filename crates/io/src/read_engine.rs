//! The machinery behind every source: blocks read on the blocking pool with
//! one block of read-ahead, handed out in chunks split off without copying;
//! optionally with blocks sized by how fast the consumer takes them.

use std::future::Future;
use std::io::{self, Read};
use std::pin::Pin;
use std::task::{Context, Poll, ready};
use std::time::{Duration, Instant};

use bytes::Bytes;
use tokio::task::JoinHandle;
use weir_core::Error;

use crate::context::IoContext;
use crate::counter::ByteCounter;
use crate::gauge::{CountedBuf, MemoryGauge};
use crate::spawn::{Spawner, join_error};
use crate::trace::io_debug;

/// How a source reads. Block sizes are already rounded (see [`ReadConfig::new`]).
#[derive(Debug, Clone, Copy)]
pub(crate) struct ReadConfig {
    pub(crate) chunk: usize,
    pub(crate) block: usize,
    /// Fill each block before handing it out (files); or hand out what each
    /// read call returns (pipes, terminals).
    pub(crate) fill: bool,
    /// Adaptive block sizes, from this size up to `block` (see [`Adapt`]);
    /// `None`: every read asks for `block`.
    pub(crate) min_block: Option<usize>,
}

impl ReadConfig {
    /// Clamps sizes to at least 1 and, when filling, rounds the block up to
    /// a multiple of the chunk so that every chunk but the last is full.
    pub(crate) fn new(chunk: usize, block: usize, fill: bool) -> Self {
        let chunk = chunk.max(1);
        let mut block = block.max(chunk);
        if fill && !block.is_multiple_of(chunk) {
            block = block.div_ceil(chunk).saturating_mul(chunk);
        }
        ReadConfig {
            chunk,
            block,
            fill,
            min_block: None,
        }
    }

    /// Sizes each read by the consumer's pace, between `min` (at least 1,
    /// at most the block) and the block size; `min` equal to the block
    /// turns it off.
    pub(crate) fn adaptive(mut self, min: usize) -> Self {
        let min = min.clamp(1, self.block);
        self.min_block = (min < self.block).then_some(min);
        self
    }
}

/// How long the consumer's pace is watched, at least, before a block size
/// is chosen from it.
const WATCH: Duration = Duration::from_millis(10);

/// A window at least this long is trusted to shrink the block straight to
/// what the pace asks for (a shorter one halves it at most).
const SETTLE: Duration = Duration::from_millis(100);

/// The block grows only once the consumer has taken this much in one
/// window. When a response starts, hyper and the kernel's socket buffers
/// take a burst however slow the client: on loopback (64 KiB segments) the
/// send buffer grows to 1-2 MiB at once, and Linux lets it reach 4 MiB
/// (`tcp_wmem`). That is not a fast client, and large blocks read for it
/// would sit in memory for as long as the slow client takes to read them.
/// A fast download passes this in a few milliseconds; a client at a few
/// MB/s in a few seconds.
const GROW_BYTES: u64 = 8 << 20;

/// Adaptive read sizes: a block holds what the consumer takes in about
/// [`WATCH`], rounded up to `min` times a power of two, at most `max`.
///
/// A consumer slower than half a small block per [`WATCH`] (a client
/// reading some hundreds of KB/s or less) gets no read-ahead at all: the
/// next block is read when it asks for it, so such a connection holds one
/// small block, not two large ones. A consumer that takes the data as fast
/// as it is read reaches `max` after [`GROW_BYTES`] (a few milliseconds). Memory stays
/// bounded by construction: at most two blocks of at most `max`.
#[derive(Debug, Clone, Copy)]
struct Adapt {
    min: usize,
    max: usize,
    /// The size of the next read.
    cur: usize,
    /// When the current window began, and the bytes handed out by then.
    window: Option<(Instant, u64)>,
    /// The consumer is slow: no read-ahead.
    slow: bool,
}

impl Adapt {
    fn new(min: usize, max: usize) -> Self {
        Adapt {
            min,
            max,
            cur: min,
            window: None,
            slow: false,
        }
    }

    /// Watches the pace: `handed` bytes handed out in all, `now`.
    fn observe(&mut self, handed: u64, now: Instant) {
        let Some((start, at_start)) = self.window else {
            self.window = Some((now, handed));
            return;
        };
        let elapsed = now.saturating_duration_since(start);
        if elapsed < WATCH {
            return;
        }
        let bytes = handed.saturating_sub(at_start);
        let want = bytes as f64 * WATCH.as_secs_f64() / elapsed.as_secs_f64();
        let mut target = self.min;
        while (target as f64) < want && target < self.max {
            target = target.saturating_mul(2).min(self.max);
        }
        if target > self.cur {
            if bytes < GROW_BYTES {
                // Maybe a burst into empty buffers: watch longer.
                return;
            }
            self.cur = target;
        } else if elapsed >= SETTLE {
            self.cur = target;
        } else {
            self.cur = (self.cur / 2).max(target);
        }
        self.slow = self.cur == self.min && want < (self.min / 2) as f64;
        self.window = Some((now, handed));
    }
}

/// What a blocking read gives back: the reader (and its scratch buffer, in
/// read-once mode) and the block, empty at the end of input.
struct ReadDone<R> {
    reader: R,
    scratch: Vec<u8>,
    block: io::Result<Bytes>,
}

/// A reader as a stream of chunks (see the crate docs, "Memory use").
///
/// States: `reader` is `Some` when no read is in flight; `job` is `Some`
/// while one is; both are `None` once the input has ended or failed (the
/// stream then only hands out what is left of `current`).
pub(crate) struct ReadEngine<R> {
    reader: Option<R>,
    scratch: Vec<u8>,
    job: Option<JoinHandle<ReadDone<R>>>,
    current: Bytes,
    /// The last block read was short in fill mode: the input has ended, so
    /// no further read is needed.
    at_eof: bool,
    /// An error to return once `current` is handed out.
    failed: Option<Error>,
    cfg: ReadConfig,
    ctx: IoContext,
    counter: ByteCounter,
    spawner: Spawner,
    /// Where the blocks read in fill mode are counted while they live.
    gauge: Option<MemoryGauge>,
    /// Adaptive block sizes, when on.
    adapt: Option<Adapt>,
    /// The size asked for by the read in flight (or the last one).
    asked: usize,
}

// Nothing in the engine is ever pinned: the reader lives in an `Option` or
// inside a blocking job, never in place.
impl<R> Unpin for ReadEngine<R> {}

impl<R: Read + Send + 'static> ReadEngine<R> {
    pub(crate) fn new(reader: R, cfg: ReadConfig, ctx: IoContext) -> Self {
        ReadEngine {
            reader: Some(reader),
            scratch: Vec::new(),
            job: None,
            current: Bytes::new(),
            at_eof: false,
            failed: None,
            cfg,
            ctx,
            counter: ByteCounter::new(),
            spawner: Spawner::new(),
            gauge: None,
            adapt: cfg.min_block.map(|min| Adapt::new(min, cfg.block)),
            asked: cfg.block,
        }
    }

    /// Counts every block read in fill mode on `gauge`, from its
    /// allocation until its last slice is dropped.
    pub(crate) fn with_gauge(mut self, gauge: MemoryGauge) -> Self {
        self.gauge = Some(gauge);
        self
    }

    pub(crate) fn config(&self) -> ReadConfig {
        self.cfg
    }

    pub(crate) fn counter(&self) -> &ByteCounter {
        &self.counter
    }

    pub(crate) fn is_terminated(&self) -> bool {
        self.reader.is_none()
            && self.job.is_none()
            && self.current.is_empty()
            && self.failed.is_none()
    }

    /// Starts reading the next block, unless a read is in flight or the
    /// input has ended.
    fn start_read(&mut self) -> Result<(), Error> {
        if self.job.is_some() || self.at_eof {
            return Ok(());
        }
        let Some(mut reader) = self.reader.take() else {
            return Ok(());
        };
        let mut scratch = std::mem::take(&mut self.scratch);
        let cfg = self.cfg;
        let size = match &mut self.adapt {
            Some(a) => {
                if a.window.is_none() {
                    a.observe(self.counter.get(), Instant::now());
                }
                a.cur
            }
            None => cfg.block,
        };
        self.asked = size;
        // The block is allocated here, on the runtime's thread, not on the
        // blocking-pool thread: the pool runs jobs on many threads, and each
        // thread allocating large blocks makes the allocator keep memory in
        // one more arena (measured: about 3x the peak RSS with 1 MiB blocks).
        let mut buf = Vec::new();
        if cfg.fill {
            // A block size too large to allocate is an error, not a panic.
            if let Err(e) = buf.try_reserve_exact(size) {
                self.reader = Some(reader);
                self.scratch = scratch;
                return Err(self
                    .ctx
                    .io_error("cannot read", io::Error::new(io::ErrorKind::OutOfMemory, e)));
            }
        }
        let buf = CountedBuf::new(buf, self.gauge.clone());
        let job = self.spawner.spawn(move || {
            let block = if cfg.fill {
                read_full_block(&mut reader, buf, size)
            } else {
                read_once(&mut reader, &mut scratch, size)
            };
            ReadDone {
                reader,
                scratch,
                block,
            }
        })?;
        self.job = Some(job);
        Ok(())
    }

    /// Ends the stream: the reader (if here) is dropped, any job is let go.
    fn finish(&mut self) {
        if self.reader.take().is_some() || self.job.is_some() {
            io_debug!(stage = %self.ctx.stage(), read.bytes = self.counter.get(), "io.source finished");
        }
        self.job = None;
        self.scratch = Vec::new();
    }

    pub(crate) fn poll_next(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<Bytes, Error>>> {
        loop {
            if !self.current.is_empty() {
                let n = self.cfg.chunk.min(self.current.len());
                let chunk = self.current.split_to(n);
                self.counter.add(n);
                return Poll::Ready(Some(Ok(chunk)));
            }
            if let Some(e) = self.failed.take() {
                return Poll::Ready(Some(Err(e)));
            }
            if let Some(job) = self.job.as_mut() {
                let done = ready!(Pin::new(job).poll(cx));
                self.job = None;
                match done {
                    Ok(ReadDone {
                        reader,
                        scratch,
                        block: Ok(block),
                    }) => {
                        if block.is_empty() {
                            self.finish();
                            return Poll::Ready(None);
                        }
                        self.at_eof = self.cfg.fill && block.len() < self.asked;
                        if self.at_eof {
                            // A short filled block means the input has ended:
                            // close the file now rather than reading again.
                            drop(reader);
                            self.finish();
                        } else {
                            self.reader = Some(reader);
                            self.scratch = scratch;
                            let slow = match &mut self.adapt {
                                Some(a) => {
                                    a.observe(self.counter.get(), Instant::now());
                                    a.slow
                                }
                                None => false,
                            };
                            // Read-ahead: the next block is read while this
                            // one is handed out (unless the consumer is so
                            // slow that it would only sit in memory).
                            if !slow && let Err(e) = self.start_read() {
                                self.finish();
                                self.failed = Some(self.ctx.error(e));
                            }
                        }
                        self.current = block;
                    }
                    Ok(ReadDone { block: Err(e), .. }) => {
                        self.finish();
                        return Poll::Ready(Some(Err(self.ctx.io_error("cannot read", e))));
                    }
                    Err(e) => {
                        self.finish();
                        return Poll::Ready(Some(Err(self.ctx.error(join_error(e)))));
                    }
                }
                continue;
            }
            if self.reader.is_none() || self.at_eof {
                self.finish();
                return Poll::Ready(None);
            }
            if let Err(e) = self.start_read() {
                self.finish();
                return Poll::Ready(Some(Err(self.ctx.error(e))));
            }
        }
    }
}

/// Reads until `block` bytes have come or the input ends, straight into a
/// fresh allocation that becomes the block (`read_to_end` fills spare
/// capacity without zeroing it first).
fn read_full_block<R: Read>(
    reader: &mut R,
    mut buf: CountedBuf,
    block: usize,
) -> io::Result<Bytes> {
    reader.take(block as u64).read_to_end(buf.vec_mut())?;
    Ok(buf.into_bytes())
}

/// One read call (retried on `Interrupted`) into a reused scratch buffer;
/// the block is a copy of exactly what came, so a short read from a pipe
/// does not pin a whole block of memory downstream.
fn read_once<R: Read>(reader: &mut R, scratch: &mut Vec<u8>, block: usize) -> io::Result<Bytes> {
    if scratch.len() != block {
        scratch.clear();
        scratch
            .try_reserve_exact(block)
            .map_err(|e| io::Error::new(io::ErrorKind::OutOfMemory, e))?;
        scratch.resize(block, 0);
    }
    loop {
        match reader.read(scratch) {
            Ok(n) => return Ok(Bytes::copy_from_slice(&scratch[..n.min(block)])),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const K: usize = 1024;

    /// `bytes` more handed out `ms` milliseconds later.
    fn step(a: &mut Adapt, t: &mut Instant, handed: &mut u64, bytes: u64, ms: u64) {
        *t += Duration::from_millis(ms);
        *handed += bytes;
        a.observe(*handed, *t);
    }

    #[test]
    fn a_slow_consumer_stays_small_and_gets_no_read_ahead() {
        let (mut a, mut t, mut h) = (Adapt::new(16 * K, 256 * K), Instant::now(), 0);
        a.observe(h, t);
        // A 2 MiB burst into empty socket buffers, then 20 KB/s.
        for _ in 0..8 {
            step(&mut a, &mut t, &mut h, 256 * 1024, 2);
        }
        assert_eq!(a.cur, 16 * K, "a burst is not a fast client");
        for _ in 0..20 {
            step(&mut a, &mut t, &mut h, 16 * 1024, 800);
        }
        assert_eq!(a.cur, 16 * K);
        assert!(a.slow);
    }

    #[test]
    fn a_fast_consumer_grows_to_the_largest_block_and_shrinks_when_it_slows() {
        let (mut a, mut t, mut h) = (Adapt::new(16 * K, 256 * K), Instant::now(), 0);
        a.observe(h, t);
        // 1 GB/s.
        for _ in 0..20 {
            step(&mut a, &mut t, &mut h, 1_000_000, 1);
        }
        assert_eq!(a.cur, 256 * K);
        assert!(!a.slow);
        // Then the socket stays full: 16 KiB per 200 ms.
        for _ in 0..3 {
            step(&mut a, &mut t, &mut h, 16 * 1024, 200);
        }
        assert_eq!(a.cur, 16 * K);
        assert!(a.slow);
    }

    #[test]
    fn a_medium_consumer_gets_a_medium_block() {
        let (mut a, mut t, mut h) = (Adapt::new(16 * K, 256 * K), Instant::now(), 0);
        a.observe(h, t);
        // 5 MB/s, in 16 KiB blocks: 50 KB per 10 ms.
        for _ in 0..2000 {
            step(&mut a, &mut t, &mut h, 16 * 1024, 3);
        }
        assert_eq!(a.cur, 64 * K);
    }
}
