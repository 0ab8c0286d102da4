//! Opening a file under the served root so that the file opened is the file
//! checked: names are resolved from a handle on the root, never by path,
//! and every check the server makes afterwards (kind, size, date) is made
//! on the opened file.
//!
//! On Linux, `openat2(RESOLVE_BENEATH)` resolves the whole path in the
//! kernel, which refuses any step out of the root. Where it cannot decide
//! (an absolute symlink, a `..` leading above where the lookup started),
//! where a concurrent rename makes it give up, and where the kernel has no
//! `openat2` (before 5.6), a walk in user space takes over: each name is
//! opened with `O_NOFOLLOW` from the handle of the folder before it, and a
//! symlink met on the way is read and followed by hand, a `..` going back
//! to a handle already held, never above the root. Both follow symlinks
//! that stay inside the root and refuse those that leave it, so the
//! answer does not depend on the kernel.

use std::collections::VecDeque;
use std::ffi::OsStr;
use std::fs::File;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::path::{Component, Path, PathBuf};

use rustix::fd::{AsFd, OwnedFd};
use rustix::fs::{AtFlags, FileType, Mode, OFlags};
use rustix::io::Errno;

/// Symlinks followed in one lookup before giving up (Linux's own limit).
const MAX_LINKS: usize = 40;

/// What an entry of a folder is, as seen without following it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Dir,
    Link,
    Other,
}

/// A handle on the served root, the start of every lookup.
#[derive(Debug)]
pub(crate) struct Root {
    /// The canonical path of the root: absolute symlinks are followed only
    /// when they name a place under it.
    path: PathBuf,
    fd: OwnedFd,
}

impl Root {
    /// Opens the folder at `path` (canonical).
    pub(crate) fn open_dir(path: &Path) -> io::Result<Root> {
        let fd = rustix::fs::open(path, dir_flags(), Mode::empty())?;
        Ok(Root {
            path: path.to_path_buf(),
            fd,
        })
    }

    /// Opens the file or folder named by `names` (plain names: no `/`, no
    /// `..`), read-only, following symlinks only as long as they stay
    /// under the root.
    ///
    /// A path leading outside is a `PermissionDenied` error; a name too
    /// long for the file system an `InvalidFilename` one.
    pub(crate) fn open(&self, names: &[&str]) -> io::Result<File> {
        #[cfg(target_os = "linux")]
        if let Some(opened) = self.open_in_kernel(names) {
            return opened;
        }
        self.walk(names).map(File::from)
    }

    /// The entries of the opened folder `dir` (the one `_names` led to),
    /// each with what it is (without following symlinks), leaving out `.`,
    /// `..` and names that are not UTF-8. Read from the handle: `_names`
    /// is not looked up again.
    pub(crate) fn entries(&self, _names: &[&str], dir: &File) -> io::Result<Vec<(String, Kind)>> {
        let mut out = Vec::new();
        for entry in rustix::fs::Dir::read_from(dir)? {
            let entry = entry?;
            let Ok(name) = entry.file_name().to_str() else {
                continue;
            };
            if name == "." || name == ".." {
                continue;
            }
            // Gone since: leave it out.
            let Ok(stat) = rustix::fs::statat(dir, name, AtFlags::SYMLINK_NOFOLLOW) else {
                continue;
            };
            let kind = match FileType::from_raw_mode(stat.st_mode) {
                FileType::Directory => Kind::Dir,
                FileType::Symlink => Kind::Link,
                _ => Kind::Other,
            };
            out.push((name.to_owned(), kind));
        }
        Ok(out)
    }

