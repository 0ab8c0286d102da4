//! Parallel gzip decoding of BGZF files (independent blocks, each a gzip
//! member whose header records its compressed size, as htslib's `bgzip`
//! and `weir gzip --independent` write them).
//!
//! `threads` threads decode: `threads − 1` workers and the calling thread.
//! The calling thread reads each member's header; when it carries BGZF's
//! `BC` field, the header gives the block's size, so the calling thread
//! gathers the whole block without decoding it. It hands the blocks on in
//! batches of `BATCH_BLOCKS` consecutive whole blocks (one job: one
//! hand-over, one wake-up, one output buffer for all of them). Workers
//! inflate a batch's blocks into one buffer, check each CRC-32 and length,
//! and the calling thread emits the buffers in order, whole: the decode
//! engine hands them on as output chunks without copying them
//! ([`RawDecoder::take_ready`]). The calling thread keeps
//! `IN_FLIGHT_PER_THREAD` batches queued for each worker (counting those
//! whose result it has not received, not those finished and waiting for an
//! older one), and decodes the next batch itself whenever the workers' queue
//! is full: so the workers seldom run dry while it decodes, and no more
//! threads want the cores than there are decoders. (Two workers beside a
//! decoding calling thread, three busy threads on two cores, left a core
//! idle about 11% of the time: a thread that wakes on a busy core's run
//! queue may wait there for milliseconds.) At most
//! `2 × IN_FLIGHT_PER_THREAD × threads` batches (each at most
//! `BATCH_BLOCKS` × 64 KiB in and out) are in flight, workers' and the
//! calling thread's together; past that the calling thread waits for the
//! oldest. It takes input only while it may start a block, so memory is
//! bounded (those batches, and the one being gathered) and a slow output
//! stops the reading.
//!
//! Given its input as shared [`Bytes`] ([`RawDecoder::decode_shared`], as
//! the decode engine does), the calling thread hands a batch that lies
//! whole inside the input chunk on as a slice of it rather than copying it
//! (`hand_on_shared`); the first batch, batches across a chunk boundary and
//! batches gathered while the most are in flight are copied. A slice keeps
//! its chunk's allocation alive until the batch is decoded: the batches in
//! flight are consecutive, so that is at most about one input chunk more
//! than their own bytes. Whole blocks gathered
//! when the input runs out wait for more input like the batches in flight;
//! the end of input or an empty chunk hands them on (`drain`).
//!
//! Anything else goes to the sequential decoder, with identical results: a
//! first member that is not BGZF makes the whole stream sequential (no thread
//! is started), and a later member that is not BGZF (an ordinary gzip file
//! appended to a BGZF one) hands the rest of the stream over to it, after the
//! blocks before it have been emitted.
//!
//! A member that carries the `BC` field is held to BGZF's rules: a size
//! that is smaller than a header and trailer, that ends before or after the
//! member's DEFLATE data, or that runs past the end of the input, and more
//! than 64 KiB of data in a block, are errors at the block's byte offset.

use bytes::Bytes;
use crc32fast::Hasher;
use weir_core::{Error, WorkerBusy};

use super::GzipHeader;
use super::gzip_impl::{CM_DEFLATE, FEXTRA, FTEXT, GzipRawDecoder, ID1, ID2};
use super::inflater::Inflater;
use super::parallel_impl::BGZF_MAX_SIZE;
use crate::Trailing;
use crate::engine::{Progress, RawDecoder, truncated};
use crate::pool_impl::{InOrder, PoolNames, Queue, Work, WorkerPool};

/// Batches queued per worker; twice this per decoding thread (workers and
/// the calling thread) is the bound on batches in flight.
const IN_FLIGHT_PER_THREAD: usize = 4;
/// Whole blocks per batch (a worker's job): at most this many times 64 KiB
/// in and out.
const BATCH_BLOCKS: usize = 4;
/// The most data a BGZF block holds.
pub(crate) const BGZF_MAX_DATA: usize = 1 << 16;
/// The smallest DEFLATE stream (an empty fixed-Huffman final block).
const MIN_DEFLATE: usize = 2;
/// A gzip trailer: CRC-32 and ISIZE.
const TRAILER: usize = 8;
/// The name of the worker threads.
pub(crate) const WORKER_NAME: &str = "weir-gunzip";

/// The smallest size a BGZF block with a header of `header_len` bytes may
/// record: its header, the smallest DEFLATE stream and the trailer.
fn least_size(header_len: usize) -> usize {
    header_len + MIN_DEFLATE + TRAILER
}

/// What the bytes of a member's header seen so far say.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Probe {
    /// Not decided: at least this many bytes are needed.
    More(usize),
    /// Not a BGZF block: an ordinary gzip member (or not gzip at all).
    NotBgzf,
    /// A BGZF block: its header is `header_len` bytes, and the block, as
    /// recorded, `size` bytes (not checked).
    Block { header_len: usize, size: usize },
}

