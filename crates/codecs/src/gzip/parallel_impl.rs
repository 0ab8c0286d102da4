//! Parallel DEFLATE compression, the way `pigz` does it: the input is cut
//! into blocks, each block is compressed independently (primed with the
//! 32 KiB of input before it as a preset dictionary, so the ratio barely
//! changes) and ends with a sync flush, so the blocks' outputs concatenate
//! into one DEFLATE stream; a final empty block ends it. The stream is
//! framed as gzip (header, combined CRC-32, length), zlib (header, combined
//! Adler-32) or raw DEFLATE ([`Framing`]).
//!
//! [`Framing::Bgzf`] is the other way to cut a stream: each block (at most
//! [`BGZF_BLOCK`] bytes of input, no dictionary) becomes a complete gzip
//! member with BGZF's `BC` extra field recording its compressed size, as
//! htslib's `bgzip` writes them, and the standard empty member ends the
//! file. Any gunzip reads it as a multi-member file; weir's parallel
//! decoder decodes its blocks on several threads.
//!
//! The blocks are compressed by a pool of persistent worker threads owned by
//! the encoder (started on first use, stopped and joined when the encoder is
//! finished or dropped), pipelined: the calling thread cuts blocks and hands
//! them out round-robin (block `i` to worker `i mod threads`), and emits the
//! finished ones in order while later ones are still being compressed. Each
//! worker also computes its block's checksum; the calling thread combines
//! them. At most `2 × threads` blocks are in flight, so memory is bounded by
//! construction; the calling thread blocks (waiting for the oldest block)
//! only when that bound is reached, or at a flush or the end of the stream.
//! (BGZF on one thread compresses on the calling thread, with no pool.)

#[cfg(test)]
use std::time::Duration;

use crc32fast::Hasher;
use flate2::{Compress, Compression, FlushCompress, Status};
use weir_core::{Error, WorkerBusy};

use super::GzipHeader;
use super::gzip_impl::write_header;
use crate::engine::{EncodeOp, RawEncoder};
use crate::pool_impl::{InOrder, PoolNames, Queue, Work, WorkerPool};

/// The default block size of parallel compression (as `pigz`'s).
pub(crate) const DEFAULT_BLOCK: usize = 128 * 1024;
/// DEFLATE's window: the most a block can refer back.
const WINDOW: usize = 32 * 1024;
/// A final, empty, fixed-Huffman block (BFINAL=1, BTYPE=01, end-of-block).
const FINAL_EMPTY_BLOCK: [u8; 2] = [0x03, 0x00];
/// Blocks in flight per worker.
const IN_FLIGHT_PER_THREAD: usize = 2;
/// The name of the worker threads (as `/proc/*/task/*/comm` shows it).
pub(crate) const WORKER_NAME: &str = "weir-gzip";

/// The most input bytes in one BGZF block: what `bgzip` puts in one, small
/// enough that even stored, with its header and trailer, the block fits in
/// BGZF's 64 KiB.
pub(crate) const BGZF_BLOCK: usize = 0xff00;
/// The largest BGZF block, header and trailer included (BSIZE is 16 bits
/// and records the size less one).
pub(crate) const BGZF_MAX_SIZE: usize = 1 << 16;
/// A BGZF block's header up to its compressed data, BSIZE left at zero:
/// gzip magic, deflate, FEXTRA, no mtime, no XFL, OS unknown; XLEN 6; the
/// `BC` subfield, 2 bytes long.
const BGZF_HEADER: [u8; 18] = [
    0x1f, 0x8b, 8, 4, 0, 0, 0, 0, 0, 0xff, 6, 0, b'B', b'C', 2, 0, 0, 0,
];
/// The empty block that ends a BGZF file (what `bgzip` writes).
pub(crate) const BGZF_EOF: [u8; 28] = [
    0x1f, 0x8b, 8, 4, 0, 0, 0, 0, 0, 0xff, 6, 0, b'B', b'C', 2, 0, 0x1b, 0, 3, 0, 0, 0, 0, 0, 0, 0,
    0, 0,
];

