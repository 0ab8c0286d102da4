use super::zstd_impl::{DEFAULT_WINDOW_LOG_MAX, ZstdRawDecoder};
use crate::engine::{DecodeEngine, DecodeSettings, decoder_common};

/// Decompresses Zstandard, as `zstd -d` does: every frame of the input,
/// skippable frames included, checking content checksums when present.
///
/// A [`Transform`](weir_core::Transform) from `Bytes` to `Bytes` over
/// libzstd's streaming API. Like [`GzipDecoder`](crate::GzipDecoder), it
/// emits output as soon as it is decoded, at most one chunk (256 KiB by
/// default) per call. Bytes after a frame that do not start another frame
/// are an error (libzstd's "unknown frame descriptor").
///
/// Memory: libzstd's context plus the frame's window, which this decoder
/// caps at 2^27 bytes (128 MiB, libzstd's default) unless
/// [`ZstdDecoderBuilder::max_window_log`] says otherwise.
///
/// # Errors
/// Each is an error for which `Error::is_corrupt` is true, naming zstd and
/// the byte offset: a bad magic number or frame header, corrupt blocks, a
/// checksum mismatch, a window larger than allowed, input that ends inside a
/// frame (including empty input). The limits of
/// [`ZstdDecoderBuilder::max_output`] and [`ZstdDecoderBuilder::max_ratio`]
/// fail with an error for which `Error::is_limit` is true.
///
/// # Examples
/// ```
/// use bytes::Bytes;
/// use futures::TryStreamExt;
/// use weir::codecs::{ZstdDecoder, ZstdEncoder};
/// use weir::{readable, ReadableExt};
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), weir::Error> {
/// let frame: Vec<Bytes> = readable::from_iter([Bytes::from_static(b"ab")])
///     .through(ZstdEncoder::new())
///     .try_collect()
///     .await?;
/// let frame = Bytes::from(frame.concat());
/// // Two frames back to back, as `cat a.zst b.zst` makes.
/// let src = readable::from_iter([frame.clone(), frame]);
/// let out: Vec<Bytes> = src.through(ZstdDecoder::new()).try_collect().await?;
/// assert_eq!(out.concat(), b"abab");
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct ZstdDecoder {
    engine: DecodeEngine<ZstdRawDecoder>,
}

impl ZstdDecoder {
    /// A decoder with the defaults: no limits, windows up to 128 MiB,
    /// 256 KiB output chunks.
    pub fn new() -> Self {
        ZstdDecoder::builder().build()
    }

    /// A builder for limits, chunk size and the window cap.
    pub fn builder() -> ZstdDecoderBuilder {
        ZstdDecoderBuilder {
            settings: DecodeSettings::default(),
            window_log_max: DEFAULT_WINDOW_LOG_MAX,
        }
    }
}

/// Configures a [`ZstdDecoder`]. Made by [`ZstdDecoder::builder`].
///
/// # Examples
/// ```
/// use weir::codecs::ZstdDecoder;
///
/// // Untrusted input: windows up to 8 MiB, at most 50 MB of output.
/// let dec = ZstdDecoder::builder().max_window_log(23).max_output(50_000_000).build();
/// # let _ = dec;
/// ```
#[derive(Debug, Clone)]
pub struct ZstdDecoderBuilder {
    settings: DecodeSettings,
    window_log_max: u32,
}

impl ZstdDecoderBuilder {
    /// The largest window accepted, as a power of two (10 to 31, clamped):
    /// it bounds the decoder's memory. Default 27 (128 MiB), enough for
    /// every level up to 22 without `--long`.
    pub fn max_window_log(&mut self, log: u32) -> &mut Self {
        self.window_log_max = log.clamp(10, 31);
        self
    }

    /// The decoder.
    pub fn build(&self) -> ZstdDecoder {
        ZstdDecoder {
            engine: DecodeEngine::new(ZstdRawDecoder::new(self.window_log_max), self.settings),
        }
    }
}

decoder_common!(ZstdDecoder, ZstdDecoderBuilder, "zstd decoder");
