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
//!   task -> sink task), the same `Pipeline` built `in_one_task()` (source,
//!   calls and sink fused, polled by `run()`'s caller), and the three stages of that pipeline joined by
//!   the same buffers but polled together in the benchmark's own task.
//!   (CPU group only: the calls in the benchmark's task, the source and the
//!   sink spawned.)
//! - `operators/map_async_yield_cpu`: the same contenders timed in CPU time
//!   of the whole process (all threads, from `/proc/self/task/*/schedstat`;
//!   Linux only, skipped elsewhere), with each one's context switches per
//!   run printed once: what each costs the machine, and a figure a busy
//!   machine disturbs far less than wall time.
//! - `operators/map_async_sleep`: 6 400 items through `sleep(1 ms)`, 64 in
//!   flight; the ideal is 6 400 x 1 ms / 64 = 100 ms. Also one `sleep(1 ms)`
//!   alone, 100 of them in a row, `buffer_unordered(64)` and a hand-kept
//!   `FuturesOrdered` of 64: what Tokio's timer allows.
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

/// The pipelines' sink adds to a sum shared with the benchmark, as the
/// chain's `try_for_each` adds to a local: one writer, so a load and a
/// store (no locked read-modify-write, which a local sum does not pay).
#[inline]
fn sink_add(sum: &std::sync::atomic::AtomicU64, x: u64) {
    use std::sync::atomic::Ordering::Relaxed;
    sum.store(sum.load(Relaxed).wrapping_add(x), Relaxed);
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
            sink_add(&out, x);
            future::ready(Ok(()))
        }))
        .run()
        .await
        .unwrap();
    sum.load(std::sync::atomic::Ordering::Relaxed)
}

/// The same pipeline built `in_one_task()`: source, calls and sink fused
/// into one task with no buffer between them, polled by `run()`'s caller.
async fn weir_pipeline_one_task<F, Fut>(n: u64, c: usize, f: F) -> u64
where
    F: FnMut(u64) -> Fut + Send + 'static,
    Fut: Future<Output = Result<u64, Error>> + Send + 'static,
{
    let sum = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
    let out = sum.clone();
    Pipeline::from(readable::from_iter(0..n))
        .in_one_task()
        .map_async("f", c, f)
        .unwrap()
        .into(writable::from_fn(move |x: u64| {
            sink_add(&out, x);
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
            sink_add(&out, x);
            future::ready(Ok(()))
        }))
        .run()
        .await
        .unwrap();
    sum.load(std::sync::atomic::Ordering::Relaxed)
}

/// The three stages of `weir_pipeline` (source pump, calls, sink) joined
/// by the same weir buffers (16 items), but polled together in the calling
/// task rather than spawned: what the buffer hand-overs cost without any
/// task hop or worker thread.
async fn stages_in_one_task<F, Fut>(n: u64, c: usize, f: F) -> u64
where
    F: FnMut(u64) -> Fut,
    Fut: Future<Output = Result<u64, Error>>,
{
    let (to_calls, from_source) = weir::buffer::<u64>(weir::Limit::items(16));
    let (to_sink, from_calls) = weir::buffer::<u64>(weir::Limit::items(16));
    let mut sum = 0u64;
    let source = readable::from_iter(0..n).forward(to_calls);
    let calls = from_source.map_async(c, f).unwrap().forward(to_sink);
    let sink = from_calls.forward(writable::from_fn(|x: u64| {
        sum = sum.wrapping_add(x);
        future::ready(Ok(()))
    }));
    let (a, b, d) = futures::join!(source, calls, sink);
    a.unwrap();
    b.unwrap();
    d.unwrap();
    sum
}