/// How the compressed blocks are framed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Framing {
    /// One gzip member (RFC 1952).
    Gzip,
    /// A zlib stream (RFC 1950).
    Zlib,
    /// Raw DEFLATE (RFC 1951).
    Raw,
    /// Independent gzip members, BGZF-style.
    Bgzf,
}

/// A block to compress: `data[..dict]` is the dictionary (the input before
/// the block), `data[dict..]` the block itself.
struct Job {
    data: Vec<u8>,
    dict: usize,
    /// Tests: the worker panics on this job.
    #[cfg(test)]
    panic: bool,
}

/// A compressed block: its bytes (DEFLATE ending with a sync flush, or a
/// whole BGZF member), and the checksum of its input that the framing
/// needs.
struct Done {
    bytes: Vec<u8>,
    crc: Option<Hasher>,
    adler: Option<(u32, u64)>,
}

/// A worker's state: its compressor, reused for every block.
///
/// A fresh compressor per block doubled the peak RSS (the allocator keeps
/// what a few hundred KiB per block churned). zlib-rs's output after a
/// reset depends a little on what the compressor did before, which is why
/// blocks go to the workers round-robin rather than to whichever is free:
/// the bytes then depend on the level, the block size and the number of
/// threads, never on timing or on how the input is cut.
struct BlockCompressor {
    c: Compress,
    level: Compression,
    framing: Framing,
    mtime: u32,
}

impl BlockCompressor {
    fn new(level: u32, framing: Framing, mtime: u32) -> Self {
        let level = Compression::new(level);
        BlockCompressor {
            c: Compress::new(level, false),
            level,
            framing,
            mtime,
        }
    }
}

impl Work for BlockCompressor {
    type Job = Job;
    type Out = Done;

    fn run(&mut self, job: Job) -> Result<Done, Error> {
        #[cfg(test)]
        if job.panic {
            #[allow(clippy::panic)]
            {
                panic!("test: a worker panics");
            }
        }
        let dict = job.dict.min(job.data.len());
        let (dict, block) = job.data.split_at(dict);
        match self.framing {
            Framing::Bgzf => Ok(Done {
                bytes: bgzf_member(&mut self.c, block, self.mtime)?,
                crc: None,
                adler: None,
            }),
            framing => {
                let bytes = compress_block(&mut self.c, dict, block)?;
                let (mut crc, mut adler) = (None, None);
                if framing == Framing::Gzip {
                    let mut h = Hasher::new();
                    h.update(block);
                    crc = Some(h);
                } else if framing == Framing::Zlib {
                    adler = Some((adler32(1, block), block.len() as u64));
                }
                Ok(Done { bytes, crc, adler })
            }
        }
    }

    fn recover(&mut self) {
        self.c = Compress::new(self.level, false);
    }
}

fn compress_failed(e: flate2::CompressError) -> Error {
    Error::msg(format!("parallel block compression failed: {e}"))
}

/// Compresses one block primed with `dict` with `c` (reset first), ending
/// with a sync flush.
fn compress_block(c: &mut Compress, dict: &[u8], data: &[u8]) -> Result<Vec<u8>, Error> {
    c.reset();
    if !dict.is_empty() {
        c.set_dictionary(dict).map_err(compress_failed)?;
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
        .map_err(compress_failed)?;
        // The flush is complete once all input is in and deflate left room.
        if c.total_in() as usize >= data.len() && out.len() < out.capacity() {
            return Ok(out);
        }
    }
}

