use std::io::{Stdin, Stdout};

use crate::{BlockingSink, BlockingSource};

/// The process's standard input as a source of `Bytes` chunks (64 KiB at
/// most), in read-once mode: each chunk is what one read returned, so data
/// typed into a terminal or trickling through a pipe comes out as it
/// arrives, while a redirected file is still read a block (1 MiB) per
/// blocking hop. Errors carry the stage name `"stdin"`. For other sizes use
/// [`BlockingSource::builder`] with [`std::io::stdin()`].
///
/// It reads through `std::io::Stdin`, so input already buffered there is not
/// lost.
///
/// # Cancel safety
/// A read of a terminal or pipe that has nothing to give cannot be
/// interrupted: if the stream is dropped while one is in flight, its
/// blocking-pool thread stays in the read until input or end-of-file
/// arrives, and dropping the Tokio runtime waits for it (as with
/// `tokio::io::stdin`). End the process with `std::process::exit`, or shut
/// the runtime down with `Runtime::shutdown_background`, if that matters.
///
/// # Examples
/// ```no_run
/// use futures::StreamExt;
///
/// # #[tokio::main] async fn main() -> Result<(), weir_core::Error> {
/// // cat-like: standard input to standard output, with backpressure.
/// weir_io::stdin().forward(weir_io::stdout()).await?;
/// # Ok(()) }
/// ```
pub fn stdin() -> BlockingSource<Stdin> {
    BlockingSource::builder()
        .fill(false)
        .name("stdin")
        .build(std::io::stdin())
}

/// The process's standard output as a sink of `Bytes`, in batches of up to
/// 1 MiB, flushed after every batch. It writes through `std::io::Stdout`, so
/// it stays in order with `println!` between batches. Errors carry the stage
/// name `"stdout"`; a closed pipe (`weir … | head`) is an error whose
/// `io_kind()` is `BrokenPipe`.
///
/// # Examples
/// ```no_run
/// use bytes::Bytes;
/// use futures::SinkExt;
///
/// # #[tokio::main] async fn main() -> Result<(), weir_core::Error> {
/// let mut out = weir_io::stdout();
/// out.send(Bytes::from_static(b"hello\n")).await?; // written at once: a single send flushes
/// out.close().await?;
/// # Ok(()) }
/// ```
pub fn stdout() -> BlockingSink<Stdout> {
    BlockingSink::builder()
        .name("stdout")
        .build(std::io::stdout())
}
