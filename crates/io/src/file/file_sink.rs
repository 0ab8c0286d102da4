use std::fmt;
use std::path::Path;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use futures_sink::Sink;
use weir_core::Error;

use super::temp_file::TempGuard;
use super::writeback::WritebackFile;
use crate::write_engine::WriteEngine;
use crate::{ByteCounter, FileSinkBuilder};

/// A `Sink<Bytes>` writing a file (Node's `fs.createWriteStream`), with an
/// optional atomic mode and an optional `fsync`.
///
/// Chunks are gathered into batches of up to the block size (1 MiB by
/// default); each full batch is written on Tokio's blocking pool in one hop
/// with vectored writes, while the next batch fills.
///
/// # Backpressure
/// `poll_ready` is `Pending` only while a batch is full and the previous one
/// is still being written.
///
/// # Closing
/// `poll_flush` writes everything accepted so far. `poll_close` writes
/// everything, `fsync`s the file if asked, closes it and, in atomic mode,
/// renames it over the target. Only a successful close completes the file.
///
/// # Atomic mode
/// With [`FileSinkBuilder::atomic`], the data goes to a new temporary file
/// `.NAME.weir-XXXXXX.tmp` in the target's folder (created with
/// `create_new`, so no existing file is ever opened). An existing target's
/// mode, owner and group are carried over where the process may set them;
/// where the owner or group cannot be kept, the set-user-ID and
/// set-group-ID bits are dropped. Replacing needs only the folder's
/// permission, as for `gzip -f` or `sed -i`: a read-only file in a
/// writable folder is replaced (where writing in place would be refused).
/// Then:
///
/// - **Success**: once `close` returns `Ok`, the target has been replaced,
///   in one `rename`, by a file holding exactly what was sent. Readers of
///   the target see the old file or the new one, never a part.
/// - **Failure**: if a write, the `fsync` or the rename fails, the
///   temporary file is removed before the error is returned, and the target
///   is as it was (missing, or the old file).
/// - **Drop**: if the sink is dropped before `close` has returned `Ok` (a
///   pipeline failed elsewhere, a run was cancelled), the temporary file is
///   removed during the drop and the target is as it was; a write still in
///   flight finishes into the removed file and is thrown away. The one
///   exception: dropped *while* a close is in flight, the target is either
///   untouched or already completely replaced (the rename and the removal
///   exclude each other), never partly written.
/// - **With `fsync`**: the file is synced before the rename and the folder
///   after it, so after `close` returns `Ok` the new contents survive a
///   machine crash. If only the folder sync fails, the target has been
///   replaced but `close` still returns the error.
/// - **Not covered**: a crash of the process or the machine (or `SIGKILL`)
///   leaves the temporary file behind (hidden, named after the target); the
///   target itself is still either old or new. A target that exists and is
///   not a regular file (a device such as `/dev/null`, a FIFO) is written
///   in place, as in the default mode. A symbolic link is followed (a chain
///   of them too, and one whose file does not exist yet): the file it points
///   to is written and the link stays. Being a new file, the result does
///   not share the old one's hard links: other names of the old file keep
///   the old contents.
///
/// # Memory use
/// At most two batches (one filling, one in flight) plus one chunk. In the
/// kernel, early writeback ([`FileSinkBuilder::writeback`], every 8 MiB by
/// default) starts writing the file to the disk as it grows, so a long run
/// does not pile up the whole file as dirty pages to be written at the end.
///
/// # Cancel safety
/// The `Sink` methods are poll functions: a dropped `send`, `flush` or
/// `close` future loses nothing, and calling again continues. Dropping the
/// sink abandons what was not written (see "Atomic mode" for the file).
///
/// # Errors
/// The first failure (a write, `fsync` or rename error, a panic on the
/// blocking pool) fails the sink: it is returned once, with a message
/// naming the file and the stage name (`"file sink"` unless set), and every
/// later call returns a copy. A full disk is an error whose
/// [`io_kind`](weir_core::Error::io_kind) is `StorageFull`.
///
/// # Examples
/// ```
/// use bytes::Bytes;
/// use futures::SinkExt;
/// use weir_io::FileSink;
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), weir_core::Error> {
/// # let dir = tempfile::tempdir()?;
/// let path = dir.path().join("report.txt");
/// std::fs::write(&path, "old")?;
///
/// // A run that fails (here: the sink is dropped unclosed) leaves the old file.
/// let mut sink = FileSink::builder(&path).atomic(true).create().await?;
/// sink.send(Bytes::from_static(b"half a rep")).await?;
/// drop(sink);
/// assert_eq!(std::fs::read_to_string(&path)?, "old");
/// assert_eq!(std::fs::read_dir(dir.path())?.count(), 1); // no temporary file left
///
/// // A run that closes replaces it.
/// let mut sink = FileSink::builder(&path).atomic(true).create().await?;
/// sink.send(Bytes::from_static(b"new report")).await?;
/// sink.close().await?;
/// assert_eq!(std::fs::read_to_string(&path)?, "new report");
/// # Ok(()) }
/// ```
#[must_use = "sinks do nothing unless polled"]
pub struct FileSink {
    engine: WriteEngine<WritebackFile>,
    path: Arc<Path>,
    temp: Option<TempGuard>,
}

impl FileSink {
    /// Settings for a sink writing the file at `path`, ended by
    /// [`FileSinkBuilder::create`].
    pub fn builder(path: impl AsRef<Path>) -> FileSinkBuilder {
        FileSinkBuilder::new(path.as_ref())
    }

    /// Creates (or truncates) the file at `path` with the default settings:
    /// not atomic, no `fsync`.
    ///
    /// # Cancel safety
    /// Cancel safe, but the file may already have been created or truncated.
    ///
    /// # Errors
    /// As [`FileSinkBuilder::create`].
    pub async fn create(path: impl AsRef<Path>) -> Result<FileSink, Error> {
        FileSink::builder(path).create().await
    }

    pub(crate) fn from_parts(
        engine: WriteEngine<WritebackFile>,
        path: Arc<Path>,
        temp: Option<TempGuard>,
    ) -> Self {
        FileSink { engine, path, temp }
    }

    /// The target path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// In atomic mode, the temporary file being written (it no longer exists
    /// after a successful close, or after a failure).
    pub fn temp_path(&self) -> Option<&Path> {
        self.temp.as_ref().map(|t| t.0.path())
    }

    /// Whether this sink writes atomically (a temporary file renamed on
    /// close). An atomic builder gives a non-atomic sink for a target that
    /// is a device or a FIFO.
    pub fn is_atomic(&self) -> bool {
        self.temp.is_some()
    }

    /// The batch size.
    pub fn block_size(&self) -> usize {
        self.engine.block_size()
    }

    /// Bytes written to the file so far.
    pub fn bytes_written(&self) -> u64 {
        self.engine.counter().get()
    }

    /// Bytes accepted and not yet written.
    pub fn buffered(&self) -> usize {
        self.engine.buffered()
    }

    /// A live handle on [`bytes_written`](Self::bytes_written), usable after
    /// the sink has been moved into a pipeline.
    pub fn counter(&self) -> ByteCounter {
        self.engine.counter().clone()
    }

    /// Removes the temporary file as soon as the sink fails.
    fn check<T>(&mut self, r: Result<T, Error>) -> Result<T, Error> {
        if r.is_err()
            && self.engine.is_failed()
            && let Some(t) = &self.temp
        {
            t.0.discard();
        }
        r
    }

    fn check_poll(&mut self, p: Poll<Result<(), Error>>) -> Poll<Result<(), Error>> {
        match p {
            Poll::Ready(r) => Poll::Ready(self.check(r)),
            Poll::Pending => Poll::Pending,
        }
    }
}

impl Sink<Bytes> for FileSink {
    type Error = Error;

    /// # Return value
    /// - `Pending`: a full batch waits for the one in flight; the task is
    ///   woken when it is written.
    /// - `Ready(Ok(()))`: `start_send` may be called.
    /// - `Ready(Err(e))`: the sink has failed (in atomic mode the temporary
    ///   file is gone) or is closed.
    fn poll_ready(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        let this = self.get_mut();
        let p = this.engine.poll_ready(cx);
        this.check_poll(p)
    }

    fn start_send(self: Pin<&mut Self>, chunk: Bytes) -> Result<(), Error> {
        let this = self.get_mut();
        let r = this.engine.start_send(chunk);
        this.check(r)
    }

    /// # Return value
    /// - `Pending`: writes are in flight; the task is woken when one ends.
    /// - `Ready(Ok(()))`: everything accepted has been written (in atomic
    ///   mode, to the temporary file).
    /// - `Ready(Err(e))`: a write failed; the sink has failed.
    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        let this = self.get_mut();
        let p = this.engine.poll_flush(cx);
        this.check_poll(p)
    }

    /// # Return value
    /// - `Pending`: the last writes (or the `fsync`, or the rename) are in
    ///   flight.
    /// - `Ready(Ok(()))`: the file is complete (and in place); later calls
    ///   return `Ok` again.
    /// - `Ready(Err(e))`: something failed; the sink has failed and, in
    ///   atomic mode, the temporary file has been removed.
    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        let this = self.get_mut();
        let p = this.engine.poll_close(cx);
        this.check_poll(p)
    }
}

impl fmt::Debug for FileSink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FileSink")
            .field("path", &self.path)
            .field("temp", &self.temp_path())
            .field("engine", &self.engine)
            .finish()
    }
}
