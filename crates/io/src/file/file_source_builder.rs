use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use weir_core::Error;

use crate::context::{IoContext, described};
use crate::read_engine::{ReadConfig, ReadEngine};
use crate::spawn::{Spawner, join_error};
use crate::trace::io_debug;
use crate::{DEFAULT_BLOCK_SIZE, DEFAULT_CHUNK_SIZE, FileSource};

/// Settings for a [`FileSource`]; made by [`FileSource::builder`], ended by
/// [`open`](Self::open).
///
/// Defaults (not part of the semver contract): 64 KiB chunks, 1 MiB blocks,
/// stage name `"file source"`.
///
/// # Examples
/// ```
/// use futures::TryStreamExt;
/// use weir_io::FileSource;
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), weir_core::Error> {
/// # let dir = tempfile::tempdir()?;
/// let path = dir.path().join("in.txt");
/// std::fs::write(&path, "0123456789")?;
/// let chunks: Vec<_> = FileSource::builder(&path)
///     .chunk_size(4)
///     .block_size(1 << 20)
///     .name("input")
///     .open()
///     .await?
///     .try_collect()
///     .await?;
/// assert_eq!(chunks, ["0123", "4567", "89"]);
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct FileSourceBuilder {
    path: PathBuf,
    chunk: usize,
    block: usize,
    name: Arc<str>,
}

impl FileSourceBuilder {
    pub(crate) fn new(path: &Path) -> Self {
        FileSourceBuilder {
            path: path.to_path_buf(),
            chunk: DEFAULT_CHUNK_SIZE,
            block: DEFAULT_BLOCK_SIZE,
            name: Arc::from("file source"),
        }
    }

    /// The size of the chunks handed out (at least 1 byte). For a regular
    /// file every chunk but the last is exactly this long; a FIFO or a
    /// device (`/dev/stdin`, a named pipe) is read like a pipe, and each
    /// chunk is at most this long.
    pub fn chunk_size(&mut self, n: usize) -> &mut Self {
        self.chunk = n;
        self
    }

    /// How much one blocking read moves. Raised to the chunk size if
    /// smaller, and rounded up to a multiple of it. Large blocks make few
    /// hops to the blocking pool (each hop costs about as much as copying
    /// tens of KiB); see the crate docs.
    pub fn block_size(&mut self, n: usize) -> &mut Self {
        self.block = n;
        self
    }

    /// The stage name errors carry ([`weir_core::Error::stage`]).
    pub fn name(&mut self, name: impl Into<Arc<str>>) -> &mut Self {
        self.name = name.into();
        self
    }

    /// Opens the file (on the blocking pool) and returns the source. No
    /// data is read until the source is first polled.
    ///
    /// # Cancel safety
    /// Cancel safe: dropping the future closes the file if it was opened.
    ///
    /// # Errors
    /// If the file cannot be opened (missing, permission denied, …) or is a
    /// folder, with a message naming the path and an
    /// [`io_kind`](weir_core::Error::io_kind) such as `NotFound`,
    /// `PermissionDenied` or `IsADirectory`; also without a Tokio runtime.
    pub async fn open(&self) -> Result<FileSource, Error> {
        let ctx = IoContext::new(self.name.clone(), None);
        let path: Arc<Path> = Arc::from(self.path.as_path());
        let opened = {
            let path = path.clone();
            Spawner::new()
                .spawn(move || open_for_reading(&path))
                .map_err(|e| ctx.error(e))?
        };
        let (file, len, regular) = opened
            .await
            .map_err(|e| ctx.error(join_error(e)))?
            .map_err(|e| ctx.error(e))?;
        io_debug!(path = %path.display(), len.bytes = len, "io.file opened for reading");
        // A regular file never makes a read wait for more data, so its blocks
        // are filled; a FIFO or a device gets what each read returns.
        let cfg = ReadConfig::new(self.chunk, self.block, regular);
        let engine = ReadEngine::new(
            file,
            cfg,
            IoContext::new(self.name.clone(), Some(path.clone())),
        );
        Ok(FileSource::from_parts(engine, path, len))
    }
}

fn open_for_reading(path: &Path) -> io::Result<(File, u64, bool)> {
    let what = || format!("cannot open {}", path.display());
    let file = File::open(path).map_err(|e| described(what(), e))?;
    let meta = file.metadata().map_err(|e| described(what(), e))?;
    if meta.is_dir() {
        return Err(described(
            what(),
            io::Error::new(io::ErrorKind::IsADirectory, "is a directory"),
        ));
    }
    Ok((file, meta.len(), meta.is_file()))
}
