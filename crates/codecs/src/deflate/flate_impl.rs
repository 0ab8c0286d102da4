//! DEFLATE and zlib over flate2's raw `Compress`/`Decompress` (zlib-rs
//! backend), shared by the gzip, deflate and zlib codecs.

use std::marker::PhantomData;

use flate2::{Compress, Compression, Decompress, FlushCompress, FlushDecompress, Status};
use weir_core::Error;

use crate::engine::{EncodeOp, Progress, RawDecoder, RawEncoder, truncated};

/// The highest DEFLATE level.
pub(crate) const MAX_LEVEL: u32 = 9;
/// zlib's default level.
pub(crate) const DEFAULT_LEVEL: u32 = 6;

/// A raw DEFLATE (or zlib-wrapped) compressor.
pub(crate) struct FlateEncoder {
    c: Compress,
}

impl FlateEncoder {
    pub(crate) fn new(level: u32, zlib_header: bool) -> Self {
        FlateEncoder {
            c: Compress::new(Compression::new(level.min(MAX_LEVEL)), zlib_header),
        }
    }

    /// One call of `deflate`. Returns (consumed, done).
    pub(crate) fn encode_with(
        &mut self,
        format: &str,
        input: &[u8],
        out: &mut Vec<u8>,
        op: EncodeOp,
    ) -> Result<(usize, bool), Error> {
        let flush = match op {
            EncodeOp::Process => FlushCompress::None,
            EncodeOp::Flush => FlushCompress::Sync,
            EncodeOp::Finish => FlushCompress::Finish,
        };
        let before_in = self.c.total_in();
        let status = self
            .c
            .compress_vec(input, out, flush)
            .map_err(|e| Error::msg(format!("{format} encoder failed: {e}")))?;
        let consumed = (self.c.total_in() - before_in) as usize;
        let room_left = out.len() < out.capacity();
        let done = match op {
            EncodeOp::Process => false,
            // A sync flush is complete once deflate left output room; a
            // repeated flush with nothing new reports BufError.
            EncodeOp::Flush => room_left || status == Status::BufError,
            EncodeOp::Finish => status == Status::StreamEnd,
        };
        Ok((consumed, done))
    }
}

impl std::fmt::Debug for FlateEncoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FlateEncoder")
            .field("total_in", &self.c.total_in())
            .finish()
    }
}

/// A raw DEFLATE (or zlib-wrapped) decompressor.
pub(crate) struct FlateDecoder {
    d: Decompress,
    ended: bool,
}

impl FlateDecoder {
    pub(crate) fn new(zlib_header: bool) -> Self {
        FlateDecoder {
            d: Decompress::new(zlib_header),
            ended: false,
        }
    }

    /// Starts a new stream (the next gzip member).
    #[cfg_attr(feature = "isal", allow(dead_code))]
    pub(crate) fn reset(&mut self) {
        self.d.reset(false);
        self.ended = false;
    }

    pub(crate) fn ended(&self) -> bool {
        self.ended
    }

    /// One call of `inflate`: returns (consumed, stream ended).
    pub(crate) fn decode_with(
        &mut self,
        format: &str,
        what: &str,
        input: &[u8],
        out: &mut Vec<u8>,
        offset: u64,
    ) -> Result<(usize, bool), Error> {
        if self.ended {
            return Ok((0, true));
        }
        let before_in = self.d.total_in();
        match self.d.decompress_vec(input, out, FlushDecompress::None) {
            Ok(status) => {
                let consumed = (self.d.total_in() - before_in) as usize;
                if status == Status::StreamEnd {
                    self.ended = true;
                }
                Ok((consumed, self.ended))
            }
            Err(e) => {
                let consumed = self.d.total_in().saturating_sub(before_in);
                let at = offset + consumed;
                let why = if e.needs_dictionary().is_some() {
                    "a preset dictionary is required".to_string()
                } else {
                    let why = e.to_string();
                    // zlib-rs (0.6) overwrites the reason its fast path
                    // found (a bad code or distance) with this text, meant
                    // for a caller that goes on after an error; weir never
                    // does, so the data is what is wrong.
                    if why.contains("repeated call with bad state") {
                        "invalid deflate data (a bad code or distance)".to_string()
                    } else {
                        why
                    }
                };
                Err(Error::corrupt(format!(
                    "{format}: corrupt {what} near byte offset {at}: {why}"
                )))
            }
        }
    }
}

impl std::fmt::Debug for FlateDecoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FlateDecoder")
            .field("total_in", &self.d.total_in())
            .field("ended", &self.ended)
            .finish()
    }
}

/// What tells the stream formats flate2 frames by itself apart: raw DEFLATE
/// (RFC 1951) and zlib (RFC 1950, whose header and Adler-32 flate2 writes and
/// checks).
pub(crate) trait Framing: Send + 'static {
    /// The format's name in errors.
    const FORMAT: &'static str;
    /// What the input is called in a corrupt-data error.
    const DATA: &'static str;
    /// Whether flate2 writes and reads the zlib header and trailer.
    const ZLIB: bool;
}

/// Raw DEFLATE: no header, no checksum.
#[derive(Debug)]
pub(crate) struct Deflate;

impl Framing for Deflate {
    const FORMAT: &'static str = "deflate";
    const DATA: &'static str = "deflate data";
    const ZLIB: bool = false;
}

/// Encoding in a [`Framing`].
#[derive(Debug)]
pub(crate) struct FlateEncode<F>(FlateEncoder, PhantomData<F>);

impl<F: Framing> FlateEncode<F> {
    pub(crate) fn new(level: u32) -> Self {
        FlateEncode(FlateEncoder::new(level, F::ZLIB), PhantomData)
    }
}

impl<F: Framing + std::fmt::Debug> RawEncoder for FlateEncode<F> {
    const FORMAT: &'static str = F::FORMAT;
    fn encode(
        &mut self,
        input: &[u8],
        out: &mut Vec<u8>,
        op: EncodeOp,
    ) -> Result<(usize, bool), Error> {
        self.0.encode_with(Self::FORMAT, input, out, op)
    }
}

/// Decoding in a [`Framing`].
#[derive(Debug)]
pub(crate) struct FlateDecode<F>(FlateDecoder, PhantomData<F>);

impl<F: Framing> FlateDecode<F> {
    pub(crate) fn new() -> Self {
        FlateDecode(FlateDecoder::new(F::ZLIB), PhantomData)
    }
}

impl<F: Framing + std::fmt::Debug> RawDecoder for FlateDecode<F> {
    const FORMAT: &'static str = F::FORMAT;
    fn decode(&mut self, input: &[u8], out: &mut Vec<u8>, offset: u64) -> Result<Progress, Error> {
        let (consumed, end) = self
            .0
            .decode_with(Self::FORMAT, F::DATA, input, out, offset)?;
        Ok(Progress { consumed, end })
    }
    fn finish(&mut self, offset: u64) -> Result<(), Error> {
        if self.0.ended() {
            Ok(())
        } else {
            Err(truncated(Self::FORMAT, offset))
        }
    }
}
