use futures_core::Stream;
use futures_sink::Sink;
use weir_core::Error;

use crate::pipeline::Pipeline;
use crate::report::Report;

/// Moves everything from `src` into `dst` with backpressure, then closes
/// `dst` (Node's `src.pipe(dst)`, with `pipeline`'s error handling).
///
/// The source and the sink run on tasks of their own, joined by a bounded
/// buffer (64 KiB for byte chunks, 16 items for objects), so reading
/// overlaps writing and a slow `dst` holds `src` back.
///
/// # Cancel safety
/// Dropping the future cancels the copy (see [`Run::run`](crate::Run::run)).
///
/// # Errors
/// The first error of either side, named `"source"` or `"sink"`. On an
/// error `dst` is dropped without being closed.
///
/// # Examples
/// ```
/// use bytes::Bytes;
/// use weir::pipe::pipe;
/// use weir::{readable, writable::ChunkWriter};
///
/// # #[tokio::main] async fn main() -> Result<(), weir::Error> {
/// let src = readable::from_iter((0..64).map(|_| Bytes::from(vec![7u8; 1024])));
/// let report = pipe(src, ChunkWriter::new(tokio::io::sink())).await?;
/// assert_eq!(report.bytes_out, 64 * 1024);
/// # Ok(()) }
/// ```
pub async fn pipe<S, K, T>(src: S, dst: K) -> Result<Report, Error>
where
    S: Stream<Item = Result<T, Error>> + Send + 'static,
    K: Sink<T, Error = Error> + Send + 'static,
    T: Send + 'static,
{
    Pipeline::from(src).into(dst).run().await
}
