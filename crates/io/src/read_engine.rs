//! The machinery behind every source: blocks read on the blocking pool with
//! one block of read-ahead, handed out in chunks split off without copying.

use std::future::Future;
use std::io::{self, Read};
use std::pin::Pin;
use std::task::{Context, Poll, ready};

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
        ReadConfig { chunk, block, fill }
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
        // The block is allocated here, on the runtime's thread, not on the
        // blocking-pool thread: the pool runs jobs on many threads, and each
        // thread allocating large blocks makes the allocator keep memory in
        // one more arena (measured: about 3x the peak RSS with 1 MiB blocks).
        let mut buf = Vec::new();
        if cfg.fill {
            // A block size too large to allocate is an error, not a panic.
            if let Err(e) = buf.try_reserve_exact(cfg.block) {
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
                read_full_block(&mut reader, buf, cfg.block)
            } else {
                read_once(&mut reader, &mut scratch, cfg.block)
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
                        self.at_eof = self.cfg.fill && block.len() < self.cfg.block;
                        if self.at_eof {
                            // A short filled block means the input has ended:
                            // close the file now rather than reading again.
                            drop(reader);
                            self.finish();
                        } else {
                            self.reader = Some(reader);
                            self.scratch = scratch;
                            // Read-ahead: the next block is read while this
                            // one is handed out.
                            if let Err(e) = self.start_read() {
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