/// One BGZF block: a complete gzip member holding `data` (at most
/// [`BGZF_BLOCK`] bytes), its size recorded in the `BC` subfield. Data that
/// does not shrink enough to fit is stored instead (one stored block).
fn bgzf_member(c: &mut Compress, data: &[u8], mtime: u32) -> Result<Vec<u8>, Error> {
    debug_assert!(data.len() <= BGZF_BLOCK);
    c.reset();
    let mut out = Vec::with_capacity(BGZF_HEADER.len() + data.len() / 2 + 1024);
    out.extend_from_slice(&BGZF_HEADER);
    out[4..8].copy_from_slice(&mtime.to_le_bytes());
    loop {
        if out.capacity() - out.len() < 1024 {
            out.reserve(data.len() / 4 + 1024);
        }
        let done_in = c.total_in() as usize;
        let status = c
            .compress_vec(
                &data[done_in.min(data.len())..],
                &mut out,
                FlushCompress::Finish,
            )
            .map_err(compress_failed)?;
        if status == Status::StreamEnd {
            break;
        }
    }
    if out.len() + 8 > BGZF_MAX_SIZE {
        // Stored: BFINAL=1, BTYPE=00, then LEN and NLEN (data fits in one).
        out.truncate(BGZF_HEADER.len());
        let len = data.len() as u16;
        out.push(1);
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(&(!len).to_le_bytes());
        out.extend_from_slice(data);
    }
    let mut crc = Hasher::new();
    crc.update(data);
    out.extend_from_slice(&crc.finalize().to_le_bytes());
    out.extend_from_slice(&(data.len() as u32).to_le_bytes());
    let bsize = (out.len() - 1) as u16;
    out[16..18].copy_from_slice(&bsize.to_le_bytes());
    Ok(out)
}

/// Adler-32's modulus.
const ADLER_MOD: u32 = 65_521;
/// The most bytes summed before the sums must be reduced (so `b` cannot
/// overflow 32 bits).
const ADLER_RUN: usize = 5552;

/// The Adler-32 of `data` continued from `adler` (1 for a fresh one).
pub(crate) fn adler32(adler: u32, data: &[u8]) -> u32 {
    let (mut a, mut b) = (adler & 0xffff, adler >> 16);
    for run in data.chunks(ADLER_RUN) {
        for &x in run {
            a += u32::from(x);
            b += a;
        }
        a %= ADLER_MOD;
        b %= ADLER_MOD;
    }
    (b << 16) | a
}

/// The Adler-32 of `x` followed by `y`, from `adler32(x)`, `adler32(y)` and
/// the length of `y`. Adler-32's `a` is 1 plus the sum of the bytes, and `b`
/// the sum of `a` after each byte; after `x`, each of `y`'s `len` partial
/// sums carries `x`'s bytes too, hence `len × (a_x − 1)` more in `b`.
pub(crate) fn adler32_combine(x: u32, y: u32, len: u64) -> u32 {
    let m = u64::from(ADLER_MOD);
    let (ax, bx) = (u64::from(x & 0xffff), u64::from(x >> 16));
    let (ay, by) = (u64::from(y & 0xffff), u64::from(y >> 16));
    let a = (ax + ay + m - 1) % m;
    let b = (bx + by + (len % m) * ((ax + m - 1) % m)) % m;
    ((b as u32) << 16) | a as u32
}

/// The zlib header for `level` (deflate, 32 KiB window, no dictionary), as
/// zlib writes it.
fn zlib_header(level: u32) -> [u8; 2] {
    match level {
        0 | 1 => [0x78, 0x01],
        2..=5 => [0x78, 0x5e],
        6 => [0x78, 0x9c],
        _ => [0x78, 0xda],
    }
}

