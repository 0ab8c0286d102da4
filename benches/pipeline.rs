//! Object-mode pipelines: weir's fused stages against a hand-written
//! three-task `tokio::sync::mpsc` pipeline.
//!
//! - `pipeline/objects`: 5 million small items, source -> 2 transforms ->
//!   sink. weir fuses the two cheap transforms into the source's task (one
//!   buffer hop to the sink's task); the baseline is producer -> transform
//!   task -> consumer over two `mpsc::channel(16)`s, as
//!   `../shared/anchors/rust-baselines/src/bin/mpsc_objects.rs` does.
//!
//! Run: `cargo bench --bench pipeline`. Whole-process comparison against
//! Node.js: `examples/objects_pipeline.rs` (see docs/benchmarks.md).
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use futures::Sink;
use weir::pipe::Pipeline;
use weir::readable;

const ITEMS: u64 = 5_000_000;

#[derive(Debug, Clone, Copy)]
struct Item {
    id: u64,
    value: f64,
    flag: bool,
}

#[derive(Debug, Clone, Copy)]
struct Enriched {
    id: u64,
    value: f64,
    flag: bool,
    doubled: f64,
}

fn item(i: u64) -> Item {
    Item {
        id: i,
        value: i as f64 * 0.5,
        flag: i & 1 == 0,
    }
}

fn enrich(x: Item) -> Enriched {
    Enriched {
        id: x.id,
        value: x.value,
        flag: x.flag,
        doubled: x.value * 2.0,
    }
}

fn score(x: Enriched) -> Enriched {
    Enriched {
        doubled: x.doubled + 1.0,
        ..x
    }
}

fn fold(s: u64, x: &Enriched) -> u64 {
    s.wrapping_add(x.id ^ (x.flag as u64) ^ (x.doubled as u64 & 1) ^ (x.value as u64 & 1))
}

/// A sink that folds what it gets into a checksum.
#[derive(Default)]
struct Sum(std::sync::Arc<std::sync::atomic::AtomicU64>, u64);

impl Sink<Enriched> for Sum {
    type Error = weir::Error;
    fn poll_ready(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<Result<(), weir::Error>> {
        Poll::Ready(Ok(()))
    }
    fn start_send(mut self: Pin<&mut Self>, x: Enriched) -> Result<(), weir::Error> {
        self.1 = fold(self.1, &x);
        Ok(())
    }
    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<Result<(), weir::Error>> {
        Poll::Ready(Ok(()))
    }
    fn poll_close(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<Result<(), weir::Error>> {
        self.0.store(self.1, std::sync::atomic::Ordering::Relaxed);
        Poll::Ready(Ok(()))
    }
}

async fn weir_pipeline(n: u64) -> u64 {
    weir_pipeline_with(n, None).await
}

/// The same, recording a timeline every `every` (what `--timeline` does).
async fn weir_pipeline_with(n: u64, every: Option<Duration>) -> u64 {
    let sum = Sum::default();
    let out = sum.0.clone();
    let mut run = Pipeline::from(readable::from_iter((0..n).map(item)))
        .map("enrich", enrich)
        .map("score", score)
        .into(sum);
    if let Some(every) = every {
        run = run.timeline(every);
    }
    run.run().await.unwrap();
    out.load(std::sync::atomic::Ordering::Relaxed)
}

async fn mpsc_pipeline(n: u64) -> u64 {
    use tokio::sync::mpsc;
    let (tx, mut rx) = mpsc::channel::<Item>(16);
    let (tx2, mut rx2) = mpsc::channel::<Enriched>(16);
    let producer = tokio::spawn(async move {
        for i in 0..n {
            tx.send(item(i)).await.unwrap();
        }
    });
    let middle = tokio::spawn(async move {
        while let Some(x) = rx.recv().await {
            tx2.send(score(enrich(x))).await.unwrap();
        }
    });
    let consumer = tokio::spawn(async move {
        let mut s = 0u64;
        while let Some(x) = rx2.recv().await {
            s = fold(s, &x);
        }
        s
    });
    producer.await.unwrap();
    middle.await.unwrap();
    consumer.await.unwrap()
}

fn objects(c: &mut Criterion) {
    // The time driver: the timeline's sampler ticks on it.
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_time()
        .build()
        .unwrap();
    assert_eq!(
        rt.block_on(weir_pipeline(10_000)),
        rt.block_on(mpsc_pipeline(10_000))
    );
    let mut g = c.benchmark_group("pipeline/objects");
    g.sample_size(10).measurement_time(Duration::from_secs(20));
    g.throughput(Throughput::Elements(ITEMS));
    g.bench_function("weir_fused_2_transforms", |b| {
        b.to_async(&rt).iter(|| weir_pipeline(ITEMS))
    });
    g.bench_function("weir_fused_2_transforms_timeline", |b| {
        b.to_async(&rt)
            .iter(|| weir_pipeline_with(ITEMS, Some(Duration::from_millis(100))))
    });
    g.bench_function("tokio_mpsc_3_tasks", |b| {
        b.to_async(&rt).iter(|| mpsc_pipeline(ITEMS))
    });
    g.finish();
}

criterion_group!(benches, objects);
criterion_main!(benches);
