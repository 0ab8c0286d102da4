//! The async operators: map_async (ordered and unordered), filter_async,
//! batch, take, inspect and writable::from_fn — ordering, the concurrency
//! bound, error naming, panics, cancellation and zero arguments.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::{SinkExt, StreamExt, TryStreamExt};
use tokio::time::{Instant, sleep};
use weir::pipe::{CancellationToken, Pipeline, ReadableOps};
use weir::{Error, readable, writable};

/// Counts calls running now and the most ever running at once.
#[derive(Clone, Default)]
struct Gauge {
    now: Arc<AtomicUsize>,
    max: Arc<AtomicUsize>,
    alive: Arc<AtomicUsize>,
}

/// Held by a running call; dropping it (the call finished or was dropped)
/// counts it out.
struct Running(Gauge);

impl Gauge {
    fn enter(&self) -> Running {
        let n = self.now.fetch_add(1, SeqCst) + 1;
        self.max.fetch_max(n, SeqCst);
        self.alive.fetch_add(1, SeqCst);
        Running(self.clone())
    }
    fn max(&self) -> usize {
        self.max.load(SeqCst)
    }
    fn alive(&self) -> usize {
        self.alive.load(SeqCst)
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.0.now.fetch_sub(1, SeqCst);
        self.0.alive.fetch_sub(1, SeqCst);
    }
}

/// A delay that varies with the item, so calls finish out of order.
fn jitter(i: u64) -> Duration {
    Duration::from_millis((i * 7919) % 13 + 1)
}

fn slow_call(
    g: &Gauge,
) -> impl FnMut(u64) -> futures::future::BoxFuture<'static, Result<u64, Error>> + use<> {
    let g = g.clone();
    move |i| {
        let running = g.enter();
        Box::pin(async move {
            sleep(jitter(i)).await;
            drop(running);
            Ok(i * 2)
        })
    }
}

async fn within<F: std::future::Future>(f: F) -> F::Output {
    tokio::time::timeout(Duration::from_secs(60), f)
        .await
        .expect("the test timed out")
}

// ---- map_async on a readable ----

#[tokio::test(start_paused = true)]
async fn map_async_keeps_input_order_and_the_bound() {
    for c in [1, 3, 8] {
        let g = Gauge::default();
        let s = readable::from_iter(0..200u64)
            .map_async(c, slow_call(&g))
            .unwrap();
        let out: Vec<u64> = within(s.try_collect()).await.unwrap();
        assert_eq!(out, (0..200).map(|i| i * 2).collect::<Vec<_>>());
        assert_eq!(g.max(), c, "concurrency {c}: at most c, and c reached");
        assert_eq!(g.alive(), 0);
    }
}

#[tokio::test(start_paused = true)]
async fn map_async_unordered_yields_as_completed_within_the_bound() {
    let g = Gauge::default();
    let s = readable::from_iter(0..200u64)
        .map_async_unordered(5, slow_call(&g))
        .unwrap();
    let out: Vec<u64> = within(s.try_collect()).await.unwrap();
    assert_eq!(g.max(), 5);
    assert_ne!(
        out,
        (0..200).map(|i| i * 2).collect::<Vec<_>>(),
        "not in input order"
    );
    let mut sorted = out.clone();
    sorted.sort_unstable();
    assert_eq!(sorted, (0..200).map(|i| i * 2).collect::<Vec<_>>());
}

#[tokio::test(start_paused = true)]
async fn map_async_runs_calls_concurrently() {
    // 64 calls of 1 s, 16 at a time: 4 s, not 64.
    let t0 = Instant::now();
    let s = readable::from_iter(0..64u32)
        .map_async(16, |i| async move {
            sleep(Duration::from_secs(1)).await;
            Ok(i)
        })
        .unwrap();
    let n = within(s.try_fold(0, |n, _| async move { Ok(n + 1) }))
        .await
        .unwrap();
    assert_eq!(n, 64);
    assert_eq!(t0.elapsed(), Duration::from_secs(4));
}

