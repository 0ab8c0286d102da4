//! One write of queued chunks, vectored when that helps.

use std::collections::VecDeque;
use std::io::{self, IoSlice};
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use bytes::{Buf, Bytes};
use tokio::io::AsyncWrite;

/// The most chunks handed to one vectored write (Linux's `IOV_MAX` is
/// 1024; past a few dozen, more slices gain nothing).
const MAX_IOV: usize = 64;

/// Writes the front of `chunks` to `writer` in one call and removes what was
/// written from the queue (splitting a chunk written in part), answering how
/// many bytes went out.
///
/// Several chunks go out in one vectored write (up to 64 of them) when the
/// writer does vectored writes well
/// ([`is_write_vectored`](AsyncWrite::is_write_vectored)); otherwise the
/// first chunk alone. Empty chunks are dropped; a queue with nothing else
/// writes nothing and answers 0. This is
/// the loop body of a `_writev`-style writer: call it until the queue is
/// empty or it answers `Pending`.
///
/// # Errors
/// The writer's error; a writer that accepts 0 bytes of a non-empty queue
/// is an error of kind [`WriteZero`](io::ErrorKind::WriteZero). The queue
/// keeps every chunk not written.
///
/// # Examples
/// ```
/// use std::collections::VecDeque;
/// use bytes::Bytes;
/// use weir::writable::poll_write_chunks;
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> std::io::Result<()> {
/// let mut out: Vec<u8> = Vec::new();
/// let mut queue = VecDeque::from([Bytes::from("hello, "), Bytes::from("world")]);
/// while !queue.is_empty() {
///     std::future::poll_fn(|cx| poll_write_chunks(std::pin::Pin::new(&mut out), cx, &mut queue)).await?;
/// }
/// assert_eq!(out, b"hello, world");
/// # Ok(()) }
/// ```
pub fn poll_write_chunks<W: AsyncWrite + ?Sized>(
    mut writer: Pin<&mut W>,
    cx: &mut Context<'_>,
    chunks: &mut VecDeque<Bytes>,
) -> Poll<io::Result<usize>> {
    while chunks.front().is_some_and(Bytes::is_empty) {
        chunks.pop_front();
    }
    let Some(front) = chunks.front() else {
        return Poll::Ready(Ok(0));
    };
    let n = if chunks.len() > 1 && writer.is_write_vectored() {
        let mut iov = [IoSlice::new(&[]); MAX_IOV];
        let mut k = 0;
        for (slot, chunk) in iov.iter_mut().zip(chunks.iter()) {
            *slot = IoSlice::new(chunk);
            k += 1;
        }
        ready!(writer.as_mut().poll_write_vectored(cx, &iov[..k]))?
    } else {
        ready!(writer.as_mut().poll_write(cx, front))?
    };
    if n == 0 {
        return Poll::Ready(Err(io::Error::new(
            io::ErrorKind::WriteZero,
            "the writer accepted 0 bytes",
        )));
    }
    let mut left = n;
    while let Some(front) = chunks.front_mut() {
        if front.len() <= left {
            left -= front.len();
            chunks.pop_front();
        } else {
            front.advance(left);
            break;
        }
    }
    Poll::Ready(Ok(n))
}
