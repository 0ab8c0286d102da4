use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use bytes::Bytes;
use weir_core::{Error, Transform};

use super::FileServer;
use super::beneath::Root;
use super::file_server::Inner;
use super::pooled_encode::CompressPermits;
use crate::gauge::MemoryGauge;

/// A byte transform a [`FileServer`] compresses responses with.
pub type BoxEncoder = Box<dyn Transform<In = Bytes, Out = Bytes> + Send>;

/// Makes a fresh encoder for each response.
pub(crate) type EncoderFactory = Arc<dyn Fn() -> BoxEncoder + Send + Sync>;

/// Options of a [`FileServer`].
///
/// Defaults (not part of the semver contract): 64 KiB chunks, files read
/// in blocks of 16 KiB to 256 KiB sized by how fast each client takes
/// them (a slow client makes the server hold one 16 KiB block besides
/// hyper's write buffer; a fast one gets two 256 KiB blocks), no
/// compression (when on: 64 KiB slices, as many compressions at once as
/// cores), directory listings on.
///
/// # Examples
/// ```
/// use weir_codecs::GzipEncoder;
/// use weir_io::http::FileServer;
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), weir_core::Error> {
/// let dir = std::env::temp_dir();
/// let files = FileServer::builder(&dir)
///     .gzip(|| Box::new(GzipEncoder::with_level(6)))
///     .block_size(1 << 20)
///     .build()
///     .await?;
/// assert_eq!(files.root(), dir.canonicalize()?);
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct FileServerBuilder {
    root: PathBuf,
    chunk_size: usize,
    block_size: usize,
    min_block_size: usize,
    gzip: Option<EncoderFactory>,
    max_compressions: usize,
    listing: bool,
}

impl fmt::Debug for FileServerBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FileServerBuilder")
            .field("root", &self.root)
            .field("chunk_size", &self.chunk_size)
            .field("block_size", &self.block_size)
            .field("min_block_size", &self.min_block_size)
            .field("gzip", &self.gzip.is_some())
            .field("max_compressions", &self.max_compressions)
            .field("listing", &self.listing)
            .finish()
    }
}

impl FileServerBuilder {
    pub(crate) fn new(root: &Path) -> Self {
        FileServerBuilder {
            root: root.to_path_buf(),
            chunk_size: weir_core::DEFAULT_BYTES,
            block_size: 256 * 1024,
            min_block_size: 16 * 1024,
            gzip: None,
            max_compressions: std::thread::available_parallelism().map_or(1, |n| n.get()),
            listing: true,
        }
    }

    /// The size of the chunks a file is sent in (at least 1).
    pub fn chunk_size(&mut self, bytes: usize) -> &mut Self {
        self.chunk_size = bytes.max(1);
        self
    }

    /// The most one blocking read of a file moves (at least the chunk
    /// size): what a fast client gets.
    pub fn block_size(&mut self, bytes: usize) -> &mut Self {
        self.block_size = bytes.max(1);
        self
    }

    /// The least one blocking read of a file moves (at least 1): where
    /// every response starts, and what a slow client stays at. Reads grow
    /// from here to the [block size](Self::block_size) as fast as the
    /// client takes the data (see [`BlockingSourceBuilder::adaptive`](crate::BlockingSourceBuilder::adaptive)),
    /// so a slow client holds one such block rather than two whole ones.
    /// At least the block size: every read is a whole block.
    pub fn min_block_size(&mut self, bytes: usize) -> &mut Self {
        self.min_block_size = bytes.max(1);
        self
    }

    /// Compresses responses of compressible types (text, JSON, JavaScript,
    /// XML, SVG, WebAssembly) with gzip for clients that accept it, using a
    /// fresh encoder from `make` per response. weir-io has no codecs of its
    /// own: pass weir-codecs' `GzipEncoder`.
    pub fn gzip<F>(&mut self, make: F) -> &mut Self
    where
        F: Fn() -> BoxEncoder + Send + Sync + 'static,
    {
        self.gzip = Some(Arc::new(make));
        self
    }

    /// How many responses may be compressed at the same moment (at least 1;
    /// default: the number of cores). Compression never runs on Tokio's
    /// workers: each response reads and compresses one slice of its file
    /// (64 KiB of input, about a millisecond) at a time on the blocking
    /// pool, holding one of these permits, which waiting responses get in
    /// the order they asked. So however many clients pull compressed
    /// files, the workers stay free to accept connections and answer other
    /// requests, and the compressing responses take turns.
    pub fn max_compressions(&mut self, n: usize) -> &mut Self {
        self.max_compressions = n.max(1);
        self
    }

    /// Whether a folder without `index.html` is answered with a listing of
    /// its entries (default) or 403.
    pub fn listing(&mut self, on: bool) -> &mut Self {
        self.listing = on;
        self
    }

    /// Checks the root, opens it, and builds the server.
    ///
    /// On Unix the root folder is opened here, once, and every request is
    /// looked up from that handle: a folder renamed over the root's path
    /// later is not seen (serve the new one with a new server).
    ///
    /// # Cancel safety
    /// Cancel safe: the builder is only read. A future dropped before it
    /// completes leaves nothing open (a root handle still being opened on
    /// the blocking pool is closed when that task ends).
    ///
    /// # Errors
    /// If the root does not exist, is not a folder or cannot be opened.
    pub async fn build(&self) -> Result<FileServer, Error> {
        let root = tokio::fs::canonicalize(&self.root).await.map_err(|e| {
            let e = std::io::Error::new(e.kind(), format!("{}: {e}", self.root.display()));
            Error::from(e).with_stage("serve")
        })?;
        let meta = tokio::fs::metadata(&root)
            .await
            .map_err(|e| Error::from(e).with_stage("serve"))?;
        if !meta.is_dir() {
            return Err(
                Error::msg(format!("{} is not a folder", root.display())).with_stage("serve")
            );
        }
        let handle = {
            let root = root.clone();
            tokio::task::spawn_blocking(move || Root::open_dir(&root))
                .await
                .map_err(|e| Error::msg(format!("opening the root failed: {e}")))?
                .map_err(|e| Error::from(e).with_stage("serve"))?
        };
        Ok(FileServer::from_inner(Inner {
            root,
            handle,
            chunk_size: self.chunk_size,
            block_size: self.block_size.max(self.chunk_size),
            min_block_size: self.min_block_size,
            gzip: self.gzip.clone(),
            compress_permits: CompressPermits::new(self.max_compressions),
            listing: self.listing,
            gauge: MemoryGauge::new(),
        }))
    }
}
