//! DESIGN §2 property 1: a producer that waits for room never makes the
//! buffered amount exceed `high + one chunk` — through `send`, `Sink` and
//! `AsyncWrite`, in byte and object mode, against a slow reader.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
// The loom build (`--cfg loom`) runs only the models in the library.
#![cfg(not(loom))]

mod support;

use bytes::Bytes;
use futures::{SinkExt, StreamExt};
use tokio::io::AsyncWriteExt;
use weir_core::{BufferConfig, Limit, Reader, buffer};

/// A slow reader: takes a chunk, then yields a few times, checking the bound
/// at every step; returns what it read.
async fn slow_read<T>(mut rx: Reader<T>, bound: usize, mut take: impl FnMut(T)) -> u64 {
    let mut n = 0;
    let mut rng = support::rng(9);
    while let Some(item) = rx.next().await {
        let buffered = rx.available();
        assert!(buffered <= bound, "buffered {buffered} > bound {bound}");
        take(item.unwrap());
        n += 1;
        for _ in 0..rng.below(4) {
            tokio::task::yield_now().await;
        }
    }
    let s = rx.stats();
    assert!(
        s.peak_buffered <= bound,
        "peak {} > bound {bound}",
        s.peak_buffered
    );
    n
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bound_holds_with_send_in_byte_mode() {
    let high = 16 * 1024;
    let max_chunk = 3000;
    let (mut tx, rx) = buffer::<Bytes>(Limit::bytes(high));
    let producer = tokio::spawn(async move {
        let mut rng = support::rng(1);
        let mut total = 0u64;
        for _ in 0..20_000 {
            let n = rng.between(1, max_chunk);
            total += n as u64;
            tx.send(Bytes::from(vec![7u8; n])).await.unwrap();
            assert!(tx.buffered() <= high + max_chunk);
        }
        tx.end();
        total
    });
    let mut got = 0u64;
    support::within(
        60,
        slow_read(rx, high + max_chunk, |c: Bytes| got += c.len() as u64),
    )
    .await;
    assert_eq!(got, producer.await.unwrap());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bound_holds_with_sink_in_object_mode() {
    let (tx, rx) = buffer::<u64>(Limit::items(16));
    let producer = tokio::spawn(async move {
        let mut tx = tx;
        let mut src = futures::stream::iter((0..100_000u64).map(Ok));
        tx.send_all(&mut src).await.unwrap();
        tx.close().await.unwrap();
    });
    let mut next = 0;
    support::within(
        60,
        slow_read(rx, 16, |i: u64| {
            assert_eq!(i, next);
            next += 1;
        }),
    )
    .await;
    producer.await.unwrap();
    assert_eq!(next, 100_000);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bound_holds_with_async_write() {
    let high = 4096;
    let (mut tx, rx) = BufferConfig::new(Limit::<Bytes>::bytes(high)).build();
    let producer = tokio::spawn(async move {
        let data = vec![1u8; 10 * 1024 * 1024];
        // write_all of one large slice: AsyncWrite takes at most `high` per call.
        tx.write_all(&data).await.unwrap();
        tx.shutdown().await.unwrap();
    });
    let mut got = 0usize;
    // Each AsyncWrite chunk is at most `high` bytes.
    support::within(60, slow_read(rx, 2 * high, |c: Bytes| got += c.len())).await;
    producer.await.unwrap();
    assert_eq!(got, 10 * 1024 * 1024);
}

#[tokio::test]
async fn a_chunk_larger_than_the_mark_is_accepted_alone() {
    let (mut tx, mut rx) = buffer::<Bytes>(Limit::bytes(100));
    // An empty buffer takes one chunk of any size: the bound is high + one chunk.
    tx.send(Bytes::from(vec![0u8; 1000])).await.unwrap();
    assert_eq!(tx.buffered(), 1000);
    assert!(tx.is_full());
    let reader = tokio::spawn(async move {
        let a = rx.next().await.unwrap().unwrap();
        let b = rx.next().await.unwrap().unwrap();
        (a.len(), b.len())
    });
    tx.send(Bytes::from(vec![0u8; 10])).await.unwrap();
    tx.end();
    assert_eq!(reader.await.unwrap(), (1000, 10));
}
