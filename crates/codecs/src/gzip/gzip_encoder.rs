use weir_core::Error;

use super::GzipHeader;
use super::gzip_impl::GzipRawEncoder;
use super::parallel_impl::{DEFAULT_BLOCK, Framing, ParallelGzipEncoder};
use crate::SyncFlush;
use crate::deflate::flate_impl::{DEFAULT_LEVEL, MAX_LEVEL};
use crate::engine::{EncodeEngine, EncodeOp, RawEncoder, encoder_common};

/// One stream, or blocks compressed on several threads.
#[derive(Debug)]
enum GzipRaw {
    Single(GzipRawEncoder),
    Parallel(Box<ParallelGzipEncoder>),
}

impl RawEncoder for GzipRaw {
    const FORMAT: &'static str = "gzip";

    fn worker_busy(&self) -> Option<weir_core::WorkerBusy> {
        match self {
            GzipRaw::Single(_) => None,
            GzipRaw::Parallel(e) => e.worker_busy(),
        }
    }

    fn encode(
        &mut self,
        input: &[u8],
        out: &mut Vec<u8>,
        op: EncodeOp,
    ) -> Result<(usize, bool), Error> {
        match self {
            GzipRaw::Single(e) => e.encode(input, out, op),
            GzipRaw::Parallel(e) => e.encode(input, out, op),
        }
    }
}

