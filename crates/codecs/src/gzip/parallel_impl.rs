//! Parallel gzip compression, the way `pigz` does it: the input is cut into
//! blocks, each block is compressed independently (primed with the 32 KiB
//! of input before it as a preset dictionary, so the ratio barely changes)
//! and ends with a sync flush, so the blocks' outputs concatenate into one
//! DEFLATE stream; a final empty block ends it.
//!
//! The blocks are compressed by a pool of persistent worker threads owned by
//! the encoder (started on first use, stopped and joined when the encoder is
//! finished or dropped), pipelined: the calling thread cuts blocks and hands
//! them out round-robin (block `i` to worker `i mod threads`), and emits the
//! finished ones in order while later ones are still being compressed. Each worker also computes its block's CRC-32;
//! the calling thread combines them. At most `2 × threads` blocks are in
//! flight, so memory is bounded by construction; the calling thread blocks
//! (waiting for the oldest block) only when that bound is reached, or at a
//! flush or the end of the stream.

use std::collections::VecDeque;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::mpsc::{Receiver, Sender, TryRecvError, channel};
use std::thread::JoinHandle;

use crc32fast::Hasher;
use flate2::{Compress, Compression, FlushCompress};
use weir_core::Error;

use super::GzipHeader;
use super::gzip_impl::write_header;
use crate::engine::{EncodeOp, RawEncoder};

/// DEFLATE's window: the most a block can refer back.
const WINDOW: usize = 32 * 1024;
/// A final, empty, fixed-Huffman block (BFINAL=1, BTYPE=01, end-of-block).
const FINAL_EMPTY_BLOCK: [u8; 2] = [0x03, 0x00];
/// Blocks in flight per worker.
const IN_FLIGHT_PER_THREAD: usize = 2;
/// The name of the worker threads (as `/proc/*/task/*/comm` shows it).
pub(crate) const WORKER_NAME: &str = "weir-gzip";

/// A block to compress: `data[..dict]` is the dictionary (the input before
/// the block), `data[dict..]` the block itself.
struct Job {
    seq: u64,
    data: Vec<u8>,
    dict: usize,
    /// Tests: the worker panics on this job.
    #[cfg(test)]
    panic: bool,
}

/// A compressed block: its DEFLATE bytes (ending with a sync flush) and the
/// CRC-32 of its input.
struct Done {
    deflate: Vec<u8>,
    crc: Hasher,
}

/// What a worker sends back for a job.
type Outcome = (u64, Result<Done, Error>);

/// Compresses one block primed with `dict` with `c` (reset first), ending
/// with a sync flush.
///
/// Each worker keeps one compressor: a fresh one per block doubled the peak
/// RSS (the allocator keeps what a few hundred KiB per block churned).
/// zlib-rs's output after a reset depends a little on what the compressor
/// did before, which is why blocks go to the workers round-robin rather than
/// to whichever is free: the bytes then depend on the level, the block size
/// and the number of threads, never on timing or on how the input is cut.
fn compress_block(c: &mut Compress, dict: &[u8], data: &[u8]) -> Result<Vec<u8>, Error> {
    let fail = |e: flate2::CompressError| {
        Error::msg(format!("gzip: parallel block compression failed: {e}"))
    };
    c.reset();
    if !dict.is_empty() {
        c.set_dictionary(dict).map_err(fail)?;
    }
    let mut out = Vec::with_capacity(data.len() / 2 + 1024);
    loop {
        if out.capacity() - out.len() < 1024 {
            out.reserve(data.len() / 4 + 1024);
        }
        let done_in = c.total_in() as usize;
        c.compress_vec(
            &data[done_in.min(data.len())..],
            &mut out,
            FlushCompress::Sync,
        )
        .map_err(fail)?;
        // The flush is complete once all input is in and deflate left room.
        if c.total_in() as usize >= data.len() && out.len() < out.capacity() {
            return Ok(out);
        }
    }
}

