use super::zstd_impl::{DEFAULT_LEVEL, MAX_LEVEL, MIN_LEVEL, ZstdRawEncoder};
use crate::SyncFlush;
use crate::engine::{EncodeEngine, encoder_common};

/// Compresses a byte stream to one Zstandard frame, as `zstd -c` does
/// (with a content checksum, like the `zstd` command's default).
///
/// A [`Transform`](weir_core::Transform) from `Bytes` to `Bytes` over
/// libzstd's streaming API. Output comes as libzstd produces it (or at each
/// sync flush, see [`SyncFlush`], which ends the current block); the end of
/// input always ends the frame.
///
/// # Errors
/// None from input. If libzstd cannot be set up (out of memory), the first
/// call fails; a chunk after the end of the stream is an error.
///
/// # Examples
/// ```
/// use bytes::Bytes;
/// use futures::TryStreamExt;
/// use weir::codecs::{ZstdDecoder, ZstdEncoder};
/// use weir::{readable, ReadableExt};
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), weir::Error> {
/// let src = readable::from_iter(["log line\n".repeat(100)].map(Bytes::from));
/// let z: Vec<Bytes> = src.through(ZstdEncoder::with_level(19)).try_collect().await?;
/// assert_eq!(&z[0][..4], [0x28, 0xb5, 0x2f, 0xfd]);
/// let back: Vec<Bytes> = readable::from_iter(z).through(ZstdDecoder::new()).try_collect().await?;
/// assert_eq!(back.concat(), "log line\n".repeat(100).as_bytes());
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct ZstdEncoder {
    engine: EncodeEngine<ZstdRawEncoder>,
}

impl ZstdEncoder {
    /// An encoder at level 3 (zstd's default).
    pub fn new() -> Self {
        ZstdEncoder::builder().build()
    }

    /// An encoder at `level`, 1 (fastest) to 22 (smallest, needs 128 MiB
    /// windows to decode); values outside are clamped into that range.
    pub fn with_level(level: i32) -> Self {
        ZstdEncoder::builder().level(level).build()
    }

    /// A builder for the level, checksum, window and sync flushes.
    pub fn builder() -> ZstdEncoderBuilder {
        ZstdEncoderBuilder {
            level: DEFAULT_LEVEL,
            checksum: true,
            window_log: None,
            threads: 1,
            sync: SyncFlush::Never,
            flush_on_empty: false,
        }
    }
}

/// Configures a [`ZstdEncoder`]. Made by [`ZstdEncoder::builder`].
///
/// # Examples
/// ```
/// use weir::codecs::ZstdEncoder;
///
/// let enc = ZstdEncoder::builder().level(9).checksum(false).build();
/// # let _ = enc;
/// ```
#[derive(Debug, Clone)]
pub struct ZstdEncoderBuilder {
    level: i32,
    checksum: bool,
    window_log: Option<u32>,
    threads: u32,
    sync: SyncFlush,
    flush_on_empty: bool,
}

impl ZstdEncoderBuilder {
    /// The level, 1 to 22, clamped into that range. Default 3.
    pub fn level(&mut self, level: i32) -> &mut Self {
        self.level = level.clamp(MIN_LEVEL, MAX_LEVEL);
        self
    }

    /// Whether the frame ends with a checksum of its content (XXH64), as
    /// the `zstd` command writes by default. Default `true`.
    pub fn checksum(&mut self, yes: bool) -> &mut Self {
        self.checksum = yes;
        self
    }

    /// The window size as a power of two (10 to 31, clamped); the level
    /// chooses by default. Decoders refuse windows over 2^27 unless told
    /// otherwise ([`ZstdDecoderBuilder::max_window_log`](crate::ZstdDecoderBuilder::max_window_log)).
    pub fn window_log(&mut self, log: u32) -> &mut Self {
        self.window_log = Some(log);
        self
    }

    /// Compresses on `n` of libzstd's own worker threads (`zstd -T n`; at
    /// most 64). With 1, the default, the transform compresses in the thread
    /// that runs it. With more, libzstd cuts the input into jobs of several
    /// windows each and compresses them in parallel into one ordinary frame,
    /// holding a few jobs per worker: memory grows with `n` and the level,
    /// but stays bounded. The calling thread then mostly hands input over
    /// and collects output.
    ///
    /// # Examples
    /// ```
    /// use weir::codecs::ZstdEncoder;
    ///
    /// let enc = ZstdEncoder::builder().level(3).threads(2).build();
    /// # let _ = enc;
    /// ```
    pub fn threads(&mut self, n: usize) -> &mut Self {
        self.threads = u32::try_from(n.clamp(1, 64)).unwrap_or(1);
        self
    }

    /// The encoder.
    pub fn build(&self) -> ZstdEncoder {
        ZstdEncoder {
            engine: EncodeEngine::new(
                ZstdRawEncoder::new(
                    self.level,
                    self.checksum,
                    self.window_log,
                    if self.threads > 1 { self.threads } else { 0 },
                ),
                self.sync,
                self.flush_on_empty,
            ),
        }
    }
}

encoder_common!(ZstdEncoder, ZstdEncoderBuilder, "zstd encoder");
