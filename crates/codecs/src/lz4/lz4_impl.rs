//! LZ4 frames over liblz4's frame API, through async-compression's codecs.

use compression_codecs::core::Level;
use compression_codecs::lz4::params::{BlockSize, EncoderParams};
use compression_codecs::{Lz4Decoder, Lz4Encoder};

use crate::Trailing;
use crate::engine::codecs_impl::{CodecsDecoder, CodecsEncoder, DecodeFormat, EncodeFormat, Magic};

/// LZ4's levels: 1 and 2 are the fast compressor, 3 to 12 LZ4 HC.
pub(crate) const MIN_LEVEL: u32 = 1;
pub(crate) const DEFAULT_LEVEL: u32 = 1;
pub(crate) const MAX_LEVEL: u32 = 12;

/// The block size the `lz4` command writes by default.
pub(crate) const DEFAULT_BLOCK: usize = 4 << 20;

/// The magic number of an LZ4 frame, little-endian 0x184D2204.
const FRAME_MAGIC: [u8; 4] = [0x04, 0x22, 0x4d, 0x18];

/// The `.lz4` format: frames back to back, skippable frames among them.
#[derive(Debug)]
pub(crate) struct Lz4;

impl DecodeFormat for Lz4 {
    type Codec = Lz4Decoder;
    const FORMAT: &'static str = "lz4";
    const MULTI_STREAM: bool = true;

    /// A frame, or a skippable frame (0x184D2A50 to 0x184D2A5F).
    fn magic(prefix: &[u8]) -> Magic {
        for (i, &b) in prefix.iter().take(4).enumerate() {
            let ok = match i {
                0 => b == FRAME_MAGIC[0] || b & 0xf0 == 0x50,
                1 => {
                    b == if prefix[0] == FRAME_MAGIC[0] {
                        0x22
                    } else {
                        0x2a
                    }
                }
                _ => b == FRAME_MAGIC[i],
            };
            if !ok {
                return Magic::No;
            }
        }
        if prefix.len() >= 4 {
            Magic::Yes
        } else {
            Magic::Partial
        }
    }
}

impl EncodeFormat for Lz4 {
    type Codec = Lz4Encoder;
    const FORMAT: &'static str = "lz4";

    /// The level and the block size code (see [`block_code`]).
    type Settings = (u32, u32);

    fn codec((level, block): (u32, u32)) -> Self::Codec {
        let block = match block {
            4 => BlockSize::Max64KB,
            5 => BlockSize::Max256KB,
            6 => BlockSize::Max1MB,
            _ => BlockSize::Max4MB,
        };
        let level = level.clamp(MIN_LEVEL, MAX_LEVEL) as i32;
        let params = EncoderParams::default()
            .level(Level::Precise(level))
            .block_size(block)
            .content_checksum(true);
        Lz4Encoder::new(params)
    }
}

pub(crate) fn lz4_decoder(trailing: Trailing) -> CodecsDecoder<Lz4> {
    CodecsDecoder::new(Ok(Lz4Decoder::new()), trailing)
}

/// The frame format's block size code (4 to 7: 64 KiB, 256 KiB, 1 MiB,
/// 4 MiB) of the smallest block that holds `bytes` (7 at most).
fn block_code(bytes: usize) -> u32 {
    match bytes {
        0..=0x1_0000 => 4,
        0x1_0001..=0x4_0000 => 5,
        0x4_0001..=0x10_0000 => 6,
        _ => 7,
    }
}

/// An LZ4 frame encoder at `level` (1 to 12) with blocks of `block` bytes
/// (rounded up, see [`block_code`]), linked blocks and a content checksum.
pub(crate) fn lz4_encoder(level: u32, block: usize) -> CodecsEncoder<Lz4> {
    CodecsEncoder::new((level, block_code(block)))
}