    /// The lookup done by the kernel with `openat2(RESOLVE_BENEATH)`, or
    /// `None` where the walk must decide.
    #[cfg(target_os = "linux")]
    fn open_in_kernel(&self, names: &[&str]) -> Option<io::Result<File>> {
        use std::sync::atomic::{AtomicBool, Ordering::Relaxed};

        use rustix::fs::ResolveFlags;

        /// Set once the kernel said it has no `openat2`.
        static MISSING: AtomicBool = AtomicBool::new(false);

        if MISSING.load(Relaxed) {
            return None;
        }
        let path = if names.is_empty() {
            ".".to_owned()
        } else {
            names.join("/")
        };
        let resolve = ResolveFlags::BENEATH | ResolveFlags::NO_MAGICLINKS;
        match rustix::fs::openat2(
            &self.fd,
            path.as_str(),
            read_flags(),
            Mode::empty(),
            resolve,
        ) {
            Ok(fd) => Some(Ok(File::from(fd))),
            Err(Errno::NOSYS) => {
                MISSING.store(true, Relaxed);
                None
            }
            // EXDEV: an absolute symlink, or one leading above the root;
            // EAGAIN: a rename raced with a `..`; EPERM: a seccomp filter
            // refusing the call; EINVAL, E2BIG: flags this kernel lacks.
            // The walk is as safe, and decides.
            Err(Errno::XDEV | Errno::AGAIN | Errno::PERM | Errno::INVAL | Errno::TOOBIG) => None,
            Err(e) => Some(Err(to_io_error(e))),
        }
    }

    /// The lookup done name by name, each opened with `O_NOFOLLOW` from the
    /// folder before it.
    fn walk(&self, names: &[&str]) -> io::Result<OwnedFd> {
        let mut pending: VecDeque<Vec<u8>> = names.iter().map(|n| n.as_bytes().to_vec()).collect();
        // The folders opened below the root, innermost last.
        let mut dirs: Vec<OwnedFd> = Vec::new();
        let mut links = 0;
        while let Some(name) = pending.pop_front() {
            match name.as_slice() {
                b"" | b"." => continue,
                b".." => {
                    dirs.pop().ok_or_else(outside)?;
                    continue;
                }
                _ => {}
            }
            let last = pending.is_empty();
            let parent = dirs.last().map_or(self.fd.as_fd(), AsFd::as_fd);
            let flags = OFlags::NOFOLLOW | if last { read_flags() } else { dir_flags() };
            let failed = match rustix::fs::openat(parent, name.as_slice(), flags, Mode::empty()) {
                Ok(fd) if last => return Ok(fd),
                Ok(fd) => {
                    dirs.push(fd);
                    continue;
                }
                Err(e) => e,
            };
            // ELOOP (EMLINK on FreeBSD, ENOTDIR with O_DIRECTORY on some
            // systems): maybe a symlink, to be followed by hand.
            if !matches!(failed, Errno::LOOP | Errno::MLINK | Errno::NOTDIR) {
                return Err(to_io_error(failed));
            }
            links += 1;
            if links > MAX_LINKS {
                return Err(to_io_error(Errno::LOOP));
            }
            match rustix::fs::readlinkat(parent, name.as_slice(), Vec::new()) {
                Ok(target) => self.follow(target.as_bytes(), &mut dirs, &mut pending)?,
                // Not a symlink (any more): a file renamed over it since,
                // to be looked at again; or really not a folder.
                Err(Errno::INVAL) if failed != Errno::NOTDIR => pending.push_front(name),
                Err(_) => return Err(to_io_error(failed)),
            }
        }
        // The names ended on a folder (or there were none): the root, or
        // the last folder opened.
        match dirs.pop() {
            Some(fd) => Ok(fd),
            None => self.fd.try_clone(),
        }
    }

    /// Puts the names of a symlink's `target` before the `pending` ones: a
    /// relative target goes on from the link's folder, an absolute one
    /// from the root, if it names a place under it.
    fn follow(
        &self,
        target: &[u8],
        dirs: &mut Vec<OwnedFd>,
        pending: &mut VecDeque<Vec<u8>>,
    ) -> io::Result<()> {
        let target = Path::new(OsStr::from_bytes(target));
        let relative = if target.is_absolute() {
            let rest = target.strip_prefix(&self.path).map_err(|_| outside())?;
            dirs.clear();
            rest
        } else {
            target
        };
        for component in relative.components().rev() {
            match component {
                Component::Normal(name) => pending.push_front(name.as_bytes().to_vec()),
                Component::ParentDir => pending.push_front(b"..".to_vec()),
                Component::CurDir | Component::RootDir | Component::Prefix(_) => {}
            }
        }
        Ok(())
    }
}

