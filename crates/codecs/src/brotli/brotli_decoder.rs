use super::brotli_impl::BrotliRawDecoder;
use crate::Trailing;
use crate::engine::{DecodeEngine, DecodeSettings, decoder_common};

/// Decompresses brotli (RFC 7932).
///
/// A [`Transform`](weir_core::Transform) from `Bytes` to `Bytes` over the
/// pure-Rust `brotli` crate. Like [`GzipDecoder`](crate::GzipDecoder), it
/// emits output as soon as it is decoded, at most one chunk (256 KiB by
/// default) per call. Bytes after the end of the stream are an error unless
/// the builder says [`Trailing::Ignore`]. "Large window" streams are refused,
/// so the window, and the decoder's memory, stays under 16 MiB.
///
/// # Errors
/// Each is an error for which `Error::is_corrupt` is true, naming brotli and
/// the byte offset: corrupt data, input that ends before the end of the
/// stream (including empty input), trailing bytes. The limits of
/// [`BrotliDecoderBuilder::max_output`] and [`BrotliDecoderBuilder::max_ratio`]
/// fail with an error for which `Error::is_limit` is true.
///
/// # Examples
/// ```
/// use bytes::Bytes;
/// use futures::TryStreamExt;
/// use weir::codecs::BrotliDecoder;
/// use weir::{readable, ReadableExt};
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), weir::Error> {
/// // `printf hello | brotli`: one metablock, uncompressed.
/// let br = Bytes::from_static(&[0x0b, 0x02, 0x80, 0x68, 0x65, 0x6c, 0x6c, 0x6f, 0x03]);
/// let out: Vec<Bytes> = readable::from_iter([br]).through(BrotliDecoder::new()).try_collect().await?;
/// assert_eq!(out.concat(), b"hello");
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct BrotliDecoder {
    engine: DecodeEngine<BrotliRawDecoder>,
}

impl BrotliDecoder {
    /// A decoder with the defaults: no limits, trailing bytes are an error,
    /// 256 KiB output chunks.
    pub fn new() -> Self {
        BrotliDecoder::builder().build()
    }

    /// A builder for limits, chunk size and trailing data.
    pub fn builder() -> BrotliDecoderBuilder {
        BrotliDecoderBuilder {
            settings: DecodeSettings::default(),
        }
    }
}

/// Configures a [`BrotliDecoder`]. Made by [`BrotliDecoder::builder`].
///
/// # Examples
/// ```
/// use weir::codecs::BrotliDecoder;
///
/// let dec = BrotliDecoder::builder().max_ratio(200).build();
/// # let _ = dec;
/// ```
#[derive(Debug, Clone)]
pub struct BrotliDecoderBuilder {
    settings: DecodeSettings,
}

impl BrotliDecoderBuilder {
    /// What to do with bytes after the end of the stream. Default
    /// [`Trailing::Error`].
    pub fn trailing(&mut self, trailing: Trailing) -> &mut Self {
        self.settings.trailing = trailing;
        self
    }

    /// The decoder.
    pub fn build(&self) -> BrotliDecoder {
        BrotliDecoder {
            engine: DecodeEngine::new(BrotliRawDecoder::new(), self.settings),
        }
    }
}

decoder_common!(BrotliDecoder, BrotliDecoderBuilder, "brotli decoder");
