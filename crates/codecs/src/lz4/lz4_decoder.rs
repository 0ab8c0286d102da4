use super::lz4_impl::{Lz4, lz4_decoder};
use crate::Trailing;
use crate::engine::codecs_impl::CodecsDecoder;
use crate::engine::{DecodeEngine, DecodeSettings, decoder_common};

/// Decompresses LZ4 frames, as `lz4 -d` does: every frame of the input
/// (`cat a.lz4 b.lz4` decodes to both), skipping skippable frames, checking
/// block and content checksums when the frame has them.
///
/// A [`Transform`](weir_core::Transform) from `Bytes` to `Bytes` over
/// liblz4's frame API, through async-compression's codecs
/// (`compression-codecs`). A block is decoded once all of it has arrived,
/// and its output emitted at once, at most one chunk (256 KiB by default)
/// per call. Memory: about twice the frame's block size (4 MiB blocks, as
/// the `lz4` command writes by default, take about 8 MiB).
///
/// The content checksum (XXH32 of each frame's output) is checked by
/// xxhash-rust beside liblz4 rather than by liblz4 itself, whose XXH32 took
/// about 6 times as long here; [`Lz4DecoderBuilder::threads`] runs it on a
/// thread of its own. A mismatch is reported with the offset of the
/// frame's checksum field, after the frame's output (as `lz4 -d` does).
///
/// Two differences from the `lz4` command: the legacy format (`lz4 -l`,
/// magic number 0x184C2102) is refused, with an error that names it, and
/// empty input is an error (a truncated file) where `lz4 -d` writes
/// nothing and succeeds.
///
/// # Errors
/// Each is an error for which `Error::is_corrupt` is true, naming lz4 and a
/// byte offset: no frame magic number at the start, a bad frame header,
/// corrupt blocks or a checksum mismatch ("at or after" the offset), input
/// that ends inside a frame (including empty input), bytes after the last
/// frame that start no frame (unless [`Trailing::Ignore`]). The limits of
/// [`Lz4DecoderBuilder::max_output`] and [`Lz4DecoderBuilder::max_ratio`]
/// fail with an error for which `Error::is_limit` is true.
///
/// # Examples
/// ```
/// use bytes::Bytes;
/// use futures::TryStreamExt;
/// use weir::codecs::Lz4Decoder;
/// use weir::{readable, ReadableExt};
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), weir::Error> {
/// // `printf hi | lz4`
/// let lz4 = Bytes::from_static(&[
///     0x04, 0x22, 0x4d, 0x18, 0x64, 0x40, 0xa7, 0x02, 0x00, 0x00, 0x80, 0x68, 0x69, 0x00,
///     0x00, 0x00, 0x00, 0x64, 0xa5, 0xa7, 0xda,
/// ]);
/// let out: Vec<Bytes> = readable::from_iter([lz4]).through(Lz4Decoder::new()).try_collect().await?;
/// assert_eq!(out.concat(), b"hi");
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct Lz4Decoder {
    engine: DecodeEngine<CodecsDecoder<Lz4>>,
}

impl Lz4Decoder {
    /// A decoder with the defaults: no limits, trailing bytes are an error,
    /// 256 KiB output chunks.
    pub fn new() -> Self {
        Lz4Decoder::builder().build()
    }

    /// A builder for limits, chunk size and trailing data.
    pub fn builder() -> Lz4DecoderBuilder {
        Lz4DecoderBuilder {
            settings: DecodeSettings::default(),
            threads: 1,
        }
    }
}

/// Configures an [`Lz4Decoder`]. Made by [`Lz4Decoder::builder`].
///
/// # Examples
/// ```
/// use weir::codecs::Lz4Decoder;
///
/// let dec = Lz4Decoder::builder().max_output(1 << 30).build();
/// # let _ = dec;
/// ```
#[derive(Debug, Clone)]
pub struct Lz4DecoderBuilder {
    settings: DecodeSettings,
    threads: usize,
}

impl Lz4DecoderBuilder {
    /// What to do with bytes after the last frame that start no new one.
    /// Default [`Trailing::Error`].
    pub fn trailing(&mut self, trailing: Trailing) -> &mut Self {
        self.settings.trailing = trailing;
        self
    }

    /// How many threads the decoder runs on: 1 (the default) decodes and
    /// checks on the caller's thread; 2 or more (0 counts as 2) verifies
    /// content checksums on a thread of its own, started with the first
    /// output, so that two cores share the work (hashing is about a fifth
    /// of the decoding time: `weir unlz4` took 14% less time with it on
    /// two cores). That thread holds up to 8 output chunks (by reference)
    /// it has not hashed yet. A mismatch is then found a little later: it
    /// fails a later call, at the latest the end of input, which waits for
    /// every check.
    pub fn threads(&mut self, threads: usize) -> &mut Self {
        self.threads = threads;
        self
    }

    /// The decoder.
    pub fn build(&self) -> Lz4Decoder {
        Lz4Decoder {
            engine: DecodeEngine::new(
                lz4_decoder(self.settings.trailing, self.threads != 1),
                self.settings,
            ),
        }
    }
}

decoder_common!(Lz4Decoder, Lz4DecoderBuilder, "lz4 decoder");
