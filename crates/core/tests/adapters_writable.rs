//! Writable adapters, each checked with the conformance kit.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
// The loom build (`--cfg loom`) runs only the models in the library.
#![cfg(not(loom))]

mod support;

use std::io::IoSlice;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use bytes::Bytes;
use futures::{Sink, SinkExt};
use tokio::io::AsyncWrite;
use weir_core::testing::Check;
use weir_core::writable::ChunkWriter;
use weir_core::{Limit, buffer};

#[tokio::test]
async fn chunk_writer_passes_the_conformance_kit() {
    let input = support::rng(5).bytes(30_000);
    for high in [1, 100, 65536] {
        Check::new()
            .writer(&input, |w| ChunkWriter::with_high_water_mark(w, high))
            .await;
        // Corked from start to close: the high mark and close send it all.
        Check::new()
            .writer(&input, |w| {
                let mut c = ChunkWriter::with_high_water_mark(w, high);
                c.cork();
                c
            })
            .await;
    }
}

#[tokio::test]
async fn buffer_writer_as_async_write_passes_the_conformance_kit() {
    // The buffer's Writer<Bytes> as an AsyncWrite, read back by a task.
    let input = support::rng(6).bytes(30_000);
    Check::new()
        .writer(&input, |w| {
            let (tx, rx) = buffer::<Bytes>(Limit::bytes(512));
            let task = tokio::spawn(async move {
                let mut r = rx;
                let mut w = w;
                tokio::io::copy_buf(&mut r, &mut w).await.unwrap();
                tokio::io::AsyncWriteExt::shutdown(&mut w).await.unwrap();
            });
            support::Joined {
                sink: ChunkWriter::with_high_water_mark(tx, 64),
                task,
            }
        })
        .await;
}

/// A writer that is busy (Pending) until released, records the number of
/// slices per vectored call, and supports vectored writes.
#[derive(Clone, Default)]
struct Gate {
    open: Arc<Mutex<bool>>,
    calls: Arc<Mutex<Vec<usize>>>,
    data: Arc<Mutex<Vec<u8>>>,
}

impl AsyncWrite for Gate {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        self.poll_write_vectored(cx, &[IoSlice::new(buf)])
    }
    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        if !*self.open.lock().unwrap() {
            cx.waker().wake_by_ref();
            return Poll::Pending;
        }
        self.calls.lock().unwrap().push(bufs.len());
        let mut n = 0;
        for b in bufs {
            self.data.lock().unwrap().extend_from_slice(b);
            n += b.len();
        }
        Poll::Ready(Ok(n))
    }
    fn is_write_vectored(&self) -> bool {
        true
    }
    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }
    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

#[tokio::test]
async fn chunks_queued_while_busy_go_out_in_one_vectored_write() {
    let gate = Gate::default();
    let mut w = ChunkWriter::with_high_water_mark(gate.clone(), 100);
    // The writer is busy: chunks queue up to the high mark.
    for _ in 0..5 {
        w.feed(Bytes::from_static(b"0123456789")).await.unwrap();
    }
    assert_eq!(w.buffered(), 50);
    *gate.open.lock().unwrap() = true;
    w.flush().await.unwrap();
    assert_eq!(
        *gate.calls.lock().unwrap(),
        [5],
        "one writev with five slices"
    );
    assert_eq!(gate.data.lock().unwrap().len(), 50);
}

#[tokio::test]
async fn a_busy_writer_makes_poll_ready_wait_at_the_high_mark() {
    let gate = Gate::default();
    let mut w = ChunkWriter::with_high_water_mark(gate.clone(), 30);
    for _ in 0..3 {
        w.feed(Bytes::from_static(b"0123456789")).await.unwrap();
    }
    // 30 queued: the next feed must wait for the writer.
    let blocked = tokio::time::timeout(
        std::time::Duration::from_millis(50),
        w.feed(Bytes::from_static(b"x")),
    )
    .await;
    assert!(blocked.is_err(), "poll_ready did not wait at the high mark");
    assert_eq!(w.buffered(), 30);
    *gate.open.lock().unwrap() = true;
    w.feed(Bytes::from_static(b"x")).await.unwrap();
    w.close().await.unwrap();
    assert_eq!(gate.data.lock().unwrap().len(), 31);
}

#[tokio::test]
async fn a_zero_byte_write_is_an_error() {
    struct Zero;
    impl AsyncWrite for Zero {
        fn poll_write(
            self: Pin<&mut Self>,
            _: &mut Context<'_>,
            _: &[u8],
        ) -> Poll<std::io::Result<usize>> {
            Poll::Ready(Ok(0))
        }
        fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
            Poll::Ready(Ok(()))
        }
        fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
            Poll::Ready(Ok(()))
        }
    }
    let mut w = ChunkWriter::new(Zero);
    w.feed(Bytes::from_static(b"data")).await.unwrap();
    let e = w.flush().await.unwrap_err();
    assert_eq!(e.io_kind(), std::io::ErrorKind::WriteZero);
}

