//! Parallel gzip decoding of BGZF files (independent blocks, each a gzip
//! member whose header records its compressed size, as htslib's `bgzip`
//! and `weir gzip --independent` write them).
//!
//! The calling thread reads each member's header; when it carries BGZF's
//! `BC` field, the header gives the block's size, so the calling thread
//! gathers the whole block and hands it to a worker without decoding it.
//! Workers inflate their blocks, check each CRC-32 and length, and the
//! calling thread emits their output in order. At most
//! `IN_FLIGHT_PER_THREAD × threads` blocks (each at most 64 KiB in and 64 KiB
//! out) are with the workers; when they all have their fill, the calling
//! thread decodes the next blocks itself, up to as many again, before it
//! waits for the oldest. It takes input only while it may start a block, so
//! memory is bounded (`2 × IN_FLIGHT_PER_THREAD × threads` blocks) and a
//! slow output stops the reading.
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

use crc32fast::Hasher;
use weir_core::{Error, WorkerBusy};

use super::GzipHeader;
use super::gzip_impl::{CM_DEFLATE, FEXTRA, FTEXT, GzipRawDecoder, ID1, ID2};
use super::inflater::Inflater;
use super::parallel_impl::BGZF_MAX_SIZE;
use crate::Trailing;
use crate::engine::{Progress, RawDecoder, truncated};
use crate::pool_impl::{InOrder, PoolNames, Work, WorkerPool};

/// Blocks in flight per worker.
const IN_FLIGHT_PER_THREAD: usize = 8;
/// The most data a BGZF block holds.
pub(crate) const BGZF_MAX_DATA: usize = 1 << 16;
/// The smallest DEFLATE stream (an empty fixed-Huffman final block).
const MIN_DEFLATE: usize = 2;
/// A gzip trailer: CRC-32 and ISIZE.
const TRAILER: usize = 8;
/// The name of the worker threads.
pub(crate) const WORKER_NAME: &str = "weir-gunzip";

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

/// A block for a worker.
struct BlockJob {
    /// The whole member.
    data: Vec<u8>,
    header_len: usize,
    /// The stream offset of `data[0]`.
    offset: u64,
    /// The member's number (1 for the first).
    member: u64,
}

/// A worker's state: an inflater, reset for each block.
struct BlockInflater {
    inflater: Inflater,
}

impl Work for BlockInflater {
    type Job = BlockJob;
    type Out = Vec<u8>;

    fn run(&mut self, job: BlockJob) -> Result<Vec<u8>, Error> {
        inflate_block(&mut self.inflater, &job)
    }

    fn recover(&mut self) {
        self.inflater = Inflater::new();
    }
}