/// Reads the start of a member: BGZF when it is gzip with deflate, FEXTRA
/// the only flag (FTEXT aside), and a `BC` subfield of length 2 in a well
/// formed extra field. Decides as early as it can, so that the bytes it has
/// asked for are always header bytes.
pub(crate) fn probe(head: &[u8]) -> Probe {
    let fixed = [ID1, ID2, CM_DEFLATE];
    for (i, &want) in fixed.iter().enumerate() {
        match head.get(i) {
            None => return Probe::More(i + 1),
            Some(&b) if b != want => return Probe::NotBgzf,
            Some(_) => {}
        }
    }
    match head.get(3) {
        None => return Probe::More(4),
        Some(&flags) if flags & !FTEXT != FEXTRA => return Probe::NotBgzf,
        Some(_) => {}
    }
    if head.len() < 12 {
        return Probe::More(12);
    }
    let xlen = usize::from(u16::from_le_bytes([head[10], head[11]]));
    let header_len = 12 + xlen;
    if head.len() < header_len {
        return Probe::More(header_len);
    }
    let mut extra = &head[12..header_len];
    while extra.len() >= 4 {
        let len = usize::from(u16::from_le_bytes([extra[2], extra[3]]));
        let Some(data) = extra.get(4..4 + len) else {
            return Probe::NotBgzf;
        };
        if extra[..2] == *b"BC" && len == 2 {
            let bsize = usize::from(u16::from_le_bytes([data[0], data[1]]));
            return Probe::Block {
                header_len,
                size: bsize + 1,
            };
        }
        extra = &extra[4 + len..];
    }
    Probe::NotBgzf
}

/// Consecutive whole blocks for a worker.
struct BatchJob {
    /// The blocks, back to back: gathered from several input chunks, or a
    /// slice of one (shared, not copied).
    data: Bytes,
    /// Each block's end in `data`, and its header's length.
    blocks: Vec<(usize, usize)>,
    /// The stream offset of `data[0]`.
    offset: u64,
    /// The first block's member number (1 for the first member).
    member: u64,
}

/// What a batch decodes to: the output of its blocks up to the first bad
/// one, and that block's error.
struct BatchOut {
    data: Vec<u8>,
    /// Blocks whose output is in `data`, all checked.
    blocks: u64,
    error: Option<Error>,
}

/// A worker's state: an inflater, reset for each block.
struct BatchInflater {
    inflater: Inflater,
}

impl Work for BatchInflater {
    type Job = BatchJob;
    type Out = BatchOut;

    fn run(&mut self, job: BatchJob) -> Result<BatchOut, Error> {
        let out = inflate_batch(&mut self.inflater, &job);
        if out.error.is_some() {
            self.inflater = Inflater::new();
        }
        Ok(out)
    }

    fn recover(&mut self) {
        self.inflater = Inflater::new();
    }
}

/// One block of a batch.
struct Block<'a> {
    /// The whole member.
    data: &'a [u8],
    header_len: usize,
    /// The stream offset of `data[0]`.
    offset: u64,
    member: u64,
}

/// The room a block's output gets: what its trailer records (at most
/// BGZF's 64 KiB), and one byte more to show data past it.
fn room(member: &[u8]) -> usize {
    let t = &member[member.len() - 4..];
    let stored_len = u32::from_le_bytes([t[0], t[1], t[2], t[3]]) as usize;
    stored_len.min(BGZF_MAX_DATA) + 1
}

/// Inflates a batch's blocks, in order, into one buffer: stops at the first
/// bad block, keeping the output of those before it.
fn inflate_batch(inflater: &mut Inflater, job: &BatchJob) -> BatchOut {
    let mut start = 0;
    let mut total = 0;
    for &(end, _) in &job.blocks {
        total += room(&job.data[start..end]);
        start = end;
    }
    let mut out = Vec::with_capacity(total);
    let mut start = 0;
    for (i, &(end, header_len)) in job.blocks.iter().enumerate() {
        let base = out.len();
        let block = Block {
            data: &job.data[start..end],
            header_len,
            offset: job.offset + start as u64,
            member: job.member + i as u64,
        };
        if let Err(e) = inflate_block(inflater, &block, &mut out) {
            out.truncate(base);
            return BatchOut {
                data: out,
                blocks: i as u64,
                error: Some(e),
            };
        }
        start = end;
    }
    BatchOut {
        data: out,
        blocks: job.blocks.len() as u64,
        error: None,
    }
}

