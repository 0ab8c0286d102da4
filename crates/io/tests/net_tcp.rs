//! TCP: round trips with half-close, the write buffer's bound and Node-style
//! write/drain, the conformance kit over the writer, resets both ways.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::time::Duration;

use bytes::Bytes;
use futures::{SinkExt, StreamExt, TryStreamExt};
use support::{random, within};
use tokio::io::AsyncWriteExt;
use weir_core::Written;
use weir_core::testing::{Chaos, Check};
use weir_io::net::{TcpStream, TcpWriter, connect, listen};

#[tokio::test]
async fn half_close_round_trip_both_ways() {
    within(20, async {
        let listener = listen("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let data = random(1, 3_000_000);
        let server = tokio::spawn(async move {
            let (sock, _) = listener.accept().await.unwrap();
            let (reader, mut writer) = sock.into_split();
            // Read until the client's FIN, then answer on the same socket.
            let got: Vec<Bytes> = reader.try_collect().await.unwrap();
            let got = got.concat();
            writer
                .send(Bytes::from(format!("{}", got.len())))
                .await
                .unwrap();
            writer.send(Bytes::from(got)).await.unwrap();
            writer.finish().await.unwrap()
        });
        let (reader, mut writer) = connect(addr).await.unwrap().into_split();
        for piece in data.chunks(70_000) {
            writer.send(Bytes::copy_from_slice(piece)).await.unwrap();
        }
        let written = writer.finish().await.unwrap();
        assert_eq!(written, data.len() as u64);
        let back: Vec<Bytes> = reader.try_collect().await.unwrap();
        let back = back.concat();
        assert_eq!(&back[..7], b"3000000");
        assert_eq!(&back[7..], &data[..]);
        assert_eq!(server.await.unwrap(), 7 + data.len() as u64);
    })
    .await;
}

#[tokio::test]
async fn writer_passes_the_conformance_kit() {
    let data = random(2, 200_000);
    // Random chunk sizes, a writer that takes one byte at a time or random
    // amounts with random Pending: the bytes arrive whole and in order.
    Check::new()
        .rounds(6)
        .writer(&data, |w| TcpWriter::from_async_write(w, 4096))
        .await;
}

#[tokio::test]
async fn reader_yields_exactly_what_an_adversarial_peer_sends() {
    within(20, async {
        let data = random(3, 500_000);
        for seed in 0..4 {
            let mut listener = listen("127.0.0.1:0").await.unwrap();
            listener.options().chunk_size(1000);
            let addr = listener.local_addr().unwrap();
            let sent = data.clone();
            let peer = tokio::spawn(async move {
                let sock = tokio::net::TcpStream::connect(addr).await.unwrap();
                // Random write sizes with random Pending in between.
                let mut w = Chaos::new(seed).max_chunk(3000).pending(0.3).write(sock);
                w.write_all(&sent).await.unwrap();
                w.shutdown().await.unwrap();
            });
            let (sock, _) = listener.accept().await.unwrap();
            let chunks: Vec<Bytes> = sock.into_split().0.try_collect().await.unwrap();
            assert!(chunks.iter().all(|c| !c.is_empty() && c.len() <= 1000));
            assert_eq!(chunks.concat(), data);
            peer.await.unwrap();
        }
    })
    .await;
}

/// A receiver that does not read: Node-style write/drain keeps the writer's
/// buffer within its mark, and the Full/drain episodes are counted.
#[tokio::test]
async fn write_buffer_stays_within_its_mark_against_a_slow_receiver() {
    within(30, async {
        let listener = listen("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let hwm = 128 * 1024;
        let chunk = 16 * 1024;
        let total = 24 * 1024 * 1024;
        let receiver = tokio::spawn(async move {
            let (sock, _) = listener.accept().await.unwrap();
            let (mut reader, _w) = sock.into_split();
            // Stall a while, then read slowly-ish until the end.
            tokio::time::sleep(Duration::from_millis(300)).await;
            let mut n = 0usize;
            while let Some(c) = reader.next().await {
                n += c.unwrap().len();
                if n % (1 << 20) < chunk {
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
            }
            n
        });
        let mut sock = TcpStream::builder()
            .write_high_water_mark(hwm)
            .connect(addr)
            .await
            .unwrap();
        let writer = sock.writer();
        let piece = Bytes::from(vec![9u8; chunk]);
        let mut max_seen = 0;
        let mut fulls = 0;
        for _ in 0..total / chunk {
            if writer.write(piece.clone()).unwrap() == Written::Full {
                fulls += 1;
                max_seen = max_seen.max(writer.buffered());
                writer.drained().await.unwrap();
            }
            max_seen = max_seen.max(writer.buffered());
        }
        writer.finish().await.unwrap();
        let stats = writer.stats();
        assert_eq!(receiver.await.unwrap(), total);
        assert!(fulls > 10, "the receiver never pushed back ({fulls} Full)");
        assert!(stats.full_events > 10 && stats.drains > 10, "{stats:?}");
        assert!(
            stats.peak_buffered <= hwm + chunk,
            "peak {} over the mark {hwm} + one chunk",
            stats.peak_buffered
        );
        assert!(max_seen <= hwm + chunk);
    })
    .await;
}

/// A producer that ignores Full gets an overflow error at the hard cap, not
/// a growing buffer.
#[tokio::test]
async fn ignoring_full_hits_the_cap_not_memory() {
    within(20, async {
        let listener = listen("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let _held = tokio::spawn(async move {
            let (sock, _) = listener.accept().await.unwrap();
            tokio::time::sleep(Duration::from_secs(10)).await;
            drop(sock);
        });
        let mut sock = TcpStream::builder()
            .write_high_water_mark(64 * 1024)
            .connect(addr)
            .await
            .unwrap();
        let piece = Bytes::from(vec![1u8; 64 * 1024]);
        let mut err = None;
        for _ in 0..10_000 {
            match sock.writer().write(piece.clone()) {
                Ok(_) => {}
                Err(e) => {
                    err = Some(e.into_parts().1);
                    break;
                }
            }
        }
        let err = err.expect("an unbounded write loop was never refused");
        assert!(err.is_overflow(), "{err}");
        assert!(sock.writer().buffered() <= 2 * 64 * 1024 + 64 * 1024);
    })
    .await;
}

/// The receiver resets mid-transfer: the sender gets a clear error, no panic.
#[tokio::test]
async fn peer_reset_is_an_error_for_the_sender() {
    within(20, async {
        let listener = listen("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            let (sock, _) = listener.accept().await.unwrap();
            let (mut reader, mut writer) = sock.into_split();
            let _ = reader.next().await;
            // Destroy: reset the connection.
            writer.abort(weir_core::Error::aborted("test"));
            drop(writer);
            drop(reader);
        });
        let mut sock = connect(addr).await.unwrap();
        let piece = Bytes::from(vec![5u8; 64 * 1024]);
        let mut failed = false;
        for _ in 0..2000 {
            if sock.writer().send(piece.clone()).await.is_err() {
                failed = true;
                break;
            }
        }
        let finish = sock.writer().finish().await;
        assert!(failed || finish.is_err(), "128 MB went into a reset socket");
        let err = finish.unwrap_err();
        assert!(err.is_io(), "{err}");
        assert_eq!(err.stage(), Some("tcp"));
    })
    .await;
}

/// Aborting the writer resets the connection: the receiver sees an error,
/// never a clean end it could take for a complete transfer.
#[tokio::test]
async fn abort_is_not_a_clean_end_for_the_receiver() {
    within(20, async {
        let listener = listen("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let receiver = tokio::spawn(async move {
            let (sock, _) = listener.accept().await.unwrap();
            let (reader, _w) = sock.into_split();
            reader
                .try_fold(0usize, |n, c| async move { Ok(n + c.len()) })
                .await
        });
        let (reader, mut writer) = connect(addr).await.unwrap().into_split();
        writer.send(Bytes::from_static(b"partial")).await.unwrap();
        tokio::time::sleep(Duration::from_millis(50)).await;
        writer.abort(weir_core::Error::aborted("gave up"));
        drop(writer);
        drop(reader);
        let got = receiver.await.unwrap();
        assert!(got.is_err(), "a reset looked like a clean end: {got:?}");
    })
    .await;
}

