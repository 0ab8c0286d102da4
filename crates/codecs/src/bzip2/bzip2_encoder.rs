use super::bzip2_impl::{Bzip2, DEFAULT_LEVEL, MAX_LEVEL, MIN_LEVEL, bzip2_encoder};
use crate::SyncFlush;
use crate::engine::codecs_impl::CodecsEncoder;
use crate::engine::{EncodeEngine, encoder_common};

/// Compresses a byte stream to one bzip2 stream, as `bzip2 -c` does (900 kB
/// blocks by default).
///
/// A [`Transform`](weir_core::Transform) from `Bytes` to `Bytes` over
/// libbz2-rs (a Rust port of libbzip2), through async-compression's codecs
/// (`compression-codecs`). bzip2 sorts whole blocks, so output comes a block
/// (the level × 100 kB of input) at a time, or at each sync flush (see
/// [`SyncFlush`]), which ends the current block early so that a decoder can
/// decode everything taken so far; the end of input always ends the stream.
/// Memory: about 7.6 MiB at level 9 (libbzip2's figure).
///
/// # Errors
/// None from input; a chunk after the end of the stream is an error.
///
/// # Examples
/// ```
/// use bytes::Bytes;
/// use futures::TryStreamExt;
/// use weir::codecs::{Bzip2Decoder, Bzip2Encoder};
/// use weir::{readable, ReadableExt};
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), weir::Error> {
/// let src = readable::from_iter(["log line\n".repeat(100)].map(Bytes::from));
/// let bz: Vec<Bytes> = src.through(Bzip2Encoder::with_level(1)).try_collect().await?;
/// assert_eq!(&bz[0][..4], b"BZh1");
/// let back: Vec<Bytes> = readable::from_iter(bz).through(Bzip2Decoder::new()).try_collect().await?;
/// assert_eq!(back.concat(), "log line\n".repeat(100).as_bytes());
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct Bzip2Encoder {
    engine: EncodeEngine<CodecsEncoder<Bzip2>>,
}

impl Bzip2Encoder {
    /// An encoder at level 9 (bzip2's default: 900 kB blocks).
    pub fn new() -> Self {
        Bzip2Encoder::builder().build()
    }

    /// An encoder at `level`, 1 (100 kB blocks) to 9 (900 kB); values
    /// outside are clamped into that range.
    pub fn with_level(level: u32) -> Self {
        Bzip2Encoder::builder().level(level).build()
    }

    /// A builder for the level and sync flushes.
    pub fn builder() -> Bzip2EncoderBuilder {
        Bzip2EncoderBuilder {
            level: DEFAULT_LEVEL,
            sync: SyncFlush::Never,
            flush_on_empty: false,
        }
    }
}

/// Configures a [`Bzip2Encoder`]. Made by [`Bzip2Encoder::builder`].
///
/// # Examples
/// ```
/// use weir::codecs::Bzip2Encoder;
///
/// let enc = Bzip2Encoder::builder().level(5).build();
/// # let _ = enc;
/// ```
#[derive(Debug, Clone)]
pub struct Bzip2EncoderBuilder {
    level: u32,
    sync: SyncFlush,
    flush_on_empty: bool,
}

impl Bzip2EncoderBuilder {
    /// The level, 1 to 9 (the block size in 100 kB), clamped into that
    /// range. Default 9.
    pub fn level(&mut self, level: u32) -> &mut Self {
        self.level = level.clamp(MIN_LEVEL, MAX_LEVEL);
        self
    }

    /// The encoder.
    pub fn build(&self) -> Bzip2Encoder {
        Bzip2Encoder {
            engine: EncodeEngine::new(bzip2_encoder(self.level), self.sync, self.flush_on_empty),
        }
    }
}

encoder_common!(Bzip2Encoder, Bzip2EncoderBuilder, "bzip2 encoder");