/// Inflates one block onto the end of `out` and checks it against its
/// recorded size, CRC-32 and length.
fn inflate_block(inflater: &mut Inflater, b: &Block<'_>, out: &mut Vec<u8>) -> Result<(), Error> {
    let size = b.data.len();
    let end = b.offset + size as u64;
    let body = &b.data[b.header_len..size - TRAILER];
    let t = &b.data[size - TRAILER..];
    let stored_crc = u32::from_le_bytes([t[0], t[1], t[2], t[3]]);
    let stored_len = u32::from_le_bytes([t[4], t[5], t[6], t[7]]);
    let body_at = b.offset + b.header_len as u64;
    let block = |what: String| {
        Error::corrupt(format!(
            "gzip: BGZF block (member {}) at byte offset {}: {what}",
            b.member, b.offset
        ))
    };
    // One byte more than the block may hold shows data past its length. The
    // inflater may write past it into `out`'s spare room (the room of the
    // batch's later blocks), never past `out`'s capacity.
    let room = room(b.data);
    out.reserve(room);
    let base = out.len();
    inflater.reset();
    let mut pos = 0;
    loop {
        let before = out.len();
        let (n, ended) = inflater.decode(&body[pos..], out, body_at + pos as u64)?;
        pos += n;
        if out.len() - base >= room {
            return Err(if stored_len as usize >= BGZF_MAX_DATA {
                block(format!(
                    "more than {BGZF_MAX_DATA} bytes of data (its trailer records {stored_len})"
                ))
            } else {
                block(format!(
                    "length (ISIZE) mismatch: the trailer records {stored_len} bytes, the data holds more"
                ))
            });
        }
        if ended {
            let mut unused = [0; 8];
            pos -= inflater.take_unused(&mut unused).min(pos);
            break;
        }
        if n == 0 && out.len() == before {
            return Err(block(format!(
                "its recorded size ({size} bytes) is too small: the deflate data goes on past the block's end at byte offset {}",
                end - TRAILER as u64
            )));
        }
    }
    if pos < body.len() {
        return Err(block(format!(
            "its recorded size ({size} bytes) is too large: the deflate data ends at byte offset {}, {} bytes before the trailer",
            body_at + pos as u64,
            body.len() - pos
        )));
    }
    let trailer_at = end - TRAILER as u64;
    let data = &out[base..];
    let mut h = Hasher::new();
    h.update(data);
    let crc = h.finalize();
    if crc != stored_crc {
        return Err(Error::corrupt(format!(
            "gzip: crc32 mismatch in member {} trailer at byte offset {trailer_at} (stored 0x{stored_crc:08x}, computed 0x{crc:08x})",
            b.member
        )));
    }
    if data.len() != stored_len as usize {
        return Err(Error::corrupt(format!(
            "gzip: length (ISIZE) mismatch in member {} trailer at byte offset {} (stored {stored_len}, decoded {})",
            b.member,
            trailer_at + 4,
            data.len()
        )));
    }
    Ok(())
}

/// Why the calling thread stops taking blocks, once the blocks before have
/// been emitted.
#[derive(Debug)]
enum Stop {
    /// This error.
    Fail(Error),
    /// The end of the gzip data (what follows is padding or trailing data).
    End,
    /// A member that is not BGZF: the sequential decoder takes over.
    Sequential,
}

/// Which decoder reads the stream now.
#[derive(Debug)]
enum Mode {
    Bgzf,
    /// The sequential decoder, with header bytes read before it took over
    /// (`prefix`, from stream offset `at`) to give it first.
    Sequential {
        dec: Box<GzipRawDecoder>,
        prefix: Vec<u8>,
        at: u64,
    },
}

/// gzip decoding that decodes BGZF blocks on worker threads and the calling
/// thread (see the module docs); other gzip streams are decoded as
/// [`GzipRawDecoder`] does.
pub(crate) struct ParallelGzipDecoder {
    /// Decoding threads: the workers and the calling thread.
    threads: usize,
    trailing: Trailing,
    mode: Mode,
    /// Whole blocks gathered for the next job (up to `cur`), then the
    /// member being gathered: its header so far, or the whole block.
    batch: Vec<u8>,
    /// The whole blocks in `batch`: each one's end and header length.
    ends: Vec<(usize, usize)>,
    /// Where the member being gathered starts in `batch`.
    cur: usize,
    /// The stream offsets of `batch[0]` and of the member being gathered.
    batch_start: u64,
    block_start: u64,
    /// The member's recorded size and header length, once its header is
    /// read.
    need: usize,
    header_len: usize,
    /// Whole blocks gathered so far (handed on, or in `batch`).
    gathered: u64,
    /// Blocks emitted (checked) so far.
    emitted: u64,
    pool: Option<WorkerPool<BatchJob, BatchOut>>,
    /// The calling thread's inflater, for batches it decodes itself.
    local: Option<Inflater>,
    /// Batches handed on whose output has not been taken.
    order: InOrder<Result<BatchOut, Error>>,
    /// Batches sent to the workers whose result has not been received.
    queued: usize,
    /// Batches handed on as slices of an input chunk (not copied).
    shared_batches: u64,
    /// No worker thread could be started: the calling thread decodes all.
    no_workers: bool,
    /// The output being emitted, and the error that follows it.
    emitting: Bytes,
    after: Option<Error>,
    stop: Option<Stop>,
    first_header: Option<GzipHeader>,
    busy: WorkerBusy,
}

impl std::fmt::Debug for ParallelGzipDecoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ParallelGzipDecoder")
            .field("threads", &self.threads)
            .field("bgzf", &matches!(self.mode, Mode::Bgzf))
            .field("gathered", &self.gathered)
            .field("in_flight", &self.order.in_flight())
            .finish()
    }
}

impl ParallelGzipDecoder {
    pub(crate) fn new(threads: usize, trailing: Trailing) -> Self {
        let threads = threads.max(1);
        ParallelGzipDecoder {
            threads,
            trailing,
            mode: Mode::Bgzf,
            batch: Vec::new(),
            ends: Vec::new(),
            cur: 0,
            batch_start: 0,
            block_start: 0,
            need: 0,
            header_len: 0,
            gathered: 0,
            emitted: 0,
            pool: None,
            local: None,
            order: InOrder::new(),
            queued: 0,
            shared_batches: 0,
            no_workers: false,
            emitting: Bytes::new(),
            after: None,
            stop: None,
            first_header: None,
            busy: WorkerBusy::new(threads),
        }
    }

