/// A snapshot of what a [`FileServer`](super::FileServer)'s responses hold
/// in memory, from [`FileServer::stats`](super::FileServer::stats).
///
/// `buffered` counts every block read from a file from its allocation
/// until the last byte of it has been written to the socket and dropped:
/// the block being handed out, the one read ahead and the chunks queued
/// in hyper's write buffer. (The kernel's socket buffers are not in it;
/// nor, for a compressed response, the slice its compression job reads and
/// the compressed output: `bodies` counts those responses all the same.)
///
/// # Examples
/// ```
/// use weir_io::http::FileServer;
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), weir_core::Error> {
/// let files = FileServer::new(std::env::temp_dir()).await?;
/// let s = files.stats();
/// assert_eq!((s.bodies, s.buffered), (0, 0));
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct FileServerStats {
    /// File bodies being sent now (responses not yet finished or dropped).
    pub bodies: u64,
    /// Bytes of file blocks held now, wherever they are.
    pub buffered: u64,
    /// The most bytes of file blocks held at once so far.
    pub peak_buffered: u64,
}
