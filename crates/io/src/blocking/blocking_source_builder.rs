use std::io::Read;
use std::sync::Arc;

use crate::context::IoContext;
use crate::gauge::MemoryGauge;
use crate::read_engine::{ReadConfig, ReadEngine};
use crate::{BlockingSource, DEFAULT_BLOCK_SIZE, DEFAULT_CHUNK_SIZE};

/// Settings for a [`BlockingSource`]; made by [`BlockingSource::builder`].
///
/// Defaults (not part of the semver contract): 64 KiB chunks, 1 MiB blocks,
/// read-once mode (`fill(false)`), stage name `"reader"`.
///
/// # Examples
/// ```
/// use futures::TryStreamExt;
/// use weir_io::BlockingSource;
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), weir_core::Error> {
/// let data: &'static [u8] = b"abcdefghij";
/// let chunks: Vec<_> = BlockingSource::builder()
///     .chunk_size(4)
///     .block_size(8)
///     .fill(true)
///     .name("letters")
///     .build(data)
///     .try_collect()
///     .await?;
/// assert_eq!(chunks, ["abcd", "efgh", "ij"]);
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct BlockingSourceBuilder {
    chunk: usize,
    block: usize,
    fill: bool,
    min_block: Option<usize>,
    name: Arc<str>,
    gauge: Option<MemoryGauge>,
}

impl Default for BlockingSourceBuilder {
    fn default() -> Self {
        BlockingSourceBuilder {
            chunk: DEFAULT_CHUNK_SIZE,
            block: DEFAULT_BLOCK_SIZE,
            fill: false,
            min_block: None,
            name: Arc::from("reader"),
            gauge: None,
        }
    }
}

impl BlockingSourceBuilder {
    /// The default settings.
    pub fn new() -> Self {
        BlockingSourceBuilder::default()
    }

    /// The largest chunk the source hands out (at least 1 byte).
    pub fn chunk_size(&mut self, n: usize) -> &mut Self {
        self.chunk = n;
        self
    }

    /// How much one blocking read asks for. It is raised to the chunk size
    /// if smaller and, with [`fill`](Self::fill), rounded up to a multiple
    /// of it.
    pub fn block_size(&mut self, n: usize) -> &mut Self {
        self.block = n;
        self
    }

    /// `true`: each blocking hop reads until its block is full or the input
    /// ends, and the block becomes the chunks without a copy; every chunk but
    /// the last is then exactly `chunk_size` long. Right for files and
    /// anything that never makes a reader wait for more data.
    ///
    /// `false` (the default): each hop makes one read call and hands out
    /// what it returned (copied out of a reused buffer, so a short read does
    /// not pin a whole block). Right for pipes, terminals and sockets, where
    /// waiting to fill a block would hold back data that has arrived.
    pub fn fill(&mut self, fill: bool) -> &mut Self {
        self.fill = fill;
        self
    }

    /// Sizes each read by how fast the stream is consumed, from `min` bytes
    /// up to the [block size](Self::block_size), instead of always reading
    /// whole blocks.
    ///
    /// Reads start at `min`. Every 10 ms or so the source looks at how
    /// many bytes were taken in that time and sizes the next reads to hold
    /// about 10 ms of them (`min` times a power of two, at most the block
    /// size): a fast consumer gets whole blocks after the first window,
    /// one whose socket stays full drops back to `min`. A consumer taking
    /// less than half of `min` per 10 ms also gets no read-ahead: the next
    /// block is read when it asks for more. So a slow consumer makes the
    /// source hold one `min`-sized block instead of two whole ones.
    ///
    /// Chunks are then at most the chunk size (a small block is one
    /// smaller chunk). `min` at least the block size turns this off (the
    /// default).
    pub fn adaptive(&mut self, min: usize) -> &mut Self {
        self.min_block = Some(min);
        self
    }

    /// The stage name errors carry ([`weir_core::Error::stage`]).
    pub fn name(&mut self, name: impl Into<Arc<str>>) -> &mut Self {
        self.name = name.into();
        self
    }

    /// Counts the blocks the source reads (fill mode) on `gauge` while
    /// they live.
    pub(crate) fn gauge(&mut self, gauge: MemoryGauge) -> &mut Self {
        self.gauge = Some(gauge);
        self
    }

    /// A source reading `reader`. No read starts until the stream is first
    /// polled.
    pub fn build<R: Read + Send + 'static>(&self, reader: R) -> BlockingSource<R> {
        let mut cfg = ReadConfig::new(self.chunk, self.block, self.fill);
        if let Some(min) = self.min_block {
            cfg = cfg.adaptive(min);
        }
        let engine = ReadEngine::new(reader, cfg, IoContext::new(self.name.clone(), None));
        BlockingSource::from_engine(match &self.gauge {
            Some(g) => engine.with_gauge(g.clone()),
            None => engine,
        })
    }
}
