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
