use bytes::Bytes;
use weir_core::{Error, WorkerBusy};

use super::GzipHeader;
use super::gzip_impl::GzipRawDecoder;
use super::parallel_decoder_impl::ParallelGzipDecoder;
use crate::Trailing;
use crate::engine::{DecodeEngine, DecodeSettings, Progress, RawDecoder, decoder_common};

/// Today's sequential decoder, or the one that decodes BGZF blocks on
/// worker threads. (One per decoder, so its size does not matter; the
/// sequential decoder stays inline, as before.)
#[derive(Debug)]
#[allow(clippy::large_enum_variant)]
enum GzipRaw {
    Single(GzipRawDecoder),
    Parallel(Box<ParallelGzipDecoder>),
}

impl RawDecoder for GzipRaw {
    const FORMAT: &'static str = "gzip";
    const ZERO_PADDING: bool = true;

    fn worker_busy(&self) -> Option<WorkerBusy> {
        match self {
            GzipRaw::Single(_) => None,
            GzipRaw::Parallel(d) => Some(d.busy()),
        }
    }

    fn decode(&mut self, input: &[u8], out: &mut Vec<u8>, offset: u64) -> Result<Progress, Error> {
        match self {
            GzipRaw::Single(d) => d.decode(input, out, offset),
            GzipRaw::Parallel(d) => d.decode(input, out, offset),
        }
    }

    fn decode_shared(
        &mut self,
        input: &Bytes,
        out: &mut Vec<u8>,
        offset: u64,
    ) -> Result<Progress, Error> {
        match self {
            GzipRaw::Single(d) => d.decode(input, out, offset),
            GzipRaw::Parallel(d) => d.decode_shared(input, out, offset),
        }
    }

    fn finish(&mut self, offset: u64) -> Result<(), Error> {
        match self {
            GzipRaw::Single(d) => d.finish(offset),
            GzipRaw::Parallel(d) => d.finish(offset),
        }
    }

    fn held(&self) -> bool {
        match self {
            GzipRaw::Single(_) => false,
            GzipRaw::Parallel(d) => d.held(),
        }
    }

    fn drain(&mut self, out: &mut Vec<u8>) -> Result<bool, Error> {
        match self {
            GzipRaw::Single(_) => Ok(true),
            GzipRaw::Parallel(d) => d.drain(out),
        }
    }

    fn take_ready(&mut self, max: usize) -> Option<bytes::Bytes> {
        match self {
            GzipRaw::Single(_) => None,
            GzipRaw::Parallel(d) => d.take_ready(max),
        }
    }