#[tokio::test]
async fn zero_arguments_are_errors_at_construction() {
    let e = readable::from_iter(0..3u32)
        .map_async(0, |i| async move { Ok(i) })
        .err()
        .unwrap();
    assert_eq!(e.io_kind(), io::ErrorKind::InvalidInput);
    assert_eq!(e.stage(), Some("map_async"));
    assert!(
        e.to_string().contains("concurrency must be at least 1"),
        "{e}"
    );
    assert!(
        readable::from_iter(0..3u32)
            .map_async_unordered(0, |i| async move { Ok(i) })
            .is_err()
    );
    assert!(
        readable::from_iter(0..3u32)
            .filter_async(0, |_| async { Ok(true) })
            .is_err()
    );
    let e = readable::from_iter(0..3u32)
        .batch(0, Duration::from_secs(1))
        .err()
        .unwrap();
    assert_eq!(e.io_kind(), io::ErrorKind::InvalidInput);
    assert!(
        e.to_string().contains("max_items must be at least 1"),
        "{e}"
    );

    let p = Pipeline::from(readable::from_iter(0..3u32));
    let e = p
        .map_async("fetch", 0, |i| async move { Ok(i) })
        .err()
        .unwrap();
    assert_eq!(e.stage(), Some("fetch"));
    assert_eq!(e.io_kind(), io::ErrorKind::InvalidInput);
    let p = Pipeline::from(readable::from_iter(0..3u32));
    assert!(
        p.map_async_unordered("f", 0, |i| async move { Ok(i) })
            .is_err()
    );
    let p = Pipeline::from(readable::from_iter(0..3u32));
    assert!(p.filter_async("f", 0, |_| async { Ok(true) }).is_err());
    let p = Pipeline::from(readable::from_iter(0..3u32));
    let e = p.batch("rows", 0, Duration::ZERO).err().unwrap();
    assert_eq!(e.stage(), Some("rows"));
}

#[tokio::test(start_paused = true)]
async fn a_failed_call_names_the_operator_and_drops_the_others() {
    let g = Gauge::default();
    let g2 = g.clone();
    let s = readable::from_iter(0..100u64)
        .map_async(8, move |i| {
            let running = g2.enter();
            async move {
                let _running = running;
                if i == 3 {
                    sleep(Duration::from_millis(5)).await;
                    return Err(Error::msg("no such user"));
                }
                // The calls before it finish; the ones after it never do.
                sleep(Duration::from_secs(if i < 3 { 0 } else { 3600 })).await;
                Ok(i)
            }
        })
        .unwrap()
        .with_name("lookup");
    futures::pin_mut!(s);
    for i in 0..3 {
        assert_eq!(within(s.next()).await.unwrap().unwrap(), i);
    }
    assert!(g.alive() >= 5, "call 3 and the ones after it are in flight");
    let e = within(s.next()).await.unwrap().unwrap_err();
    assert_eq!(e.stage(), Some("lookup"));
    assert!(e.to_string().contains("no such user"));
    assert_eq!(g.alive(), 0, "the other calls were dropped");
    assert!(s.next().await.is_none(), "the stream ends after its error");
}

#[tokio::test]
async fn a_panicking_call_is_an_error_and_the_others_are_dropped() {
    let g = Gauge::default();
    let g2 = g.clone();
    let s = readable::from_iter(0..100u64)
        .map_async_unordered(4, move |i| {
            let running = g2.enter();
            async move {
                let _running = running;
                if i == 2 {
                    tokio::task::yield_now().await;
                    panic!("boom in call {i}");
                }
                std::future::pending::<()>().await;
                Ok(i)
            }
        })
        .unwrap();
    futures::pin_mut!(s);
    let e = within(s.next()).await.unwrap().unwrap_err();
    assert!(e.is_panic(), "{e}");
    assert_eq!(e.stage(), Some("map_async"));
    assert!(e.to_string().contains("boom in call 2"), "{e}");
    assert_eq!(g.alive(), 0);
    // A panic in the function itself, before any future exists.
    let s = readable::from_iter(0..3u64)
        .map_async(2, |i| {
            if i == 1 {
                panic!("bad input");
            }
            async move { Ok(i) }
        })
        .unwrap();
    let e = within(s.try_collect::<Vec<_>>()).await.unwrap_err();
    assert!(e.is_panic());
    assert!(e.to_string().contains("bad input"));
}

