use std::fmt;
use std::fs::File;
use std::path::Path;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use futures_core::{FusedStream, Stream};
use weir_core::Error;

use crate::read_engine::ReadEngine;
use crate::{ByteCounter, FileSourceBuilder};

/// A file as a stream of `Bytes` chunks (Node's `fs.createReadStream`).
///
/// The file is read on Tokio's blocking pool one block (1 MiB by default)
/// per hop, with one block of read-ahead: as soon as a block arrives the
/// next one is started, so the disk works while the consumer does. Each
/// block is handed out in chunks of the chunk size (64 KiB by default),
/// split off without copying; every chunk but the last is exactly that
/// long. (A FIFO or a device opened by path is read one read call per hop
/// instead, so that data is passed on as it arrives.) The stream is fused:
/// after the end or an error it yields `None`.
///
/// # Memory use
/// At most two blocks on the source side: the one being handed out and the
/// one being read. A chunk keeps its block alive until it is dropped.
///
/// # Cancel safety
/// Dropping the stream (or a `next()` future) never blocks: a read in flight
/// finishes on the blocking pool and its block is dropped, then the file is
/// closed.
///
/// # Errors
/// A read error is yielded once, in place of the block it hit, with a
/// message naming the file and the stage name (`"file source"` unless set),
/// and ends the stream.
///
/// # Examples
/// ```
/// use futures::TryStreamExt;
/// use weir_io::FileSource;
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), weir_core::Error> {
/// # let dir = tempfile::tempdir()?;
/// let path = dir.path().join("in.bin");
/// std::fs::write(&path, vec![0u8; 200_000])?;
/// let src = FileSource::open(&path).await?;
/// let counter = src.counter();
/// let lens: Vec<usize> = src.map_ok(|c| c.len()).try_collect().await?;
/// assert_eq!(lens, [65_536, 65_536, 65_536, 3_392]);
/// assert_eq!(counter.get(), 200_000);
///
/// let err = FileSource::open(dir.path().join("missing")).await.unwrap_err();
/// assert_eq!(err.io_kind(), std::io::ErrorKind::NotFound);
/// assert!(err.to_string().contains("missing"));
/// # Ok(()) }
/// ```
#[must_use = "streams do nothing unless polled"]
pub struct FileSource {
    engine: ReadEngine<File>,
    path: Arc<Path>,
    len: u64,
}

impl FileSource {
    /// Settings for a source over the file at `path`, ended by
    /// [`FileSourceBuilder::open`].
    pub fn builder(path: impl AsRef<Path>) -> FileSourceBuilder {
        FileSourceBuilder::new(path.as_ref())
    }

    /// Opens the file at `path` with the default settings.
    ///
    /// # Cancel safety
    /// Cancel safe: dropping the future closes the file if it was opened.
    ///
    /// # Errors
    /// As [`FileSourceBuilder::open`].
    pub async fn open(path: impl AsRef<Path>) -> Result<FileSource, Error> {
        FileSource::builder(path).open().await
    }

    pub(crate) fn from_parts(engine: ReadEngine<File>, path: Arc<Path>, len: u64) -> Self {
        FileSource { engine, path, len }
    }

    /// The path the file was opened by.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The file's length when it was opened (a progress bar's total); 0 for
    /// a FIFO or a device.
    pub fn file_len(&self) -> u64 {
        self.len
    }

    /// The size of the chunks handed out.
    pub fn chunk_size(&self) -> usize {
        self.engine.config().chunk
    }

    /// How much one blocking read moves (after rounding).
    pub fn block_size(&self) -> usize {
        self.engine.config().block
    }

    /// Bytes handed out so far.
    pub fn bytes_read(&self) -> u64 {
        self.engine.counter().get()
    }

    /// A live handle on [`bytes_read`](Self::bytes_read), usable after the
    /// source has been moved into a pipeline.
    pub fn counter(&self) -> ByteCounter {
        self.engine.counter().clone()
    }
}

impl Stream for FileSource {
    type Item = Result<Bytes, Error>;

    /// # Return value
    /// - `Pending`: a block is being read; the task is woken when it arrives.
    /// - `Ready(Some(Ok(chunk)))`: the next chunk, never empty.
    /// - `Ready(Some(Err(e)))`: a read failed; the stream has ended.
    /// - `Ready(None)`: the end of the file (and stays ended).
    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.get_mut().engine.poll_next(cx)
    }
}

impl FusedStream for FileSource {
    fn is_terminated(&self) -> bool {
        self.engine.is_terminated()
    }
}

impl fmt::Debug for FileSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FileSource")
            .field("path", &self.path)
            .field("len", &self.len)
            .field("chunk_size", &self.chunk_size())
            .field("block_size", &self.block_size())
            .field("bytes_read", &self.bytes_read())
            .finish()
    }
}