    /// The first member's header, once read.
    pub(crate) fn first_header(&self) -> Option<&GzipHeader> {
        match (&self.first_header, &self.mode) {
            (Some(h), _) => Some(h),
            (None, Mode::Sequential { dec, .. }) => dec.first_header(),
            (None, Mode::Bgzf) => None,
        }
    }

    /// Members decoded and checked completely.
    pub(crate) fn members(&self) -> u64 {
        match &self.mode {
            Mode::Sequential { dec, .. } => dec.members(),
            Mode::Bgzf => self.emitted,
        }
    }

    /// BGZF blocks decoded in parallel (by the workers or the calling
    /// thread) and emitted so far.
    pub(crate) fn parallel_blocks(&self) -> u64 {
        self.emitted
    }

    /// The workers' busy-time meters.
    pub(crate) fn busy(&self) -> WorkerBusy {
        self.busy.clone()
    }

    /// Half the most batches in flight (workers' and the calling thread's).
    fn max_in_flight(&self) -> usize {
        self.threads * IN_FLIGHT_PER_THREAD
    }

    /// The worker threads: one decoding thread is the calling thread; once
    /// the workers are started, those that did.
    fn workers(&self) -> usize {
        match &self.pool {
            Some(pool) => pool.threads(),
            None if self.no_workers => 0,
            None => self.threads - 1,
        }
    }

    /// The bytes of the member being gathered.
    fn member(&self) -> &[u8] {
        &self.batch[self.cur..]
    }

    /// Nothing in flight and nothing left to emit.
    fn idle(&self) -> bool {
        self.order.in_flight() == 0 && self.emitting.is_empty() && self.after.is_none()
    }

    /// Takes the next finished batch, in order, to emit: `false` if it is
    /// not there yet.
    fn next_batch(&mut self) -> bool {
        match self.order.pop() {
            Some(Ok(b)) => {
                self.emitting = Bytes::from(b.data);
                self.emitted += b.blocks;
                self.after = b.error;
                true
            }
            Some(Err(e)) => {
                self.after = Some(e);
                true
            }
            None => false,
        }
    }

    /// Emits as much finished output, in order, as `out` has room for
    /// (copying it).
    fn emit(&mut self, out: &mut Vec<u8>) -> Result<(), Error> {
        loop {
            if !self.emitting.is_empty() {
                let k = self.emitting.len().min(out.capacity() - out.len());
                out.extend_from_slice(&self.emitting.split_to(k));
                if !self.emitting.is_empty() {
                    return Ok(());
                }
            }
            if let Some(e) = self.after.take() {
                return Err(e);
            }
            self.collect(false)?;
            if !self.next_batch() {
                return Ok(());
            }
        }
    }

    /// Whether finished output is there to take whole
    /// ([`take_ready`](RawDecoder::take_ready)).
    fn ready(&mut self) -> bool {
        if !self.emitting.is_empty() {
            return true;
        }
        if self.after.is_some() || self.collect(false).is_err() {
            return false;
        }
        matches!(self.order.peek(), Some(Ok(b)) if !b.data.is_empty())
    }

    /// Files finished batches; with `wait`, waits for at least one.
    fn collect(&mut self, wait: bool) -> Result<(), Error> {
        let Some(pool) = self.pool.as_ref() else {
            return Ok(());
        };
        let mut wait = wait && self.order.in_flight() > 0;
        while let Some((seq, result)) = pool.recv(wait)? {
            debug_assert!(self.queued > 0, "a result for no job sent");
            self.queued = self.queued.saturating_sub(1);
            if !self.order.put(seq, result) {
                return Err(Error::msg(
                    "gzip: a decompression thread answered out of turn",
                ));
            }
            wait = false;
        }
        Ok(())
    }

    /// The whole blocks gathered as a job, with its sequence number; the
    /// member being gathered stays.
    fn take_job(&mut self) -> (u64, BatchJob) {
        let mut data = std::mem::replace(
            &mut self.batch,
            Vec::with_capacity(BATCH_BLOCKS * BGZF_MAX_SIZE),
        );
        self.batch.extend_from_slice(&data[self.cur..]);
        data.truncate(self.cur);
        let blocks = std::mem::take(&mut self.ends);
        let job = BatchJob {
            member: self.gathered - blocks.len() as u64 + 1,
            data: Bytes::from(data),
            blocks,
            offset: self.batch_start,
        };
        self.batch_start += self.cur as u64;
        self.cur = 0;
        (self.order.take_seq(), job)
    }

    /// Whether another batch may be handed on (fewer than the most are in
    /// flight).
    fn may_hand_on(&self) -> bool {
        self.order.in_flight() < 2 * self.max_in_flight()
    }

    /// Hands the whole blocks gathered on ([`hand_on`](Self::hand_on));
    /// `false` if the most batches are in flight.
    fn dispatch(&mut self) -> Result<bool, Error> {
        if !self.may_hand_on() {
            return Ok(false);
        }
        let (seq, job) = self.take_job();
        self.hand_on(seq, job)?;
        Ok(true)
    }