/// Compresses and checksums one job.
fn run_job(c: &mut Compress, job: &Job) -> Result<Done, Error> {
    #[cfg(test)]
    if job.panic {
        #[allow(clippy::panic)]
        {
            panic!("test: a worker panics");
        }
    }
    let dict = job.dict.min(job.data.len());
    let (dict, block) = job.data.split_at(dict);
    let deflate = compress_block(c, dict, block)?;
    let mut crc = Hasher::new();
    crc.update(block);
    Ok(Done { deflate, crc })
}

/// A worker: takes jobs until its job channel closes. A panic while
/// compressing is reported as that block's error, never lost.
fn worker(level: Compression, jobs: Receiver<Job>, done: Sender<Outcome>) {
    let mut c = Compress::new(level, false);
    while let Ok(job) = jobs.recv() {
        let result = catch_unwind(AssertUnwindSafe(|| run_job(&mut c, &job)))
            .unwrap_or_else(|_| Err(Error::msg("gzip: a compression thread panicked")));
        if result.is_err() {
            // The compressor may be in any state after a failure.
            c = Compress::new(level, false);
        }
        if done.send((job.seq, result)).is_err() {
            return;
        }
    }
}

/// The worker threads and their channels.
struct Pool {
    /// One job channel per worker; empty once stopped.
    jobs: Vec<Sender<Job>>,
    done: Receiver<Outcome>,
    workers: Vec<JoinHandle<()>>,
}

impl Pool {
    /// Starts up to `threads` workers; an error only if none could start.
    fn start(threads: usize, level: u32) -> Result<Pool, Error> {
        let (done_tx, done_rx) = channel::<Outcome>();
        let level = Compression::new(level);
        let mut workers = Vec::with_capacity(threads);
        let mut jobs = Vec::with_capacity(threads);
        let mut failure = None;
        for _ in 0..threads {
            let (job_tx, job_rx) = channel::<Job>();
            let done = done_tx.clone();
            let spawned = std::thread::Builder::new()
                .name(WORKER_NAME.into())
                .spawn(move || worker(level, job_rx, done));
            match spawned {
                Ok(h) => {
                    workers.push(h);
                    jobs.push(job_tx);
                }
                Err(e) => failure = Some(e),
            }
        }
        if workers.is_empty() {
            let e = failure.map_or_else(|| "no threads".to_owned(), |e| e.to_string());
            return Err(Error::msg(format!(
                "gzip: could not start a compression thread: {e}"
            )));
        }
        Ok(Pool {
            jobs,
            done: done_rx,
            workers,
        })
    }

    /// Closes the job channels and joins the workers (each finishes the
    /// block it is compressing, if any).
    fn stop(&mut self) {
        self.jobs.clear();
        for h in self.workers.drain(..) {
            // A panic was already reported as an error (or the result was
            // not wanted any more).
            let _ = h.join();
        }
    }
}

impl Drop for Pool {
    fn drop(&mut self) {
        self.stop();
    }
}

pub(crate) struct ParallelGzipEncoder {
    level: u32,
    threads: usize,
    block: usize,
    header: Option<Vec<u8>>,
    /// The block being filled: the dictionary (`dict` bytes: up to 32 KiB
    /// of the input before it) followed by the block's input.
    current: Vec<u8>,
    dict: usize,
    /// Started on first use, stopped at the end of the stream.
    pool: Option<Pool>,
    /// The next block's sequence number, and the next one to emit.
    next_seq: u64,
    next_out: u64,
    /// Finished blocks not yet emitted, indexed by `seq - next_out`.
    ready: VecDeque<Option<Done>>,
    crc: Hasher,
    isize: u32,
    finished: bool,
    /// Tests: the block with this sequence number makes its worker panic.
    #[cfg(test)]
    panic_at: Option<u64>,
}

