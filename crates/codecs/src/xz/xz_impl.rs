//! xz and lzma over liblzma, through async-compression's codecs.

use compression_codecs::Xz2Decoder;
use compression_codecs::core::Level;
use compression_codecs::lzma::params::LzmaDecoderParams;

use crate::Trailing;
use crate::engine::codecs_impl::{CodecsDecoder, CodecsEncoder, DecodeFormat, EncodeFormat, Magic};

/// xz's levels (presets): the lowest, the default, the highest.
pub(crate) const MIN_LEVEL: u32 = 0;
pub(crate) const DEFAULT_LEVEL: u32 = 6;
pub(crate) const MAX_LEVEL: u32 = 9;

/// The magic number of an xz stream.
const XZ_MAGIC: [u8; 6] = [0xfd, b'7', b'z', b'X', b'Z', 0x00];

/// The `.xz` format: streams back to back, with stream padding.
#[derive(Debug)]
pub(crate) struct Xz;

impl DecodeFormat for Xz {
    type Codec = Xz2Decoder;
    const FORMAT: &'static str = "xz";
    const MULTI_STREAM: bool = true;
    const ZERO_PADDING4: bool = true;

    fn magic(prefix: &[u8]) -> Magic {
        let n = prefix.len().min(XZ_MAGIC.len());
        if prefix[..n] != XZ_MAGIC[..n] {
            Magic::No
        } else if n == XZ_MAGIC.len() {
            Magic::Yes
        } else {
            Magic::Partial
        }
    }
}

impl EncodeFormat for Xz {
    type Codec = compression_codecs::XzEncoder;
    const FORMAT: &'static str = "xz";

    /// liblzma's "easy" encoder at the preset, with CRC64 checks as `xz`
    /// writes.
    type Settings = u32;

    fn codec(level: u32) -> Self::Codec {
        let level = level.clamp(MIN_LEVEL, MAX_LEVEL) as i32;
        compression_codecs::XzEncoder::new(Level::Precise(level))
    }
}

/// The `.lzma` format: one stream, no magic number.
#[derive(Debug)]
pub(crate) struct Lzma;

impl DecodeFormat for Lzma {
    type Codec = Xz2Decoder;
    const FORMAT: &'static str = "lzma";
    const MULTI_STREAM: bool = false;
    const HAS_MAGIC: bool = false;

    fn magic(_: &[u8]) -> Magic {
        Magic::Yes
    }
}

/// liblzma refuses to set up a decoder only when it cannot allocate.
fn decoder(params: LzmaDecoderParams) -> Result<Xz2Decoder, String> {
    Xz2Decoder::try_from(params).map_err(|e| e.to_string())
}

/// An xz decoder (xz streams only: no `.lzma`, no lzip) that may use at most
/// `mem_limit` bytes.
pub(crate) fn xz_decoder(mem_limit: u64, trailing: Trailing) -> CodecsDecoder<Xz> {
    CodecsDecoder::new(
        decoder(LzmaDecoderParams::Stream {
            mem_limit,
            flags: 0,
        }),
        trailing,
    )
}

/// A `.lzma` decoder that may use at most `mem_limit` bytes.
pub(crate) fn lzma_decoder(mem_limit: u64, trailing: Trailing) -> CodecsDecoder<Lzma> {
    CodecsDecoder::new(decoder(LzmaDecoderParams::Lzma { mem_limit }), trailing)
}

/// An xz encoder at `level` (0 to 9).
pub(crate) fn xz_encoder(level: u32) -> CodecsEncoder<Xz> {
    CodecsEncoder::new(level)
}