    /// Hands job `seq` to the workers if their queue has room, else decodes
    /// it on the calling thread.
    fn hand_on(&mut self, seq: u64, job: BatchJob) -> Result<(), Error> {
        if self.queued < IN_FLIGHT_PER_THREAD * self.workers() {
            self.submit(seq, job)
        } else {
            // The workers have their fill: decode this batch here rather
            // than sleep until one is done (a thread that sleeps on a busy
            // machine may wait long to run again).
            self.decode_here(seq, job);
            Ok(())
        }
    }

    /// When `input` (a shared buffer, at `pos`) holds `BATCH_BLOCKS` whole
    /// BGZF blocks from a member boundary, with nothing gathered before
    /// them, hands them on as a slice of it, without copying, and returns
    /// the bytes taken; else 0, and the copying path goes on as if this had
    /// not been tried. It takes only blocks that path would take as they
    /// are (after the first, whose header it records, and with room in
    /// flight), so both give the same output and errors.
    /// `at` is the stream offset of `input[pos]`.
    fn hand_on_shared(&mut self, input: &Bytes, pos: usize, at: u64) -> Result<usize, Error> {
        if !self.batch.is_empty() || self.gathered == 0 || !self.may_hand_on() {
            return Ok(0);
        }
        let rest = &input[pos..];
        let mut end = 0;
        let mut blocks = Vec::with_capacity(BATCH_BLOCKS);
        while blocks.len() < BATCH_BLOCKS {
            let Probe::Block { header_len, size } = probe(&rest[end..]) else {
                return Ok(0);
            };
            if size < least_size(header_len) || rest.len() - end < size {
                return Ok(0);
            }
            end += size;
            blocks.push((end, header_len));
        }
        self.gathered += BATCH_BLOCKS as u64;
        let job = BatchJob {
            member: self.gathered - BATCH_BLOCKS as u64 + 1,
            data: input.slice(pos..pos + end),
            blocks,
            offset: at,
        };
        let seq = self.order.take_seq();
        self.hand_on(seq, job)?;
        self.shared_batches += 1;
        Ok(end)
    }

    /// Decodes job `seq` on the calling thread (its busy time is the last
    /// meter).
    fn decode_here(&mut self, seq: u64, job: BatchJob) {
        let started = std::time::Instant::now();
        let inflater = self.local.get_or_insert_with(Inflater::new);
        let result = inflate_batch(inflater, &job);
        if result.error.is_some() {
            self.local = None;
        }
        self.order.put(seq, Ok(result));
        self.busy.add(self.threads - 1, started.elapsed());
    }

    /// Hands job `seq` to a worker, starting the workers with the first.
    /// Should no worker thread start, the calling thread decodes this batch
    /// and every later one.
    fn submit(&mut self, seq: u64, job: BatchJob) -> Result<(), Error> {
        if self.pool.is_none() {
            let names = PoolNames {
                thread: WORKER_NAME,
                format: "gzip",
                role: "decompression",
            };
            let capacity = 2 * self.max_in_flight();
            let started = WorkerPool::start(
                self.workers(),
                capacity,
                Queue::Shared,
                names,
                self.busy.clone(),
                || BatchInflater {
                    inflater: Inflater::new(),
                },
            );
            match started {
                Ok(pool) => self.pool = Some(pool),
                Err(_) => {
                    self.no_workers = true;
                    self.decode_here(seq, job);
                    return Ok(());
                }
            }
        }
        match &self.pool {
            Some(pool) => pool.send(seq, job)?,
            None => return Err(Error::msg("gzip: no decompression threads")),
        }
        self.queued += 1;
        Ok(())
    }

    /// The header of the member being gathered is complete: checks its
    /// recorded size.
    fn start_block(&mut self, header_len: usize, size: usize) -> Result<(), Error> {
        let least = least_size(header_len);
        if size < least {
            return Err(Error::corrupt(format!(
                "gzip: BGZF block (member {}) at byte offset {} records a size of {size} bytes, less than its header and trailer need ({least})",
                self.gathered + 1,
                self.block_start
            )));
        }
        if self.first_header.is_none() {
            let h = self.member();
            self.first_header = Some(GzipHeader {
                name: None,
                comment: None,
                extra: Some(h[12..header_len].to_vec()),
                mtime: u32::from_le_bytes([h[4], h[5], h[6], h[7]]),
                os: Some(h[9]),
                text: h[3] & FTEXT != 0,
            });
        }
        self.need = size;
        self.header_len = header_len;
        Ok(())
    }

    /// Hands the rest of the stream to the sequential decoder, starting with
    /// the header bytes gathered so far (the whole blocks before them have
    /// been emitted).
    fn hand_over(&mut self) {
        let mut dec = GzipRawDecoder::new(true, self.trailing);
        dec.continue_at(self.emitted + 1, self.block_start);
        if let Some(mut pool) = self.pool.take() {
            pool.stop();
        }
        let prefix = self.batch.split_off(self.cur);
        self.mode = Mode::Sequential {
            dec: Box::new(dec),
            prefix,
            at: self.block_start,
        };
    }

