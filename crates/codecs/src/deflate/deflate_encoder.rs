use crate::SyncFlush;
use crate::deflate::flate_impl::{DEFAULT_LEVEL, Deflate, FlateEncode, MAX_LEVEL};
use crate::engine::{EncodeEngine, encoder_common};
use crate::gzip::parallel_impl::{DEFAULT_BLOCK, Framing, MaybeParallel};

/// Compresses a byte stream to raw DEFLATE (RFC 1951): no header, no checksum.
///
/// A [`Transform`](weir_core::Transform) from `Bytes` to `Bytes`, like
/// [`GzipEncoder`](crate::GzipEncoder) but with no framing at all (what HTTP calls `deflate` is zlib: see [`ZlibEncoder`](crate::ZlibEncoder)). Output comes as the
/// compressor produces it (or at each sync flush, see [`SyncFlush`]); the end
/// of input always finishes the stream with its final block.
///
/// # Errors
/// None from input; a chunk after the end of the stream is an error.
///
/// # Examples
/// ```
/// use bytes::Bytes;
/// use futures::TryStreamExt;
/// use weir::codecs::{DeflateDecoder, DeflateEncoder};
/// use weir::{readable, ReadableExt};
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), weir::Error> {
/// let src = readable::from_iter(["abc".repeat(1000)].map(Bytes::from));
/// let packed: Vec<Bytes> = src.through(DeflateEncoder::with_level(9)).try_collect().await?;
/// assert!(packed.concat().len() < 100);
/// let back: Vec<Bytes> = readable::from_iter(packed).through(DeflateDecoder::new()).try_collect().await?;
/// assert_eq!(back.concat(), "abc".repeat(1000).as_bytes());
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct DeflateEncoder {
    engine: EncodeEngine<MaybeParallel<FlateEncode<Deflate>>>,
}

impl DeflateEncoder {
    /// An encoder at level 6.
    pub fn new() -> Self {
        DeflateEncoder::builder().build()
    }

    /// An encoder at `level`: 0 (stored) to 9 (smallest); above 9 means 9.
    pub fn with_level(level: u32) -> Self {
        DeflateEncoder::builder().level(level).build()
    }

    /// A builder for the level and sync flushes.
    pub fn builder() -> DeflateEncoderBuilder {
        DeflateEncoderBuilder {
            level: DEFAULT_LEVEL,
            sync: SyncFlush::Never,
            flush_on_empty: false,
            threads: 1,
            block: DEFAULT_BLOCK,
        }
    }
}

/// Configures a [`DeflateEncoder`]. Made by [`DeflateEncoder::builder`].
///
/// # Examples
/// ```
/// use weir::codecs::{DeflateEncoder, SyncFlush};
///
/// let enc = DeflateEncoder::builder().level(3).sync_flush(SyncFlush::EveryChunk).build();
/// # let _ = enc;
/// ```
#[derive(Debug, Clone)]
pub struct DeflateEncoderBuilder {
    level: u32,
    sync: SyncFlush,
    flush_on_empty: bool,
    threads: usize,
    block: usize,
}

impl DeflateEncoderBuilder {
    /// The compression level, 0 (stored) to 9 (smallest); above 9 means 9.
    /// Default 6.
    pub fn level(&mut self, level: u32) -> &mut Self {
        self.level = level.min(MAX_LEVEL);
        self
    }

    /// Compresses on this many worker threads at once, `pigz`-style, as
    /// [`GzipEncoderBuilder::threads`](crate::GzipEncoderBuilder::threads)
    /// does (see "Parallel compression" on
    /// [`GzipEncoder`](crate::GzipEncoder)): blocks primed with the 32 KiB
    /// before them, joined into one stream. Default 1: one stream,
    /// compressed by the calling thread.
    ///
    /// # Examples
    /// ```
    /// use weir::codecs::DeflateEncoder;
    ///
    /// // Blocks of 256 KiB, on four threads.
    /// let enc = DeflateEncoder::builder().threads(4).block_size(256 * 1024).build();
    /// # let _ = enc;
    /// ```
    pub fn threads(&mut self, threads: usize) -> &mut Self {
        self.threads = threads.max(1);
        self
    }

    /// The block size of parallel compression, at least 32 KiB. Default
    /// 128 KiB (not part of the semver contract).
    pub fn block_size(&mut self, bytes: usize) -> &mut Self {
        self.block = bytes;
        self
    }

    /// The encoder.
    pub fn build(&self) -> DeflateEncoder {
        let level = self.level;
        DeflateEncoder {
            engine: EncodeEngine::new(
                MaybeParallel::build(self.threads, Framing::Raw, level, self.block, || {
                    FlateEncode::<Deflate>::new(level)
                }),
                self.sync,
                self.flush_on_empty,
            ),
        }
    }
}

encoder_common!(DeflateEncoder, DeflateEncoderBuilder, "deflate encoder");
