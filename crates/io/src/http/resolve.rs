//! Mapping a request path onto a file under the root, refusing every way
//! out of it.

use std::io;
use std::path::{Path, PathBuf};

use http::StatusCode;
use percent_encoding::percent_decode_str;

/// The file (or folder) a request path names, canonical and inside `root`
/// (itself canonical).
///
/// Each `/`-separated segment is percent-decoded on its own (so `%2F`
/// cannot make a separator). `.` and empty segments are skipped. Refused:
/// `..` in any spelling (403), a segment holding `/`, `\` or NUL once
/// decoded, invalid UTF-8 or a path not starting with `/` (400), and a
/// path that leaves `root` once symlinks are resolved (403). A missing file
/// is 404.
pub(crate) async fn resolve(root: &Path, raw_path: &str) -> Result<PathBuf, StatusCode> {
    let joined = join(root, raw_path)?;
    let canonical = match tokio::fs::canonicalize(&joined).await {
        Ok(p) => p,
        Err(e) => return Err(io_status(&e)),
    };
    if !canonical.starts_with(root) {
        return Err(StatusCode::FORBIDDEN);
    }
    Ok(canonical)
}

/// `root` joined with the decoded segments of `raw_path`, not yet checked
/// against symlinks.
pub(crate) fn join(root: &Path, raw_path: &str) -> Result<PathBuf, StatusCode> {
    let Some(rest) = raw_path.strip_prefix('/') else {
        return Err(StatusCode::BAD_REQUEST);
    };
    let mut path = root.to_path_buf();
    for raw in rest.split('/') {
        let decoded = percent_decode_str(raw)
            .decode_utf8()
            .map_err(|_| StatusCode::BAD_REQUEST)?;
        match decoded.as_ref() {
            "" | "." => continue,
            ".." => return Err(StatusCode::FORBIDDEN),
            s if s.contains(['/', '\\', '\0']) => return Err(StatusCode::BAD_REQUEST),
            s => path.push(s),
        }
    }
    Ok(path)
}

/// The status an I/O error on a requested file maps to.
pub(crate) fn io_status(e: &io::Error) -> StatusCode {
    match e.kind() {
        io::ErrorKind::NotFound | io::ErrorKind::NotADirectory => StatusCode::NOT_FOUND,
        io::ErrorKind::PermissionDenied => StatusCode::FORBIDDEN,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segments_are_decoded_one_by_one() {
        let root = Path::new("/srv");
        assert_eq!(join(root, "/a/b.txt"), Ok(PathBuf::from("/srv/a/b.txt")));
        assert_eq!(join(root, "/a%20b"), Ok(PathBuf::from("/srv/a b")));
        assert_eq!(join(root, "//./a//"), Ok(PathBuf::from("/srv/a")));
        assert_eq!(join(root, "/../etc/passwd"), Err(StatusCode::FORBIDDEN));
        assert_eq!(join(root, "/a/%2e%2e/%2E%2E/x"), Err(StatusCode::FORBIDDEN));
        assert_eq!(join(root, "/a%2f..%2fb"), Err(StatusCode::BAD_REQUEST));
        assert_eq!(join(root, "/a%00"), Err(StatusCode::BAD_REQUEST));
        assert_eq!(join(root, "/%ff"), Err(StatusCode::BAD_REQUEST));
        assert_eq!(join(root, "etc/passwd"), Err(StatusCode::BAD_REQUEST));
    }
}