/// Inflates one block and checks it against its recorded size, CRC-32 and
/// length.
fn inflate_block(inflater: &mut Inflater, job: &BlockJob) -> Result<Vec<u8>, Error> {
    let size = job.data.len();
    let end = job.offset + size as u64;
    let body = &job.data[job.header_len..size - TRAILER];
    let t = &job.data[size - TRAILER..];
    let stored_crc = u32::from_le_bytes([t[0], t[1], t[2], t[3]]);
    let stored_len = u32::from_le_bytes([t[4], t[5], t[6], t[7]]);
    let body_at = job.offset + job.header_len as u64;
    let block = |what: String| {
        Error::corrupt(format!(
            "gzip: BGZF block (member {}) at byte offset {}: {what}",
            job.member, job.offset
        ))
    };
    // One byte more than the block may hold shows data past its length.
    let room = (stored_len as usize).min(BGZF_MAX_DATA) + 1;
    let mut out = Vec::with_capacity(room);
    inflater.reset();
    let mut pos = 0;
    loop {
        let before = out.len();
        let (n, ended) = inflater.decode(&body[pos..], &mut out, body_at + pos as u64)?;
        pos += n;
        if ended {
            let mut unused = [0; 8];
            pos -= inflater.take_unused(&mut unused).min(pos);
            break;
        }
        if out.len() == out.capacity() {
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
    let mut h = Hasher::new();
    h.update(&out);
    let crc = h.finalize();
    if crc != stored_crc {
        return Err(Error::corrupt(format!(
            "gzip: crc32 mismatch in member {} trailer at byte offset {trailer_at} (stored 0x{stored_crc:08x}, computed 0x{crc:08x})",
            job.member
        )));
    }
    if out.len() != stored_len as usize {
        return Err(Error::corrupt(format!(
            "gzip: length (ISIZE) mismatch in member {} trailer at byte offset {} (stored {stored_len}, decoded {})",
            job.member,
            trailer_at + 4,
            out.len()
        )));
    }
    Ok(out)
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

/// gzip decoding that decodes BGZF blocks on worker threads (see the module
/// docs); other gzip streams are decoded as [`GzipRawDecoder`] does.
pub(crate) struct ParallelGzipDecoder {
    threads: usize,
    trailing: Trailing,
    mode: Mode,
    /// The member being gathered: its header so far, or the whole block.
    block: Vec<u8>,
    /// The stream offset of `block[0]`.
    block_start: u64,
    /// The block's recorded size and header length, once its header is read.
    need: usize,
    header_len: usize,
    /// Blocks handed to the workers so far.
    submitted: u64,
    /// Blocks emitted (checked) so far.
    emitted: u64,
    pool: Option<WorkerPool<BlockJob, Vec<u8>>>,
    /// The calling thread's inflater, for blocks it decodes itself.
    local: Option<Inflater>,
    order: InOrder<Result<Vec<u8>, Error>>,
    /// The output of the block being emitted, and how much is out.
    emitting: Vec<u8>,
    emit_pos: usize,
    stop: Option<Stop>,
    first_header: Option<GzipHeader>,
    busy: WorkerBusy,
}

impl std::fmt::Debug for ParallelGzipDecoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ParallelGzipDecoder")
            .field("threads", &self.threads)
            .field("bgzf", &matches!(self.mode, Mode::Bgzf))
            .field("submitted", &self.submitted)
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
            block: Vec::new(),
            block_start: 0,
            need: 0,
            header_len: 0,
            submitted: 0,
            emitted: 0,
            pool: None,
            local: None,
            order: InOrder::new(),
            emitting: Vec::new(),
            emit_pos: 0,
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

    /// BGZF blocks decoded on the workers and emitted so far.
    pub(crate) fn parallel_blocks(&self) -> u64 {
        self.emitted
    }

    /// The workers' busy-time meters.
    pub(crate) fn busy(&self) -> WorkerBusy {
        self.busy.clone()
    }

    fn max_in_flight(&self) -> usize {
        self.threads * IN_FLIGHT_PER_THREAD
    }

    /// Nothing in flight and nothing left to emit.
    fn idle(&self) -> bool {
        self.order.in_flight() == 0 && self.emit_pos == self.emitting.len()
    }

    /// Emits as much finished output, in order, as `out` has room for.
    fn emit(&mut self, out: &mut Vec<u8>) -> Result<(), Error> {
        loop {
            let left = self.emitting.len() - self.emit_pos;
            if left > 0 {
                let k = left.min(out.capacity() - out.len());
                out.extend_from_slice(&self.emitting[self.emit_pos..self.emit_pos + k]);
                self.emit_pos += k;
                if k < left {
                    return Ok(());
                }
            }
            self.collect(false)?;
            match self.order.pop() {
                Some(Ok(data)) => {
                    self.emitting = data;
                    self.emit_pos = 0;
                    self.emitted += 1;
                }
                Some(Err(e)) => return Err(e),
                None => return Ok(()),
            }
        }
    }

    /// Files finished blocks; with `wait`, waits for at least one.
    fn collect(&mut self, wait: bool) -> Result<(), Error> {
        let Some(pool) = self.pool.as_ref() else {
            return Ok(());
        };
        let mut wait = wait && self.order.in_flight() > 0;
        while let Some((seq, result)) = pool.recv(wait)? {
            if !self.order.put(seq, result) {
                return Err(Error::msg(
                    "gzip: a decompression thread answered out of turn",
                ));
            }
            wait = false;
        }
        Ok(())
    }

    /// The gathered block as a job, with its sequence number.
    fn take_job(&mut self) -> (u64, BlockJob) {
        let data = std::mem::replace(&mut self.block, Vec::with_capacity(BGZF_MAX_SIZE));
        let job = BlockJob {
            data,
            header_len: self.header_len,
            offset: self.block_start,
            member: self.submitted + 1,
        };
        self.submitted += 1;
        self.need = 0;
        (self.order.take_seq(), job)
    }

    /// Decodes the gathered block on the calling thread.
    fn decode_here(&mut self) {
        let (seq, job) = self.take_job();
        let inflater = self.local.get_or_insert_with(Inflater::new);
        let result = inflate_block(inflater, &job);
        if result.is_err() {
            self.local = None;
        }
        self.order.put(seq, result);
    }

    /// Hands the gathered block to a worker.
    fn submit(&mut self) -> Result<(), Error> {
        if self.pool.is_none() {
            let names = PoolNames {
                thread: WORKER_NAME,
                format: "gzip",
                role: "decompression",
            };
            // The calling thread decodes up to as many again itself.
            let capacity = 2 * self.max_in_flight();
            self.pool = Some(WorkerPool::start(
                self.threads,
                capacity,
                names,
                self.busy.clone(),
                || BlockInflater {
                    inflater: Inflater::new(),
                },
            )?);
        }
        let (seq, job) = self.take_job();
        match &self.pool {
            Some(pool) => pool.send(seq, job),
            None => Err(Error::msg("gzip: no decompression threads")),
        }
    }

    /// The header of the block being gathered is complete: checks its
    /// recorded size.
    fn start_block(&mut self, header_len: usize, size: usize) -> Result<(), Error> {
        let least = header_len + MIN_DEFLATE + TRAILER;
        if size < least {
            return Err(Error::corrupt(format!(
                "gzip: BGZF block (member {}) at byte offset {} records a size of {size} bytes, less than its header and trailer need ({least})",
                self.submitted + 1,
                self.block_start
            )));
        }
        if self.first_header.is_none() {
            let h = &self.block;
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
    /// the header bytes gathered so far.
    fn hand_over(&mut self) {
        let mut dec = GzipRawDecoder::new(true, self.trailing);
        dec.continue_at(self.emitted + 1, self.block_start);
        if let Some(mut pool) = self.pool.take() {
            pool.stop();
        }
        self.mode = Mode::Sequential {
            dec: Box::new(dec),
            prefix: std::mem::take(&mut self.block),
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
        let mut pos = 0;
        loop {
            if matches!(self.mode, Mode::Sequential { .. }) {
                return self.sequential(input, out, offset, pos);
            }
            self.emit(out)?;
            if out.len() == out.capacity() {
                break;
            }
            if self.stop.is_some() {
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
            if self.need > 0 && self.block.len() == self.need {
                let in_flight = self.order.in_flight();
                if in_flight < self.max_in_flight() {
                    self.submit()?;
                } else if in_flight < 2 * self.max_in_flight() {
                    // Every worker has its fill: decode this block here
                    // rather than sleep until one is done (a thread that
                    // sleeps on a busy machine may wait long to run again).
                    self.decode_here();
                } else {
                    self.collect(true)?;
                }
                continue;
            }
            let rest = &input[pos..];
            if rest.is_empty() {
                // Everything taken: more input may come at once, so the
                // blocks in flight stay there (waiting for them here, at
                // every chunk, left the workers idle); the end of input or
                // an empty chunk drains them (`drain`).
                break;
            }
            let at = offset + pos as u64;
            if self.block.is_empty() {
                // A member boundary.
                self.block_start = at;
                let magic = rest[0] == ID1 && rest.get(1).is_none_or(|&b| b == ID2);
                if self.submitted > 0 && !magic {
                    self.stop = Some(Stop::End);
                    continue;
                }
            }
            if self.need == 0 {
                match probe(&self.block) {
                    Probe::More(upto) => {
                        let k = (upto - self.block.len()).min(rest.len());
                        self.block.extend_from_slice(&rest[..k]);
                        pos += k;
                        if self.submitted > 0 && self.block.len() == 2 && self.block[1] != ID2 {
                            // A lone 0x1f at the end of the last chunk, then
                            // no second magic byte.
                            self.stop = Some(if self.trailing == Trailing::Error {
                                Stop::Fail(garbage(self.block_start))
                            } else {
                                Stop::End
                            });
                            pos -= 1;
                            self.block.clear();
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
            let k = (self.need - self.block.len()).min(rest.len());
            self.block.extend_from_slice(&rest[..k]);
            pos += k;
        }
        Ok(Progress {
            consumed: pos,
            end: false,
        })
    }

    fn held(&self) -> bool {
        matches!(self.mode, Mode::Bgzf) && !self.idle()
    }

    fn drain(&mut self, out: &mut Vec<u8>) -> Result<bool, Error> {
        loop {
            self.emit(out)?;
            if self.idle() {
                return Ok(true);
            }
            if out.len() == out.capacity() {
                return Ok(false);
            }
            self.collect(true)?;
        }
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
        if !self.idle() {
            return Err(Error::msg(
                "gzip: blocks still in flight at the end of input",
            ));
        }
        if self.block.is_empty() {
            if self.submitted == 0 {
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
            self.submitted + 1,
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
                // A consumer that takes 10 KiB at a time.
                let mut out = Vec::with_capacity(10 * 1024);
                let p = d.decode(rest, &mut out, at).unwrap();
                rest = &rest[p.consumed..];
                at += p.consumed as u64;
                assert!(d.order.in_flight() <= 2 * d.max_in_flight());
                assert!(d.order.held() <= 2 * d.max_in_flight());
                assert!(d.block.len() <= BGZF_MAX_SIZE);
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
