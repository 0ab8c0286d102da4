use super::bzip2_impl::{Bzip2, bzip2_decoder};
use crate::Trailing;
use crate::engine::codecs_impl::CodecsDecoder;
use crate::engine::{DecodeEngine, DecodeSettings, decoder_common};

/// Decompresses bzip2, as `bzip2 -d` does: every stream of the input (`cat
/// a.bz2 b.bz2`, or what `pbzip2` writes, decodes to both), checking each
/// block's CRC and each stream's combined CRC.
///
/// A [`Transform`](weir_core::Transform) from `Bytes` to `Bytes` over
/// libbz2-rs (a Rust port of libbzip2), through async-compression's codecs
/// (`compression-codecs`). bzip2 compresses in blocks of up to 900 kB, and a
/// block's bytes can only be decoded once all of it has arrived; the output
/// of each block is emitted as soon as it is decoded, at most one chunk
/// (256 KiB by default) per call. Memory: about 3.5 MiB (libbzip2's
/// decoder at 900 kB blocks).
///
/// One difference from the `bzip2` command: bytes after the last stream
/// that start no stream are an error here, where `bzip2 -d` warns ("trailing
/// garbage after EOF ignored") and succeeds; [`Trailing::Ignore`] does what
/// it does.
///
/// # Errors
/// Each is an error for which `Error::is_corrupt` is true, naming bzip2 and
/// a byte offset: no `BZh` magic number at the start, corrupt data or a CRC
/// mismatch ("at or after" the offset: a block's CRC is checked once the
/// block is decoded), input that ends inside a stream (including empty
/// input), trailing bytes. The limits of [`Bzip2DecoderBuilder::max_output`]
/// and [`Bzip2DecoderBuilder::max_ratio`] fail with an error for which
/// `Error::is_limit` is true.
///
/// # Examples
/// ```
/// use bytes::Bytes;
/// use futures::TryStreamExt;
/// use weir::codecs::Bzip2Decoder;
/// use weir::{readable, ReadableExt};
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), weir::Error> {
/// // `printf hi | bzip2`
/// let bz = Bytes::from_static(&[
///     0x42, 0x5a, 0x68, 0x39, 0x31, 0x41, 0x59, 0x26, 0x53, 0x59, 0x9a, 0x89, 0xb4, 0x22,
///     0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x60, 0x20, 0x00, 0x21, 0x00, 0x82, 0xb1, 0x77,
///     0x24, 0x53, 0x85, 0x09, 0x09, 0xa8, 0x9b, 0x42, 0x20,
/// ]);
/// // Two streams back to back decode to both.
/// let src = readable::from_iter([bz.clone(), bz]);
/// let out: Vec<Bytes> = src.through(Bzip2Decoder::new()).try_collect().await?;
/// assert_eq!(out.concat(), b"hihi");
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct Bzip2Decoder {
    engine: DecodeEngine<CodecsDecoder<Bzip2>>,
}

impl Bzip2Decoder {
    /// A decoder with the defaults: no limits, trailing bytes are an error,
    /// 256 KiB output chunks.
    pub fn new() -> Self {
        Bzip2Decoder::builder().build()
    }

    /// A builder for limits, chunk size and trailing data.
    pub fn builder() -> Bzip2DecoderBuilder {
        Bzip2DecoderBuilder {
            settings: DecodeSettings::default(),
        }
    }
}

/// Configures a [`Bzip2Decoder`]. Made by [`Bzip2Decoder::builder`].
///
/// # Examples
/// ```
/// use weir::codecs::{Bzip2Decoder, Trailing};
///
/// // As `bzip2 -d` does: ignore trailing garbage.
/// let dec = Bzip2Decoder::builder().trailing(Trailing::Ignore).build();
/// # let _ = dec;
/// ```
#[derive(Debug, Clone)]
pub struct Bzip2DecoderBuilder {
    settings: DecodeSettings,
}

impl Bzip2DecoderBuilder {
    /// What to do with bytes after the last stream that start no new one.
    /// Default [`Trailing::Error`].
    pub fn trailing(&mut self, trailing: Trailing) -> &mut Self {
        self.settings.trailing = trailing;
        self
    }

    /// The decoder.
    pub fn build(&self) -> Bzip2Decoder {
        Bzip2Decoder {
            engine: DecodeEngine::new(bzip2_decoder(self.settings.trailing), self.settings),
        }
    }
}

decoder_common!(Bzip2Decoder, Bzip2DecoderBuilder, "bzip2 decoder");