    /// The sequential decoder's turn: first the prefix, then the input.
    fn sequential(
        &mut self,
        input: &[u8],
        out: &mut Vec<u8>,
        offset: u64,
        pos: usize,
    ) -> Result<Progress, Error> {
        let Mode::Sequential { dec, prefix, at } = &mut self.mode else {
            return Ok(Progress {
                consumed: pos,
                end: false,
            });
        };
        while !prefix.is_empty() {
            let p = dec.decode(prefix, out, *at)?;
            prefix.drain(..p.consumed.min(prefix.len()));
            *at += p.consumed as u64;
            if p.end {
                // What follows a member's end here starts with 0x1f: not
                // zero padding.
                if !prefix.is_empty() && self.trailing == Trailing::Error {
                    return Err(garbage(*at));
                }
                return Ok(Progress {
                    consumed: pos,
                    end: true,
                });
            }
            if p.consumed == 0 {
                return Ok(Progress {
                    consumed: pos,
                    end: false,
                });
            }
        }
        let p = dec.decode(&input[pos..], out, offset + pos as u64)?;
        Ok(Progress {
            consumed: pos + p.consumed,
            end: p.end,
        })
    }

    /// [`RawDecoder::decode`], with `shared`, when given, the same bytes as
    /// `input` in a shared buffer whose slices may be handed on.
    fn decode_from(
        &mut self,
        input: &[u8],
        shared: Option<&Bytes>,
        out: &mut Vec<u8>,
        offset: u64,
    ) -> Result<Progress, Error> {
        let mut pos = 0;
        let out_at_start = out.len();
        loop {
            if matches!(self.mode, Mode::Sequential { .. }) {
                return self.sequential(input, out, offset, pos);
            }
            self.emit(out)?;
            if out.len() == out.capacity() {
                break;
            }
            if self.stop.is_some() {
                if !self.ends.is_empty() {
                    // The whole blocks before the stop go first.
                    if !self.dispatch()? {
                        self.collect(true)?;
                    }
                    continue;
                }
                if !self.idle() {
                    self.collect(true)?;
                    continue;
                }
                match self.stop.take() {
                    Some(Stop::Fail(e)) => {
                        self.stop = Some(Stop::Fail(e.duplicate()));
                        return Err(e);
                    }
                    Some(Stop::End) => {
                        self.stop = Some(Stop::End);
                        return Ok(Progress {
                            consumed: pos,
                            end: true,
                        });
                    }
                    Some(Stop::Sequential) | None => {
                        self.hand_over();
                        continue;
                    }
                }
            }
            if self.need > 0 && self.batch.len() - self.cur == self.need {
                // The member is whole.
                self.ends.push((self.batch.len(), self.header_len));
                self.cur = self.batch.len();
                self.need = 0;
                self.gathered += 1;
                continue;
            }
            if self.ends.len() >= BATCH_BLOCKS {
                if self.dispatch()? {
                    continue;
                }
                if pos > 0 || out.len() > out_at_start {
                    // The caller takes the output first (whole, if it can).
                    break;
                }
                self.collect(true)?;
                continue;
            }
            let rest = &input[pos..];
            if rest.is_empty() {
                // Everything taken: more input may come at once, so the
                // blocks gathered and in flight stay (waiting for them here,
                // at every chunk, left the workers idle); the end of input
                // or an empty chunk drains them (`drain`).
                break;
            }
            let at = offset + pos as u64;
            if let Some(shared) = shared {
                let taken = self.hand_on_shared(shared, pos, at)?;
                if taken > 0 {
                    pos += taken;
                    continue;
                }
            }
            if self.batch.len() == self.cur {
                // A member boundary.
                self.block_start = at;
                if self.cur == 0 {
                    self.batch_start = at;
                }
                let magic = rest[0] == ID1 && rest.get(1).is_none_or(|&b| b == ID2);
                if self.gathered > 0 && !magic {
                    self.stop = Some(Stop::End);
                    continue;
                }
            }
            if self.need == 0 {
                match probe(self.member()) {
                    Probe::More(upto) => {
                        let k = (upto - self.member().len()).min(rest.len());
                        self.batch.extend_from_slice(&rest[..k]);
                        pos += k;
                        let m = self.member();
                        if self.gathered > 0 && m.len() == 2 && m[1] != ID2 {
                            // A lone 0x1f at the end of the last chunk, then
                            // no second magic byte.
                            self.stop = Some(if self.trailing == Trailing::Error {
                                Stop::Fail(garbage(self.block_start))
                            } else {
                                Stop::End
                            });
                            pos -= 1;
                            self.batch.truncate(self.cur);
                        }
                    }
                    Probe::NotBgzf => self.stop = Some(Stop::Sequential),
                    Probe::Block { header_len, size } => {
                        if let Err(e) = self.start_block(header_len, size) {
                            self.stop = Some(Stop::Fail(e));
                        }
                    }
                }
                continue;
            }
            let k = (self.need - (self.batch.len() - self.cur)).min(rest.len());
            self.batch.extend_from_slice(&rest[..k]);
            pos += k;
        }
        Ok(Progress {
            consumed: pos,
            end: false,
        })
    }
}