pub(crate) struct ParallelGzipEncoder {
    framing: Framing,
    level: u32,
    mtime: u32,
    threads: usize,
    block: usize,
    header: Option<Vec<u8>>,
    /// The block being filled: the dictionary (`dict` bytes: up to 32 KiB
    /// of the input before it) followed by the block's input.
    current: Vec<u8>,
    dict: usize,
    /// Started on first use, stopped at the end of the stream.
    pool: Option<WorkerPool<Job, Done>>,
    /// BGZF on one thread: the calling thread's compressor.
    local: Option<BlockCompressor>,
    /// Blocks in flight, and finished ones waiting for an older one.
    order: InOrder<Done>,
    busy: WorkerBusy,
    crc: Hasher,
    adler: u32,
    isize: u32,
    finished: bool,
    /// Tests: the block with this sequence number makes its worker panic.
    #[cfg(test)]
    panic_at: Option<u64>,
}

impl std::fmt::Debug for ParallelGzipEncoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ParallelGzipEncoder")
            .field("framing", &self.framing)
            .field("threads", &self.threads)
            .field("block", &self.block)
            .field("pending", &(self.current.len() - self.dict))
            .field("in_flight", &self.order.in_flight())
            .finish()
    }
}

impl ParallelGzipEncoder {
    /// A gzip encoder: one member (or, with `framing` BGZF, independent
    /// members).
    pub(crate) fn gzip(
        level: u32,
        header: &GzipHeader,
        threads: usize,
        block: usize,
        framing: Framing,
    ) -> Self {
        let mut e = ParallelGzipEncoder::new(framing, level, threads, block);
        e.mtime = header.mtime;
        if framing == Framing::Gzip {
            let mut h = Vec::new();
            write_header(header, level, &mut h);
            e.header = Some(h);
        }
        e
    }

    /// A zlib (`Framing::Zlib`) or raw DEFLATE (`Framing::Raw`) encoder.
    pub(crate) fn new(framing: Framing, level: u32, threads: usize, block: usize) -> Self {
        let block = match framing {
            Framing::Bgzf => BGZF_BLOCK,
            _ => block.max(WINDOW),
        };
        let threads = threads.max(1);
        ParallelGzipEncoder {
            framing,
            level,
            mtime: 0,
            threads,
            block,
            header: (framing == Framing::Zlib).then(|| zlib_header(level).to_vec()),
            current: Vec::new(),
            dict: 0,
            pool: None,
            local: None,
            order: InOrder::new(),
            busy: WorkerBusy::new(threads),
            crc: Hasher::new(),
            adler: 1,
            isize: 0,
            finished: false,
            #[cfg(test)]
            panic_at: None,
        }
    }

    /// Each worker's time spent compressing so far (one entry per thread).
    #[cfg(test)]
    fn busy(&self) -> Vec<Duration> {
        self.busy.times()
    }

    fn max_in_flight(&self) -> usize {
        self.threads * IN_FLIGHT_PER_THREAD
    }

    fn pending(&self) -> usize {
        self.current.len() - self.dict
    }

    fn pool(&mut self) -> Result<&WorkerPool<Job, Done>, Error> {
        if self.pool.is_none() {
            let (level, framing, mtime) = (self.level, self.framing, self.mtime);
            let names = PoolNames {
                thread: WORKER_NAME,
                format: self.format(),
                role: "compression",
            };
            let capacity = self.max_in_flight();
            self.pool = Some(WorkerPool::start(
                self.threads,
                capacity,
                Queue::RoundRobin,
                names,
                self.busy.clone(),
                || BlockCompressor::new(level, framing, mtime),
            )?);
        }
        self.pool
            .as_ref()
            .ok_or_else(|| Error::msg("no compression threads"))
    }

