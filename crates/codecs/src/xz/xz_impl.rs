//! xz and lzma over liblzma, through async-compression's codecs.

use std::num::NonZeroU32;

use compression_codecs::core::Level;
use compression_codecs::lzma::params::{LzmaDecoderParams, LzmaEncoderParams, MtStreamBuilder};
use compression_codecs::{Xz2Decoder, Xz2Encoder, Xz2FileFormat};
use liblzma::stream::Check;

use crate::Trailing;
use crate::engine::codecs_impl::{CodecsDecoder, CodecsEncoder, DecodeFormat, EncodeFormat, Magic};

/// xz's levels (presets): the lowest, the default, the highest.
pub(crate) const MIN_LEVEL: u32 = 0;
pub(crate) const DEFAULT_LEVEL: u32 = 6;
pub(crate) const MAX_LEVEL: u32 = 9;
/// The most threads an encoder asks liblzma for.
pub(crate) const MAX_THREADS: u32 = 64;

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
    /// A `.lzma` file has no magic number, but what `xz --format=lzma` and
    /// `lzma` write starts so (lc=3, lp=0, pb=2, then a dictionary size of
    /// 64 KiB or more in a power of two): `xz -d` reads those, `weir unxz`
    /// sends them to `weir unlzma`.
    const OTHER_FORMAT: Option<(&'static [u8], &'static str)> = Some((
        &[0x5d, 0x00, 0x00],
        "what looks like a .lzma file: weir unlzma reads those",
    ));

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

/// liblzma's preset number for `level` (clamped to 0-9), with its extreme
/// flag (`xz -e`) when asked.
pub(crate) fn preset(level: u32, extreme: bool) -> u32 {
    let level = level.clamp(MIN_LEVEL, MAX_LEVEL);
    if extreme {
        level | liblzma::stream::PRESET_EXTREME
    } else {
        level
    }
}

/// liblzma's estimate of the memory its threaded encoder needs at `preset`
/// (see [`preset`]) with `threads` threads (`u64::MAX` if it cannot tell).
pub(crate) fn threaded_memory(preset: u32, threads: u32) -> u64 {
    let mut b = liblzma::stream::MtStreamBuilder::new();
    b.threads(threads.max(1)).preset(preset).check(Check::Crc64);
    b.memusage()
}

/// What an xz encoder is made from.
#[derive(Debug, Clone, Copy)]
pub(crate) struct XzSettings {
    /// liblzma's preset ([`preset`]): the level, 0 to 9, and the extreme
    /// flag.
    pub(crate) preset: u32,
    /// liblzma's worker threads; 1: its single-threaded encoder.
    pub(crate) threads: u32,
}

impl EncodeFormat for Xz {
    type Codec = Xz2Encoder;
    const FORMAT: &'static str = "xz";

    type Settings = XzSettings;

    /// liblzma's encoder at the preset, with CRC64 checks as `xz` writes:
    /// its "easy" encoder on one thread, or its threaded encoder (as
    /// `xz -T N`: blocks of three times the dictionary, each compressed on
    /// a worker, with their sizes in the block headers). Should liblzma
    /// refuse to set the threaded one up, the stream is compressed on one
    /// thread, as `xz` itself falls back to fewer threads.
    fn codec(settings: XzSettings) -> Xz2Encoder {
        let preset = settings.preset;
        // The builder has clamped the threads to MAX_THREADS.
        if let Some(n) = NonZeroU32::new(settings.threads).filter(|n| n.get() > 1) {
            let mut builder = MtStreamBuilder::default();
            // No timeout: a call returns only once it has made progress,
            // so the engine never mistakes a wait for a stall.
            builder.threads(n).preset(preset).check(Check::Crc64);
            if let Ok(codec) = Xz2Encoder::try_from(LzmaEncoderParams::MultiThread { builder }) {
                return codec;
            }
        }
        let check = Check::Crc64;
        Xz2Encoder::try_from(LzmaEncoderParams::Easy { preset, check }).unwrap_or_else(|_| {
            // liblzma could not set the encoder up (it fails only when it
            // cannot allocate): the plain preset, as before the extreme flag.
            let level = (preset & !liblzma::stream::PRESET_EXTREME) as i32;
            Xz2Encoder::new(Xz2FileFormat::Xz, Level::Precise(level))
        })
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

/// An xz encoder at `preset` ([`preset`]) on `threads` of liblzma's
/// threads.
pub(crate) fn xz_encoder(preset: u32, threads: u32) -> CodecsEncoder<Xz> {
    CodecsEncoder::new(XzSettings { preset, threads })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn threaded_memory_grows_with_threads_and_level() {
        let m = |level, threads| threaded_memory(preset(level, false), threads);
        // About 165 MiB a thread at level 6, 1.2 GiB at 9 (liblzma 5.8).
        assert!((150 << 20..180 << 20).contains(&m(6, 1)), "{}", m(6, 1));
        assert!(m(6, 2) > m(6, 1) + (150 << 20));
        assert!((1 << 30..1400 << 20).contains(&m(9, 1)), "{}", m(9, 1));
        assert!(m(0, 1) < m(6, 1));
    }
}
