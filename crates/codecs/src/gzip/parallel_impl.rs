//! Parallel gzip compression, the way `pigz` does it: the input is cut into
//! blocks, each block is compressed independently (primed with the 32 KiB
//! of input before it as a preset dictionary, so the ratio barely changes)
//! and ends with a sync flush, so the blocks' outputs concatenate into one
//! DEFLATE stream; a final empty block ends it.
//!
//! A batch of `threads` blocks is compressed at a time on scoped threads
//! (the calling thread takes one block), so memory is bounded by one batch
//! of input and its output, and no thread outlives a call. The `threads`
//! compressors are made once and reset for every block: a compressor's
//! state is a few hundred KiB, not worth allocating per 128 KiB block.

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

pub(crate) struct ParallelGzipEncoder {
    level: u32,
    threads: usize,
    block: usize,
    header: Option<Vec<u8>>,
    /// Input taken and not yet compressed (less than one batch).
    pending: Vec<u8>,
    /// The last (up to) 32 KiB of input already compressed.
    window: Vec<u8>,
    crc: Hasher,
    isize: u32,
    finished: bool,
    /// One compressor per thread, made on first use.
    compressors: Vec<Compress>,
}

impl std::fmt::Debug for ParallelGzipEncoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ParallelGzipEncoder")
            .field("threads", &self.threads)
            .field("block", &self.block)
            .field("pending", &self.pending.len())
            .finish()
    }
}

/// Compresses one block primed with `dict` with `c` (reset first), ending
/// with a sync flush.
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

impl ParallelGzipEncoder {
    pub(crate) fn new(level: u32, header: &GzipHeader, threads: usize, block: usize) -> Self {
        let mut h = Vec::new();
        write_header(header, level, &mut h);
        ParallelGzipEncoder {
            level,
            threads: threads.max(1),
            block: block.max(WINDOW),
            header: Some(h),
            pending: Vec::new(),
            window: Vec::new(),
            crc: Hasher::new(),
            isize: 0,
            finished: false,
            compressors: Vec::new(),
        }
    }

    fn batch(&self) -> usize {
        self.threads * self.block
    }

    /// Compresses all pending input, `threads` blocks at a time in
    /// parallel, appending the output to `out`.
    fn compress_pending(&mut self, out: &mut Vec<u8>) -> Result<(), Error> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let data = std::mem::take(&mut self.pending);
        // Each block's dictionary is the 32 KiB of input before it.
        let mut history = std::mem::take(&mut self.window);
        history.extend_from_slice(&data);
        let base = history.len() - data.len();
        let blocks: Vec<(usize, usize)> = (0..data.len())
            .step_by(self.block)
            .map(|s| (base + s, (base + s + self.block).min(history.len())))
            .collect();
        let level = Compression::new(self.level);
        while self.compressors.len() < blocks.len() {
            self.compressors.push(Compress::new(level, false));
        }
        let results: Vec<Result<Vec<u8>, Error>> = std::thread::scope(|scope| {
            let history = &history;
            let job = move |c: &mut Compress, (start, end): (usize, usize)| {
                let dict = &history[start.saturating_sub(WINDOW)..start];
                compress_block(c, dict, &history[start..end])
            };
            let (first_c, other_cs) = match self.compressors.split_first_mut() {
                Some(split) => split,
                None => return Vec::new(),
            };
            let mut handles = Vec::new();
            let mut results = Vec::with_capacity(blocks.len());
            for (c, &b) in other_cs.iter_mut().zip(blocks.iter().skip(1)) {
                // If a thread cannot be had, the block is done here instead.
                let spawned = std::thread::Builder::new().spawn_scoped(scope, move || job(c, b));
                handles.push((spawned.ok(), b));
            }
            if let Some(&first) = blocks.first() {
                results.push(job(first_c, first));
            }
            for (h, b) in handles {
                let r = match h.map(|h| h.join()) {
                    Some(Ok(r)) => r,
                    Some(Err(_)) => Err(Error::msg("gzip: a compression thread panicked")),
                    None => job(first_c, b),
                };
                results.push(r);
            }
            results
        });
        for r in results {
            out.extend_from_slice(&r?);
        }
        let keep = history.len().saturating_sub(WINDOW);
        history.drain(..keep);
        self.window = history;
        let mut reuse = data;
        reuse.clear();
        self.pending = reuse;
        Ok(())
    }
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
                let room = self.batch().saturating_sub(self.pending.len());
                let take = room.min(input.len());
                self.pending.extend_from_slice(&input[..take]);
                self.crc.update(&input[..take]);
                self.isize = self.isize.wrapping_add(take as u32);
                if self.pending.len() >= self.batch() {
                    self.compress_pending(out)?;
                }
                Ok((take, false))
            }
            EncodeOp::Flush => {
                self.compress_pending(out)?;
                Ok((0, true))
            }
            EncodeOp::Finish => {
                self.compress_pending(out)?;
                out.extend_from_slice(&FINAL_EMPTY_BLOCK);
                out.extend_from_slice(&self.crc.clone().finalize().to_le_bytes());
                out.extend_from_slice(&self.isize.to_le_bytes());
                self.finished = true;
                Ok((0, true))
            }
        }
    }
}
