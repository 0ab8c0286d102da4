//! Opening a file under the served root where there are no `openat`
//! handles (not Unix): by path, checked against the canonical root first.
//! Unlike the Unix version, a symlink swapped in between the check and
//! the open is not caught.

use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};

/// What an entry of a folder is, as seen without following it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Dir,
    Link,
    Other,
}

/// The served root, the start of every lookup.
#[derive(Debug)]
pub(crate) struct Root {
    path: PathBuf,
}

impl Root {
    /// Checks that `path` (canonical) is a folder.
    pub(crate) fn open_dir(path: &Path) -> io::Result<Root> {
        if !std::fs::metadata(path)?.is_dir() {
            return Err(io::Error::new(io::ErrorKind::NotADirectory, "not a folder"));
        }
        Ok(Root {
            path: path.to_path_buf(),
        })
    }

    /// Opens the file or folder named by `names`, if it lies under the
    /// root once symlinks are resolved (else a `PermissionDenied` error).
    pub(crate) fn open(&self, names: &[&str]) -> io::Result<File> {
        let path = self.checked(names)?;
        let meta = std::fs::metadata(&path)?;
        if !meta.is_file() && !meta.is_dir() {
            return Err(io::Error::new(
                io::ErrorKind::PermissionDenied,
                "neither a file nor a folder",
            ));
        }
        let mut options = std::fs::OpenOptions::new();
        options.read(true);
        #[cfg(windows)]
        {
            use std::os::windows::fs::OpenOptionsExt;
            // FILE_FLAG_BACKUP_SEMANTICS: folders can be opened too.
            options.custom_flags(0x0200_0000);
        }
        options.open(path)
    }

    /// The entries of the folder named by `names`, each with what it is
    /// (without following symlinks). `_dir` is that folder, opened.
    pub(crate) fn entries(&self, names: &[&str], _dir: &File) -> io::Result<Vec<(String, Kind)>> {
        let mut out = Vec::new();
        for entry in std::fs::read_dir(self.checked(names)?)? {
            let entry = entry?;
            let Ok(name) = entry.file_name().into_string() else {
                continue;
            };
            let Ok(kind) = entry.file_type() else {
                continue;
            };
            let kind = if kind.is_symlink() {
                Kind::Link
            } else if kind.is_dir() {
                Kind::Dir
            } else {
                Kind::Other
            };
            out.push((name, kind));
        }
        Ok(out)
    }

    /// The canonical path `names` leads to, if under the root.
    fn checked(&self, names: &[&str]) -> io::Result<PathBuf> {
        let mut path = self.path.clone();
        path.extend(names);
        let canonical = std::fs::canonicalize(path)?;
        if canonical.starts_with(&self.path) {
            Ok(canonical)
        } else {
            Err(io::Error::new(
                io::ErrorKind::PermissionDenied,
                "the path leads outside the served folder",
            ))
        }
    }
}
