//! LZ4 frames over liblz4's frame API, through async-compression's codecs.

use bytes::Bytes;
use compression_codecs::core::Level;
use compression_codecs::lz4::params::{BlockSize, EncoderParams};
use compression_codecs::{Lz4Decoder, Lz4Encoder};
use weir_core::Error;

use crate::Trailing;
use crate::engine::codecs_impl::{CodecsDecoder, CodecsEncoder, DecodeFormat, EncodeFormat, Magic};
use crate::engine::content_sum::ContentSum;
use crate::engine::{EncodeOp, RawEncoder};

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
    /// Legacy frames (`lz4 -l`, as Linux kernel images use them), magic
    /// number 0x184C2102 little-endian, which liblz4's frame API does not
    /// read.
    const OTHER_FORMAT: Option<(&'static [u8], &'static str)> = Some((
        &[0x02, 0x21, 0x4c, 0x18],
        "the legacy LZ4 format of `lz4 -l`, which weir does not read",
    ));

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

    /// Frames, not skippable frames.
    fn own_sum(magic: &[u8]) -> bool {
        magic == FRAME_MAGIC
    }

    /// FLG, BD, the content size (8 bytes) and dictionary id (4 bytes) if
    /// FLG says so, and the header checksum.
    fn descriptor_len(descriptor: &[u8]) -> Option<usize> {
        let flg = *descriptor.first()?;
        Some(2 + 8 * usize::from(flg & 0x08 != 0) + 4 * usize::from(flg & 0x01 != 0) + 1)
    }

    /// Clears FLG's content checksum bit and writes the header checksum
    /// anew, when the frame has a content checksum and its header checksum
    /// is right (a wrong one is left for liblz4 to report).
    fn take_over_sum(descriptor: &mut [u8]) -> bool {
        let Some((hc, fields)) = descriptor.split_last_mut() else {
            return false;
        };
        if fields.is_empty() || fields[0] & FLG_CONTENT_SUM == 0 || header_checksum(fields) != *hc {
            return false;
        }
        fields[0] &= !FLG_CONTENT_SUM;
        *hc = header_checksum(fields);
        true
    }
}

impl EncodeFormat for Lz4 {
    type Codec = Lz4Encoder;
    const FORMAT: &'static str = "lz4";

    /// The level, the block size code (see [`block_code`]) and whether
    /// liblz4 computes the content checksum (else [`Lz4Raw`] does, as
    /// weir's encoder always has it do).
    type Settings = (u32, u32, bool);

    fn codec((level, block, sum): (u32, u32, bool)) -> Self::Codec {
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
            .content_checksum(sum);
        Lz4Encoder::new(params)
    }
}

/// An LZ4 frame decoder. Content checksums are checked by the adapter, not
/// by liblz4 (whose XXH32 took about 6 times as long as xxhash-rust's here,
/// docs/benchmarks.md): with `threaded`, on a thread of their own.
pub(crate) fn lz4_decoder(trailing: Trailing, threaded: bool) -> CodecsDecoder<Lz4> {
    CodecsDecoder::new(Ok(Lz4Decoder::new()), trailing).own_sum(threaded)
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

/// The bit of a frame descriptor's FLG byte that says a content checksum
/// follows the end mark.
pub(crate) const FLG_CONTENT_SUM: u8 = 0x04;

/// A frame descriptor's header checksum: the second byte of XXH32 (seed 0)
/// of the descriptor's bytes before it (FLG, BD and any optional fields).
pub(crate) fn header_checksum(descriptor: &[u8]) -> u8 {
    (xxhash_rust::xxh32::xxh32(descriptor, 0) >> 8) as u8
}

/// The header liblz4 writes for this encoder's frames: magic number, FLG,
/// BD and the header checksum (no content size, no dictionary id).
const FRAME_HEADER: usize = 7;

/// An LZ4 frame encoder at `level` (1 to 12) with blocks of `block` bytes
/// (rounded up, see [`block_code`]), linked blocks and a content checksum,
/// computed by [`Lz4Raw`] rather than liblz4 (whose XXH32 took about 6
/// times as long as xxhash-rust's here, docs/benchmarks.md).
pub(crate) fn lz4_encoder(level: u32, block: usize) -> Lz4Raw {
    Lz4Raw {
        codec: CodecsEncoder::new((level, block_code(block), false)),
        sum: ContentSum::inline(),
        header: false,
    }
}

/// The LZ4 frame encoder: liblz4 through async-compression's codecs, and
/// the content checksum computed beside it ([`ContentSum`]).
///
/// liblz4 then writes a frame without a content checksum; this adapter sets
/// the descriptor's checksum flag in the header (and its header checksum)
/// and appends the content checksum after the end mark: the same bytes
/// liblz4 writes when it computes the checksum itself.
#[derive(Debug)]
pub(crate) struct Lz4Raw {
    codec: CodecsEncoder<Lz4>,
    /// The content checksum of the input so far.
    sum: ContentSum,
    /// The frame header has been written (and marked).
    header: bool,
}

impl Lz4Raw {
    /// Marks the frame header at the start of what the codec has just
    /// written (`out[before..]`) as followed by a content checksum.
    fn mark_header(&mut self, out: &mut [u8], before: usize) -> Result<(), Error> {
        if self.header || out.len() == before {
            return Ok(());
        }
        let header = out
            .get_mut(before..before + FRAME_HEADER)
            .filter(|h| h[..4] == FRAME_MAGIC && h[4] & 0x09 == 0)
            .ok_or_else(|| Error::msg("lz4 encoder: unexpected frame header from liblz4"))?;
        header[4] |= FLG_CONTENT_SUM;
        header[6] = header_checksum(&header[4..6]);
        self.header = true;
        Ok(())
    }
}

impl RawEncoder for Lz4Raw {
    const FORMAT: &'static str = "lz4";

    fn input(&mut self, chunk: &Bytes) {
        self.sum.feed(chunk.clone());
    }

    fn encode(
        &mut self,
        input: &[u8],
        out: &mut Vec<u8>,
        op: EncodeOp,
    ) -> Result<(usize, bool), Error> {
        let before = out.len();
        let (n, done) = self.codec.encode(input, out, op)?;
        self.mark_header(out, before)?;
        if op == EncodeOp::Finish && done {
            let sum = self
                .sum
                .digest()
                .ok_or_else(|| Error::msg("lz4 encoder: the content checksum thread is gone"))?;
            out.extend_from_slice(&sum.to_le_bytes());
        }
        Ok((n, done))
    }
}