    /// Hands the block being filled to the workers (waiting for the oldest
    /// block first if the most are in flight), and starts the next one with
    /// its dictionary.
    fn submit(&mut self, out: &mut Vec<u8>) -> Result<(), Error> {
        if self.pending() == 0 {
            return Ok(());
        }
        while self.order.in_flight() >= self.max_in_flight() {
            self.collect(out, true)?;
        }
        let keep = match self.framing {
            Framing::Bgzf => 0,
            _ => self.current.len().min(WINDOW),
        };
        let mut next = Vec::with_capacity(keep + self.block);
        next.extend_from_slice(&self.current[self.current.len() - keep..]);
        let data = std::mem::replace(&mut self.current, next);
        let seq = self.order.take_seq();
        let job = Job {
            data,
            dict: self.dict,
            #[cfg(test)]
            panic: self.panic_at == Some(seq),
        };
        self.dict = keep;
        if self.framing == Framing::Bgzf && self.threads == 1 {
            // One thread: no pool, the calling thread compresses.
            let (level, mtime) = (self.level, self.mtime);
            let local = self
                .local
                .get_or_insert_with(|| BlockCompressor::new(level, Framing::Bgzf, mtime));
            let started = std::time::Instant::now();
            let done = local.run(job)?;
            self.busy.add(0, started.elapsed());
            self.order.put(seq, done);
            return self.emit_ready(out);
        }
        self.pool()?.send(seq, job)
    }

    /// Moves finished blocks into `order` and emits those next in order.
    /// With `wait`, blocks until at least the oldest block is emitted.
    fn collect(&mut self, out: &mut Vec<u8>, wait: bool) -> Result<(), Error> {
        let mut must_wait = wait && self.order.in_flight() > 0;
        loop {
            let Some(pool) = self.pool.as_ref() else {
                return Ok(());
            };
            let Some((seq, result)) = pool.recv(must_wait)? else {
                return Ok(());
            };
            if !self.order.put(seq, result?) {
                return Err(Error::msg(format!(
                    "{}: a compression thread answered out of turn",
                    self.format()
                )));
            }
            let before = self.order.in_flight();
            self.emit_ready(out)?;
            if self.order.in_flight() < before {
                must_wait = false;
            }
        }
    }

    /// Emits the finished blocks that are next in order.
    fn emit_ready(&mut self, out: &mut Vec<u8>) -> Result<(), Error> {
        while let Some(d) = self.order.pop() {
            out.extend_from_slice(&d.bytes);
            if let Some(crc) = &d.crc {
                self.crc.combine(crc);
            }
            if let Some((adler, len)) = d.adler {
                self.adler = adler32_combine(self.adler, adler, len);
            }
        }
        Ok(())
    }

    /// Compresses and emits everything taken so far.
    fn drain(&mut self, out: &mut Vec<u8>) -> Result<(), Error> {
        self.submit(out)?;
        while self.order.in_flight() > 0 {
            self.collect(out, true)?;
        }
        Ok(())
    }

    /// The end of the stream, after the last block.
    fn trailer(&self, out: &mut Vec<u8>) {
        match self.framing {
            Framing::Gzip => {
                out.extend_from_slice(&FINAL_EMPTY_BLOCK);
                out.extend_from_slice(&self.crc.clone().finalize().to_le_bytes());
                out.extend_from_slice(&self.isize.to_le_bytes());
            }
            Framing::Zlib => {
                out.extend_from_slice(&FINAL_EMPTY_BLOCK);
                out.extend_from_slice(&self.adler.to_be_bytes());
            }
            Framing::Raw => out.extend_from_slice(&FINAL_EMPTY_BLOCK),
            Framing::Bgzf => out.extend_from_slice(&BGZF_EOF),
        }
    }

    fn format(&self) -> &'static str {
        match self.framing {
            Framing::Gzip | Framing::Bgzf => "gzip",
            Framing::Zlib => "zlib",
            Framing::Raw => "deflate",
        }
    }
}

impl RawEncoder for ParallelGzipEncoder {
    const FORMAT: &'static str = "gzip";

    fn worker_busy(&self) -> Option<WorkerBusy> {
        Some(self.busy.clone())
    }

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
                self.trailer(out);
                self.finished = true;
                Ok((0, true))
            }
        }
    }
}

/// A one-stream encoder `E`, or the parallel one (zlib and raw DEFLATE
/// encoders with `threads` above 1).
#[derive(Debug)]
pub(crate) enum MaybeParallel<E> {
    Single(E),
    Parallel(Box<ParallelGzipEncoder>),
}