/// `e` as an I/O error. Too many symlinks (a loop) is a `NotFound` one, as
/// the path names no file; a socket or a device without a driver (which
/// cannot be opened) a `PermissionDenied` one, as neither a file nor a
/// folder is served.
fn to_io_error(e: Errno) -> io::Error {
    match e {
        Errno::LOOP => io::Error::new(io::ErrorKind::NotFound, "too many levels of symlinks"),
        Errno::NXIO | Errno::NODEV => io::Error::new(
            io::ErrorKind::PermissionDenied,
            "neither a file nor a folder",
        ),
        e => e.into(),
    }
}

/// The error for a path leading outside the root (403).
fn outside() -> io::Error {
    io::Error::new(
        io::ErrorKind::PermissionDenied,
        "the path leads outside the served folder",
    )
}

/// Flags for the file (or folder) a lookup ends on: read-only, never
/// waiting (a FIFO), never becoming a controlling terminal.
fn read_flags() -> OFlags {
    OFlags::RDONLY | OFlags::NONBLOCK | OFlags::NOCTTY | OFlags::CLOEXEC
}

/// Flags for a folder on the way.
fn dir_flags() -> OFlags {
    OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC
}

#[cfg(test)]
mod tests {
    use std::io::Read;
    use std::os::unix::fs::symlink;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};

    use super::*;

    fn read(file: io::Result<File>) -> io::Result<String> {
        let mut text = String::new();
        file?.read_to_string(&mut text)?;
        Ok(text)
    }

    /// `dir/www` with files, folders and symlinks of every kind, and
    /// `dir/secret.txt` outside it. Returns the canonical `www`.
    fn tree(dir: &Path) -> io::Result<PathBuf> {
        let www = dir.canonicalize()?.join("www");
        std::fs::create_dir_all(www.join("sub"))?;
        std::fs::write(www.join("a.txt"), "a")?;
        std::fs::write(www.join("sub/b.txt"), "b")?;
        std::fs::write(dir.join("secret.txt"), "secret")?;
        symlink("sub/b.txt", www.join("rel"))?;
        symlink(www.join("a.txt"), www.join("abs"))?;
        symlink("../a.txt", www.join("sub/up"))?;
        symlink("sub", www.join("subdir"))?;
        symlink(&www, www.join("self"))?;
        symlink("../secret.txt", www.join("out-rel"))?;
        symlink(dir.join("secret.txt"), www.join("out-abs"))?;
        symlink("../../secret.txt", www.join("sub/out-deep"))?;
        symlink(www.join("../secret.txt"), www.join("out-abs-dotdot"))?;
        symlink(dir, www.join("out-dir"))?;
        symlink("loop", www.join("loop"))?;
        Ok(www)
    }

    #[test]
    fn links_inside_are_followed_and_links_outside_refused() -> io::Result<()> {
        let dir = tempfile::tempdir()?;
        let www = tree(dir.path())?;
        let root = Root::open_dir(&www)?;
        let walked = |names: &[&str]| root.walk(names).map(File::from);
        for (names, want) in [
            (&["a.txt"][..], "a"),
            (&["sub", "b.txt"], "b"),
            (&["rel"], "b"),
            (&["abs"], "a"),
            (&["sub", "up"], "a"),
            (&["subdir", "b.txt"], "b"),
            (&["subdir", "up"], "a"),
            (&["self", "sub", "b.txt"], "b"),
        ] {
            assert_eq!(read(root.open(names))?, want, "{names:?}");
            assert_eq!(read(walked(names))?, want, "walked {names:?}");
        }
        for names in [
            &["out-rel"][..],
            &["out-abs"],
            &["sub", "out-deep"],
            &["out-abs-dotdot"],
            &["out-dir", "secret.txt"],
            &["out-dir"],
        ] {
            for (how, opened) in [("open", root.open(names)), ("walk", walked(names))] {
                let kind = opened.map(|_| ()).map_err(|e| e.kind());
                assert_eq!(
                    kind,
                    Err(io::ErrorKind::PermissionDenied),
                    "{how} {names:?}"
                );
            }
        }
        for names in [&["loop"][..], &["missing"], &["a.txt", "x"]] {
            for (how, opened) in [("open", root.open(names)), ("walk", walked(names))] {
                let kind = opened.map(|_| ()).map_err(|e| e.kind());
                assert!(
                    matches!(
                        kind,
                        Err(io::ErrorKind::NotFound | io::ErrorKind::NotADirectory)
                    ),
                    "{how} {names:?}: {kind:?}"
                );
            }
        }
        let long = "x".repeat(300);
        for (how, opened) in [("open", root.open(&[&long])), ("walk", walked(&[&long]))] {
            let kind = opened.map(|_| ()).map_err(|e| e.kind());
            assert_eq!(kind, Err(io::ErrorKind::InvalidFilename), "{how}");
        }
        // The root itself, and the entries of a folder read from its handle.
        assert!(root.open(&[])?.metadata()?.is_dir());
        assert!(walked(&["subdir"])?.metadata()?.is_dir());
        let mut entries = root.entries(&["sub"], &root.open(&["sub"])?)?;
        entries.sort_by(|a, b| a.0.cmp(&b.0));
        let want = [
            ("b.txt", Kind::Other),
            ("out-deep", Kind::Link),
            ("up", Kind::Link),
        ];
        let want: Vec<(String, Kind)> = want.iter().map(|(n, k)| ((*n).to_owned(), *k)).collect();
        assert_eq!(entries, want);
        Ok(())
    }

    /// The walk (the fallback where `openat2` is missing) against a name
    /// swapped between a file and a symlink leading outside.
    #[test]
    fn the_walk_never_opens_a_link_swapped_in() -> io::Result<()> {
        let dir = tempfile::tempdir()?;
        let www = tree(dir.path())?;
        let root = Root::open_dir(&www)?;
        std::fs::write(www.join("race"), "public")?;
        let stop = Arc::new(AtomicBool::new(false));
        let swapper = {
            let (www, secret, stop) = (www.clone(), dir.path().join("secret.txt"), stop.clone());
            std::thread::spawn(move || -> io::Result<()> {
                let mut swaps = 0;
                while !stop.load(Ordering::Relaxed) && swaps < 1_000_000 {
                    std::fs::write(www.join(".file"), "public")?;
                    std::fs::rename(www.join(".file"), www.join("race"))?;
                    symlink(&secret, www.join(".link"))?;
                    std::fs::rename(www.join(".link"), www.join("race"))?;
                    swaps += 1;
                }
                Ok(())
            })
        };
        let (mut public, mut refused) = (0, 0);
        let started = std::time::Instant::now();
        // At least 3000 lookups, and until both states were seen (30 s at
        // most: the swapper thread may get little time on a loaded machine).
        while public + refused < 3000
            || (public == 0 || refused == 0) && started.elapsed().as_secs() < 30
        {
            match read(root.walk(&["race"]).map(File::from)) {
                Ok(text) => {
                    assert_eq!(text, "public");
                    public += 1;
                }
                Err(e) if e.kind() == io::ErrorKind::PermissionDenied => refused += 1,
                Err(e) => return Err(e),
            }
        }
        stop.store(true, Ordering::Relaxed);
        swapper
            .join()
            .map_err(|_| io::Error::other("the swapper panicked"))??;
        assert!(
            public > 0 && refused > 0,
            "{public} public, {refused} refused"
        );
        Ok(())
    }
}
