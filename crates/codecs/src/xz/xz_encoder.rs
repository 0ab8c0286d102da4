use super::xz_impl::{DEFAULT_LEVEL, MAX_LEVEL, MIN_LEVEL, Xz, xz_encoder};
use crate::SyncFlush;
use crate::engine::codecs_impl::CodecsEncoder;
use crate::engine::{EncodeEngine, encoder_common};

/// Compresses a byte stream to one xz stream, as `xz -c` does (LZMA2 with
/// CRC64 checks, at level 6 by default).
///
/// A [`Transform`](weir_core::Transform) from `Bytes` to `Bytes` over
/// liblzma, through async-compression's codecs (`compression-codecs`).
/// Output comes as liblzma produces it, which at the higher levels can be
/// megabytes of input later, or at each sync flush (see [`SyncFlush`]:
/// liblzma's `LZMA_SYNC_FLUSH`, after which a decoder can decode everything
/// taken so far); the end of input always ends the stream with its index
/// and footer.
///
/// Memory: about 94 MiB at level 6, 674 MiB at level 9 (liblzma's match
/// finder and dictionary; `xz --info-memory` lists them).
///
/// # Errors
/// None from input; a chunk after the end of the stream is an error.
///
/// # Examples
/// ```
/// use bytes::Bytes;
/// use futures::TryStreamExt;
/// use weir::codecs::{XzDecoder, XzEncoder};
/// use weir::{readable, ReadableExt};
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), weir::Error> {
/// let src = readable::from_iter(["log line\n".repeat(100)].map(Bytes::from));
/// let xz: Vec<Bytes> = src.through(XzEncoder::with_level(1)).try_collect().await?;
/// assert_eq!(&xz[0][..6], b"\xfd7zXZ\0");
/// let back: Vec<Bytes> = readable::from_iter(xz).through(XzDecoder::new()).try_collect().await?;
/// assert_eq!(back.concat(), "log line\n".repeat(100).as_bytes());
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct XzEncoder {
    engine: EncodeEngine<CodecsEncoder<Xz>>,
}

impl XzEncoder {
    /// An encoder at level 6 (xz's default).
    pub fn new() -> Self {
        XzEncoder::builder().build()
    }

    /// An encoder at `level`, 0 (fastest) to 9 (smallest); values above 9
    /// are 9.
    pub fn with_level(level: u32) -> Self {
        XzEncoder::builder().level(level).build()
    }

    /// A builder for the level and sync flushes.
    pub fn builder() -> XzEncoderBuilder {
        XzEncoderBuilder {
            level: DEFAULT_LEVEL,
            sync: SyncFlush::Never,
            flush_on_empty: false,
        }
    }
}

/// Configures an [`XzEncoder`]. Made by [`XzEncoder::builder`].
///
/// # Examples
/// ```
/// use weir::codecs::{SyncFlush, XzEncoder};
///
/// let enc = XzEncoder::builder().level(3).sync_flush(SyncFlush::EveryChunk).build();
/// # let _ = enc;
/// ```
#[derive(Debug, Clone)]
pub struct XzEncoderBuilder {
    level: u32,
    sync: SyncFlush,
    flush_on_empty: bool,
}

impl XzEncoderBuilder {
    /// The level (xz's preset), 0 to 9; values above 9 are 9. Default 6.
    pub fn level(&mut self, level: u32) -> &mut Self {
        self.level = level.clamp(MIN_LEVEL, MAX_LEVEL);
        self
    }

    /// The encoder.
    pub fn build(&self) -> XzEncoder {
        XzEncoder {
            engine: EncodeEngine::new(xz_encoder(self.level), self.sync, self.flush_on_empty),
        }
    }
}

encoder_common!(XzEncoder, XzEncoderBuilder, "xz encoder");
