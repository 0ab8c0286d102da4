use crate::Trailing;
use crate::deflate::flate_impl::FlateDecode;
use crate::engine::{DecodeEngine, DecodeSettings, decoder_common};
use crate::zlib::zlib_impl::Zlib;

/// Decompresses zlib (RFC 1950): a 2-byte header, DEFLATE data, an Adler-32 trailer.
///
/// A [`Transform`](weir_core::Transform) from `Bytes` to `Bytes`. Like
/// [`GzipDecoder`](crate::GzipDecoder), it emits output as soon as it is
/// decoded, at most one chunk (256 KiB by default) per call, keeping the
/// rest of its input for [`Transform::resume`](weir_core::Transform::resume).
/// The stream is one zlib stream; bytes after its end are an error unless the
/// builder says [`Trailing::Ignore`].
///
/// # Errors
/// Each is an error for which `Error::is_corrupt` is true, naming zlib and
/// the byte offset: a bad header, a preset dictionary (not supported), corrupt DEFLATE data, an Adler-32 mismatch, input that ends before the end of the stream
/// (including empty input), and trailing bytes. The limits of
/// [`ZlibDecoderBuilder::max_output`] and [`ZlibDecoderBuilder::max_ratio`] fail with an
/// error for which `Error::is_limit` is true. Output decoded before the error
/// is emitted first.
///
/// # Examples
/// ```
/// use bytes::Bytes;
/// use futures::TryStreamExt;
/// use weir::codecs::{ZlibDecoder, ZlibEncoder};
/// use weir::{readable, ReadableExt};
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), weir::Error> {
/// let src = readable::from_iter([Bytes::from_static(b"streams all the way down")]);
/// let packed: Vec<Bytes> = src.through(ZlibEncoder::new()).try_collect().await?;
/// let packed = Bytes::from(packed.concat());
///
/// let out: Vec<Bytes> = readable::from_iter([packed.clone()]).through(ZlibDecoder::new()).try_collect().await?;
/// assert_eq!(out.concat(), b"streams all the way down");
///
/// // Cut short: an error, not a short output.
/// let cut = packed.slice(..packed.len() - 1);
/// let res = readable::from_iter([cut]).through(ZlibDecoder::new()).try_collect::<Vec<Bytes>>().await;
/// assert!(res.unwrap_err().is_corrupt());
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct ZlibDecoder {
    engine: DecodeEngine<FlateDecode<Zlib>>,
}

impl ZlibDecoder {
    /// A decoder with the defaults: no limits, trailing bytes are an error,
    /// 256 KiB output chunks.
    pub fn new() -> Self {
        ZlibDecoder::builder().build()
    }

    /// A builder for limits, chunk size and trailing data.
    pub fn builder() -> ZlibDecoderBuilder {
        ZlibDecoderBuilder {
            settings: DecodeSettings::default(),
        }
    }
}

/// Configures a [`ZlibDecoder`]. Made by [`ZlibDecoder::builder`].
///
/// # Examples
/// ```
/// use weir::codecs::{ZlibDecoder, Trailing};
///
/// let dec = ZlibDecoder::builder().max_output(1 << 20).trailing(Trailing::Ignore).build();
/// # let _ = dec;
/// ```
#[derive(Debug, Clone)]
pub struct ZlibDecoderBuilder {
    settings: DecodeSettings,
}

impl ZlibDecoderBuilder {
    /// What to do with bytes after the end of the stream. Default
    /// [`Trailing::Error`].
    pub fn trailing(&mut self, trailing: Trailing) -> &mut Self {
        self.settings.trailing = trailing;
        self
    }

    /// The decoder.
    pub fn build(&self) -> ZlibDecoder {
        ZlibDecoder {
            engine: DecodeEngine::new(FlateDecode::<Zlib>::new(), self.settings),
        }
    }
}

decoder_common!(ZlibDecoder, ZlibDecoderBuilder, "zlib decoder");
