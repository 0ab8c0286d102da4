use super::xz_impl::{
    DEFAULT_LEVEL, MAX_LEVEL, MAX_THREADS, MIN_LEVEL, Xz, preset, threaded_memory, xz_encoder,
};
use crate::SyncFlush;
use crate::engine::codecs_impl::CodecsEncoder;
use crate::engine::{EncodeEngine, encoder_common};

/// Compresses a byte stream to one xz stream, as `xz -c` does (LZMA2 with
/// CRC64 checks, at level 6 by default).
///
/// A [`Transform`](weir_core::Transform) from `Bytes` to `Bytes` over
/// liblzma, through async-compression's codecs (`compression-codecs`).
/// Output comes as liblzma produces it, which at the higher levels can be
/// megabytes of input later, or at each sync flush (see [`SyncFlush`]:
/// liblzma's `LZMA_SYNC_FLUSH`, after which a decoder can decode everything
/// taken so far); the end of input always ends the stream with its index
/// and footer.
///
/// Memory: about 94 MiB at level 6, 674 MiB at level 9 (liblzma's match
/// finder and dictionary; `xz --info-memory` lists them), and on several
/// threads ([`XzEncoderBuilder::threads`]) about that much per thread plus
/// the blocks in flight.
///
/// # Errors
/// None from input; a chunk after the end of the stream is an error.
///
/// # Examples
/// ```
/// use bytes::Bytes;
/// use futures::TryStreamExt;
/// use weir::codecs::{XzDecoder, XzEncoder};
/// use weir::{readable, ReadableExt};
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), weir::Error> {
/// let src = readable::from_iter(["log line\n".repeat(100)].map(Bytes::from));
/// let xz: Vec<Bytes> = src.through(XzEncoder::with_level(1)).try_collect().await?;
/// assert_eq!(&xz[0][..6], b"\xfd7zXZ\0");
/// let back: Vec<Bytes> = readable::from_iter(xz).through(XzDecoder::new()).try_collect().await?;
/// assert_eq!(back.concat(), "log line\n".repeat(100).as_bytes());
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct XzEncoder {
    engine: EncodeEngine<CodecsEncoder<Xz>>,
}

impl XzEncoder {
    /// An encoder at level 6 (xz's default).
    pub fn new() -> Self {
        XzEncoder::builder().build()
    }

    /// An encoder at `level`, 0 (fastest) to 9 (smallest); values above 9
    /// are 9.
    pub fn with_level(level: u32) -> Self {
        XzEncoder::builder().level(level).build()
    }

    /// A builder for the level, the threads and sync flushes.
    pub fn builder() -> XzEncoderBuilder {
        XzEncoderBuilder {
            level: DEFAULT_LEVEL,
            threads: 1,
            extreme: false,
            max_memory: u64::MAX,
            sync: SyncFlush::Never,
            flush_on_empty: false,
        }
    }
}

/// Configures an [`XzEncoder`]. Made by [`XzEncoder::builder`].
///
/// # Examples
/// ```
/// use weir::codecs::{SyncFlush, XzEncoder};
///
/// let enc = XzEncoder::builder().level(3).sync_flush(SyncFlush::EveryChunk).build();
/// # let _ = enc;
/// ```
#[derive(Debug, Clone)]
pub struct XzEncoderBuilder {
    level: u32,
    threads: u32,
    extreme: bool,
    max_memory: u64,
    sync: SyncFlush,
    flush_on_empty: bool,
}

impl XzEncoderBuilder {
    /// The level (xz's preset), 0 to 9; values above 9 are 9. Default 6.
    pub fn level(&mut self, level: u32) -> &mut Self {
        self.level = level.clamp(MIN_LEVEL, MAX_LEVEL);
        self
    }

    /// Compresses on `n` of liblzma's own threads, as `xz -T n` does (at
    /// most 64). With 1, the default, the transform compresses in the thread
    /// that runs it, and the output is what `xz` writes by default. With
    /// more, liblzma cuts the input into blocks of three times the
    /// dictionary (24 MiB at level 6), compresses them on its workers and
    /// writes each block's sizes into its header; the stream stays one
    /// ordinary xz stream, a little larger, that any `xz -d` reads (and that
    /// a threaded xz decoder can decode in parallel). Each worker holds an
    /// encoder and a block, so memory grows with `n` and the level but stays
    /// bounded; a call waits while every worker is busy, so run the
    /// transform where blocking is fine (a pipeline stage of its own, as
    /// `weir xz` does). A sync flush ([`SyncFlush`]) ends the current block
    /// (liblzma's `LZMA_FULL_FLUSH`). Input shorter than one block is
    /// compressed on one worker.
    ///
    /// # Examples
    /// ```
    /// use weir::codecs::XzEncoder;
    ///
    /// let enc = XzEncoder::builder().level(6).threads(2).build();
    /// # let _ = enc;
    /// ```
    pub fn threads(&mut self, n: usize) -> &mut Self {
        self.threads = u32::try_from(n)
            .unwrap_or(MAX_THREADS)
            .clamp(1, MAX_THREADS);
        self
    }

    /// The "extreme" variant of the level (`xz -e`, liblzma's
    /// `LZMA_PRESET_EXTREME`): a slower, more thorough match search for a
    /// slightly smaller output, with the same memory. Default `false`.
    ///
    /// # Examples
    /// ```
    /// use weir::codecs::XzEncoder;
    ///
    /// let enc = XzEncoder::builder().level(9).extreme(true).build();
    /// # let _ = enc;
    /// ```
    pub fn extreme(&mut self, yes: bool) -> &mut Self {
        self.extreme = yes;
        self
    }

    /// The most memory the threaded encoder may plan for, as xz's memory
    /// limit for compression: when liblzma's estimate for the threads asked
    /// is above it, the encoder uses fewer threads (one at the least,
    /// whatever it needs). Default: no limit. `weir xz -T N` passes a
    /// quarter of the machine's memory, as xz does.
    ///
    /// # Examples
    /// ```
    /// use weir::codecs::XzEncoder;
    ///
    /// // Level 9 needs about 1.2 GiB a thread: 2 GiB allows one.
    /// let b = XzEncoder::builder().level(9).threads(8).max_memory(2 << 30).clone();
    /// assert_eq!(b.planned_threads(), 1);
    /// // Level 6 about 165 MiB: 400 MiB allows two.
    /// let b = XzEncoder::builder().threads(8).max_memory(400 << 20).clone();
    /// assert_eq!(b.planned_threads(), 2);
    /// ```
    pub fn max_memory(&mut self, bytes: u64) -> &mut Self {
        self.max_memory = bytes;
        self
    }

    /// The threads the encoder will use: those asked
    /// ([`threads`](Self::threads)), fewer if liblzma's estimate for them
    /// is above [`max_memory`](Self::max_memory).
    pub fn planned_threads(&self) -> usize {
        let mut n = self.threads;
        while n > 1 && threaded_memory(preset(self.level, self.extreme), n) > self.max_memory {
            n -= 1;
        }
        n as usize
    }

    /// The encoder.
    pub fn build(&self) -> XzEncoder {
        XzEncoder {
            engine: EncodeEngine::new(
                xz_encoder(
                    preset(self.level, self.extreme),
                    self.planned_threads() as u32,
                ),
                self.sync,
                self.flush_on_empty,
            ),
        }
    }
}

encoder_common!(XzEncoder, XzEncoderBuilder, "xz encoder");
