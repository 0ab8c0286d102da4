use super::lz4_impl::{DEFAULT_BLOCK, DEFAULT_LEVEL, Lz4Raw, MAX_LEVEL, MIN_LEVEL, lz4_encoder};
use crate::SyncFlush;
use crate::engine::{EncodeEngine, encoder_common};

/// Compresses a byte stream to one LZ4 frame, as `lz4 -c` does (level 1,
/// 4 MiB blocks, a content checksum), with linked blocks (as `lz4 -BD`:
/// each block may refer to the one before, a better ratio).
///
/// A [`Transform`](weir_core::Transform) from `Bytes` to `Bytes` over
/// liblz4's frame API, through async-compression's codecs
/// (`compression-codecs`). liblz4 compresses whole blocks, so output comes a
/// block at a time, or at each sync flush (see [`SyncFlush`]: the block so
/// far is written out, and a decoder can decode everything taken); the end
/// of input always ends the frame. Memory: about twice the block size (so
/// about 8 MiB by default; [`Lz4EncoderBuilder::block_size`] of 64 KiB
/// takes about 200 KiB).
///
/// The content checksum (XXH32 of the input) is computed by xxhash-rust
/// beside liblz4 rather than by liblz4 itself, whose XXH32 took about 6
/// times as long here; the frame is the same, byte for byte.
///
/// # Errors
/// None from input; a chunk after the end of the frame is an error.
///
/// # Examples
/// ```
/// use bytes::Bytes;
/// use futures::TryStreamExt;
/// use weir::codecs::{Lz4Decoder, Lz4Encoder};
/// use weir::{readable, ReadableExt};
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), weir::Error> {
/// let src = readable::from_iter(["log line\n".repeat(100)].map(Bytes::from));
/// let lz: Vec<Bytes> = src.through(Lz4Encoder::with_level(9)).try_collect().await?;
/// assert_eq!(&lz.concat()[..4], [0x04, 0x22, 0x4d, 0x18]);
/// let back: Vec<Bytes> = readable::from_iter(lz).through(Lz4Decoder::new()).try_collect().await?;
/// assert_eq!(back.concat(), "log line\n".repeat(100).as_bytes());
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct Lz4Encoder {
    engine: EncodeEngine<Lz4Raw>,
}

impl Lz4Encoder {
    /// An encoder at level 1 (lz4's default) with 4 MiB blocks.
    pub fn new() -> Self {
        Lz4Encoder::builder().build()
    }

    /// An encoder at `level`, 1 (fastest) to 12 (smallest; 3 and up are
    /// LZ4 HC); values outside are clamped into that range.
    pub fn with_level(level: u32) -> Self {
        Lz4Encoder::builder().level(level).build()
    }

    /// A builder for the level, block size and sync flushes.
    pub fn builder() -> Lz4EncoderBuilder {
        Lz4EncoderBuilder {
            level: DEFAULT_LEVEL,
            block: DEFAULT_BLOCK,
            sync: SyncFlush::Never,
            flush_on_empty: false,
        }
    }
}

/// Configures an [`Lz4Encoder`]. Made by [`Lz4Encoder::builder`].
///
/// # Examples
/// ```
/// use weir::codecs::{Lz4Encoder, SyncFlush};
///
/// // Many live streams at once: small blocks, flushed per chunk.
/// let enc = Lz4Encoder::builder()
///     .block_size(64 * 1024)
///     .sync_flush(SyncFlush::EveryChunk)
///     .build();
/// # let _ = enc;
/// ```
#[derive(Debug, Clone)]
pub struct Lz4EncoderBuilder {
    level: u32,
    block: usize,
    sync: SyncFlush,
    flush_on_empty: bool,
}

impl Lz4EncoderBuilder {
    /// The level, 1 to 12, clamped into that range. Default 1.
    pub fn level(&mut self, level: u32) -> &mut Self {
        self.level = level.clamp(MIN_LEVEL, MAX_LEVEL);
        self
    }

    /// The most input per block, rounded up to one of the frame format's
    /// sizes: 64 KiB, 256 KiB, 1 MiB or 4 MiB (`lz4 -B4` to `-B7`). Default
    /// 4 MiB. Smaller blocks take less memory on both sides.
    pub fn block_size(&mut self, bytes: usize) -> &mut Self {
        self.block = bytes;
        self
    }

    /// The encoder.
    pub fn build(&self) -> Lz4Encoder {
        Lz4Encoder {
            engine: EncodeEngine::new(
                lz4_encoder(self.level, self.block),
                self.sync,
                self.flush_on_empty,
            ),
        }
    }
}

encoder_common!(Lz4Encoder, Lz4EncoderBuilder, "lz4 encoder");