#[tokio::test]
async fn dropping_the_stream_drops_the_calls_in_flight() {
    let g = Gauge::default();
    let g2 = g.clone();
    let mut s = Box::pin(
        readable::from_iter(0..100u64)
            .map_async(6, move |i| {
                let running = g2.enter();
                async move {
                    let _running = running;
                    if i > 0 {
                        std::future::pending::<()>().await;
                    }
                    Ok(i)
                }
            })
            .unwrap(),
    );
    assert_eq!(within(s.next()).await.unwrap().unwrap(), 0);
    let _ = tokio::time::timeout(Duration::from_millis(10), s.next()).await;
    assert_eq!(g.alive(), 6, "six calls held: the bound");
    assert_eq!(s.in_flight_peak(), 6);
    drop(s);
    assert_eq!(g.alive(), 0);
}

#[tokio::test]
async fn upstream_errors_pass_through_map_async() {
    let src = readable::from_try_stream(futures::stream::iter(vec![
        Ok(1u32),
        Err(Error::corrupt("bad record")),
        Ok(3),
    ]));
    let s = src.map_async(2, |i| async move { Ok(i) }).unwrap();
    let e = s.try_collect::<Vec<_>>().await.unwrap_err();
    assert!(e.is_corrupt());
}

// ---- map_async in a pipeline ----

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pipeline_map_async_reports_its_in_flight_peak() {
    let g = Gauge::default();
    let got = Arc::new(Mutex::new(Vec::new()));
    let sink_got = got.clone();
    let report = within(
        Pipeline::from(readable::from_iter(0..300u64))
            .map_async("fetch", 7, slow_call(&g))
            .unwrap()
            .map("plus one", |n| n + 1)
            .into(writable::from_fn(move |n: u64| {
                sink_got.lock().unwrap().push(n);
                async { Ok(()) }
            }))
            .run(),
    )
    .await
    .unwrap();
    assert_eq!(
        *got.lock().unwrap(),
        (0..300).map(|i| i * 2 + 1).collect::<Vec<_>>()
    );
    assert!(g.max() <= 7);
    let stage = report.stage("fetch+plus one").expect("the map_async stage");
    assert_eq!(stage.in_flight_peak, 7);
    assert_eq!(stage.chunks_in, 300);
    assert_eq!(stage.chunks_out, 300);
    assert_eq!(report.stage("source").unwrap().in_flight_peak, 0);
    let json = serde_json::to_value(&report).unwrap();
    assert_eq!(json["stages"][1]["in_flight_peak"], 7);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pipeline_map_async_errors_and_panics_name_the_stage_and_leave_nothing() {
    for panics in [false, true] {
        let g = Gauge::default();
        let g2 = g.clone();
        let e = within(
            Pipeline::from(readable::from_iter(0..1000u64))
                .map_async("fetch", 5, move |i| {
                    let running = g2.enter();
                    async move {
                        let _running = running;
                        if i == 20 {
                            if panics {
                                panic!("fetch blew up");
                            }
                            return Err(Error::msg("HTTP 500"));
                        }
                        sleep(Duration::from_millis(if i > 20 { 60_000 } else { 1 })).await;
                        Ok(i)
                    }
                })
                .unwrap()
                .into(writable::from_fn(|_n: u64| async { Ok(()) }))
                .run(),
        )
        .await
        .unwrap_err();
        assert_eq!(e.stage(), Some("fetch"), "{e}");
        assert_eq!(e.is_panic(), panics, "{e}");
        assert_eq!(g.alive(), 0, "a call outlived the run");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancelling_a_run_drops_the_calls_in_flight() {
    let g = Gauge::default();
    let g2 = g.clone();
    let token = CancellationToken::new();
    let run = Pipeline::from(readable::from_iter(0..1000u64))
        .map_async_unordered("fetch", 9, move |i| {
            let running = g2.enter();
            async move {
                let _running = running;
                std::future::pending::<()>().await;
                Ok(i)
            }
        })
        .unwrap()
        .into(writable::from_fn(|_n: u64| async { Ok(()) }))
        .cancel_on(token.clone());
    let task = tokio::spawn(run.run());
    while g.alive() < 9 {
        sleep(Duration::from_millis(1)).await;
    }
    token.cancel();
    let e = within(task).await.unwrap().unwrap_err();
    assert!(e.is_cancelled());
    assert_eq!(g.alive(), 0);
    assert_eq!(g.max(), 9);
}

// ---- filter_async ----

#[tokio::test(start_paused = true)]
async fn filter_async_keeps_order_within_the_bound() {
    let g = Gauge::default();
    let g2 = g.clone();
    let s = readable::from_iter(0..100u64)
        .filter_async(4, move |n: &u64| {
            let (n, running) = (*n, g2.enter());
            async move {
                sleep(jitter(n)).await;
                drop(running);
                Ok(n % 3 == 0)
            }
        })
        .unwrap();
    let out: Vec<u64> = within(s.try_collect()).await.unwrap();
    assert_eq!(out, (0..100).filter(|n| n % 3 == 0).collect::<Vec<_>>());
    assert_eq!(g.max(), 4);

    let report = Pipeline::from(readable::from_iter(0..50u64))
        .filter_async("keep", 3, |n: &u64| {
            let n = *n;
            async move {
                if n == 40 {
                    Err(Error::msg("no"))
                } else {
                    Ok(true)
                }
            }
        })
        .unwrap()
        .into(writable::from_fn(|_n: u64| async { Ok(()) }))
        .run()
        .await;
    assert_eq!(report.unwrap_err().stage(), Some("keep"));
}

// ---- batch ----

#[tokio::test(start_paused = true)]
async fn batch_fills_to_max_items_and_flushes_the_rest_at_the_end() {
    let s = readable::from_iter(0..10u32)
        .batch(4, Duration::from_secs(1))
        .unwrap();
    let out: Vec<Vec<u32>> = s.try_collect().await.unwrap();
    assert_eq!(out, [vec![0, 1, 2, 3], vec![4, 5, 6, 7], vec![8, 9]]);
    let empty: Vec<Vec<u32>> = readable::from_iter(0..0u32)
        .batch(4, Duration::from_secs(1))
        .unwrap()
        .try_collect()
        .await
        .unwrap();
    assert!(empty.is_empty());
}

#[tokio::test(start_paused = true)]
async fn batch_flushes_early_when_max_wait_passes() {
    // Three items at once, then a pause of 1 s, then two more and the end.
    let (mut tx, rx) = weir::buffer::<u32>(weir::Limit::items(16));
    let feeder = tokio::spawn(async move {
        for i in 0..3 {
            tx.send(i).await.unwrap();
        }
        sleep(Duration::from_secs(1)).await;
        tx.send(3).await.unwrap();
        sleep(Duration::from_millis(30)).await;
        tx.send(4).await.unwrap();
        tx.end();
    });
    let t0 = Instant::now();
    let s = rx.batch(100, Duration::from_millis(100)).unwrap();
    futures::pin_mut!(s);
    let mut seen = Vec::new();
    while let Some(b) = s.try_next().await.unwrap() {
        seen.push((b, t0.elapsed().as_millis()));
    }
    feeder.await.unwrap();
    // The first batch leaves 100 ms after its first item; the second, whose
    // first item came at 1 s, ends with the input at 1.03 s.
    assert_eq!(seen, [(vec![0, 1, 2], 100), (vec![3, 4], 1030)]);
}

#[tokio::test(start_paused = true)]
async fn pipeline_batch_is_a_stage_of_its_own() {
    let sizes = Arc::new(Mutex::new(Vec::new()));
    let s2 = sizes.clone();
    let report = Pipeline::from(readable::from_iter(0..1000u32))
        .batch("rows", 64, Duration::from_secs(1))
        .unwrap()
        .into_named(
            "insert",
            writable::from_fn(move |rows: Vec<u32>| {
                s2.lock().unwrap().push(rows.len());
                async { Ok(()) }
            }),
        )
        .run()
        .await
        .unwrap();
    let sizes = sizes.lock().unwrap();
    assert_eq!(sizes.iter().sum::<usize>(), 1000);
    assert!(sizes.iter().all(|&n| (1..=64).contains(&n)));
    let rows = report.stage("rows").unwrap();
    assert_eq!(rows.bytes_in, 1000);
    assert_eq!(rows.chunks_out, sizes.len() as u64);
    let names: Vec<&str> = report.stages.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["source", "rows", "insert"]);
}

// ---- take and inspect ----

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn take_ends_an_endless_source_and_the_run_succeeds() {
    let seen = Arc::new(AtomicUsize::new(0));
    let s = seen.clone();
    let report = within(
        Pipeline::from(readable::from_iter(0u64..))
            .map_async("work", 4, |n| async move { Ok(n) })
            .unwrap()
            .take(1000)
            .inspect("count", move |_n: &u64| {
                s.fetch_add(1, SeqCst);
            })
            .into(writable::from_fn(|_n: u64| async { Ok(()) }))
            .run(),
    )
    .await
    .unwrap();
    assert_eq!(report.bytes_out, 1000);
    assert_eq!(seen.load(SeqCst), 1000);
    assert!(report.stage("work+take+count").is_some());

    let report = Pipeline::from(readable::from_iter(0u64..))
        .take(0)
        .into(writable::from_fn(|_n: u64| async { Ok(()) }))
        .run()
        .await
        .unwrap();
    assert_eq!(report.bytes_out, 0);
}

// ---- writable::from_fn ----

#[tokio::test(start_paused = true)]
async fn from_fn_waits_for_each_call_and_reports_errors() {
    let g = Gauge::default();
    let g2 = g.clone();
    let t0 = Instant::now();
    let report = Pipeline::from(readable::from_iter(0..10u32))
        .into(writable::from_fn(move |_n: u32| {
            let running = g2.enter();
            async move {
                sleep(Duration::from_millis(100)).await;
                drop(running);
                Ok(())
            }
        }))
        .run()
        .await
        .unwrap();
    assert_eq!(report.bytes_out, 10);
    assert_eq!(g.max(), 1, "one call at a time");
    assert_eq!(t0.elapsed(), Duration::from_secs(1));

    let mut sink = writable::from_fn(|n: u32| async move {
        if n == 2 {
            Err(Error::msg("disk full"))
        } else {
            Ok(())
        }
    });
    sink.send(1).await.unwrap();
    sink.feed(2).await.unwrap();
    assert!(
        sink.flush()
            .await
            .unwrap_err()
            .to_string()
            .contains("disk full")
    );

    let e = Pipeline::from(readable::from_iter(0..10u32))
        .into_named(
            "db",
            writable::from_fn(|n: u32| async move {
                if n == 5 {
                    Err(Error::msg("constraint"))
                } else {
                    Ok(())
                }
            }),
        )
        .run()
        .await
        .unwrap_err();
    assert_eq!(e.stage(), Some("db"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_map_async_result_reaches_the_sink_while_the_source_waits() {
    // One item, then a source that waits for ever: the result must not sit
    // in the stage's gathered batch waiting for more.
    let (mut tx, rx) = weir::buffer::<u32>(weir::Limit::items(16));
    tx.send(7).await.unwrap();
    let (got_tx, got_rx) = tokio::sync::oneshot::channel();
    let mut got_tx = Some(got_tx);
    let run = tokio::spawn(
        Pipeline::from(rx)
            .map_async("f", 4, |n| async move {
                tokio::task::yield_now().await;
                Ok(n + 1)
            })
            .unwrap()
            .into(writable::from_fn(move |n: u32| {
                if let Some(t) = got_tx.take() {
                    let _ = t.send(n);
                }
                async { Ok(()) }
            }))
            .run(),
    );
    assert_eq!(within(got_rx).await.unwrap(), 8);
    run.abort();
    drop(tx);
}

#[tokio::test(start_paused = true)]
async fn a_slow_first_call_holds_back_at_most_concurrency_items() {
    // Head-of-line blocking in input order: call 0 takes 10 s, the others
    // finish at once. The stage must stop pulling once it holds 5 calls and
    // results, not run ahead buffering finished results.
    let pulled = Arc::new(AtomicUsize::new(0));
    let p = pulled.clone();
    let src = readable::from_iter((0..1000u64).inspect(move |_| {
        p.fetch_add(1, SeqCst);
    }));
    let s = src
        .map_async(5, |i| async move {
            if i == 0 {
                sleep(Duration::from_secs(10)).await;
            }
            Ok(i)
        })
        .unwrap();
    futures::pin_mut!(s);
    assert!(
        tokio::time::timeout(Duration::from_secs(5), s.next())
            .await
            .is_err()
    );
    assert_eq!(pulled.load(SeqCst), 5, "pulled past the bound");
    assert_eq!(s.in_flight_peak(), 5);
    assert_eq!(within(s.next()).await.unwrap().unwrap(), 0);
    let rest: Vec<u64> = within(s.try_collect()).await.unwrap();
    assert_eq!(rest, (1..1000).collect::<Vec<_>>());
    assert_eq!(pulled.load(SeqCst), 1000);
}

/// A `max_wait` too long to add to the clock (`Duration::MAX`) is "no time
/// limit", not a panic: batches go on when full or at the end.
#[tokio::test]
async fn batch_with_duration_max_waits_for_the_end() {
    let (mut tx, rx) = weir::buffer::<u32>(weir::Limit::items(8));
    let mut b = rx.batch(4, Duration::MAX).unwrap();
    let _ = tx.write(1).unwrap();
    let got = tokio::time::timeout(Duration::from_millis(50), b.next()).await;
    assert!(got.is_err(), "no batch before max_items or the end");
    tx.end();
    assert_eq!(b.next().await.unwrap().unwrap(), vec![1]);
}

/// An upstream error comes after the results of the calls started before
/// it (they are the items before it), in both orders.
#[tokio::test]
async fn map_async_hands_on_earlier_results_before_an_upstream_error() {
    for ordered in [true, false] {
        let items: Vec<Result<u32, weir::Error>> =
            vec![Ok(1), Ok(2), Err(weir::Error::msg("boom"))];
        let f = |n: u32| async move {
            tokio::task::yield_now().await;
            Ok::<_, weir::Error>(n * 10)
        };
        let up = futures::stream::iter(items);
        let out: Vec<Result<u32, weir::Error>> = if ordered {
            up.map_async(4, f).unwrap().collect().await
        } else {
            up.map_async_unordered(4, f).unwrap().collect().await
        };
        let mut oks: Vec<u32> = out
            .iter()
            .filter_map(|r| r.as_ref().ok().copied())
            .collect();
        oks.sort_unstable();
        assert_eq!(oks, vec![10, 20], "ordered {ordered}: {out:?}");
        assert!(
            out.last().is_some_and(Result::is_err),
            "ordered {ordered}: {out:?}"
        );
        assert_eq!(out.len(), 3, "ordered {ordered}: {out:?}");
    }
}
