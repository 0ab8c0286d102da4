//! The temporary file behind an atomic `FileSink`: created next to the
//! target, renamed over it on success, removed on every other outcome.

use std::fs::{self, File, OpenOptions};
use std::hash::{BuildHasher, RandomState};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use crate::context::described;
use crate::trace::io_debug;

/// Best effort: the replacement keeps the replaced file's owner, group and
/// mode. Where the owner or group cannot be kept (a user replacing a file
/// of another), the set-user-ID and set-group-ID bits are dropped, so no
/// program runs as an owner who did not write it.
#[cfg(unix)]
fn carry_over(file: &File, meta: &fs::Metadata) {
    use std::os::unix::fs::{MetadataExt, PermissionsExt, fchown};
    let kept = fchown(file, Some(meta.uid()), Some(meta.gid())).is_ok();
    let mut mode = meta.permissions().mode() & 0o7777;
    if !kept {
        mode &= !0o6000;
    }
    // After the chown, which may itself clear the set-ID bits.
    let _ = file.set_permissions(fs::Permissions::from_mode(mode));
}

/// Best effort: the replacement keeps the replaced file's permissions.
#[cfg(not(unix))]
fn carry_over(file: &File, meta: &fs::Metadata) {
    let _ = file.set_permissions(meta.permissions());
}

/// How many names are tried before giving up on `AlreadyExists`.
const ATTEMPTS: usize = 32;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// The temporary file exists and holds (part of) the new contents.
    Pending,
    /// It has been renamed over the target.
    Renamed,
    /// It has been removed (or its removal was attempted).
    Removed,
}

/// A temporary file's path and fate. Renaming and removing both hold the
/// lock, so a sink dropped while its close is running either finds the
/// rename done (the target is replaced, completely) or prevents it (the
/// target is untouched).
#[derive(Debug)]
pub(crate) struct TempFile {
    target: PathBuf,
    tmp: PathBuf,
    phase: Mutex<Phase>,
}

impl TempFile {
    /// Creates `.NAME.weir-XXXXXX.tmp` next to `target` with `create_new`
    /// (so it never opens an existing file), carrying over the permissions
    /// of an existing target.
    pub(crate) fn create(target: &Path) -> io::Result<(File, Arc<TempFile>)> {
        let Some(name) = target.file_name() else {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("cannot create {}: not a file name", target.display()),
            ));
        };
        let dir = match target.parent() {
            Some(d) if !d.as_os_str().is_empty() => d,
            _ => Path::new("."),
        };
        let mut last = None;
        for _ in 0..ATTEMPTS {
            let mut file_name = std::ffi::OsString::from(".");
            file_name.push(name);
            file_name.push(format!(".weir-{}.tmp", random_suffix()));
            let tmp = dir.join(file_name);
            match OpenOptions::new().write(true).create_new(true).open(&tmp) {
                Ok(file) => {
                    if let Ok(meta) = fs::metadata(target) {
                        carry_over(&file, &meta);
                    }
                    io_debug!(tmp = %tmp.display(), target = %target.display(), "io.file temporary created");
                    let temp = TempFile {
                        target: target.to_path_buf(),
                        tmp,
                        phase: Mutex::new(Phase::Pending),
                    };
                    return Ok((file, Arc::new(temp)));
                }
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => last = Some(e),
                Err(e) => {
                    return Err(described(
                        format!(
                            "cannot create a temporary file for {} in {}",
                            target.display(),
                            dir.display()
                        ),
                        e,
                    ));
                }
            }
        }
        let e = last.unwrap_or_else(|| io::Error::from(io::ErrorKind::AlreadyExists));
        Err(described(
            format!(
                "cannot create a temporary file for {} in {}",
                target.display(),
                dir.display()
            ),
            e,
        ))
    }

    pub(crate) fn path(&self) -> &Path {
        &self.tmp
    }

    fn lock(&self) -> MutexGuard<'_, Phase> {
        match self.phase.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        }
    }

    /// Renames the temporary file over the target; then, with `fsync`,
    /// syncs the folder so the rename itself is durable. On a failed rename
    /// the temporary file is removed.
    pub(crate) fn commit(&self, fsync: bool) -> io::Result<()> {
        let mut phase = self.lock();
        if *phase != Phase::Pending {
            return Err(io::Error::new(
                io::ErrorKind::Interrupted,
                format!(
                    "{} was not replaced: the sink was dropped or had failed",
                    self.target.display()
                ),
            ));
        }
        if let Err(e) = fs::rename(&self.tmp, &self.target) {
            let _ = fs::remove_file(&self.tmp);
            *phase = Phase::Removed;
            return Err(described(
                format!(
                    "cannot rename {} to {}",
                    self.tmp.display(),
                    self.target.display()
                ),
                e,
            ));
        }
        *phase = Phase::Renamed;
        drop(phase);
        io_debug!(target = %self.target.display(), "io.file renamed into place");
        if fsync {
            let dir = match self.target.parent() {
                Some(d) if !d.as_os_str().is_empty() => d,
                _ => Path::new("."),
            };
            File::open(dir).and_then(|d| d.sync_all()).map_err(|e| {
                described(
                    format!(
                        "{} was replaced, but cannot fsync its folder {}",
                        self.target.display(),
                        dir.display()
                    ),
                    e,
                )
            })?;
        }
        Ok(())
    }

    /// Removes the temporary file unless it was renamed; idempotent.
    pub(crate) fn discard(&self) {
        let mut phase = self.lock();
        if *phase == Phase::Pending {
            let _ = fs::remove_file(&self.tmp);
            *phase = Phase::Removed;
            io_debug!(tmp = %self.tmp.display(), "io.file temporary removed");
        }
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        // Reached when nothing else will: e.g. `create()` was cancelled
        // after the file was made.
        self.discard();
    }
}

/// Owned by the sink: dropping the sink discards the temporary file at
/// once, even while a blocking job still holds the `TempFile`.
#[derive(Debug)]
pub(crate) struct TempGuard(pub(crate) Arc<TempFile>);

impl Drop for TempGuard {
    fn drop(&mut self) {
        self.0.discard();
    }
}

/// Six characters from `[a-z0-9]`, different for every call in a process
/// and (through `RandomState`'s random keys) between processes.
fn random_suffix() -> String {
    static CALLS: AtomicU64 = AtomicU64::new(0);
    let n = CALLS.fetch_add(1, Ordering::Relaxed);
    let mut h = RandomState::new().hash_one((std::process::id(), n));
    const ALPHABET: &[u8; 36] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    let mut s = String::with_capacity(6);
    for _ in 0..6 {
        s.push(char::from(ALPHABET[(h % 36) as usize]));
        h /= 36;
    }
    s
}