impl std::fmt::Debug for ParallelGzipEncoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ParallelGzipEncoder")
            .field("threads", &self.threads)
            .field("block", &self.block)
            .field("pending", &(self.current.len() - self.dict))
            .field("in_flight", &(self.next_seq - self.next_out))
            .finish()
    }
}

impl ParallelGzipEncoder {
    pub(crate) fn new(level: u32, header: &GzipHeader, threads: usize, block: usize) -> Self {
        let mut h = Vec::new();
        write_header(header, level, &mut h);
        ParallelGzipEncoder {
            level,
            threads: threads.max(1),
            block: block.max(WINDOW),
            header: Some(h),
            current: Vec::new(),
            dict: 0,
            pool: None,
            next_seq: 0,
            next_out: 0,
            ready: VecDeque::new(),
            crc: Hasher::new(),
            isize: 0,
            finished: false,
            #[cfg(test)]
            panic_at: None,
        }
    }

    fn max_in_flight(&self) -> usize {
        self.threads * IN_FLIGHT_PER_THREAD
    }

    fn in_flight(&self) -> usize {
        (self.next_seq - self.next_out) as usize
    }

    fn pending(&self) -> usize {
        self.current.len() - self.dict
    }

    fn pool(&mut self) -> Result<&mut Pool, Error> {
        if self.pool.is_none() {
            self.pool = Some(Pool::start(self.threads, self.level)?);
        }
        self.pool
            .as_mut()
            .ok_or_else(|| Error::msg("gzip: no compression threads"))
    }

    /// Hands the block being filled to the workers (waiting for the oldest
    /// block first if the most are in flight), and starts the next one with
    /// its dictionary.
    fn submit(&mut self, out: &mut Vec<u8>) -> Result<(), Error> {
        if self.pending() == 0 {
            return Ok(());
        }
        while self.in_flight() >= self.max_in_flight() {
            self.collect(out, true)?;
        }
        let keep = self.current.len().min(WINDOW);
        let mut next = Vec::with_capacity(keep + self.block);
        next.extend_from_slice(&self.current[self.current.len() - keep..]);
        let data = std::mem::replace(&mut self.current, next);
        let job = Job {
            seq: self.next_seq,
            data,
            dict: self.dict,
            #[cfg(test)]
            panic: self.panic_at == Some(self.next_seq),
        };
        self.dict = keep;
        let pool = self.pool()?;
        let sent = match pool.jobs.len() {
            0 => false,
            n => pool.jobs[(job.seq % n as u64) as usize].send(job).is_ok(),
        };
        if !sent {
            return Err(lost());
        }
        self.next_seq += 1;
        Ok(())
    }

    /// Moves finished blocks into `ready` and emits those next in order.
    /// With `wait`, blocks until at least the oldest block is emitted.
    fn collect(&mut self, out: &mut Vec<u8>, wait: bool) -> Result<(), Error> {
        let mut must_wait = wait && self.in_flight() > 0;
        loop {
            let Some(pool) = self.pool.as_ref() else {
                return Ok(());
            };
            let got = if must_wait {
                pool.done.recv().map_err(|_| lost())?
            } else {
                match pool.done.try_recv() {
                    Ok(got) => got,
                    Err(TryRecvError::Empty) => return Ok(()),
                    Err(TryRecvError::Disconnected) => return Err(lost()),
                }
            };
            let (seq, result) = got;
            let done = result?;
            let slot = seq
                .checked_sub(self.next_out)
                .map(|i| i as usize)
                .ok_or_else(lost)?;
            if self.ready.len() <= slot {
                self.ready.resize_with(slot + 1, || None);
            }
            self.ready[slot] = Some(done);
            while let Some(Some(_)) = self.ready.front() {
                if let Some(Some(d)) = self.ready.pop_front() {
                    out.extend_from_slice(&d.deflate);
                    self.crc.combine(&d.crc);
                    self.next_out += 1;
                    must_wait = false;
                }
            }
        }
    }

