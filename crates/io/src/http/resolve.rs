//! Mapping a request path onto the names of a file under the root, refusing
//! every way out of it that can be seen in the path itself (the file
//! system's part, symlinks, is [`super::beneath`]'s).

use std::io;

use http::StatusCode;
use percent_encoding::percent_decode_str;

use crate::trace::io_error;

/// The decoded names a request path is made of, from the root down.
///
/// Each `/`-separated segment is percent-decoded on its own (so `%2F`
/// cannot make a separator). `.` and empty segments are skipped. Refused:
/// `..` in any spelling (403), a segment holding `/`, `\` or NUL once
/// decoded, invalid UTF-8 or a path not starting with `/` (400).
pub(crate) fn segments(raw_path: &str) -> Result<Vec<String>, StatusCode> {
    let Some(rest) = raw_path.strip_prefix('/') else {
        return Err(StatusCode::BAD_REQUEST);
    };
    let mut names = Vec::new();
    for raw in rest.split('/') {
        let decoded = percent_decode_str(raw)
            .decode_utf8()
            .map_err(|_| StatusCode::BAD_REQUEST)?;
        match decoded.as_ref() {
            "" | "." => continue,
            ".." => return Err(StatusCode::FORBIDDEN),
            s if s.contains(['/', '\\', '\0']) => return Err(StatusCode::BAD_REQUEST),
            s => names.push(s.to_owned()),
        }
    }
    Ok(names)
}

/// The status an I/O error on the requested `path` maps to. A name too
/// long for the file system (`ENAMETOOLONG`) names no file: 404. What maps to 500 is
/// logged (at ERROR) with its cause, as the client is told nothing.
pub(crate) fn io_status(e: &io::Error, path: &str) -> StatusCode {
    match e.kind() {
        io::ErrorKind::NotFound | io::ErrorKind::NotADirectory | io::ErrorKind::InvalidFilename => {
            StatusCode::NOT_FOUND
        }
        io::ErrorKind::PermissionDenied => StatusCode::FORBIDDEN,
        // Out of descriptors: passes (the server adds Retry-After).
        _ if super::fd_limit::is_out_of_fds(e) => StatusCode::SERVICE_UNAVAILABLE,
        _ => {
            io_error!(path = %path, error = %e, "file server: 500 Internal Server Error");
            let _ = path;
            StatusCode::INTERNAL_SERVER_ERROR
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segments_are_decoded_one_by_one() {
        assert_eq!(segments("/a/b.txt"), Ok(vec!["a".into(), "b.txt".into()]));
        assert_eq!(segments("/a%20b"), Ok(vec!["a b".into()]));
        assert_eq!(segments("//./a//"), Ok(vec!["a".into()]));
        assert_eq!(segments("/"), Ok(vec![]));
        assert_eq!(segments("/../etc/passwd"), Err(StatusCode::FORBIDDEN));
        assert_eq!(segments("/a/%2e%2e/%2E%2E/x"), Err(StatusCode::FORBIDDEN));
        assert_eq!(segments("/a%2f..%2fb"), Err(StatusCode::BAD_REQUEST));
        assert_eq!(segments("/a%5cb"), Err(StatusCode::BAD_REQUEST));
        assert_eq!(segments("/a%00"), Err(StatusCode::BAD_REQUEST));
        assert_eq!(segments("/%ff"), Err(StatusCode::BAD_REQUEST));
        assert_eq!(segments("etc/passwd"), Err(StatusCode::BAD_REQUEST));
    }

    /// A 500 says nothing to the client: its cause goes to the log, at
    /// ERROR (what `weir serve` shows without `RUST_LOG`).
    #[cfg(feature = "tracing")]
    #[test]
    fn a_500_logs_its_cause() {
        use std::sync::{Arc, Mutex};

        #[derive(Clone, Default)]
        struct Log(Arc<Mutex<Vec<u8>>>);
        impl io::Write for Log {
            fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
                if let Ok(mut log) = self.0.lock() {
                    log.extend_from_slice(buf);
                }
                Ok(buf.len())
            }
            fn flush(&mut self) -> io::Result<()> {
                Ok(())
            }
        }
        let log = Log::default();
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::ERROR)
            .with_ansi(false)
            .with_writer({
                let log = log.clone();
                move || log.clone()
            })
            .finish();
        let statuses = tracing::subscriber::with_default(subscriber, || {
            [
                io_status(&io::Error::other("the disk caught fire"), "/a/b.txt"),
                io_status(&io::ErrorKind::NotFound.into(), "/missing"),
            ]
        });
        assert_eq!(
            statuses,
            [StatusCode::INTERNAL_SERVER_ERROR, StatusCode::NOT_FOUND]
        );
        let text = log
            .0
            .lock()
            .map(|l| String::from_utf8_lossy(&l).into_owned());
        let text = text.unwrap_or_default();
        assert!(text.contains("ERROR"), "{text}");
        assert!(text.contains("the disk caught fire"), "{text}");
        assert!(text.contains("/a/b.txt"), "{text}");
        assert!(!text.contains("/missing"), "a 404 was logged: {text}");
    }
}
