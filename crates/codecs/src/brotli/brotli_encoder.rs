use super::brotli_impl::{BrotliRawEncoder, DEFAULT_QUALITY, DEFAULT_WINDOW, MAX_QUALITY};
use crate::SyncFlush;
use crate::engine::{EncodeEngine, encoder_common};

/// Compresses a byte stream to brotli (RFC 7932), as the `brotli` command
/// and Node's `zlib.createBrotliCompress` do.
///
/// A [`Transform`](weir_core::Transform) from `Bytes` to `Bytes` over the
/// pure-Rust `brotli` crate. Output comes as the compressor produces it (or
/// at each sync flush, see [`SyncFlush`]); the end of input always ends the
/// stream. The default quality, 11, is the tools' default and is slow; a
/// live stream usually wants 4 to 6.
///
/// # Errors
/// None from input; a chunk after the end of the stream is an error.
///
/// # Examples
/// ```
/// use bytes::Bytes;
/// use futures::TryStreamExt;
/// use weir::codecs::{BrotliDecoder, BrotliEncoder};
/// use weir::{readable, ReadableExt};
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), weir::Error> {
/// let page = "<p>hello</p>".repeat(50);
/// let br: Vec<Bytes> = readable::from_iter([Bytes::from(page.clone())])
///     .through(BrotliEncoder::with_quality(5))
///     .try_collect()
///     .await?;
/// let back: Vec<Bytes> = readable::from_iter(br).through(BrotliDecoder::new()).try_collect().await?;
/// assert_eq!(back.concat(), page.as_bytes());
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct BrotliEncoder {
    engine: EncodeEngine<BrotliRawEncoder>,
}

impl BrotliEncoder {
    /// An encoder at quality 11 with a 4 MiB window (the tools' defaults).
    pub fn new() -> Self {
        BrotliEncoder::builder().build()
    }

    /// An encoder at `quality`, 0 (fastest) to 11 (smallest); above 11
    /// means 11.
    pub fn with_quality(quality: u32) -> Self {
        BrotliEncoder::builder().quality(quality).build()
    }

    /// A builder for the quality, window and sync flushes.
    pub fn builder() -> BrotliEncoderBuilder {
        BrotliEncoderBuilder {
            quality: DEFAULT_QUALITY,
            window: DEFAULT_WINDOW,
            sync: SyncFlush::Never,
            flush_on_empty: false,
        }
    }
}

/// Configures a [`BrotliEncoder`]. Made by [`BrotliEncoder::builder`].
///
/// # Examples
/// ```
/// use weir::codecs::{BrotliEncoder, SyncFlush};
///
/// let enc = BrotliEncoder::builder().quality(4).window(20).sync_flush(SyncFlush::EveryChunk).build();
/// # let _ = enc;
/// ```
#[derive(Debug, Clone)]
pub struct BrotliEncoderBuilder {
    quality: u32,
    window: u32,
    sync: SyncFlush,
    flush_on_empty: bool,
}

impl BrotliEncoderBuilder {
    /// The quality, 0 to 11; above 11 means 11. Default 11.
    pub fn quality(&mut self, quality: u32) -> &mut Self {
        self.quality = quality.min(MAX_QUALITY);
        self
    }

    /// The window size as a power of two, 10 to 24 (clamped). Default 22.
    pub fn window(&mut self, lgwin: u32) -> &mut Self {
        self.window = lgwin;
        self
    }

    /// The encoder.
    pub fn build(&self) -> BrotliEncoder {
        BrotliEncoder {
            engine: EncodeEngine::new(
                BrotliRawEncoder::new(self.quality, self.window),
                self.sync,
                self.flush_on_empty,
            ),
        }
    }
}

encoder_common!(BrotliEncoder, BrotliEncoderBuilder, "brotli encoder");