fn garbage(at: u64) -> Error {
    Error::corrupt(format!(
        "gzip: trailing garbage after the end of the stream at byte offset {at}"
    ))
}

impl RawDecoder for ParallelGzipDecoder {
    const FORMAT: &'static str = "gzip";
    const ZERO_PADDING: bool = true;

    fn decode(&mut self, input: &[u8], out: &mut Vec<u8>, offset: u64) -> Result<Progress, Error> {
        self.decode_from(input, None, out, offset)
    }

    fn decode_shared(
        &mut self,
        input: &Bytes,
        out: &mut Vec<u8>,
        offset: u64,
    ) -> Result<Progress, Error> {
        self.decode_from(input, Some(input), out, offset)
    }

    fn held(&self) -> bool {
        matches!(self.mode, Mode::Bgzf) && !(self.idle() && self.ends.is_empty())
    }

    fn drain(&mut self, out: &mut Vec<u8>) -> Result<bool, Error> {
        let out_at_start = out.len();
        loop {
            self.emit(out)?;
            if self.idle() && self.ends.is_empty() {
                return Ok(true);
            }
            if out.len() == out.capacity() {
                return Ok(false);
            }
            if !self.ends.is_empty() {
                if !self.dispatch()? {
                    self.collect(true)?;
                }
                continue;
            }
            self.collect(true)?;
            if out.len() == out_at_start && self.ready() {
                // Taken whole by the next step.
                return Ok(false);
            }
        }
    }

    fn take_ready(&mut self, max: usize) -> Option<Bytes> {
        loop {
            if !self.emitting.is_empty() {
                let k = self.emitting.len().min(max.max(1));
                return Some(self.emitting.split_to(k));
            }
            if self.after.is_some() || self.collect(false).is_err() || !self.ready() {
                return None;
            }
            self.next_batch();
        }
    }

    fn has_ready(&mut self) -> bool {
        self.ready()
    }

