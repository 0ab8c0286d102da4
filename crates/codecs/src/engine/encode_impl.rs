//! The encoder driver: turns a [`RawEncoder`] into a transform.

use bytes::Bytes;
use weir_core::{Error, Output};

use super::reserve_spare;
use crate::SyncFlush;

/// Spare output room offered to the codec per call.
const OUT_STEP: usize = 32 * 1024;

/// What an encoder is asked to do with its input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum EncodeOp {
    /// Compress; emit output when the codec has some.
    Process,
    /// Emit everything given so far, byte-aligned, so a decoder can decode
    /// it all (zlib's `Z_SYNC_FLUSH`, zstd's end of block).
    Flush,
    /// End the stream with its trailer.
    Finish,
}

/// A sans-IO compressor.
pub(crate) trait RawEncoder {
    /// The format name used in error messages.
    const FORMAT: &'static str;

    /// Compresses from `input` into `out`'s spare capacity. Returns the
    /// bytes of `input` consumed and, for `Flush`/`Finish` (called with an
    /// empty `input`), whether that operation is complete.
    ///
    /// # Errors
    /// A failure of the codec library (not expected with valid settings).
    fn encode(
        &mut self,
        input: &[u8],
        out: &mut Vec<u8>,
        op: EncodeOp,
    ) -> Result<(usize, bool), Error>;

    /// Sees each input chunk whole, before [`encode`](Self::encode) is
    /// given its bytes (for work done on the chunk apart from the codec,
    /// such as a checksum on another thread). The default does nothing.
    fn input(&mut self, chunk: &Bytes) {
        let _ = chunk;
    }

    /// The busy-time meters of the encoder's worker threads, if any.
    fn worker_busy(&self) -> Option<weir_core::WorkerBusy> {
        None
    }
}

/// Drives a [`RawEncoder`] for the `Transform` protocol.
#[derive(Debug)]
pub(crate) struct EncodeEngine<E> {
    raw: E,
    sync: SyncFlush,
    /// An empty input chunk asks for a sync flush.
    flush_on_empty: bool,
    scratch: Vec<u8>,
    /// Input bytes given since the last flush.
    unflushed: u64,
    total_in: u64,
    total_out: u64,
    finished: bool,
}

impl<E: RawEncoder> EncodeEngine<E> {
    pub(crate) fn new(raw: E, sync: SyncFlush, flush_on_empty: bool) -> Self {
        EncodeEngine {
            raw,
            sync,
            flush_on_empty,
            scratch: Vec::new(),
            unflushed: 0,
            total_in: 0,
            total_out: 0,
            finished: false,
        }
    }

    pub(crate) fn worker_busy(&self) -> Option<weir_core::WorkerBusy> {
        self.raw.worker_busy()
    }

    pub(crate) fn total_in(&self) -> u64 {
        self.total_in
    }

    pub(crate) fn total_out(&self) -> u64 {
        self.total_out
    }

    pub(crate) fn transform(&mut self, chunk: Bytes, out: &mut Output<Bytes>) -> Result<(), Error> {
        if self.finished {
            return Err(Error::msg(format!(
                "{}: input after the end of the stream",
                E::FORMAT
            )));
        }
        self.raw.input(&chunk);
        let mut rest: &[u8] = &chunk;
        while !rest.is_empty() {
            reserve_spare(&mut self.scratch, OUT_STEP);
            let before = self.scratch.len();
            let (n, _) = self
                .raw
                .encode(rest, &mut self.scratch, EncodeOp::Process)?;
            if n == 0 && self.scratch.len() == before {
                return Err(stalled::<E>());
            }
            rest = &rest[n.min(rest.len())..];
        }
        self.total_in += chunk.len() as u64;
        self.unflushed += chunk.len() as u64;
        let asked = chunk.is_empty() && self.flush_on_empty;
        let flush_now = match self.sync {
            SyncFlush::Never => asked,
            // An empty chunk adds nothing to flush.
            SyncFlush::EveryChunk => asked || !chunk.is_empty(),
            SyncFlush::EveryBytes(n) => asked || self.unflushed >= n.max(1),
        };
        if flush_now && self.unflushed > 0 {
            self.run(EncodeOp::Flush)?;
            self.unflushed = 0;
        }
        self.emit(out);
        Ok(())
    }

    pub(crate) fn flush(&mut self, out: &mut Output<Bytes>) -> Result<(), Error> {
        if self.finished {
            return Ok(());
        }
        self.run(EncodeOp::Finish)?;
        self.finished = true;
        self.emit(out);
        Ok(())
    }

    /// Runs a flush or finish operation to completion.
    fn run(&mut self, op: EncodeOp) -> Result<(), Error> {
        loop {
            reserve_spare(&mut self.scratch, OUT_STEP);
            let before = self.scratch.len();
            let (_, done) = self.raw.encode(&[], &mut self.scratch, op)?;
            if done {
                return Ok(());
            }
            if self.scratch.len() == before {
                return Err(stalled::<E>());
            }
        }
    }

    fn emit(&mut self, out: &mut Output<Bytes>) {
        if self.scratch.is_empty() {
            return;
        }
        self.total_out += self.scratch.len() as u64;
        out.push(Bytes::copy_from_slice(&self.scratch));
        self.scratch.clear();
        // Do not keep a huge buffer around after a burst of output.
        if self.scratch.capacity() > 4 * 1024 * 1024 {
            self.scratch = Vec::new();
        }
    }
}

fn stalled<E: RawEncoder>() -> Error {
    Error::msg(format!("{}: encoder made no progress", E::FORMAT))
}
