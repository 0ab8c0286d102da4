use super::xz_impl::{Xz, xz_decoder};
use crate::Trailing;
use crate::engine::codecs_impl::CodecsDecoder;
use crate::engine::{DecodeEngine, DecodeSettings, decoder_common};

/// Decompresses xz, as `xz -d` does: every stream of the input (`cat a.xz
/// b.xz` decodes to both), with the stream padding between and after them,
/// checking each block's integrity check (CRC32, CRC64 or SHA-256).
///
/// A [`Transform`](weir_core::Transform) from `Bytes` to `Bytes` over
/// liblzma, through async-compression's codecs (`compression-codecs`). It
/// emits output as soon as liblzma decodes it, at most one chunk (256 KiB by
/// default) per call. Only `.xz` streams are accepted; `.lzma` files have
/// [`LzmaDecoder`](crate::LzmaDecoder).
///
/// Memory: liblzma's dictionary, as large as the encoder chose (8 MiB at
/// `xz -6`, 64 MiB at `-9`), bounded with [`XzDecoderBuilder::max_memory`].
///
/// # Errors
/// Each is an error for which `Error::is_corrupt` is true, naming xz and a
/// byte offset: no xz magic number at the start, corrupt data or a failed
/// integrity check ("at or after" the offset: liblzma reads ahead), input
/// that ends inside a stream (including empty input), stream padding that is
/// not a multiple of four bytes, and bytes after the last stream that start
/// no stream (unless [`Trailing::Ignore`]). A stream that needs more memory
/// than [`XzDecoderBuilder::max_memory`] allows, and the limits of
/// [`XzDecoderBuilder::max_output`] and [`XzDecoderBuilder::max_ratio`], fail
/// with an error for which `Error::is_limit` is true.
///
/// # Examples
/// ```
/// use bytes::Bytes;
/// use futures::TryStreamExt;
/// use weir::codecs::{XzDecoder, XzEncoder};
/// use weir::{readable, ReadableExt};
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), weir::Error> {
/// let xz: Vec<Bytes> = readable::from_iter([Bytes::from_static(b"ab")])
///     .through(XzEncoder::new())
///     .try_collect()
///     .await?;
/// let xz = Bytes::from(xz.concat());
/// // Two streams back to back, as `cat a.xz b.xz` makes.
/// let src = readable::from_iter([xz.clone(), xz]);
/// let out: Vec<Bytes> = src.through(XzDecoder::new()).try_collect().await?;
/// assert_eq!(out.concat(), b"abab");
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct XzDecoder {
    engine: DecodeEngine<CodecsDecoder<Xz>>,
}

impl XzDecoder {
    /// A decoder with the defaults: no limits (memory included, as `xz
    /// -d`'s), trailing bytes are an error, 256 KiB output chunks.
    pub fn new() -> Self {
        XzDecoder::builder().build()
    }

    /// A builder for limits, chunk size and trailing data.
    pub fn builder() -> XzDecoderBuilder {
        XzDecoderBuilder {
            settings: DecodeSettings::default(),
            max_memory: u64::MAX,
        }
    }
}

/// Configures an [`XzDecoder`]. Made by [`XzDecoder::builder`].
///
/// # Examples
/// ```
/// use weir::codecs::XzDecoder;
///
/// // Untrusted input: at most 64 MiB of decoder memory, 1 GB of output.
/// let dec = XzDecoder::builder().max_memory(64 << 20).max_output(1_000_000_000).build();
/// # let _ = dec;
/// ```
#[derive(Debug, Clone)]
pub struct XzDecoderBuilder {
    settings: DecodeSettings,
    max_memory: u64,
}

impl XzDecoderBuilder {
    /// The most memory liblzma may use (`xz --memlimit`): a stream whose
    /// dictionary needs more fails with a limit error. Default: no limit.
    pub fn max_memory(&mut self, bytes: u64) -> &mut Self {
        self.max_memory = bytes.max(1);
        self
    }

    /// What to do with bytes after the last stream that start no new one
    /// (stream padding is always accepted). Default [`Trailing::Error`].
    pub fn trailing(&mut self, trailing: Trailing) -> &mut Self {
        self.settings.trailing = trailing;
        self
    }

    /// The decoder.
    pub fn build(&self) -> XzDecoder {
        XzDecoder {
            engine: DecodeEngine::new(
                xz_decoder(self.max_memory, self.settings.trailing),
                self.settings,
            ),
        }
    }
}

decoder_common!(XzDecoder, XzDecoderBuilder, "xz decoder");
