use std::fs::{self, File, OpenOptions};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use weir_core::Error;

use super::temp_file::{TempFile, TempGuard};
use super::writeback::WritebackFile;
use crate::context::{IoContext, described};
use crate::spawn::{Spawner, join_error};
use crate::trace::io_debug;
use crate::write_engine::{Finisher, WriteEngine};
use crate::{DEFAULT_BLOCK_SIZE, FileSink};

/// Settings for a [`FileSink`]; made by [`FileSink::builder`], ended by
/// [`create`](Self::create).
///
/// Defaults (not part of the semver contract): 1 MiB batches, not atomic
/// (the file is created or truncated in place, like `File::create`), no
/// `fsync`, early writeback every 8 MiB, stage name `"file sink"`.
///
/// # Examples
/// ```
/// use bytes::Bytes;
/// use futures::SinkExt;
/// use weir_io::FileSink;
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), weir_core::Error> {
/// # let dir = tempfile::tempdir()?;
/// let path = dir.path().join("out.txt");
/// let mut sink = FileSink::builder(&path)
///     .atomic(true)
///     .fsync(true)
///     .block_size(4 << 20)
///     .name("output")
///     .create()
///     .await?;
/// sink.send(Bytes::from_static(b"all or nothing")).await?;
/// assert!(!path.exists()); // still a temporary file
/// sink.close().await?;
/// assert_eq!(std::fs::read(&path)?, b"all or nothing");
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct FileSinkBuilder {
    path: PathBuf,
    block: usize,
    atomic: bool,
    fsync: bool,
    writeback: usize,
    name: Arc<str>,
}

/// The default of [`FileSinkBuilder::writeback`].
const DEFAULT_WRITEBACK: usize = 8 * 1024 * 1024;

impl FileSinkBuilder {
    pub(crate) fn new(path: &Path) -> Self {
        FileSinkBuilder {
            path: path.to_path_buf(),
            block: DEFAULT_BLOCK_SIZE,
            atomic: false,
            fsync: false,
            writeback: DEFAULT_WRITEBACK,
            name: Arc::from("file sink"),
        }
    }

    /// How many bytes a batch gathers before it is written in one blocking
    /// hop (at least 1).
    pub fn block_size(&mut self, n: usize) -> &mut Self {
        self.block = n;
        self
    }

    /// `true`: write a temporary file in the target's folder and rename it
    /// over the target only when `close`
    /// succeeds; on any failure, and when the sink is dropped before that,
    /// the temporary file is removed and the target stays as it was. See
    /// [`FileSink`], "Atomic mode", for the exact guarantees.
    ///
    /// `false` (the default): create or truncate the target when the sink is
    /// created and write it in place; a failed run leaves a partial file.
    pub fn atomic(&mut self, atomic: bool) -> &mut Self {
        self.atomic = atomic;
        self
    }

    /// `true`: on close, `fsync` the file before reporting success (and, in
    /// atomic mode, before the rename, then `fsync` the folder after it), so
    /// that the data survives a crash of the machine. Costs a wait for the
    /// disk. Default `false`.
    pub fn fsync(&mut self, fsync: bool) -> &mut Self {
        self.fsync = fsync;
        self
    }

    /// Every `step` bytes written, ask the operating system to start writing
    /// them to the disk (on Linux, `posix_fadvise(POSIX_FADV_DONTNEED)` on
    /// the range, which starts writeback without waiting for it); `0` turns
    /// this off. Default 8 MiB.
    ///
    /// A streamed write otherwise leaves the whole file dirty in the page
    /// cache until the kernel gets round to it, and on ext4 replacing a file
    /// (the atomic rename, or truncating and rewriting it) makes the writer
    /// start all of that writeback at once, inside the final `rename` or
    /// `close`: about half a second per GiB on the machine where this was
    /// measured (docs/benchmarks.md, "Files"). Started as the data arrives,
    /// that work overlaps the run, and the dirty data held in memory stays
    /// near `step`. Only advice: no effect on other systems or on anything
    /// but a regular file, and never an error.
    pub fn writeback(&mut self, step: usize) -> &mut Self {
        self.writeback = step;
        self
    }

    /// The stage name errors carry ([`weir_core::Error::stage`]).
    pub fn name(&mut self, name: impl Into<Arc<str>>) -> &mut Self {
        self.name = name.into();
        self
    }

    /// Creates the file (in atomic mode: the temporary file) on the blocking
    /// pool and returns the sink.
    ///
    /// # Cancel safety
    /// Cancel safe: if the future is dropped, a temporary file it made is
    /// removed. In the default mode the target may already have been
    /// created or truncated.
    ///
    /// # Errors
    /// If the file (or the temporary file) cannot be created: a missing
    /// folder, permission denied, a folder of that name, … with a message
    /// naming the path and a fitting [`io_kind`](weir_core::Error::io_kind);
    /// also without a Tokio runtime.
    pub async fn create(&self) -> Result<FileSink, Error> {
        let ctx = IoContext::new(self.name.clone(), None);
        let path: Arc<Path> = Arc::from(self.path.as_path());
        let atomic = self.atomic;
        let job = {
            let path = path.clone();
            Spawner::new()
                .spawn(move || open_for_writing(&path, atomic))
                .map_err(|e| ctx.error(e))?
        };
        let (file, temp) = job
            .await
            .map_err(|e| ctx.error(join_error(e)))?
            .map_err(|e| ctx.error(e))?;
        io_debug!(path = %path.display(), atomic = temp.is_some(), "io.file created for writing");
        let fsync = self.fsync;
        let finish_temp = temp.clone();
        let shown = path.clone();
        let finisher: Finisher<WritebackFile> = Box::new(move |file: WritebackFile| {
            let file = file.into_file();
            if fsync {
                file.sync_all()
                    .map_err(|e| described(format!("cannot fsync {}", shown.display()), e))?;
            }
            drop(file);
            match finish_temp {
                Some(t) => t.commit(fsync),
                None => Ok(()),
            }
        });
        let engine = WriteEngine::new(
            WritebackFile::new(file, self.writeback),
            self.block,
            finisher,
            IoContext::new(self.name.clone(), Some(path.clone())),
        );
        Ok(FileSink::from_parts(engine, path, temp.map(TempGuard)))
    }
}

/// The path a chain of symbolic links at `path` ends at (relative links
/// resolved from their folder), or `path` itself; gives up after 40 links,
/// as the kernel does.
fn follow_links(path: &Path) -> PathBuf {
    let mut p = path.to_path_buf();
    for _ in 0..40 {
        let is_link = fs::symlink_metadata(&p).is_ok_and(|m| m.file_type().is_symlink());
        let Some(next) = is_link.then(|| fs::read_link(&p).ok()).flatten() else {
            break;
        };
        p = match p.parent() {
            Some(dir) if next.is_relative() => dir.join(next),
            _ => next,
        };
    }
    p
}

/// Opens the file to write: a temporary file next to the target in atomic
/// mode (unless the target exists and is not a regular file: a device or a
/// FIFO is written in place, there being nothing to replace), else the
/// target itself, created or truncated.
fn open_for_writing(path: &Path, atomic: bool) -> io::Result<(File, Option<Arc<TempFile>>)> {
    let what = || format!("cannot create {}", path.display());
    let existing = fs::metadata(path).ok();
    if existing.as_ref().is_some_and(|m| m.is_dir()) {
        return Err(described(
            what(),
            io::Error::new(io::ErrorKind::IsADirectory, "is a directory"),
        ));
    }
    if atomic && existing.as_ref().is_none_or(|m| m.is_file()) {
        // Follow a symbolic link (even one whose file does not exist yet),
        // so the file it points to is written and the link stays a link.
        let target = follow_links(path);
        let (file, temp) = TempFile::create(&target)?;
        return Ok((file, Some(temp)));
    }
    let file = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .open(path)
        .map_err(|e| described(what(), e))?;
    Ok((file, None))
}