    /// Compresses and emits everything taken so far.
    fn drain(&mut self, out: &mut Vec<u8>) -> Result<(), Error> {
        self.submit(out)?;
        while self.in_flight() > 0 {
            self.collect(out, true)?;
        }
        Ok(())
    }
}

fn lost() -> Error {
    Error::msg("gzip: a compression thread stopped without its result")
}

impl RawEncoder for ParallelGzipEncoder {
    const FORMAT: &'static str = "gzip";

    fn encode(
        &mut self,
        input: &[u8],
        out: &mut Vec<u8>,
        op: EncodeOp,
    ) -> Result<(usize, bool), Error> {
        if let Some(h) = self.header.take() {
            out.extend_from_slice(&h);
        }
        if self.finished {
            return Ok((0, true));
        }
        match op {
            EncodeOp::Process => {
                let room = self.block.saturating_sub(self.pending());
                let take = room.min(input.len());
                if self.current.capacity() == 0 {
                    self.current.reserve_exact(self.block);
                }
                self.current.extend_from_slice(&input[..take]);
                self.isize = self.isize.wrapping_add(take as u32);
                if self.pending() >= self.block {
                    self.submit(out)?;
                }
                self.collect(out, false)?;
                Ok((take, false))
            }
            EncodeOp::Flush => {
                self.drain(out)?;
                Ok((0, true))
            }
            EncodeOp::Finish => {
                self.drain(out)?;
                if let Some(mut pool) = self.pool.take() {
                    pool.stop();
                }
                out.extend_from_slice(&FINAL_EMPTY_BLOCK);
                out.extend_from_slice(&self.crc.clone().finalize().to_le_bytes());
                out.extend_from_slice(&self.isize.to_le_bytes());
                self.finished = true;
                Ok((0, true))
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    fn encoder(threads: usize) -> ParallelGzipEncoder {
        ParallelGzipEncoder::new(6, &GzipHeader::default(), threads, WINDOW)
    }

    /// Feeds `data` in 10 KiB pieces, then finishes.
    fn feed(e: &mut ParallelGzipEncoder, data: &[u8]) -> Result<Vec<u8>, Error> {
        let mut out = Vec::new();
        for piece in data.chunks(10 * 1024) {
            let mut rest = piece;
            while !rest.is_empty() {
                let (n, _) = e.encode(rest, &mut out, EncodeOp::Process)?;
                rest = &rest[n..];
            }
        }
        e.encode(&[], &mut out, EncodeOp::Finish)?;
        Ok(out)
    }

    #[test]
    fn a_worker_panic_is_an_error_not_a_hang() {
        let data: Vec<u8> = (0..40 * WINDOW).map(|i| (i * 7 % 251) as u8).collect();
        for at in [0, 1, 5, 39] {
            let mut e = encoder(2);
            e.panic_at = Some(at);
            let err = feed(&mut e, &data).unwrap_err();
            assert!(err.to_string().contains("panicked"), "{err}");
            drop(e);
        }
    }

    #[test]
    fn in_flight_blocks_stay_bounded() {
        let data: Vec<u8> = (0..64 * WINDOW).map(|i| (i * 13 % 241) as u8).collect();
        let mut e = encoder(2);
        let mut out = Vec::new();
        for piece in data.chunks(5000) {
            let mut rest = piece;
            while !rest.is_empty() {
                let (n, _) = e.encode(rest, &mut out, EncodeOp::Process).unwrap();
                rest = &rest[n..];
                assert!(e.in_flight() <= e.max_in_flight());
                assert!(e.ready.len() <= e.max_in_flight());
                assert!(e.pending() <= e.block);
                assert!(e.current.capacity() <= WINDOW + e.block);
            }
        }
        e.encode(&[], &mut out, EncodeOp::Finish).unwrap();
        assert_eq!(e.in_flight(), 0);
        assert!(e.pool.is_none(), "the workers are stopped at the end");
    }
}
