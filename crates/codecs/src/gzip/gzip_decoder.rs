use super::GzipHeader;
use super::gzip_impl::GzipRawDecoder;
use crate::Trailing;
use crate::engine::{DecodeEngine, DecodeSettings, decoder_common};

/// Decompresses a gzip stream (RFC 1952), as `gunzip` does: every member of
/// a multi-member file (`cat a.gz b.gz`), checking each header, CRC-32 and
/// length.
///
/// A [`Transform`](weir_core::Transform) from `Bytes` to `Bytes`. Output is
/// emitted as soon as it is decoded: on a live stream, a member's data and
/// its end are handed on without waiting for bytes the member does not need.
/// Each call emits at most one chunk (256 KiB by default) and keeps the rest
/// of its input for [`Transform::resume`](weir_core::Transform::resume), so a
/// small input that expands enormously never sits in memory at once.
///
/// After the last member, zero bytes are padding and are ignored (as
/// `gunzip` does); other bytes are an error unless the builder says
/// [`Trailing::Ignore`].
///
/// Memory: about 45 KiB of inflate state plus one output chunk.
///
/// # Errors
/// Each is an error for which `Error::is_corrupt` is true, naming gzip and
/// the byte offset: input that is not gzip (bad magic), an unknown method
/// or reserved flags, a bad header CRC, corrupt DEFLATE data, a CRC-32 or
/// length mismatch, input that ends anywhere before the end of a member
/// (including empty input), and trailing garbage. The limits of
/// [`GzipDecoderBuilder::max_output`] and [`GzipDecoderBuilder::max_ratio`]
/// fail with an error for which `Error::is_limit` is true. Output decoded
/// before the error is emitted first.
///
/// # Examples
/// ```
/// use bytes::Bytes;
/// use futures::TryStreamExt;
/// use weir::codecs::GzipDecoder;
/// use weir::{readable, ReadableExt};
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), weir::Error> {
/// // `printf hi | gzip -n`: one member.
/// let member: &[u8] = &[
///     0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3, 0xcb, 0xc8, 4, 0, 0xac, 0x2a, 0x93, 0xd8, 2, 0, 0, 0,
/// ];
/// // Two members back to back decode to both contents.
/// let src = readable::from_iter([Bytes::from_static(member), Bytes::from_static(member)]);
/// let out: Vec<Bytes> = src.through(GzipDecoder::new()).try_collect().await?;
/// assert_eq!(out.concat(), b"hihi");
///
/// // Truncated input is an error, never a short output.
/// let src = readable::from_iter([Bytes::from_static(&member[..15])]);
/// let err = src.through(GzipDecoder::new()).try_collect::<Vec<Bytes>>().await.unwrap_err();
/// assert!(err.is_corrupt());
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct GzipDecoder {
    engine: DecodeEngine<GzipRawDecoder>,
}

impl GzipDecoder {
    /// A decoder with the defaults: every member, no limits, trailing
    /// garbage is an error, 256 KiB output chunks.
    pub fn new() -> Self {
        GzipDecoder::builder().build()
    }

    /// A builder for limits, chunk size, trailing data and multi-member
    /// decoding.
    pub fn builder() -> GzipDecoderBuilder {
        GzipDecoderBuilder {
            settings: DecodeSettings::default(),
            multi_member: true,
        }
    }

    /// The first member's header, once it has been read.
    pub fn header(&self) -> Option<&GzipHeader> {
        self.engine.raw().first_header()
    }

    /// How many members have been decoded and checked completely.
    pub fn members(&self) -> u64 {
        self.engine.raw().members()
    }
}

/// Configures a [`GzipDecoder`]. Made by [`GzipDecoder::builder`].
///
/// # Examples
/// ```
/// use weir::codecs::GzipDecoder;
///
/// // Untrusted input: at most 10 MB out, and at most 100× the input.
/// let dec = GzipDecoder::builder().max_output(10_000_000).max_ratio(100).build();
/// # let _ = dec;
/// ```
#[derive(Debug, Clone)]
pub struct GzipDecoderBuilder {
    settings: DecodeSettings,
    multi_member: bool,
}

impl GzipDecoderBuilder {
    /// What to do with bytes after the last member. Default
    /// [`Trailing::Error`].
    pub fn trailing(&mut self, trailing: Trailing) -> &mut Self {
        self.settings.trailing = trailing;
        self
    }

    /// Whether members after the first are decoded (the default, as
    /// `gunzip` does). When `false`, whatever follows the first member is
    /// trailing data.
    pub fn multi_member(&mut self, yes: bool) -> &mut Self {
        self.multi_member = yes;
        self
    }

    /// The decoder.
    pub fn build(&self) -> GzipDecoder {
        GzipDecoder {
            engine: DecodeEngine::new(
                GzipRawDecoder::new(self.multi_member, self.settings.trailing),
                self.settings,
            ),
        }
    }
}

decoder_common!(GzipDecoder, GzipDecoderBuilder, "gzip decoder");
