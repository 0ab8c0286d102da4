//! brotli over the `brotli` crate's streaming API (pure Rust).

use brotli::enc::StandardAlloc;
use brotli::enc::encode::{
    BrotliEncoderOperation, BrotliEncoderParameter, BrotliEncoderStateStruct,
};
use brotli::{BrotliDecompressStream, BrotliResult, BrotliState};
use weir_core::Error;

use crate::engine::truncated;
use crate::engine::{EncodeOp, Progress, RawDecoder, RawEncoder, Scratch};

pub(crate) const MAX_QUALITY: u32 = 11;
pub(crate) const DEFAULT_QUALITY: u32 = 11;
pub(crate) const MIN_WINDOW: u32 = 10;
pub(crate) const MAX_WINDOW: u32 = 24;
pub(crate) const DEFAULT_WINDOW: u32 = 22;

pub(crate) struct BrotliRawEncoder {
    state: BrotliEncoderStateStruct<StandardAlloc>,
    scratch: Scratch,
}

impl BrotliRawEncoder {
    pub(crate) fn new(quality: u32, window: u32) -> Self {
        let mut state = BrotliEncoderStateStruct::new(StandardAlloc::default());
        // Both values are in range, and the state is fresh, so neither
        // setter can refuse.
        let _ = state.set_parameter(
            BrotliEncoderParameter::BROTLI_PARAM_QUALITY,
            quality.min(MAX_QUALITY),
        );
        let _ = state.set_parameter(
            BrotliEncoderParameter::BROTLI_PARAM_LGWIN,
            window.clamp(MIN_WINDOW, MAX_WINDOW),
        );
        BrotliRawEncoder {
            state,
            scratch: Scratch::default(),
        }
    }
}

impl std::fmt::Debug for BrotliRawEncoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("BrotliRawEncoder")
    }
}

impl RawEncoder for BrotliRawEncoder {
    const FORMAT: &'static str = "brotli";

    fn encode(
        &mut self,
        input: &[u8],
        out: &mut Vec<u8>,
        op: EncodeOp,
    ) -> Result<(usize, bool), Error> {
        let bop = match op {
            EncodeOp::Process => BrotliEncoderOperation::BROTLI_OPERATION_PROCESS,
            EncodeOp::Flush => BrotliEncoderOperation::BROTLI_OPERATION_FLUSH,
            EncodeOp::Finish => BrotliEncoderOperation::BROTLI_OPERATION_FINISH,
        };
        let state = &mut self.state;
        let (ok, consumed) = self.scratch.run(out, |buf| {
            let mut avail_in = input.len();
            let mut in_off = 0;
            let mut avail_out = buf.len();
            let mut out_off = 0;
            let mut total = None;
            let ok = state.compress_stream(
                bop,
                &mut avail_in,
                input,
                &mut in_off,
                &mut avail_out,
                buf,
                &mut out_off,
                &mut total,
                &mut |_, _, _, _| (),
            );
            (out_off, (ok, in_off))
        });
        if !ok {
            return Err(Error::msg("brotli encoder failed"));
        }
        let done = match op {
            EncodeOp::Process => false,
            EncodeOp::Flush => !self.state.has_more_output(),
            EncodeOp::Finish => self.state.is_finished(),
        };
        Ok((consumed, done))
    }
}

pub(crate) struct BrotliRawDecoder {
    state: BrotliState<StandardAlloc, StandardAlloc, StandardAlloc>,
    ended: bool,
    scratch: Scratch,
}

impl BrotliRawDecoder {
    pub(crate) fn new() -> Self {
        BrotliRawDecoder {
            // Strict: no "large window" streams, so the window (and the
            // decoder's memory) stays at most 16 MiB.
            state: BrotliState::new_strict(
                StandardAlloc::default(),
                StandardAlloc::default(),
                StandardAlloc::default(),
            ),
            ended: false,
            scratch: Scratch::default(),
        }
    }
}

impl std::fmt::Debug for BrotliRawDecoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BrotliRawDecoder")
            .field("ended", &self.ended)
            .finish()
    }
}

impl RawDecoder for BrotliRawDecoder {
    const FORMAT: &'static str = "brotli";

    fn decode(&mut self, input: &[u8], out: &mut Vec<u8>, offset: u64) -> Result<Progress, Error> {
        if self.ended {
            return Ok(Progress {
                consumed: 0,
                end: true,
            });
        }
        let state = &mut self.state;
        let (result, consumed) = self.scratch.run(out, |buf| {
            let mut avail_in = input.len();
            let mut in_off = 0;
            let mut avail_out = buf.len();
            let mut out_off = 0;
            let mut total = 0;
            let r = BrotliDecompressStream(
                &mut avail_in,
                &mut in_off,
                input,
                &mut avail_out,
                &mut out_off,
                buf,
                &mut total,
                state,
            );
            (out_off, (r, in_off))
        });
        match result {
            BrotliResult::ResultSuccess => {
                self.ended = true;
                Ok(Progress {
                    consumed,
                    end: true,
                })
            }
            BrotliResult::NeedsMoreInput | BrotliResult::NeedsMoreOutput => Ok(Progress {
                consumed,
                end: false,
            }),
            BrotliResult::ResultFailure => Err(Error::corrupt(format!(
                "brotli: corrupt input near byte offset {} ({:?})",
                offset + consumed as u64,
                self.state.error_code
            ))),
        }
    }

    fn finish(&mut self, offset: u64) -> Result<(), Error> {
        if self.ended {
            Ok(())
        } else {
            Err(truncated(Self::FORMAT, offset))
        }
    }
}
