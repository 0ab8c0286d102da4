//! zstd over the `zstd` crate's raw streaming API (libzstd).

use weir_core::Error;
use zstd::stream::raw::{CParameter, DParameter, Decoder, Encoder, InBuffer, Operation, OutBuffer};

use crate::engine::truncated;
use crate::engine::{EncodeOp, Progress, RawDecoder, RawEncoder};

/// zstd's lowest and highest "regular" levels.
pub(crate) const MIN_LEVEL: i32 = 1;
pub(crate) const MAX_LEVEL: i32 = 22;
pub(crate) const DEFAULT_LEVEL: i32 = 3;
/// The decoder's default window limit, libzstd's own (128 MiB).
pub(crate) const DEFAULT_WINDOW_LOG_MAX: u32 = 27;

/// libzstd refuses a setting only for values out of range, which the
/// builders clamp, or when it cannot allocate; construction never fails, and
/// such a failure is reported by the first call instead.
type Setup<T> = Result<T, String>;

pub(crate) struct ZstdRawEncoder {
    enc: Setup<Encoder<'static>>,
}

impl ZstdRawEncoder {
    /// `workers`: libzstd's worker threads (0: compress in the calling
    /// thread).
    pub(crate) fn new(level: i32, checksum: bool, window_log: Option<u32>, workers: u32) -> Self {
        let make = || -> std::io::Result<Encoder<'static>> {
            let mut enc = Encoder::new(level.clamp(MIN_LEVEL, MAX_LEVEL))?;
            enc.set_parameter(CParameter::ChecksumFlag(checksum))?;
            if workers > 0 {
                enc.set_parameter(CParameter::NbWorkers(workers))?;
            }
            if let Some(w) = window_log {
                enc.set_parameter(CParameter::WindowLog(w.clamp(10, 31)))?;
            }
            Ok(enc)
        };
        ZstdRawEncoder {
            enc: make().map_err(|e| e.to_string()),
        }
    }
}

fn setup_error(e: &str) -> Error {
    Error::msg(format!("zstd: cannot set up the codec: {e}"))
}

impl std::fmt::Debug for ZstdRawEncoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ZstdRawEncoder")
    }
}

impl RawEncoder for ZstdRawEncoder {
    const FORMAT: &'static str = "zstd";

    fn encode(
        &mut self,
        input: &[u8],
        out: &mut Vec<u8>,
        op: EncodeOp,
    ) -> Result<(usize, bool), Error> {
        let enc = self.enc.as_mut().map_err(|e| setup_error(e))?;
        let pos = out.len();
        let mut src = InBuffer::around(input);
        let mut dst = OutBuffer::around_pos(out, pos);
        let res = match op {
            EncodeOp::Process => enc.run(&mut src, &mut dst).map(|_| false),
            EncodeOp::Flush => enc.flush(&mut dst).map(|left| left == 0),
            EncodeOp::Finish => enc.finish(&mut dst, true).map(|left| left == 0),
        };
        let done = res.map_err(|e| Error::msg(format!("zstd encoder failed: {e}")))?;
        Ok((src.pos(), done))
    }
}

pub(crate) struct ZstdRawDecoder {
    dec: Setup<Decoder<'static>>,
    /// The last call ended a frame with all its output handed out.
    frame_done: bool,
}

impl ZstdRawDecoder {
    pub(crate) fn new(window_log_max: u32) -> Self {
        let make = || -> std::io::Result<Decoder<'static>> {
            let mut dec = Decoder::new()?;
            dec.set_parameter(DParameter::WindowLogMax(window_log_max.clamp(10, 31)))?;
            Ok(dec)
        };
        ZstdRawDecoder {
            dec: make().map_err(|e| e.to_string()),
            frame_done: false,
        }
    }
}

impl std::fmt::Debug for ZstdRawDecoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ZstdRawDecoder")
            .field("frame_done", &self.frame_done)
            .finish()
    }
}

impl RawDecoder for ZstdRawDecoder {
    const FORMAT: &'static str = "zstd";

    fn decode(&mut self, input: &[u8], out: &mut Vec<u8>, offset: u64) -> Result<Progress, Error> {
        if input.is_empty() && self.frame_done {
            return Ok(Progress {
                consumed: 0,
                end: false,
            });
        }
        let dec = self.dec.as_mut().map_err(|e| setup_error(e))?;
        let pos = out.len();
        let mut src = InBuffer::around(input);
        let mut dst = OutBuffer::around_pos(out, pos);
        match dec.run(&mut src, &mut dst) {
            Ok(hint) => {
                let consumed = src.pos();
                if consumed > 0 || hint == 0 {
                    self.frame_done = hint == 0;
                }
                Ok(Progress {
                    consumed,
                    end: false,
                })
            }
            // libzstd's word for bytes that start no frame: at the start,
            // not zstd at all (as gunzip's "not in gzip format"); after a
            // frame, trailing garbage (as the other decoders say it).
            Err(e) if e.to_string().contains("Unknown frame descriptor") => {
                let at = offset + src.pos() as u64;
                Err(Error::corrupt(if at == 0 {
                    "zstd: not in zstd format (no frame magic number)".to_string()
                } else {
                    format!("zstd: trailing garbage after the last frame at byte offset {at}")
                }))
            }
            Err(e) => Err(Error::corrupt(format!(
                "zstd: corrupt input at or after byte offset {}: {e}",
                offset + src.pos() as u64
            ))),
        }
    }

    fn finish(&mut self, offset: u64) -> Result<(), Error> {
        if self.frame_done {
            Ok(())
        } else {
            Err(truncated(Self::FORMAT, offset))
        }
    }
}