/// Compresses a byte stream to gzip (RFC 1952), as `gzip -c` does: one
/// member whose output `gzip -d` (and every other gunzip) decodes.
///
/// A [`Transform`](weir_core::Transform) from `Bytes` to `Bytes`. The header
/// is emitted with the first output; compressed data follows as the
/// compressor produces it (or at each sync flush, see [`SyncFlush`]); the
/// end of input always ends the stream with its CRC-32 and length trailer,
/// so a stream that ended cleanly is never left unterminated. It uses zlib-rs
/// (through flate2) for DEFLATE.
///
/// Memory: about 270 KiB of compressor state, plus the output of one input
/// chunk.
///
/// # Parallel compression
/// With [`GzipEncoderBuilder::threads`] above 1, it compresses like `pigz`:
/// the input is cut into blocks (128 KiB by default), each primed with the
/// 32 KiB before it and ended with a sync flush, and their outputs are
/// joined into one member. The blocks are compressed by `threads` worker
/// threads that the encoder owns (started with its first input, joined at
/// the end of the stream or when it is dropped), pipelined: while workers
/// compress, the calling thread cuts the next blocks and emits finished ones
/// in order; each worker computes its block's CRC-32 and the encoder
/// combines them. At most `2 × threads` blocks are in flight, so memory is
/// bounded (a few MiB at most); the calling thread blocks, waiting for the
/// oldest block, only when that many are in flight, and at a flush or the
/// end of the stream. A worker's failure or panic is this stream's error.
/// The output is a normal gzip file, a fraction of a percent larger. Blocks
/// go to the workers round-robin and each worker reuses its compressor, so
/// the exact bytes (never the data they decode to) depend on the number of
/// threads, but not on timing or on how the input is cut.
///
/// # Independent blocks (BGZF)
/// With [`GzipEncoderBuilder::independent`], the output is cut the way
/// htslib's `bgzip` cuts it: every block of at most 65,280 bytes of input
/// becomes a complete gzip member of at most 64 KiB, compressed without
/// reference to the others, whose header carries an extra field (`BC`,
/// 2 bytes) recording the member's size; the file ends with BGZF's
/// standard empty member. Every gunzip reads it as a multi-member file,
/// `bgzip -d` and htslib read it as BGZF, and a
/// [`GzipDecoder`](crate::GzipDecoder) built with
/// [`threads`](crate::GzipDecoderBuilder::threads) above 1 decodes its
/// blocks on several threads. The cost is ratio: each block starts with an
/// empty window and pays its own header and trailer (26 bytes). The blocks
/// are compressed on the same worker threads as above (`threads`; with one
/// thread, on the calling thread). The header's file name, comment and extra
/// field are not written (BGZF's header is fixed); the modification time is.
/// `block_size` does not apply.
///
/// # Errors
/// None from input (any bytes compress); a chunk after the end of the
/// stream is an error.
///
/// # Examples
/// ```
/// use bytes::Bytes;
/// use futures::TryStreamExt;
/// use weir::codecs::{GzipDecoder, GzipEncoder};
/// use weir::{readable, ReadableExt};
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), weir::Error> {
/// let src = readable::from_iter([&b"hello "[..], &b"gzip"[..]].map(Bytes::from_static));
/// let gz: Vec<Bytes> = src.through(GzipEncoder::with_level(9)).try_collect().await?;
/// assert_eq!(&gz[0][..2], [0x1f, 0x8b]);
///
/// let back: Vec<Bytes> = readable::from_iter(gz).through(GzipDecoder::new()).try_collect().await?;
/// assert_eq!(back.concat(), b"hello gzip");
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct GzipEncoder {
    engine: EncodeEngine<GzipRaw>,
}

impl GzipEncoder {
    /// An encoder at level 6 (gzip's default) with an empty header.
    pub fn new() -> Self {
        GzipEncoder::builder().build()
    }

    /// An encoder at `level`: 0 (stored) to 9 (smallest); above 9 means 9.
    pub fn with_level(level: u32) -> Self {
        GzipEncoder::builder().level(level).build()
    }

    /// A builder for the level, the header and sync flushes.
    pub fn builder() -> GzipEncoderBuilder {
        GzipEncoderBuilder {
            level: DEFAULT_LEVEL,
            header: GzipHeader::default(),
            sync: SyncFlush::Never,
            flush_on_empty: false,
            threads: 1,
            block: DEFAULT_BLOCK,
            independent: false,
        }
    }
}

/// Configures a [`GzipEncoder`]. Made by [`GzipEncoder::builder`].
///
/// # Examples
/// ```
/// use weir::codecs::{GzipEncoder, SyncFlush};
///
/// let enc = GzipEncoder::builder()
///     .level(1)
///     .file_name("events.ndjson")
///     .sync_flush(SyncFlush::EveryBytes(64 * 1024))
///     .build();
/// # let _ = enc;
/// ```
#[derive(Debug, Clone)]
pub struct GzipEncoderBuilder {
    level: u32,
    header: GzipHeader,
    sync: SyncFlush,
    flush_on_empty: bool,
    threads: usize,
    block: usize,
    independent: bool,
}

impl GzipEncoderBuilder {
    /// The compression level, 0 (stored) to 9 (smallest); above 9 means 9.
    /// Default 6.
    pub fn level(&mut self, level: u32) -> &mut Self {
        self.level = level.min(MAX_LEVEL);
        self
    }

    /// Records the original file name (FNAME), as `gzip -N` does. A zero
    /// byte ends the name there.
    pub fn file_name(&mut self, name: impl Into<Vec<u8>>) -> &mut Self {
        self.header.name = Some(name.into());
        self
    }

    /// Records a comment (FCOMMENT). A zero byte ends it there.
    pub fn comment(&mut self, comment: impl Into<Vec<u8>>) -> &mut Self {
        self.header.comment = Some(comment.into());
        self
    }

    /// Records an extra field (FEXTRA); at most 65535 bytes are written.
    pub fn extra(&mut self, extra: impl Into<Vec<u8>>) -> &mut Self {
        self.header.extra = Some(extra.into());
        self
    }

    /// Records a modification time, in seconds since the Unix epoch.
    /// Default 0 (none).
    pub fn mtime(&mut self, secs: u32) -> &mut Self {
        self.header.mtime = secs;
        self
    }

    /// Compresses on this many worker threads at once, `pigz`-style (see
    /// "Parallel compression" on [`GzipEncoder`]); the calling thread hands
    /// blocks over and blocks only when `2 × threads` are in flight, or at
    /// a flush or the end. Default 1: one stream, compressed by the calling
    /// thread as its chunks arrive (no worker thread).
    pub fn threads(&mut self, threads: usize) -> &mut Self {
        self.threads = threads.max(1);
        self
    }

    /// The block size of parallel compression, at least 32 KiB. Default
    /// 128 KiB (not part of the semver contract).
    pub fn block_size(&mut self, bytes: usize) -> &mut Self {
        self.block = bytes;
        self
    }

    /// Writes independent blocks, BGZF-compatible (`bgzip`'s format, as
    /// `weir gzip --independent` does), instead of one member: see
    /// "Independent blocks (BGZF)" on [`GzipEncoder`]. Default `false`.
    pub fn independent(&mut self, yes: bool) -> &mut Self {
        self.independent = yes;
        self
    }

    /// The encoder.
    pub fn build(&self) -> GzipEncoder {
        let raw = if self.independent || self.threads > 1 {
            let framing = if self.independent {
                Framing::Bgzf
            } else {
                Framing::Gzip
            };
            GzipRaw::Parallel(Box::new(ParallelGzipEncoder::gzip(
                self.level,
                &self.header,
                self.threads,
                self.block,
                framing,
            )))
        } else {
            GzipRaw::Single(GzipRawEncoder::new(self.level, &self.header))
        };
        GzipEncoder {
            engine: EncodeEngine::new(raw, self.sync, self.flush_on_empty),
        }
    }
}

encoder_common!(GzipEncoder, GzipEncoderBuilder, "gzip encoder");