    fn finish(&mut self, offset: u64) -> Result<(), Error> {
        if let Mode::Sequential { dec, prefix, .. } = &mut self.mode {
            if !prefix.is_empty() {
                return Err(Error::msg("gzip: input held back at the end"));
            }
            return dec.finish(offset);
        }
        if let Some(Stop::Fail(e)) = &self.stop {
            return Err(e.duplicate());
        }
        if !self.idle() || !self.ends.is_empty() {
            return Err(Error::msg(
                "gzip: blocks still in flight at the end of input",
            ));
        }
        if self.batch.is_empty() {
            if self.gathered == 0 {
                return Err(truncated(Self::FORMAT, offset));
            }
            return Ok(());
        }
        if self.need == 0 {
            // Inside a header: the sequential decoder says where, as always.
            self.hand_over();
            let mut sink = Vec::new();
            let _ = self.sequential(&[], &mut sink, offset, 0)?;
            return self.finish(offset);
        }
        Err(Error::corrupt(format!(
            "gzip: truncated input (unexpected end of file at byte offset {offset}, in BGZF block (member {}) starting at byte offset {}, whose recorded size is {} bytes)",
            self.gathered + 1,
            self.block_start,
            self.need
        )))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use crate::engine::{EncodeOp, RawEncoder};
    use crate::gzip::parallel_impl::{Framing, ParallelGzipEncoder};

    fn bgzf(data: &[u8]) -> Vec<u8> {
        let mut e = ParallelGzipEncoder::gzip(1, &GzipHeader::default(), 2, 0, Framing::Bgzf);
        let mut out = Vec::new();
        let mut rest = data;
        while !rest.is_empty() {
            let (n, _) = e.encode(rest, &mut out, EncodeOp::Process).unwrap();
            rest = &rest[n..];
        }
        e.encode(&[], &mut out, EncodeOp::Finish).unwrap();
        out
    }

    #[test]
    fn blocks_in_flight_and_held_stay_bounded() {
        let data: Vec<u8> = (0..6_000_000u32).map(|i| (i * 7 % 251) as u8).collect();
        let file = bgzf(&data);
        let mut d = ParallelGzipDecoder::new(2, Trailing::Error);
        let mut back = Vec::new();
        let mut at = 0u64;
        for piece in file.chunks(300_000) {
            let mut rest = piece;
            loop {
                // A consumer that takes 10 KiB at a time, into a buffer
                // that already holds a byte (as the engine's may): each call
                // must make progress of its own.
                let mut out = Vec::with_capacity(10 * 1024);
                out.push(0);
                let had = rest.len();
                let p = d.decode(rest, &mut out, at).unwrap();
                assert!(
                    had == 0 || p.consumed > 0 || out.len() > 1,
                    "no progress with {had} bytes of input"
                );
                out.remove(0);
                rest = &rest[p.consumed..];
                at += p.consumed as u64;
                assert!(d.order.in_flight() <= 2 * d.max_in_flight());
                assert!(d.order.held() <= 2 * d.max_in_flight());
                assert!(d.batch.len() <= BATCH_BLOCKS * BGZF_MAX_SIZE);
                let progress = p.consumed > 0 || !out.is_empty();
                back.extend_from_slice(&out);
                if rest.is_empty() && !progress {
                    break;
                }
            }
        }
        // The end of input: what is still in flight comes out. Whether any
        // block is still held here depends on how fast the workers were, so
        // it is not asserted; draining must finish the output either way.
        loop {
            let mut out = Vec::with_capacity(10 * 1024);
            let done = d.drain(&mut out).unwrap();
            back.extend_from_slice(&out);
            if done {
                break;
            }
        }
        assert!(!d.held());
        d.finish(at).unwrap();
        assert_eq!(back, data);
        assert!(d.parallel_blocks() > 90);
    }

    /// Decodes `file` fed in `chunk`-byte slices (shared, or as bytes),
    /// taking output whole as the engine does, to the end; returns the
    /// output.
    fn decode_all(
        d: &mut ParallelGzipDecoder,
        file: &Bytes,
        chunk: usize,
        shared: bool,
    ) -> Vec<u8> {
        let mut back = Vec::new();
        let mut at = 0;
        while at < file.len() {
            let piece = file.slice(at..file.len().min(at + chunk));
            let mut out = Vec::with_capacity(1 << 16);
            let p = if shared {
                d.decode_shared(&piece, &mut out, at as u64).unwrap()
            } else {
                d.decode(&piece, &mut out, at as u64).unwrap()
            };
            back.extend_from_slice(&out);
            at += p.consumed;
            while let Some(b) = d.take_ready(usize::MAX) {
                back.extend_from_slice(&b);
            }
        }
        loop {
            let mut out = Vec::with_capacity(1 << 16);
            let done = d.drain(&mut out).unwrap();
            back.extend_from_slice(&out);
            while let Some(b) = d.take_ready(usize::MAX) {
                back.extend_from_slice(&b);
            }
            if done {
                break;
            }
        }
        d.finish(at as u64).unwrap();
        back
    }

    #[test]
    fn whole_batches_in_a_shared_chunk_are_handed_on_without_a_copy() {
        let data: Vec<u8> = (0..3_000_000u32).map(|i| (i * 7 % 251) as u8).collect();
        let file = Bytes::from(bgzf(&data));
        let blocks = (data.len() / 65_280) as u64 + 1;
        for (shared, chunk) in [(true, 1 << 20), (true, 40_000), (false, 1 << 20)] {
            let mut d = ParallelGzipDecoder::new(2, Trailing::Error);
            let back = decode_all(&mut d, &file, chunk, shared);
            assert_eq!(back, data, "shared {shared}, chunks of {chunk}");
            assert_eq!(d.members(), blocks + 1, "the blocks and the EOF block");
            if shared {
                // Most batches lie inside a chunk (a batch is 4 blocks of a
                // few KiB here); the first, and those across chunk
                // boundaries, are copied.
                assert!(d.shared_batches > blocks / 8, "{}", d.shared_batches);
            } else {
                assert_eq!(d.shared_batches, 0);
            }
        }
    }

    #[test]
    fn without_workers_the_calling_thread_decodes_every_batch() {
        // One decoding thread (or none of the workers started): the calling
        // thread is the only decoder, and never waits.
        let data: Vec<u8> = (0..1_000_000u32).map(|i| (i * 13 % 241) as u8).collect();
        let file = Bytes::from(bgzf(&data));
        let mut d = ParallelGzipDecoder::new(1, Trailing::Error);
        let back = decode_all(&mut d, &file, 70_000, true);
        assert_eq!(back, data);
        assert!(d.pool.is_none(), "no thread was started");
        assert_eq!(d.queued, 0);
        let busy = d.busy().times();
        assert_eq!(busy.len(), 1);
        assert!(!busy[0].is_zero(), "the calling thread's meter");
    }

    #[test]
    fn the_probe_decides_on_header_bytes_only() {
        let bc = [
            0x1f, 0x8b, 8, 4, 0, 0, 0, 0, 0, 0xff, 6, 0, b'B', b'C', 2, 0, 0x1b, 0,
        ];
        for n in 0..bc.len() {
            let want = match n {
                0..=3 => Probe::More(n + 1),
                4..=11 => Probe::More(12),
                _ => Probe::More(18),
            };
            assert_eq!(probe(&bc[..n]), want, "{n} bytes");
        }
        assert_eq!(
            probe(&bc),
            Probe::Block {
                header_len: 18,
                size: 28
            }
        );
        // No FEXTRA, other flags, another subfield only, a subfield that
        // overruns XLEN: ordinary gzip.
        assert_eq!(probe(&[0x1f, 0x8b, 8, 0]), Probe::NotBgzf);
        assert_eq!(probe(&[0x1f, 0x8b, 8, 4 | 8]), Probe::NotBgzf);
        let mut other = bc;
        other[12] = b'X';
        assert_eq!(probe(&other), Probe::NotBgzf);
        let mut overrun = bc;
        overrun[14] = 9;
        assert_eq!(probe(&overrun), Probe::NotBgzf);
        // BC after another subfield is found.
        let mut two = vec![0x1f, 0x8b, 8, 5, 0, 0, 0, 0, 0, 3, 11, 0];
        two.extend_from_slice(&[b'A', b'B', 1, 0, 7, b'B', b'C', 2, 0, 0x10, 0]);
        assert_eq!(
            probe(&two),
            Probe::Block {
                header_len: 23,
                size: 17
            }
        );
    }
}
