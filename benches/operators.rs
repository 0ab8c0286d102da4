//! The async operators against the `futures` combinators and hand-written
//! loops they replace, side by side on one Tokio runtime (2 workers).
//!
//! - `operators/map_async_yield`: 1 M small items through an async fn that
//!   yields once (`tokio::task::yield_now`), 4 calls in flight: weir's
//!   `ReadableOps::map_async`, the plain futures chain
//!   `stream::iter(items).map(f).buffered(4).try_for_each(..)` (on the
//!   benchmark's thread, and on a spawned task as pipeline stages run), a whole
//!   `Pipeline` (source task -> map_async task -> sink task), and a
//!   `Pipeline` whose source is the readable form (the calls in the source's
//!   task -> sink task).
//! - `operators/map_async_sleep`: 6 400 items through `sleep(1 ms)`, 64 in
//!   flight; the ideal is 6 400 x 1 ms / 64 = 100 ms.
//! - `operators/batch`: 10 M items into batches of 100 (`max_wait` 10 ms,
//!   never reached) against a hand-written batching loop.
//!
//! Run: `cargo bench --bench operators` (figures in docs/benchmarks.md).
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use futures::{StreamExt, TryStreamExt, future, stream};
use weir::pipe::{Pipeline, ReadableOps};
use weir::{Error, readable, writable};

const YIELD_ITEMS: u64 = 1_000_000;
const SLEEP_ITEMS: u64 = 6_400;
const BATCH_ITEMS: u64 = 10_000_000;

async fn yield_once(x: u64) -> Result<u64, Error> {
    tokio::task::yield_now().await;
    Ok(x)
}

async fn sleep_1ms(x: u64) -> Result<u64, Error> {
    tokio::time::sleep(Duration::from_millis(1)).await;
    Ok(x)
}

async fn futures_buffered<F, Fut>(n: u64, c: usize, f: F) -> u64
where
    F: FnMut(u64) -> Fut,
    Fut: Future<Output = Result<u64, Error>>,
{
    let mut sum = 0u64;
    stream::iter(0..n)
        .map(f)
        .buffered(c)
        .try_for_each(|x| {
            sum = sum.wrapping_add(x);
            future::ready(Ok(()))
        })
        .await
        .unwrap();
    sum
}

async fn weir_map_async<F, Fut>(n: u64, c: usize, f: F) -> u64
where
    F: FnMut(u64) -> Fut,
    Fut: Future<Output = Result<u64, Error>>,
{
    let mut sum = 0u64;
    readable::from_iter(0..n)
        .map_async(c, f)
        .unwrap()
        .try_for_each(|x| {
            sum = sum.wrapping_add(x);
            future::ready(Ok(()))
        })
        .await
        .unwrap();
    sum
}

async fn weir_pipeline<F, Fut>(n: u64, c: usize, f: F) -> u64
where
    F: FnMut(u64) -> Fut + Send + 'static,
    Fut: Future<Output = Result<u64, Error>> + Send + 'static,
{
    let sum = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
    let out = sum.clone();
    Pipeline::from(readable::from_iter(0..n))
        .map_async("f", c, f)
        .unwrap()
        .into(writable::from_fn(move |x: u64| {
            out.fetch_add(x, std::sync::atomic::Ordering::Relaxed);
            future::ready(Ok(()))
        }))
        .run()
        .await
        .unwrap();
    sum.load(std::sync::atomic::Ordering::Relaxed)
}

