//! zlib (RFC 1950) on flate2: the header and the Adler-32 are flate2's.

use weir_core::Error;

use crate::deflate::flate_impl::{FlateDecoder, FlateEncoder};
use crate::engine::{EncodeOp, Progress, RawDecoder, RawEncoder, truncated};

/// zlib (RFC 1950) encoding: flate2 writes the header and Adler-32.
#[derive(Debug)]
pub(crate) struct RawZlibEncode(pub(crate) FlateEncoder);

impl RawEncoder for RawZlibEncode {
    const FORMAT: &'static str = "zlib";
    fn encode(
        &mut self,
        input: &[u8],
        out: &mut Vec<u8>,
        op: EncodeOp,
    ) -> Result<(usize, bool), Error> {
        self.0.encode_with(Self::FORMAT, input, out, op)
    }
}

/// zlib decoding: flate2 checks the header and the Adler-32.
#[derive(Debug)]
pub(crate) struct RawZlibDecode(pub(crate) FlateDecoder);

impl RawDecoder for RawZlibDecode {
    const FORMAT: &'static str = "zlib";
    fn decode(&mut self, input: &[u8], out: &mut Vec<u8>, offset: u64) -> Result<Progress, Error> {
        let (consumed, end) =
            self.0
                .decode_with(Self::FORMAT, "zlib stream", input, out, offset)?;
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
