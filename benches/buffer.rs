//! The bounded buffer against the channels a Tokio user would otherwise pick.
//!
//! - `buffer/objects`: 5 million small items between two tasks through
//!   `buffer(Limit::items(16))` vs `tokio::sync::mpsc::channel(16)`.
//! - `buffer/bytes`: 1 GiB in 64 KiB `Bytes` chunks through
//!   `buffer(Limit::bytes(64 KiB))` vs `tokio::io::duplex(64 KiB)`.
//! - `buffer/hysteresis`: the default low mark (high / 2) vs Node's
//!   drain-when-empty (`low = 0`), object mode.
//!
//! Run: `cargo bench --bench buffer`. Figures in docs/benchmarks.md.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use bytes::Bytes;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use futures::StreamExt;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use weir::{BufferConfig, Limit};

const ITEMS: u64 = 5_000_000;
const TOTAL: u64 = 1 << 30;
const CHUNK: usize = 64 * 1024;

#[derive(Debug, Clone, Copy)]
struct Item {
    id: u64,
    value: f64,
    flag: bool,
}

fn item(i: u64) -> Item {
    Item {
        id: i,
        value: i as f64 * 0.5,
        flag: i & 1 == 0,
    }
}

fn checksum(x: &Item) -> u64 {
    x.id ^ (x.flag as u64) ^ (x.value as u64 & 1)
}

async fn weir_objects(n: u64, low: Option<usize>) -> u64 {
    let mut cfg = BufferConfig::new(Limit::<Item>::items(16));
    if let Some(low) = low {
        cfg.low_water_mark(low);
    }
    let (mut tx, mut rx) = cfg.build();
    let producer = tokio::spawn(async move {
        for i in 0..n {
            tx.send(item(i)).await.unwrap();
        }
        tx.end();
    });
    let consumer = tokio::spawn(async move {
        let mut s = 0u64;
        while let Some(x) = rx.next().await {
            s = s.wrapping_add(checksum(&x.unwrap()));
        }
        s
    });
    producer.await.unwrap();
    consumer.await.unwrap()
}

async fn mpsc_objects(n: u64) -> u64 {
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Item>(16);
    let producer = tokio::spawn(async move {
        for i in 0..n {
            tx.send(item(i)).await.unwrap();
        }
    });
    let consumer = tokio::spawn(async move {
        let mut s = 0u64;
        while let Some(x) = rx.recv().await {
            s = s.wrapping_add(checksum(&x));
        }
        s
    });
    producer.await.unwrap();
    consumer.await.unwrap()
}

async fn weir_bytes(total: u64) -> u64 {
    let (mut tx, mut rx) = weir::buffer::<Bytes>(Limit::bytes(CHUNK));
    let chunk = Bytes::from(vec![7u8; CHUNK]);
    let producer = tokio::spawn(async move {
        for _ in 0..total / CHUNK as u64 {
            tx.send(chunk.clone()).await.unwrap();
        }
        tx.end();
    });
    let consumer = tokio::spawn(async move {
        let mut n = 0u64;
        while let Some(c) = rx.next().await {
            n += c.unwrap().len() as u64;
        }
        n
    });
    producer.await.unwrap();
    consumer.await.unwrap()
}

async fn tokio_duplex_bytes(total: u64) -> u64 {
    let (mut w, mut r) = tokio::io::duplex(CHUNK);
    let chunk = vec![7u8; CHUNK];
    let producer = tokio::spawn(async move {
        for _ in 0..total / CHUNK as u64 {
            w.write_all(&chunk).await.unwrap();
        }
        w.shutdown().await.unwrap();
    });
    let consumer = tokio::spawn(async move {
        let mut buf = vec![0u8; CHUNK];
        let mut n = 0u64;
        loop {
            let k = r.read(&mut buf).await.unwrap();
            if k == 0 {
                break;
            }
            n += k as u64;
        }
        n
    });
    producer.await.unwrap();
    consumer.await.unwrap()
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap()
}

fn objects(c: &mut Criterion) {
    let rt = runtime();
    let mut g = c.benchmark_group("buffer/objects");
    g.sample_size(10).measurement_time(Duration::from_secs(20));
    g.throughput(Throughput::Elements(ITEMS));
    g.bench_function("weir_items16", |b| {
        b.to_async(&rt).iter(|| weir_objects(ITEMS, None))
    });
    g.bench_function("tokio_mpsc16", |b| {
        b.to_async(&rt).iter(|| mpsc_objects(ITEMS))
    });
    g.finish();
}

fn bytes(c: &mut Criterion) {
    let rt = runtime();
    let mut g = c.benchmark_group("buffer/bytes");
    g.sample_size(10).measurement_time(Duration::from_secs(20));
    g.throughput(Throughput::Bytes(TOTAL));
    g.bench_function("weir_64KiB", |b| b.to_async(&rt).iter(|| weir_bytes(TOTAL)));
    g.bench_function("tokio_duplex_64KiB", |b| {
        b.to_async(&rt).iter(|| tokio_duplex_bytes(TOTAL))
    });
    g.finish();
}

fn hysteresis(c: &mut Criterion) {
    let rt = runtime();
    let mut g = c.benchmark_group("buffer/hysteresis");
    g.sample_size(10).measurement_time(Duration::from_secs(20));
    g.throughput(Throughput::Elements(ITEMS));
    g.bench_function("low_default_8", |b| {
        b.to_async(&rt).iter(|| weir_objects(ITEMS, None))
    });
    g.bench_function("low_0_node", |b| {
        b.to_async(&rt).iter(|| weir_objects(ITEMS, Some(0)))
    });
    g.bench_function("low_15", |b| {
        b.to_async(&rt).iter(|| weir_objects(ITEMS, Some(15)))
    });
    g.finish();
}

criterion_group!(benches, objects, bytes, hysteresis);
criterion_main!(benches);