#[tokio::test]
async fn empty_chunks_are_skipped_whether_or_not_writes_are_vectored() {
    // Before the shared write helper, an empty chunk at the front of the
    // queue of a writer without vectored writes was a WriteZero error.
    for (vectored, max) in [(false, 3), (true, 3), (false, 1 << 20), (true, 1 << 20)] {
        let mut out = ChunkWriter::with_high_water_mark(
            Partial {
                data: Vec::new(),
                max,
                vectored,
            },
            4,
        );
        for chunk in ["", "ab", "", "", "cdef", "", "g", ""] {
            out.feed(Bytes::from_static(chunk.as_bytes()))
                .await
                .unwrap();
        }
        out.close().await.unwrap();
        assert_eq!(
            out.get_ref().data,
            b"abcdefg",
            "vectored {vectored}, max {max}"
        );
    }
}

/// Takes at most `max` bytes per write; vectored writes only if `vectored`.
struct Partial {
    data: Vec<u8>,
    max: usize,
    vectored: bool,
}

impl AsyncWrite for Partial {
    fn poll_write(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let n = buf.len().min(self.max);
        self.data.extend_from_slice(&buf[..n]);
        Poll::Ready(Ok(n))
    }
    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        let mut n = 0;
        for b in bufs {
            let take = b.len().min(self.max - n);
            self.data.extend_from_slice(&b[..take]);
            n += take;
            if n == self.max {
                break;
            }
        }
        Poll::Ready(Ok(n))
    }
    fn is_write_vectored(&self) -> bool {
        self.vectored
    }
    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }
    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

/// Node's write after `end()`: once closed, a `ChunkWriter` refuses chunks
/// with a write-after-end error, as the buffer's `Writer` does, and nothing
/// more reaches the `AsyncWrite`.
#[tokio::test]
async fn chunk_writer_refuses_writes_after_close() {
    let gate = Gate::default();
    *gate.open.lock().unwrap() = true;
    let mut w = ChunkWriter::new(gate.clone());
    w.send(Bytes::from_static(b"hello")).await.unwrap();
    w.close().await.unwrap();
    let e = w.send(Bytes::from_static(b"late")).await.unwrap_err();
    assert!(e.is_ended(), "{e}");
    let e = Pin::new(&mut w)
        .start_send(Bytes::from_static(b"later"))
        .unwrap_err();
    assert!(e.is_ended(), "{e}");
    w.flush().await.unwrap();
    w.close().await.unwrap();
    assert_eq!(*gate.data.lock().unwrap(), b"hello");
    assert_eq!(*gate.calls.lock().unwrap(), [1]);
    assert_eq!(w.bytes_written(), 5);
}

/// Node's `cork()`/`uncork()`: chunks sent to an idle, corked writer queue
/// up instead of going out one write each, and leave together, in one
/// vectored write, once uncorked.
#[tokio::test]
async fn corked_chunks_go_out_in_one_vectored_write_at_uncork() {
    let gate = Gate::default();
    *gate.open.lock().unwrap() = true;
    let mut w = ChunkWriter::with_high_water_mark(gate.clone(), 100);
    w.cork();
    for _ in 0..5 {
        // `send` flushes after each chunk: corked, that writes nothing.
        w.send(Bytes::from_static(b"0123456789")).await.unwrap();
    }
    assert_eq!(
        *gate.calls.lock().unwrap(),
        [0usize; 0],
        "written while corked"
    );
    assert_eq!(w.buffered(), 50);
    w.uncork();
    w.flush().await.unwrap();
    assert_eq!(
        *gate.calls.lock().unwrap(),
        [5],
        "one writev of five slices"
    );
    assert_eq!(gate.data.lock().unwrap().len(), 50);
    // Uncorked again, each send goes out at once.
    w.send(Bytes::from_static(b"x")).await.unwrap();
    assert_eq!(*gate.calls.lock().unwrap(), [5, 1]);
}

/// Corked, the queue still stops at the high mark: the chunks gathered so
/// far go out in one write, and the cork holds for what follows. `close`
/// uncorks (Node's `end()`), so nothing is left behind.
#[tokio::test]
async fn a_corked_writer_still_stops_at_the_high_mark() {
    let gate = Gate::default();
    *gate.open.lock().unwrap() = true;
    let mut w = ChunkWriter::with_high_water_mark(gate.clone(), 30);
    w.cork();
    w.cork(); // nested, as in Node: two uncorks needed
    for _ in 0..3 {
        w.feed(Bytes::from_static(b"0123456789")).await.unwrap();
    }
    assert!(gate.calls.lock().unwrap().is_empty());
    // The fourth chunk finds the queue at the mark: the three go out first.
    w.feed(Bytes::from_static(b"abc")).await.unwrap();
    assert_eq!(*gate.calls.lock().unwrap(), [3]);
    assert_eq!(w.buffered(), 3);
    w.uncork();
    w.flush().await.unwrap();
    assert_eq!(*gate.calls.lock().unwrap(), [3], "still corked once");
    w.close().await.unwrap();
    assert_eq!(*gate.calls.lock().unwrap(), [3, 1]);
    assert_eq!(gate.data.lock().unwrap().len(), 33);
}
