//! One-task pipelines (`Pipeline::in_one_task`): the source, the async
//! operators and the sink fused into one task polled by the caller of
//! `run()` — nothing spawned, the operators' guarantees kept (the bound,
//! input order, errors and panics named after their stage, calls dropped on
//! cancellation), and one report entry per stage with its own counts.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use tokio::time::sleep;
use weir::pipe::{CancellationToken, Pipeline};
use weir::{Error, readable, writable};

/// Counts calls alive now and the most ever alive at once.
#[derive(Clone, Default)]
struct Gauge {
    now: Arc<AtomicUsize>,
    max: Arc<AtomicUsize>,
}

struct Running(Gauge);

impl Gauge {
    fn enter(&self) -> Running {
        let n = self.now.fetch_add(1, SeqCst) + 1;
        self.max.fetch_max(n, SeqCst);
        Running(self.clone())
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.0.now.fetch_sub(1, SeqCst);
    }
}

async fn within<F: std::future::Future>(f: F) -> F::Output {
    tokio::time::timeout(Duration::from_secs(20), f)
        .await
        .expect("the test timed out")
}

#[test]
fn a_one_task_run_needs_no_runtime_and_spawns_nothing() {
    // Polled by a plain executor: any `tokio::spawn` would panic here.
    let got = Arc::new(Mutex::new(Vec::new()));
    let sink_got = got.clone();
    let report = futures::executor::block_on(
        Pipeline::from(readable::from_iter(0..1000u64))
            .in_one_task()
            .map_async("double", 4, |n| async move {
                futures::future::ready(()).await;
                Ok::<_, Error>(n * 2)
            })
            .unwrap()
            .into(writable::from_fn(move |n: u64| {
                sink_got.lock().unwrap().push(n);
                async { Ok(()) }
            }))
            .run(),
    )
    .unwrap();
    assert_eq!(
        *got.lock().unwrap(),
        (0..1000).map(|n| n * 2).collect::<Vec<_>>()
    );
    assert_eq!(report.bytes_in, 1000);
    assert_eq!(report.bytes_out, 1000);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn map_async_in_one_task_keeps_order_and_the_bound_and_reports_each_stage() {
    for c in [1, 3, 8] {
        let g = Gauge::default();
        let g2 = g.clone();
        let got = Arc::new(Mutex::new(Vec::new()));
        let sink_got = got.clone();
        let run = Pipeline::from(readable::from_iter(0..300u64))
            .in_one_task()
            .map_async("fetch", c, move |i| {
                let running = g2.enter();
                async move {
                    // Finish out of order.
                    sleep(Duration::from_micros((i * 7919) % 13 * 50)).await;
                    drop(running);
                    Ok::<_, Error>(i * 2)
                }
            })
            .unwrap()
            .map("plus one", |n| n + 1)
            .filter_async("even-ish", 2, |n: &u64| {
                let keep = n % 4 == 1;
                async move { Ok::<_, Error>(keep) }
            })
            .unwrap()
            .into(writable::from_fn(move |n: u64| {
                sink_got.lock().unwrap().push(n);
                async { Ok(()) }
            }));
        assert_eq!(
            run.stage_names(),
            ["source", "fetch+plus one", "even-ish", "sink"]
        );
        let alive_before = tokio::runtime::Handle::current()
            .metrics()
            .num_alive_tasks();
        let report = within(run.run()).await.unwrap();
        assert_eq!(
            tokio::runtime::Handle::current()
                .metrics()
                .num_alive_tasks(),
            alive_before
        );
        let want: Vec<u64> = (0..300).map(|i| i * 2 + 1).filter(|n| n % 4 == 1).collect();
        assert_eq!(*got.lock().unwrap(), want);
        assert!(g.max.load(SeqCst) <= c);
        let names: Vec<&str> = report.stages.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["source", "fetch+plus one", "even-ish", "sink"]);
        assert!(report.stages.iter().all(|s| s.fused));
        let fetch = report.stage("fetch+plus one").unwrap();
        assert_eq!(fetch.in_flight_peak, c);
        assert_eq!((fetch.chunks_in, fetch.chunks_out), (300, 300));
        let filter = report.stage("even-ish").unwrap();
        assert_eq!(filter.chunks_in, 300);
        assert_eq!(filter.chunks_out, want.len() as u64);
        assert!(filter.in_flight_peak <= 2 && filter.in_flight_peak >= 1);
        let source = report.stage("source").unwrap();
        assert_eq!((source.chunks_in, source.chunks_out), (300, 300));
        let sink = report.stage("sink").unwrap();
        assert_eq!(sink.chunks_in, want.len() as u64);
        assert_eq!(sink.chunks_out, want.len() as u64);
        assert_eq!(report.bytes_out, want.len() as u64);
        // One task: no stage holds back another.
        assert_eq!(report.bottleneck, None);
        assert!(
            report
                .stages
                .iter()
                .all(|s| s.blocked.is_zero() && s.starved.is_zero())
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_sink_fills_the_queue_while_calls_go_on() {
    let calls = Gauge::default();
    let c2 = calls.clone();
    let report = within(
        Pipeline::from(readable::from_iter(0..40u64))
            .high_water_mark(1 << 16, 10)
            .in_one_task()
            .map_async("f", 4, move |i| {
                let running = c2.enter();
                async move {
                    sleep(Duration::from_millis(1)).await;
                    drop(running);
                    Ok::<_, Error>(i)
                }
            })
            .unwrap()
            .into(writable::from_fn(|_n: u64| async {
                sleep(Duration::from_millis(3)).await;
                Ok(())
            }))
            .run(),
    )
    .await
    .unwrap();
    let f = report.stage("f").unwrap();
    // The calls ran ahead of the sink up to the queue's high mark.
    assert_eq!(f.buffer_high, 10);
    assert_eq!(f.peak_buffered, 10);
    assert!(f.full_events >= 1);
    assert_eq!(report.bytes_out, 40);
    // The sink's waits (40 sleeps of 3 ms) are its I/O wait.
    let sink = report.stage("sink").unwrap();
    assert!(sink.io_wait >= Duration::from_millis(100), "{report}");
    assert!(sink.io_wait <= report.elapsed, "{report}");
    assert_eq!(sink.busy, sink.io_wait);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn errors_and_panics_in_one_task_name_their_stage_and_leave_no_call() {
    #[derive(Clone, Copy, Debug)]
    enum Fail {
        SourceError,
        SourcePanic,
        CallError,
        CallPanic,
        SinkError,
        SinkPanic,
    }
    for fail in [
        Fail::SourceError,
        Fail::SourcePanic,
        Fail::CallError,
        Fail::CallPanic,
        Fail::SinkError,
        Fail::SinkPanic,
    ] {
        let g = Gauge::default();
        let g2 = g.clone();
        let source = futures::StreamExt::map(futures::stream::iter(0..1000u64), move |i| {
            if i == 50 {
                match fail {
                    Fail::SourceError => return Err(Error::msg("disk read failed")),
                    Fail::SourcePanic => panic!("source bug"),
                    _ => {}
                }
            }
            Ok(i)
        });
        let e = within(
            Pipeline::from(futures::StreamExt::boxed(source))
                .named("read")
                .in_one_task()
                .map_async("fetch", 5, move |i| {
                    let running = g2.enter();
                    async move {
                        let _running = running;
                        if i == 20 {
                            match fail {
                                Fail::CallError => return Err(Error::msg("HTTP 500")),
                                Fail::CallPanic => panic!("fetch blew up"),
                                _ => {}
                            }
                        }
                        tokio::task::yield_now().await;
                        Ok(i)
                    }
                })
                .unwrap()
                .into_named(
                    "write",
                    writable::from_fn(move |i: u64| {
                        if i == 30 {
                            match fail {
                                Fail::SinkError => {
                                    return futures::future::ready(Err(Error::msg("disk full")));
                                }
                                Fail::SinkPanic => panic!("sink bug"),
                                _ => {}
                            }
                        }
                        futures::future::ready(Ok(()))
                    }),
                )
                .run(),
        )
        .await
        .unwrap_err();
        let (stage, panics) = match fail {
            Fail::SourceError => ("read", false),
            Fail::SourcePanic => ("read", true),
            Fail::CallError => ("fetch", false),
            Fail::CallPanic => ("fetch", true),
            Fail::SinkError => ("write", false),
            Fail::SinkPanic => ("write", true),
        };
        assert_eq!(e.stage(), Some(stage), "{fail:?}: {e}");
        assert_eq!(e.is_panic(), panics, "{fail:?}: {e}");
        assert_eq!(g.now.load(SeqCst), 0, "{fail:?}: a call outlived the run");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancelling_or_dropping_a_one_task_run_drops_the_calls_in_flight() {
    for by_token in [true, false] {
        let g = Gauge::default();
        let g2 = g.clone();
        let token = CancellationToken::new();
        let run = Pipeline::from(readable::from_iter(0..1000u64))
            .in_one_task()
            .map_async_unordered("fetch", 9, move |i| {
                let running = g2.enter();
                async move {
                    let _running = running;
                    std::future::pending::<()>().await;
                    Ok::<_, Error>(i)
                }
            })
            .unwrap()
            .into(writable::from_fn(|_n: u64| async { Ok(()) }))
            .cancel_on(token.clone());
        let task = tokio::spawn(run.run());
        while g.now.load(SeqCst) < 9 {
            sleep(Duration::from_millis(1)).await;
        }
        if by_token {
            token.cancel();
            let e = within(task).await.unwrap().unwrap_err();
            assert!(e.is_cancelled());
        } else {
            task.abort();
            assert!(within(task).await.unwrap_err().is_cancelled());
        }
        assert_eq!(g.now.load(SeqCst), 0);
        assert_eq!(g.max.load(SeqCst), 9);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_stall_watchdog_still_ends_a_one_task_run_that_waits() {
    let silent = futures::stream::pending::<Result<u32, Error>>();
    let e = within(
        Pipeline::from(silent)
            .named("read")
            .in_one_task()
            .map_async("f", 2, |n| async move { Ok::<_, Error>(n) })
            .unwrap()
            .into(writable::from_fn(|_n: u32| async { Ok(()) }))
            .stall_timeout(Duration::from_millis(50))
            .run(),
    )
    .await
    .unwrap_err();
    assert!(e.is_stalled(), "{e}");
    assert!(e.to_string().contains("read waits on its input"), "{e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stage_that_needs_a_task_splits_a_one_task_pipeline() {
    // through_stream takes a buffer's reader: its stage is a task of its
    // own, the stages before it are fused into the source's task and the
    // sink into its task.
    let got = Arc::new(Mutex::new(0u64));
    let sink_got = got.clone();
    let report = within(
        Pipeline::from(readable::from_iter(0..500u64))
            .in_one_task()
            .map_async("f", 4, |n| async move { Ok::<_, Error>(n + 1) })
            .unwrap()
            .through_stream("pass", |r| r)
            .batch("rows", 100, Duration::from_secs(60))
            .unwrap()
            .into(writable::from_fn(move |rows: Vec<u64>| {
                *sink_got.lock().unwrap() += rows.iter().sum::<u64>();
                async { Ok(()) }
            }))
            .run(),
    )
    .await
    .unwrap();
    assert_eq!(*got.lock().unwrap(), (1..=500).sum::<u64>());
    let names: Vec<&str> = report.stages.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["source", "f", "pass", "rows", "sink"]);
    assert_eq!(report.stage("f").unwrap().in_flight_peak, 4);
    assert_eq!(report.stage("f").unwrap().chunks_out, 500);
    assert_eq!(report.stage("pass").unwrap().chunks_in, 500);
    assert_eq!(report.stage("rows").unwrap().chunks_out, 5);
    assert_eq!(report.stage("sink").unwrap().chunks_out, 5);
    assert!(report.stages.iter().all(|s| s.fused));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn byte_pipelines_without_the_option_keep_their_tasks() {
    let src = readable::from_iter((0..64).map(|_| Bytes::from(vec![7u8; 1024])));
    let run = Pipeline::from(src)
        .map_async("f", 2, |b: Bytes| async move { Ok::<_, Error>(b) })
        .unwrap()
        .into(writable::from_fn(|_b: Bytes| async { Ok(()) }));
    assert_eq!(run.stage_names(), ["source", "f", "sink"]);
    let report = within(run.run()).await.unwrap();
    assert!(report.stages.iter().all(|s| !s.fused));
    assert_eq!(report.bytes_out, 64 * 1024);
    assert!(report.bottleneck.is_some());
}

/// A one-task run counts in its own fields and publishes once per poll:
/// a monitor sees every stage's counts while the run waits, the source's
/// wait shows as waiting on its input, and its I/O wait is measured.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_one_task_run_shows_its_counts_and_the_source_wait_while_it_waits() {
    let (open, gate) = tokio::sync::oneshot::channel::<()>();
    let first = futures::stream::iter((0..10u64).map(Ok::<_, Error>));
    let last = futures::stream::once(async move {
        let _ = gate.await;
        Ok::<_, Error>(10u64)
    });
    let run = Pipeline::from(futures::StreamExt::chain(first, last))
        .named("read")
        .in_one_task()
        .map_async("fetch", 3, |n| async move {
            tokio::task::yield_now().await;
            Ok::<_, Error>(n)
        })
        .unwrap()
        .into(writable::from_fn(|_n: u64| async { Ok(()) }));
    let monitor = run.monitor();
    let task = tokio::spawn(run.run());
    let amounts = |name: &str| {
        let s = monitor
            .stages()
            .into_iter()
            .find(|s| s.name == name)
            .unwrap();
        (s.amount_in, s.amount_out)
    };
    within(async {
        while amounts("sink").1 < 10 {
            sleep(Duration::from_millis(1)).await;
        }
    })
    .await;
    // Everything before the gate went through, and the counts say so
    // while the run is still on.
    assert_eq!(amounts("read"), (10, 10));
    assert_eq!(amounts("fetch"), (10, 10));
    assert_eq!(amounts("sink"), (10, 10));
    let read = monitor
        .stages()
        .into_iter()
        .find(|s| s.name == "read")
        .unwrap();
    assert!(!read.ended);
    assert_eq!(read.state, weir::pipe::StageState::WaitingIo);
    sleep(Duration::from_millis(60)).await;
    open.send(()).unwrap();
    let report = within(task).await.unwrap().unwrap();
    let read = report.stage("read").unwrap();
    assert_eq!((read.chunks_in, read.chunks_out), (11, 11));
    assert!(read.io_wait >= Duration::from_millis(60), "{report}");
    assert!(read.io_wait <= report.elapsed, "{report}");
    let fetch = report.stage("fetch").unwrap();
    assert_eq!((fetch.chunks_in, fetch.chunks_out), (11, 11));
    assert_eq!(report.stage("sink").unwrap().chunks_out, 11);
    assert!(report.stages.iter().all(|s| s.fused));
}

/// A source fused straight into its sink (no operator between them).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_source_fused_straight_into_its_sink_counts_both() {
    let report = within(
        Pipeline::from(readable::from_iter(0..500u64))
            .in_one_task()
            .into(writable::from_fn(|_n: u64| async { Ok(()) }))
            .run(),
    )
    .await
    .unwrap();
    let names: Vec<&str> = report.stages.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["source", "sink"]);
    let source = report.stage("source").unwrap();
    assert_eq!((source.chunks_in, source.chunks_out), (500, 500));
    let sink = report.stage("sink").unwrap();
    assert_eq!((sink.chunks_in, sink.chunks_out), (500, 500));
    assert!(report.stages.iter().all(|s| s.fused));
}