impl<E: RawEncoder> MaybeParallel<E> {
    /// `single` on one thread, else the parallel encoder in `framing`.
    pub(crate) fn build(
        threads: usize,
        framing: Framing,
        level: u32,
        block: usize,
        single: impl FnOnce() -> E,
    ) -> Self {
        if threads > 1 {
            MaybeParallel::Parallel(Box::new(ParallelGzipEncoder::new(
                framing, level, threads, block,
            )))
        } else {
            MaybeParallel::Single(single())
        }
    }
}

impl<E: RawEncoder> RawEncoder for MaybeParallel<E> {
    const FORMAT: &'static str = E::FORMAT;

    fn worker_busy(&self) -> Option<WorkerBusy> {
        match self {
            MaybeParallel::Single(e) => e.worker_busy(),
            MaybeParallel::Parallel(e) => e.worker_busy(),
        }
    }

    fn encode(
        &mut self,
        input: &[u8],
        out: &mut Vec<u8>,
        op: EncodeOp,
    ) -> Result<(usize, bool), Error> {
        match self {
            MaybeParallel::Single(e) => e.encode(input, out, op),
            MaybeParallel::Parallel(e) => e.encode(input, out, op),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    fn encoder(threads: usize) -> ParallelGzipEncoder {
        ParallelGzipEncoder::gzip(6, &GzipHeader::default(), threads, WINDOW, Framing::Gzip)
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
                assert!(e.order.in_flight() <= e.max_in_flight());
                assert!(e.order.held() <= e.max_in_flight());
                assert!(e.pending() <= e.block);
                assert!(e.current.capacity() <= WINDOW + e.block);
            }
        }
        e.encode(&[], &mut out, EncodeOp::Finish).unwrap();
        assert_eq!(e.order.in_flight(), 0);
        assert!(e.pool.is_none(), "the workers are stopped at the end");
        let busy = e.busy();
        assert_eq!(busy.len(), 2);
        assert!(busy.iter().all(|d| !d.is_zero()), "{busy:?}");
    }

    #[test]
    fn adler32_matches_a_direct_computation_and_combines() {
        let data: Vec<u8> = (0..100_000u32).map(|i| (i * 31 % 256) as u8).collect();
        // The definition, slowly.
        let (mut a, mut b) = (1u64, 0u64);
        for &x in &data {
            a = (a + u64::from(x)) % 65_521;
            b = (b + a) % 65_521;
        }
        let whole = adler32(1, &data);
        assert_eq!(whole, ((b as u32) << 16) | a as u32);
        for cut in [0, 1, 5551, 5552, 65_521, 99_999, 100_000] {
            let (x, y) = data.split_at(cut);
            let joined = adler32_combine(adler32(1, x), adler32(1, y), y.len() as u64);
            assert_eq!(joined, whole, "cut at {cut}");
        }
        assert_eq!(adler32(1, b""), 1);
    }

    #[test]
    fn bgzf_blocks_record_their_size_and_fit() {
        // Incompressible data is stored, still within 64 KiB.
        let mut x = 0x1234_5678u32;
        let noise: Vec<u8> = (0..BGZF_BLOCK)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                x as u8
            })
            .collect();
        for level in [0, 1, 6, 9] {
            let mut c = Compress::new(Compression::new(level), false);
            for data in [&noise[..], &noise[..10], b""] {
                let m = bgzf_member(&mut c, data, 0).unwrap();
                assert!(m.len() <= BGZF_MAX_SIZE);
                let bsize = u16::from_le_bytes([m[16], m[17]]) as usize;
                assert_eq!(bsize + 1, m.len());
                let mut back = Vec::new();
                std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&m[..]), &mut back)
                    .unwrap();
                assert_eq!(back, data);
            }
        }
    }
}
