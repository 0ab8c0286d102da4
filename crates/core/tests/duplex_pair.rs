//! Duplex: two independent halves, each with its own buffer, limit, stats
//! and closing.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
// The loom build (`--cfg loom`) runs only the models in the library.
#![cfg(not(loom))]

mod support;

use bytes::Bytes;
use futures::{SinkExt, StreamExt};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use weir_core::testing::Check;
use weir_core::writable::ChunkWriter;
use weir_core::{BufferConfig, Duplex, Limit, Written, duplex};

#[tokio::test]
async fn each_direction_has_its_own_buffer_and_limit() {
    let up = BufferConfig::new(Limit::<u32>::items(2)).name("up").clone();
    let down = BufferConfig::new(Limit::<u32>::items(5))
        .name("down")
        .clone();
    let (mut a, mut b) = Duplex::pair(&up, &down);
    let _ = a.writer().write(1).unwrap();
    assert_eq!(a.writer().write(2).unwrap(), Written::Full);
    // The other direction is unaffected by the full one.
    for i in 0..4 {
        assert_eq!(b.writer().write(i).unwrap(), Written::Ready);
    }
    assert_eq!(a.write_stats().high_water_mark, 2);
    assert_eq!(b.write_stats().high_water_mark, 5);
    assert_eq!(a.read_stats().buffered, 4);
    assert_eq!(b.read_stats().buffered, 2);
    assert_eq!(b.next().await.unwrap().unwrap(), 1);
    assert_eq!(a.next().await.unwrap().unwrap(), 0);
}

#[tokio::test]
async fn half_close_keeps_the_other_direction_open() {
    // Both sides run in this one task, so each direction's buffer must hold
    // a whole message (a smaller one would wait for a reader, as a socket
    // with a small send buffer would).
    let (mut client, mut server) = duplex::<Bytes>(Limit::bytes(64));
    client.send(Bytes::from_static(b"request")).await.unwrap();
    client.close().await.unwrap();
    let mut req = Vec::new();
    server.read_to_end(&mut req).await.unwrap();
    assert_eq!(req, b"request");
    // The client still reads the answer after closing its write half.
    server
        .write_all(b"a long response, in several chunks")
        .await
        .unwrap();
    server.shutdown().await.unwrap();
    let mut resp = String::new();
    client.read_to_string(&mut resp).await.unwrap();
    assert_eq!(resp, "a long response, in several chunks");
}

#[tokio::test]
async fn halves_work_from_separate_tasks_with_backpressure() {
    let (a, b) = duplex::<Bytes>(Limit::bytes(1024));
    let (mut aw, mut ar) = a.into_parts();
    let (mut bw, mut br) = b.into_parts();
    // b echoes everything back, upper-cased.
    let echo = tokio::spawn(async move {
        while let Some(c) = br.next().await {
            bw.send(Bytes::from(c.unwrap().to_ascii_uppercase()))
                .await
                .unwrap();
        }
        bw.end();
    });
    let writer = tokio::spawn(async move {
        for _ in 0..1000 {
            aw.send(Bytes::from_static(b"abcdefgh")).await.unwrap();
            assert!(aw.buffered() <= 1024 + 8);
        }
        aw.end();
    });
    let mut total = 0;
    while let Some(c) = ar.next().await {
        let c = c.unwrap();
        assert!(c.iter().all(|b| b.is_ascii_uppercase()));
        total += c.len();
    }
    writer.await.unwrap();
    echo.await.unwrap();
    assert_eq!(total, 8000);
}

#[tokio::test]
async fn duplex_write_half_passes_the_conformance_kit() {
    let input = support::rng(8).bytes(20_000);
    Check::new()
        .writer(&input, |w| {
            let (near, far) = duplex::<Bytes>(Limit::bytes(256));
            let task = tokio::spawn(async move {
                let mut far = far;
                let mut w = w;
                tokio::io::copy(&mut far, &mut w).await.unwrap();
                w.shutdown().await.unwrap();
            });
            support::Joined {
                sink: ChunkWriter::with_high_water_mark(near, 100),
                task,
            }
        })
        .await;
}

/// Node's `allowHalfOpen: false`: once the readable side has ended, the
/// duplex ends its writable side too, whichever way the end was read.
#[tokio::test]
async fn without_half_open_the_read_end_ends_the_write_side() {
    // Through the Stream side.
    let (a, mut b) = duplex::<Bytes>(Limit::bytes(64));
    let mut a = a.allow_half_open(false);
    assert_eq!(
        a.writer().write(Bytes::from_static(b"queued")).unwrap(),
        Written::Ready
    );
    b.send(Bytes::from_static(b"bye")).await.unwrap();
    b.close().await.unwrap();
    assert_eq!(a.next().await.unwrap().unwrap(), "bye");
    assert!(a.next().await.is_none());
    // What a wrote before still arrives, then the end.
    assert_eq!(b.next().await.unwrap().unwrap(), "queued");
    assert!(
        support::within(5, b.next()).await.is_none(),
        "a's write side was not ended"
    );
    let e = a.send(Bytes::from_static(b"late")).await.unwrap_err();
    assert!(e.is_ended(), "{e}");

    // Through AsyncRead.
    let (a, mut b) = duplex::<Bytes>(Limit::bytes(64));
    let mut a = a.allow_half_open(false);
    b.write_all(b"ping").await.unwrap();
    b.shutdown().await.unwrap();
    let mut got = Vec::new();
    a.read_to_end(&mut got).await.unwrap();
    assert_eq!(got, b"ping");
    let mut rest = Vec::new();
    support::within(5, b.read_to_end(&mut rest)).await.unwrap();
    assert!(rest.is_empty());

    // Through AsyncBufRead.
    let (a, mut b) = duplex::<Bytes>(Limit::bytes(64));
    let mut a = a.allow_half_open(false);
    b.write_all(b"line\n").await.unwrap();
    b.shutdown().await.unwrap();
    let mut got = Vec::new();
    tokio::io::copy_buf(&mut a, &mut got).await.unwrap();
    assert_eq!(got, b"line\n");
    let mut rest = Vec::new();
    support::within(5, b.read_to_end(&mut rest)).await.unwrap();
    assert!(rest.is_empty());
}

#[tokio::test]
async fn half_open_is_the_default_and_an_error_is_not_an_end() {
    // Default: reading the end leaves the write side open.
    let (mut a, mut b) = duplex::<u8>(Limit::items(4));
    b.close().await.unwrap();
    assert!(a.next().await.is_none());
    a.send(1).await.unwrap();
    assert_eq!(b.next().await.unwrap().unwrap(), 1);
    // Without half-open, an aborted peer is an error, not an end: the write
    // side stays as it was.
    let (a, mut b) = duplex::<u8>(Limit::items(4));
    let mut a = a.allow_half_open(false);
    b.writer().abort(weir_core::Error::aborted("boom"));
    assert!(a.next().await.unwrap().unwrap_err().is_aborted());
    a.send(2).await.unwrap();
    assert_eq!(b.next().await.unwrap().unwrap(), 2);
}
