//! bzip2 over libbz2-rs (a Rust port of libbzip2), through async-compression's
//! codecs.

use compression_codecs::bzip2::params::Bzip2EncoderParams;
use compression_codecs::core::Level;
use compression_codecs::{BzDecoder, BzEncoder};

use crate::Trailing;
use crate::engine::codecs_impl::{CodecsDecoder, CodecsEncoder, DecodeFormat, EncodeFormat, Magic};

/// bzip2's levels (block sizes of 100 to 900 kB): the lowest, the default,
/// the highest.
pub(crate) const MIN_LEVEL: u32 = 1;
pub(crate) const DEFAULT_LEVEL: u32 = 9;
pub(crate) const MAX_LEVEL: u32 = 9;

/// The `.bz2` format: streams back to back (as `pbzip2` and `cat` make).
#[derive(Debug)]
pub(crate) struct Bzip2;

impl DecodeFormat for Bzip2 {
    type Codec = BzDecoder;
    const FORMAT: &'static str = "bzip2";
    const MULTI_STREAM: bool = true;

    /// `BZh` and the block size digit, `1` to `9`.
    fn magic(prefix: &[u8]) -> Magic {
        for (i, &b) in prefix.iter().take(4).enumerate() {
            let ok = match i {
                0 => b == b'B',
                1 => b == b'Z',
                2 => b == b'h',
                _ => (b'1'..=b'9').contains(&b),
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

impl EncodeFormat for Bzip2 {
    type Codec = BzEncoder;
    const FORMAT: &'static str = "bzip2";
    const FLUSH_ENDS_STREAM: bool = true;

    /// libbzip2's compressor with blocks of `level` × 100 kB and its default
    /// work factor.
    type Settings = u32;

    fn codec(level: u32) -> Self::Codec {
        let level = level.clamp(MIN_LEVEL, MAX_LEVEL) as i32;
        BzEncoder::new(Bzip2EncoderParams::from(Level::Precise(level)), 0)
    }
}

pub(crate) fn bzip2_decoder(trailing: Trailing) -> CodecsDecoder<Bzip2> {
    CodecsDecoder::new(Ok(BzDecoder::new()), trailing)
}

/// A bzip2 encoder at `level` (1 to 9: blocks of 100 to 900 kB).
pub(crate) fn bzip2_encoder(level: u32) -> CodecsEncoder<Bzip2> {
    CodecsEncoder::new(level)
}