/// The same three stages, the source and the sink spawned on the runtime's
/// workers and the calls polled in the calling task (on the benchmark's
/// thread, where a `yield_now` is cheap): each hand-over now crosses
/// threads.
async fn calls_in_caller<F, Fut>(n: u64, c: usize, f: F) -> u64
where
    F: FnMut(u64) -> Fut,
    Fut: Future<Output = Result<u64, Error>>,
{
    let (to_calls, from_source) = weir::buffer::<u64>(weir::Limit::items(16));
    let (to_sink, from_calls) = weir::buffer::<u64>(weir::Limit::items(16));
    let source = tokio::spawn(readable::from_iter(0..n).forward(to_calls));
    let sink = tokio::spawn(async move {
        let mut sum = 0u64;
        from_calls
            .forward(writable::from_fn(|x: u64| {
                sum = sum.wrapping_add(x);
                future::ready(Ok(()))
            }))
            .await
            .map(|()| sum)
    });
    from_source
        .map_async(c, f)
        .unwrap()
        .forward(to_sink)
        .await
        .unwrap();
    source.await.unwrap().unwrap();
    sink.await.unwrap().unwrap()
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
        rt.block_on(weir_pipeline_one_task(10_000, 4, yield_once)),
        expect
    );
    assert_eq!(
        rt.block_on(weir_pipeline_in_source(10_000, 4, yield_once)),
        expect
    );
    assert_eq!(
        rt.block_on(stages_in_one_task(10_000, 4, yield_once)),
        expect
    );
    assert_eq!(rt.block_on(calls_in_caller(10_000, 4, yield_once)), expect);
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
    g.bench_function("weir_pipeline_one_task_map_async_4", |b| {
        b.to_async(&rt)
            .iter(|| weir_pipeline_one_task(YIELD_ITEMS, 4, yield_once))
    });
    g.bench_function("weir_pipeline_source_map_async_4", |b| {
        b.to_async(&rt)
            .iter(|| weir_pipeline_in_source(YIELD_ITEMS, 4, yield_once))
    });
    g.bench_function("weir_stages_in_one_task_4", |b| {
        b.to_async(&rt)
            .iter(|| stages_in_one_task(YIELD_ITEMS, 4, yield_once))
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
    // One `sleep(1 ms)` alone: what the timer makes of 1 ms.
    g.bench_function("tokio_sleep_1ms_once", |b| {
        b.to_async(&rt).iter(|| sleep_1ms(0))
    });
    g.bench_function("futures_buffered_64", |b| {
        b.to_async(&rt)
            .iter(|| futures_buffered(SLEEP_ITEMS, 64, sleep_1ms))
    });
    // Completion order instead of input order: a slot is refilled as soon
    // as its call ends.
    g.bench_function("futures_buffer_unordered_64", |b| {
        b.to_async(&rt).iter(|| async {
            stream::iter(0..SLEEP_ITEMS)
                .map(sleep_1ms)
                .buffer_unordered(64)
                .try_fold(0u64, |a, x| future::ready(Ok(a.wrapping_add(x))))
                .await
                .unwrap()
        })
    });
    // No stream combinator: a `FuturesOrdered` kept at 64 calls by hand.
    g.bench_function("raw_futures_ordered_64", |b| {
        b.to_async(&rt).iter(|| async {
            let mut calls = stream::FuturesOrdered::new();
            let mut next = 0u64;
            let mut sum = 0u64;
            loop {
                while calls.len() < 64 && next < SLEEP_ITEMS {
                    calls.push_back(sleep_1ms(next));
                    next += 1;
                }
                match calls.next().await {
                    Some(r) => sum = sum.wrapping_add(r.unwrap()),
                    None => break,
                }
            }
            sum
        })
    });
    g.bench_function("weir_map_async_64", |b| {
        b.to_async(&rt)
            .iter(|| weir_map_async(SLEEP_ITEMS, 64, sleep_1ms))
    });
    g.bench_function("weir_pipeline_map_async_64", |b| {
        b.to_async(&rt)
            .iter(|| weir_pipeline(SLEEP_ITEMS, 64, sleep_1ms))
    });
    g.bench_function("weir_pipeline_one_task_map_async_64", |b| {
        b.to_async(&rt)
            .iter(|| weir_pipeline_one_task(SLEEP_ITEMS, 64, sleep_1ms))
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

/// CPU time used by every thread of this process so far (the sum of
/// `/proc/self/task/*/schedstat`'s first field, in ns), and their context
/// switches (voluntary and involuntary, `/proc/self/task/*/status`). `None`
/// where `/proc` has no such files. The contenders start no thread of their
/// own, so no thread's time is lost by ending between two readings.
fn process_cpu() -> Option<(Duration, u64)> {
    let mut ns = 0u64;
    let mut switches = 0u64;
    for task in std::fs::read_dir("/proc/self/task").ok()? {
        let dir = task.ok()?.path();
        // A thread that ended since the listing is skipped.
        let (Ok(sched), Ok(status)) = (
            std::fs::read_to_string(dir.join("schedstat")),
            std::fs::read_to_string(dir.join("status")),
        ) else {
            continue;
        };
        ns += sched.split_whitespace().next()?.parse::<u64>().ok()?;
        for line in status.lines() {
            if line.starts_with("voluntary_ctxt_switches")
                || line.starts_with("nonvoluntary_ctxt_switches")
            {
                switches += line.split_whitespace().nth(1)?.parse::<u64>().ok()?;
            }
        }
    }
    Some((Duration::from_nanos(ns), switches))
}

/// The `map_async_yield` contenders again, timed in CPU time of the whole
/// process (every runtime thread and the benchmark's own) rather than wall
/// time: what each costs the machine, and a figure that a busy machine
/// disturbs far less than wall time (a woken thread may wait for a core).
/// Each contender's context switches per run are printed once.
fn map_async_yield_cpu(c: &mut Criterion) {
    type Contender = (
        &'static str,
        fn() -> std::pin::Pin<Box<dyn Future<Output = u64> + Send>>,
    );
    let contenders: [Contender; 8] = [
        ("futures_buffered_4", || {
            Box::pin(futures_buffered(YIELD_ITEMS, 4, yield_once))
        }),
        ("futures_buffered_4_spawned", || {
            Box::pin(async {
                tokio::spawn(futures_buffered(YIELD_ITEMS, 4, yield_once))
                    .await
                    .unwrap()
            })
        }),
        ("weir_map_async_4", || {
            Box::pin(weir_map_async(YIELD_ITEMS, 4, yield_once))
        }),
        ("weir_pipeline_map_async_4", || {
            Box::pin(weir_pipeline(YIELD_ITEMS, 4, yield_once))
        }),
        ("weir_pipeline_one_task_map_async_4", || {
            Box::pin(weir_pipeline_one_task(YIELD_ITEMS, 4, yield_once))
        }),
        ("weir_pipeline_source_map_async_4", || {
            Box::pin(weir_pipeline_in_source(YIELD_ITEMS, 4, yield_once))
        }),
        ("weir_stages_in_one_task_4", || {
            Box::pin(stages_in_one_task(YIELD_ITEMS, 4, yield_once))
        }),
        ("weir_calls_in_caller_4", || {
            Box::pin(calls_in_caller(YIELD_ITEMS, 4, yield_once))
        }),
    ];
    if process_cpu().is_none() {
        eprintln!("operators/map_async_yield_cpu: no /proc/self/task here; skipped");
        return;
    }
    let rt = runtime();
    for (name, run) in &contenders {
        let (cpu0, sw0) = process_cpu().unwrap();
        rt.block_on(run());
        let (cpu1, sw1) = process_cpu().unwrap();
        eprintln!(
            "operators/map_async_yield_cpu/{name}: one run: {:.1} ms CPU, {} context switches",
            (cpu1 - cpu0).as_secs_f64() * 1e3,
            sw1 - sw0
        );
    }
    let mut g = c.benchmark_group("operators/map_async_yield_cpu");
    g.sample_size(10)
        .sampling_mode(criterion::SamplingMode::Flat)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(4));
    g.throughput(Throughput::Elements(YIELD_ITEMS));
    for (name, run) in contenders {
        g.bench_function(name, |b| {
            b.iter_custom(|iters| {
                let mut cpu = Duration::ZERO;
                for _ in 0..iters {
                    let (before, _) = process_cpu().unwrap();
                    rt.block_on(run());
                    let (after, _) = process_cpu().unwrap();
                    cpu += after - before;
                }
                cpu
            })
        });
    }
    g.finish();
}

criterion_group!(
    benches,
    map_async_yield,
    map_async_yield_cpu,
    map_async_sleep,
    batch
);
criterion_main!(benches);