/// The calls in the source's task: `Pipeline::from(src.map_async(..))`.
async fn weir_pipeline_in_source<F, Fut>(n: u64, c: usize, f: F) -> u64
where
    F: FnMut(u64) -> Fut + Send + 'static,
    Fut: Future<Output = Result<u64, Error>> + Send + 'static,
{
    let sum = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
    let out = sum.clone();
    Pipeline::from(readable::from_iter(0..n).map_async(c, f).unwrap())
        .into(writable::from_fn(move |x: u64| {
            out.fetch_add(x, std::sync::atomic::Ordering::Relaxed);
            future::ready(Ok(()))
        }))
        .run()
        .await
        .unwrap();
    sum.load(std::sync::atomic::Ordering::Relaxed)
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

fn map_async_yield(c: &mut Criterion) {
    let rt = runtime();
    let expect = (0..10_000u64).sum::<u64>();
    assert_eq!(rt.block_on(futures_buffered(10_000, 4, yield_once)), expect);
    assert_eq!(rt.block_on(weir_map_async(10_000, 4, yield_once)), expect);
    assert_eq!(rt.block_on(weir_pipeline(10_000, 4, yield_once)), expect);
    assert_eq!(
        rt.block_on(weir_pipeline_in_source(10_000, 4, yield_once)),
        expect
    );
    let mut g = c.benchmark_group("operators/map_async_yield");
    g.sample_size(10).measurement_time(Duration::from_secs(8));
    g.throughput(Throughput::Elements(YIELD_ITEMS));
    g.bench_function("futures_buffered_4", |b| {
        b.to_async(&rt)
            .iter(|| futures_buffered(YIELD_ITEMS, 4, yield_once))
    });
    // The same chain on a worker task (as every pipeline stage runs), not
    // on the thread that blocks on the benchmark.
    g.bench_function("futures_buffered_4_spawned", |b| {
        b.to_async(&rt).iter(|| async {
            tokio::spawn(futures_buffered(YIELD_ITEMS, 4, yield_once))
                .await
                .unwrap()
        })
    });
    g.bench_function("weir_map_async_4", |b| {
        b.to_async(&rt)
            .iter(|| weir_map_async(YIELD_ITEMS, 4, yield_once))
    });
    g.bench_function("weir_pipeline_map_async_4", |b| {
        b.to_async(&rt)
            .iter(|| weir_pipeline(YIELD_ITEMS, 4, yield_once))
    });
    g.bench_function("weir_pipeline_source_map_async_4", |b| {
        b.to_async(&rt)
            .iter(|| weir_pipeline_in_source(YIELD_ITEMS, 4, yield_once))
    });
    g.finish();
}

fn map_async_sleep(c: &mut Criterion) {
    let rt = runtime();
    let mut g = c.benchmark_group("operators/map_async_sleep");
    g.sample_size(10).measurement_time(Duration::from_secs(5));
    g.throughput(Throughput::Elements(SLEEP_ITEMS));
    // What the timer allows: 100 sleeps of 1 ms one after the other (the
    // 6 400 calls are 100 waves of 64).
    g.bench_function("tokio_sleep_1ms_x100_sequential", |b| {
        b.to_async(&rt).iter(|| async {
            for i in 0..SLEEP_ITEMS / 64 {
                sleep_1ms(i).await.unwrap();
            }
        })
    });
    g.bench_function("futures_buffered_64", |b| {
        b.to_async(&rt)
            .iter(|| futures_buffered(SLEEP_ITEMS, 64, sleep_1ms))
    });
    g.bench_function("weir_map_async_64", |b| {
        b.to_async(&rt)
            .iter(|| weir_map_async(SLEEP_ITEMS, 64, sleep_1ms))
    });
    g.bench_function("weir_pipeline_map_async_64", |b| {
        b.to_async(&rt)
            .iter(|| weir_pipeline(SLEEP_ITEMS, 64, sleep_1ms))
    });
    g.finish();
}

async fn weir_batch(n: u64) -> u64 {
    let mut total = 0u64;
    readable::from_iter(0..n)
        .batch(100, Duration::from_millis(10))
        .unwrap()
        .try_for_each(|b| {
            total += b.len() as u64 + b[0];
            future::ready(Ok(()))
        })
        .await
        .unwrap();
    total
}

async fn hand_batch(n: u64) -> u64 {
    let mut total = 0u64;
    let mut consume = |b: Vec<u64>| total += b.len() as u64 + b[0];
    let mut src = readable::from_iter(0..n);
    let mut buf = Vec::with_capacity(100);
    while let Some(x) = src.next().await {
        buf.push(x.unwrap());
        if buf.len() == 100 {
            consume(std::mem::replace(&mut buf, Vec::with_capacity(100)));
        }
    }
    if !buf.is_empty() {
        consume(buf);
    }
    total
}

fn batch(c: &mut Criterion) {
    let rt = runtime();
    assert_eq!(
        rt.block_on(weir_batch(10_050)),
        rt.block_on(hand_batch(10_050))
    );
    let mut g = c.benchmark_group("operators/batch");
    g.sample_size(20).measurement_time(Duration::from_secs(5));
    g.throughput(Throughput::Elements(BATCH_ITEMS));
    g.bench_function("hand_written_loop_100", |b| {
        b.to_async(&rt).iter(|| hand_batch(BATCH_ITEMS))
    });
    g.bench_function("weir_batch_100", |b| {
        b.to_async(&rt).iter(|| weir_batch(BATCH_ITEMS))
    });
    g.finish();
}

criterion_group!(benches, map_async_yield, map_async_sleep, batch);
criterion_main!(benches);
