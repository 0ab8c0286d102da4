//! How much a server connection lets the kernel queue unsent.
//!
//! A socket's send buffer grows to a few MiB on loopback, and Linux wakes a
//! writer only once a large part of it is free. Without a bound on the
//! unsent queue, "the kernel accepted N bytes" says little about what the
//! client took (the minimum data rate saw megabytes of progress from a
//! client that took a few KB), and a client reading steadily but slowly
//! left the writer waiting long enough to trip the write timeout.
//! `TCP_NOTSENT_LOWAT` bounds the unsent bytes: the socket is writable only
//! while fewer than about half of them are queued, so each wake-up follows
//! what the client took, and the bytes accepted run ahead of them by at
//! most the client's receive window plus this bound plus one segment.

/// The unsent bytes a server connection may queue (Cloudflare's and
/// Google's choice for HTTP servers; a fast client loses nothing on
/// loopback, where the queue drains as soon as it is written).
pub(crate) const UNSENT_LIMIT: u32 = 16 * 1024;

/// Bounds the unsent bytes of `socket` to `limit` (Linux;
/// elsewhere nothing is done). A failure is ignored: the guards then work
/// on what the kernel accepted, as before.
pub(crate) fn limit_unsent(socket: &tokio::net::TcpStream, limit: u32) {
    #[cfg(target_os = "linux")]
    {
        let _ = socket2::SockRef::from(socket).set_tcp_notsent_lowat(limit);
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = (socket, limit);
    }
}