    fn has_ready(&mut self) -> bool {
        match self {
            GzipRaw::Single(_) => false,
            GzipRaw::Parallel(d) => d.has_ready(),
        }
    }
}

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
/// # Parallel decoding
/// Built with [`GzipDecoderBuilder::threads`] above 1 (or by
/// [`GzipDecoder::parallel`]), it decodes BGZF files, the independent-block
/// gzip that htslib's `bgzip` and `weir gzip --independent`
/// ([`GzipEncoderBuilder::independent`](crate::GzipEncoderBuilder::independent))
/// write, on that many threads: `threads − 1` worker threads and the
/// calling thread. It needs no flag: a first member
/// whose header carries BGZF's `BC` extra field (its compressed size) says
/// so. The calling thread cuts the input at the recorded sizes and hands
/// whole blocks on, four consecutive blocks per job (usually a slice of
/// the input chunk they lie in, not a copy); the workers inflate them
/// and check each CRC-32 and length; the output comes out in order, a
/// job's output as one chunk without a copy. The calling thread keeps 16
/// blocks queued for each worker and decodes the next job itself whenever
/// that queue is full. At most `32 × threads` blocks (each at most 64 KiB
/// in and out) are in flight, the workers' and the calling thread's
/// together. The decoder takes input only while it may start
/// a block, so memory stays bounded (a few MiB, and the input chunks that
/// jobs in flight are slices of) and a slow consumer
/// stops the reading. Its busy meters (`Transform::worker_busy`, shown in a
/// run's report) are one per thread: the workers', then the calling
/// thread's decoding time. The threads start with the first BGZF block and stop
/// when the decoder is dropped. Blocks in flight when an input chunk runs out
/// stay in flight (the next chunk usually follows at once); the end of the
/// input, or an empty input chunk (what [`flush_when_idle`](crate::flush_when_idle)
/// sends when the upstream has nothing ready), makes the decoder wait for
/// them and hand their output on, so put `flush_when_idle` in front of it on
/// a live stream. It waits, too, when the most blocks are in flight, so run
/// it where blocking is fine (a pipeline stage of its own, as
/// `weir gunzip` does, or `spawn_blocking`).
///
/// Every other gzip file decodes exactly as on one thread, with no thread
/// started; a BGZF file followed by an ordinary member (`cat a.bgz b.gz`)
/// is decoded in parallel up to that member and sequentially from there.
/// A member that carries the `BC` field is held to BGZF's rules: a recorded
/// size smaller than its header and trailer, one that ends before or after
/// the member's DEFLATE data or past the end of the input, or more than
/// 64 KiB of data in one block, is an error naming the block's byte
/// offset (where a plain gunzip may read such a member as ordinary gzip).
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
    engine: DecodeEngine<GzipRaw>,
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
            threads: 1,
        }
    }

    /// A decoder that decodes BGZF files (independent blocks, see
    /// "Parallel decoding") on `threads` threads (the calling thread one of
    /// them); other gzip files
    /// it decodes as [`GzipDecoder::new`] does. Shorthand for
    /// `GzipDecoder::builder().threads(threads).build()`.
    ///
    /// # Examples
    /// ```
    /// use bytes::Bytes;
    /// use futures::TryStreamExt;
    /// use weir::codecs::{GzipDecoder, GzipEncoder};
    /// use weir::{readable, ReadableExt};
    ///
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), weir::Error> {
    /// let data = Bytes::from("GET /index.html 200\n".repeat(20_000));
    /// // BGZF: independent blocks (what `bgzip` writes), compressed on two threads.
    /// let enc = GzipEncoder::builder().independent(true).threads(2).build();
    /// let src = readable::from_iter([data.clone()]);
    /// let bgzf: Vec<Bytes> = src.through(enc).try_collect().await?;
    /// // Its blocks decoded on two threads, in order.
    /// let src = readable::from_iter(bgzf);
    /// let back: Vec<Bytes> = src.through(GzipDecoder::parallel(2)).try_collect().await?;
    /// assert_eq!(back.concat(), data);
    /// # Ok(()) }
    /// ```
    pub fn parallel(threads: usize) -> Self {
        GzipDecoder::builder().threads(threads).build()
    }

    /// The first member's header, once it has been read.
    pub fn header(&self) -> Option<&GzipHeader> {
        match self.engine.raw() {
            GzipRaw::Single(d) => d.first_header(),
            GzipRaw::Parallel(d) => d.first_header(),
        }
    }

    /// How many members have been decoded and checked completely.
    pub fn members(&self) -> u64 {
        match self.engine.raw() {
            GzipRaw::Single(d) => d.members(),
            GzipRaw::Parallel(d) => d.members(),
        }
    }

    /// How many BGZF blocks were decoded in parallel (by the workers or
    /// the calling thread, see "Parallel decoding"): 0 for a decoder with
    /// one thread, or for a stream that is not BGZF.
    pub fn parallel_blocks(&self) -> u64 {
        match self.engine.raw() {
            GzipRaw::Single(_) => 0,
            GzipRaw::Parallel(d) => d.parallel_blocks(),
        }
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
    threads: usize,
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

    /// Decodes BGZF files on this many threads, the calling thread and
    /// `threads − 1` workers (see "Parallel decoding" on [`GzipDecoder`]).
    /// Default 1: every file is decoded sequentially on the calling thread,
    /// and no thread is started. With
    /// [`multi_member(false)`](Self::multi_member), always 1.
    pub fn threads(&mut self, threads: usize) -> &mut Self {
        self.threads = threads.max(1);
        self
    }

    /// The decoder.
    pub fn build(&self) -> GzipDecoder {
        let raw = if self.threads > 1 && self.multi_member {
            GzipRaw::Parallel(Box::new(ParallelGzipDecoder::new(
                self.threads,
                self.settings.trailing,
            )))
        } else {
            GzipRaw::Single(GzipRawDecoder::new(
                self.multi_member,
                self.settings.trailing,
            ))
        };
        GzipDecoder {
            engine: DecodeEngine::new(raw, self.settings),
        }
    }
}

decoder_common!(GzipDecoder, GzipDecoderBuilder, "gzip decoder");