/// The duplex works as one Stream + Sink too.
#[tokio::test]
async fn stream_and_sink_on_one_value() {
    within(10, async {
        let listener = listen("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            let (mut sock, _) = listener.accept().await.unwrap();
            while let Some(Ok(c)) = sock.next().await {
                let upper = Bytes::from(c.to_ascii_uppercase());
                if sock.send(upper).await.is_err() {
                    break;
                }
            }
            let _ = sock.close().await;
        });
        let mut sock = connect(addr).await.unwrap();
        sock.send(Bytes::from_static(b"echo me")).await.unwrap();
        let mut got = Vec::new();
        while got.len() < 7 {
            got.extend_from_slice(&sock.next().await.unwrap().unwrap());
        }
        assert_eq!(got, b"ECHO ME");
        SinkExt::close(&mut sock).await.unwrap();
        // After our FIN the server ends too: the stream ends cleanly.
        assert!(sock.next().await.is_none());
    })
    .await;
}

/// Records each write call: how many slices, how many bytes.
#[derive(Clone, Default)]
struct Recorder {
    calls: std::sync::Arc<std::sync::Mutex<Vec<(usize, usize)>>>,
}

impl tokio::io::AsyncWrite for Recorder {
    fn poll_write(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        self.poll_write_vectored(cx, &[std::io::IoSlice::new(buf)])
    }
    fn poll_write_vectored(
        self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> std::task::Poll<std::io::Result<usize>> {
        let n = bufs.iter().map(|b| b.len()).sum();
        self.calls.lock().unwrap().push((bufs.len(), n));
        std::task::Poll::Ready(Ok(n))
    }
    fn is_write_vectored(&self) -> bool {
        true
    }
    fn poll_flush(
        self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::task::Poll::Ready(Ok(()))
    }
    fn poll_shutdown(
        self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::task::Poll::Ready(Ok(()))
    }
}

/// Node's `socket.cork()`/`uncork()`: chunks written to an idle, corked
/// writer are held back by its task and leave together, in one vectored
/// write, at `uncork()`.
#[tokio::test]
async fn corked_chunks_leave_in_one_vectored_write() {
    let rec = Recorder::default();
    let mut w = TcpWriter::from_async_write(rec.clone(), 1024);
    w.cork();
    for _ in 0..5 {
        assert_eq!(
            w.write(Bytes::from_static(b"0123456789")).unwrap(),
            Written::Ready
        );
        // Give the task every chance to write: it is idle.
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(rec.calls.lock().unwrap().is_empty(), "written while corked");
    w.uncork();
    first_write(&rec).await;
    assert_eq!(*rec.calls.lock().unwrap(), [(5, 50)]);
    // Uncorked, an idle writer sends each chunk at once again.
    assert_eq!(w.write(Bytes::from_static(b"x")).unwrap(), Written::Ready);
    assert_eq!(within(20, w.finish()).await.unwrap(), 51);
    assert_eq!(*rec.calls.lock().unwrap(), [(5, 50), (1, 1)]);
}

/// Corked, backpressure still holds: once the task holds a high mark of
/// chunks they go out (one write), and `finish` sends what is held.
#[tokio::test]
async fn a_corked_writer_still_sends_at_the_high_mark_and_at_the_end() {
    let rec = Recorder::default();
    let mut w = TcpWriter::from_async_write(rec.clone(), 30);
    w.cork();
    for _ in 0..4 {
        // `send` waits for room: it must never wait for an uncork.
        within(20, w.send(Bytes::from_static(b"0123456789")))
            .await
            .unwrap();
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(*rec.calls.lock().unwrap(), [(3, 30)]);
    assert_eq!(within(20, w.finish()).await.unwrap(), 40);
    assert_eq!(*rec.calls.lock().unwrap(), [(3, 30), (1, 10)]);
}

/// An uncork undone before the task saw it leaves a stale wake-up: the task
/// must keep holding, and still wake at the real uncork.
#[tokio::test]
async fn an_uncork_undone_at_once_keeps_holding() {
    let rec = Recorder::default();
    let mut w = TcpWriter::from_async_write(rec.clone(), 1024);
    w.cork();
    let _ = w.write(Bytes::from_static(b"ab")).unwrap();
    w.uncork();
    w.cork(); // before the task ran: the uncork's wake-up is stale
    assert!(w.is_corked());
    tokio::time::sleep(Duration::from_millis(20)).await;
    assert!(rec.calls.lock().unwrap().is_empty(), "written while corked");
    w.uncork();
    first_write(&rec).await;
    assert_eq!(*rec.calls.lock().unwrap(), [(1, 2)]);
    assert_eq!(within(20, w.finish()).await.unwrap(), 2);
}

/// Waits (20 s at most) until the recorder has seen its first write.
async fn first_write(rec: &Recorder) {
    within(20, async {
        while rec.calls.lock().unwrap().is_empty() {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await;
}
