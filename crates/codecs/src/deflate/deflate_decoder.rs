use crate::Trailing;
use crate::deflate::flate_impl::{Deflate, FlateDecode};
use crate::engine::{DecodeEngine, DecodeSettings, decoder_common};

/// Decompresses raw DEFLATE (RFC 1951): no header, no checksum.
///
/// A [`Transform`](weir_core::Transform) from `Bytes` to `Bytes`. Like
/// [`GzipDecoder`](crate::GzipDecoder), it emits output as soon as it is
/// decoded, at most one chunk (256 KiB by default) per call, keeping the
/// rest of its input for [`Transform::resume`](weir_core::Transform::resume).
/// The stream is one DEFLATE stream (ended by its final block); bytes after its end are an error unless the
/// builder says [`Trailing::Ignore`].
///
/// # Errors
/// Each is an error for which `Error::is_corrupt` is true, naming deflate and
/// the byte offset: corrupt DEFLATE data (an invalid block type, code lengths or distance), input that ends before the end of the stream
/// (including empty input), and trailing bytes. The limits of
/// [`DeflateDecoderBuilder::max_output`] and [`DeflateDecoderBuilder::max_ratio`] fail with an
/// error for which `Error::is_limit` is true. Output decoded before the error
/// is emitted first.
///
/// # Examples
/// ```
/// use bytes::Bytes;
/// use futures::TryStreamExt;
/// use weir::codecs::{DeflateDecoder, DeflateEncoder};
/// use weir::{readable, ReadableExt};
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), weir::Error> {
/// let src = readable::from_iter([Bytes::from_static(b"streams all the way down")]);
/// let packed: Vec<Bytes> = src.through(DeflateEncoder::new()).try_collect().await?;
/// let packed = Bytes::from(packed.concat());
///
/// let out: Vec<Bytes> = readable::from_iter([packed.clone()]).through(DeflateDecoder::new()).try_collect().await?;
/// assert_eq!(out.concat(), b"streams all the way down");
///
/// // Cut short: an error, not a short output.
/// let cut = packed.slice(..packed.len() - 1);
/// let res = readable::from_iter([cut]).through(DeflateDecoder::new()).try_collect::<Vec<Bytes>>().await;
/// assert!(res.unwrap_err().is_corrupt());
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct DeflateDecoder {
    engine: DecodeEngine<FlateDecode<Deflate>>,
}

impl DeflateDecoder {
    /// A decoder with the defaults: no limits, trailing bytes are an error,
    /// 256 KiB output chunks.
    pub fn new() -> Self {
        DeflateDecoder::builder().build()
    }

    /// A builder for limits, chunk size and trailing data.
    pub fn builder() -> DeflateDecoderBuilder {
        DeflateDecoderBuilder {
            settings: DecodeSettings::default(),
        }
    }
}

/// Configures a [`DeflateDecoder`]. Made by [`DeflateDecoder::builder`].
///
/// # Examples
/// ```
/// use weir::codecs::{DeflateDecoder, Trailing};
///
/// let dec = DeflateDecoder::builder().max_output(1 << 20).trailing(Trailing::Ignore).build();
/// # let _ = dec;
/// ```
#[derive(Debug, Clone)]
pub struct DeflateDecoderBuilder {
    settings: DecodeSettings,
}

impl DeflateDecoderBuilder {
    /// What to do with bytes after the end of the stream. Default
    /// [`Trailing::Error`].
    pub fn trailing(&mut self, trailing: Trailing) -> &mut Self {
        self.settings.trailing = trailing;
        self
    }

    /// The decoder.
    pub fn build(&self) -> DeflateDecoder {
        DeflateDecoder {
            engine: DecodeEngine::new(FlateDecode::<Deflate>::new(), self.settings),
        }
    }
}

decoder_common!(DeflateDecoder, DeflateDecoderBuilder, "deflate decoder");
