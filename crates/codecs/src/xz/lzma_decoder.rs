use super::xz_impl::{Lzma, lzma_decoder};
use crate::Trailing;
use crate::engine::codecs_impl::CodecsDecoder;
use crate::engine::{DecodeEngine, DecodeSettings, decoder_common};

/// Decompresses `.lzma` files (the "LZMA alone" format of LZMA Utils and
/// 7-Zip's SDK), as `unlzma` does. Decoding only: new files are better
/// written as xz ([`XzEncoder`](crate::XzEncoder)).
///
/// A [`Transform`](weir_core::Transform) from `Bytes` to `Bytes` over
/// liblzma, through async-compression's codecs (`compression-codecs`). A
/// `.lzma` file holds one stream (`unlzma` refuses two back to back, and so
/// does this decoder); it emits output as soon as it is decoded, at most
/// one chunk (256 KiB by default) per call. The format has no magic number
/// and no checksum: a damaged file may decode to wrong bytes without an
/// error when the damage stays within what LZMA can decode.
///
/// # Errors
/// Each is an error for which `Error::is_corrupt` is true, naming lzma and a
/// byte offset: a bad header or corrupt data ("at or after" the offset),
/// input that ends inside the stream (including empty input), bytes after
/// it (unless [`Trailing::Ignore`]). The limits of
/// [`LzmaDecoderBuilder::max_memory`], [`LzmaDecoderBuilder::max_output`]
/// and [`LzmaDecoderBuilder::max_ratio`] fail with an error for which
/// `Error::is_limit` is true.
///
/// # Examples
/// ```
/// use bytes::Bytes;
/// use futures::TryStreamExt;
/// use weir::codecs::LzmaDecoder;
/// use weir::{readable, ReadableExt};
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), weir::Error> {
/// // `printf hi | xz --format=lzma`
/// let lzma = Bytes::from_static(&[
///     0x5d, 0x00, 0x00, 0x80, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x00,
///     0x34, 0x1a, 0x5c, 0xff, 0xff, 0xff, 0xff, 0xf0, 0x00, 0x00, 0x00,
/// ]);
/// let out: Vec<Bytes> = readable::from_iter([lzma]).through(LzmaDecoder::new()).try_collect().await?;
/// assert_eq!(out.concat(), b"hi");
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct LzmaDecoder {
    engine: DecodeEngine<CodecsDecoder<Lzma>>,
}

impl LzmaDecoder {
    /// A decoder with the defaults: no limits, trailing bytes are an error,
    /// 256 KiB output chunks.
    pub fn new() -> Self {
        LzmaDecoder::builder().build()
    }

    /// A builder for limits, chunk size and trailing data.
    pub fn builder() -> LzmaDecoderBuilder {
        LzmaDecoderBuilder {
            settings: DecodeSettings::default(),
            max_memory: u64::MAX,
        }
    }
}

/// Configures an [`LzmaDecoder`]. Made by [`LzmaDecoder::builder`].
///
/// # Examples
/// ```
/// use weir::codecs::LzmaDecoder;
///
/// let dec = LzmaDecoder::builder().max_memory(64 << 20).max_ratio(100).build();
/// # let _ = dec;
/// ```
#[derive(Debug, Clone)]
pub struct LzmaDecoderBuilder {
    settings: DecodeSettings,
    max_memory: u64,
}

impl LzmaDecoderBuilder {
    /// The most memory liblzma may use: a stream whose dictionary needs more
    /// fails with a limit error. Default: no limit.
    pub fn max_memory(&mut self, bytes: u64) -> &mut Self {
        self.max_memory = bytes.max(1);
        self
    }

    /// What to do with bytes after the end of the stream. Default
    /// [`Trailing::Error`].
    pub fn trailing(&mut self, trailing: Trailing) -> &mut Self {
        self.settings.trailing = trailing;
        self
    }

    /// The decoder.
    pub fn build(&self) -> LzmaDecoder {
        LzmaDecoder {
            engine: DecodeEngine::new(
                lzma_decoder(self.max_memory, self.settings.trailing),
                self.settings,
            ),
        }
    }
}

decoder_common!(LzmaDecoder, LzmaDecoderBuilder, "lzma decoder");
