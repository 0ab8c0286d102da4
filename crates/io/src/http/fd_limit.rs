//! Running out of file descriptors: a spare one held in reserve so that a
//! server can still tell a waiting client to come back later, and `503`
//! with `Retry-After` for the requests that could not be served.

use std::io;

use http::header::{HeaderValue, RETRY_AFTER};
use http::{Response, StatusCode};

/// Whether `e` says the process (`EMFILE`) or the system (`ENFILE`) has no
/// file descriptor left.
pub(crate) fn is_out_of_fds(e: &io::Error) -> bool {
    // EMFILE and ENFILE are 24 and 23 on Linux, macOS and the BSDs;
    // WSAEMFILE is 10024 on Windows.
    #[cfg(unix)]
    const CODES: &[i32] = &[24, 23];
    #[cfg(windows)]
    const CODES: &[i32] = &[10024];
    #[cfg(not(any(unix, windows)))]
    const CODES: &[i32] = &[];
    e.raw_os_error().is_some_and(|c| CODES.contains(&c))
}

/// A descriptor kept open only to be given up when `accept` fails for want
/// of one (Unix: `/dev/null`; elsewhere none is kept).
#[derive(Debug)]
pub(crate) struct Reserve(Option<std::fs::File>);

impl Reserve {
    /// Takes a descriptor in reserve, if one can be had.
    pub(crate) fn new() -> Self {
        let mut r = Reserve(None);
        r.refill();
        r
    }

    /// Takes a descriptor in reserve again if there is none; `false` if
    /// none can be had.
    pub(crate) fn refill(&mut self) -> bool {
        #[cfg(unix)]
        if self.0.is_none() {
            self.0 = std::fs::File::open("/dev/null").ok();
        }
        self.0.is_some()
    }

    /// Gives the descriptor up; `false` if there was none.
    pub(crate) fn release(&mut self) -> bool {
        self.0.take().is_some()
    }
}

/// A `503 Service Unavailable` without `Retry-After` gets `Retry-After: 1`:
/// the condition (out of descriptors, at the connection cap) is expected to
/// pass.
pub(crate) fn retry_after_on_503<B>(mut response: Response<B>) -> Response<B> {
    if response.status() == StatusCode::SERVICE_UNAVAILABLE
        && !response.headers().contains_key(RETRY_AFTER)
    {
        response
            .headers_mut()
            .insert(RETRY_AFTER, HeaderValue::from_static("1"));
    }
    response
}
