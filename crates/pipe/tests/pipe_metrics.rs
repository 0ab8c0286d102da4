//! Pipeline figures in the `metrics` facade (feature `metrics`): the
//! counters grow by exactly the run report's figures, labelled by stage.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use bytes::Bytes;
use weir::pipe::metrics::TextRecorder;
use weir::pipe::{Pipeline, Report, StageReport};
use weir::{readable, writable::ChunkWriter};

/// 256 KiB in 4 KiB chunks through 16 KiB buffers, a throttle at 1 MiB/s
/// (about a quarter of a second) and a cheap map of objects-to-bytes.
async fn throttled_run(labels: &[(&str, &str)]) -> Report {
    let chunks = (0..64).map(|i| Bytes::from(vec![i as u8; 4096]));
    let mut run = Pipeline::from(readable::from_iter(chunks))
        .named("read")
        .high_water_mark(16 * 1024, 16)
        .throttle(1 << 20)
        .into_named("write", ChunkWriter::new(tokio::io::sink()));
    for (k, v) in labels {
        run = run.metrics_label(*k, *v);
    }
    tokio::time::timeout(Duration::from_secs(20), run.run())
        .await
        .unwrap()
        .unwrap()
}

/// Runs `f` on a runtime of its own with `recorder` as this thread's
/// recorder (the run's figures are published from the `run()` future).
fn with_recorder<T>(recorder: &TextRecorder, f: impl std::future::Future<Output = T>) -> T {
    metrics::with_local_recorder(recorder, || {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap()
            .block_on(f)
    })
}

fn assert_matches(rec: &TextRecorder, stages: &[&StageReport], extra: &[(&str, &str)]) {
    let name = &stages[0].name;
    let mut labels: Vec<(&str, &str)> = extra.to_vec();
    labels.push(("stage", name));
    let sum = |f: fn(&StageReport) -> u64| stages.iter().map(|s| f(s)).sum::<u64>();
    let c = |n: &str| {
        rec.counter(n, &labels)
            .unwrap_or_else(|| panic!("no {n} for {name}"))
    };
    assert_eq!(
        c("weir_stage_chunks_in_total"),
        sum(|s| s.chunks_in),
        "{name}"
    );
    assert_eq!(
        c("weir_stage_chunks_out_total"),
        sum(|s| s.chunks_out),
        "{name}"
    );
    assert_eq!(
        c("weir_stage_bytes_in_total"),
        sum(|s| s.bytes_in),
        "{name}"
    );
    assert_eq!(
        c("weir_stage_bytes_out_total"),
        sum(|s| s.bytes_out),
        "{name}"
    );
    assert_eq!(
        c("weir_stage_full_events_total"),
        sum(|s| s.full_events),
        "{name}"
    );
    assert_eq!(
        c("weir_stage_blocked_microseconds_total"),
        sum(|s| s.blocked.as_micros() as u64),
        "{name}"
    );
    assert_eq!(
        c("weir_stage_starved_microseconds_total"),
        sum(|s| s.starved.as_micros() as u64),
        "{name}"
    );
}

#[test]
fn counters_match_the_report_stage_by_stage() {
    let rec = TextRecorder::new();
    let report = with_recorder(&rec, throttled_run(&[]));
    assert_eq!(report.bytes_out, 256 * 1024);
    let names: Vec<&str> = report.stages.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["read", "throttle", "write"]);
    for s in &report.stages {
        assert_matches(&rec, &[s], &[]);
    }
    // The throttle holds the pace: the read stage waited for room, and that
    // time is in the counters, not zero.
    let read = report.stage("read").unwrap();
    assert!(
        read.full_events > 0 && read.blocked > Duration::from_millis(50),
        "{report}"
    );
    // Every buffer is empty at the end, and the gauge says so.
    for stage in ["read", "throttle"] {
        assert_eq!(
            rec.gauge("weir_stage_buffered_bytes", &[("stage", stage)]),
            Some(0.0)
        );
    }
    assert_eq!(
        rec.gauge("weir_stage_buffered_bytes", &[("stage", "write")]),
        None
    );
    let text = rec.render();
    assert!(
        text.contains("# TYPE weir_stage_bytes_in_total counter\n"),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "weir_stage_bytes_in_total{{stage=\"read\"}} {}\n",
            256 * 1024
        )),
        "{text}"
    );
}

#[test]
fn runs_add_up_and_carry_their_labels() {
    let rec = TextRecorder::new();
    let (a, b) = with_recorder(&rec, async {
        let a = throttled_run(&[("pipeline", "copy")]).await;
        let b = throttled_run(&[("pipeline", "copy")]).await;
        (a, b)
    });
    for (sa, sb) in a.stages.iter().zip(&b.stages) {
        assert_matches(&rec, &[sa, sb], &[("pipeline", "copy")]);
    }
    // Without the run's label, no such series.
    assert_eq!(
        rec.counter("weir_stage_bytes_in_total", &[("stage", "read")]),
        None
    );
}

#[test]
fn figures_are_published_while_the_run_goes() {
    // 2.5 MiB at 1 MiB/s: the first publication (within a second of the
    // start) comes well before the end. The watcher takes the first figure
    // published, whenever it comes: a loaded machine only slows the run.
    let rec = TextRecorder::new();
    let mid = with_recorder(&rec, async {
        let chunks = (0..640).map(|_| Bytes::from(vec![0u8; 4096]));
        let run = Pipeline::from(readable::from_iter(chunks))
            .named("read")
            .throttle(1 << 20)
            .into(ChunkWriter::new(tokio::io::sink()))
            .run();
        let rec2 = rec.clone();
        let watch = async move {
            loop {
                tokio::time::sleep(Duration::from_millis(20)).await;
                let seen = rec2.counter("weir_stage_bytes_in_total", &[("stage", "throttle")]);
                if seen.is_some_and(|n| n > 0) {
                    return seen;
                }
            }
        };
        let (report, mid) = tokio::join!(
            tokio::time::timeout(Duration::from_secs(60), run),
            tokio::time::timeout(Duration::from_secs(60), watch)
        );
        assert_eq!(report.unwrap().unwrap().bytes_out, 640 * 4096);
        mid.expect("nothing was ever published")
    });
    let mid = mid.expect("published");
    // Not only at the end: a figure from the middle of the run.
    assert!(mid > 0 && mid < 640 * 4096, "{mid}");
    assert_eq!(
        rec.counter("weir_stage_bytes_in_total", &[("stage", "throttle")]),
        Some(640 * 4096)
    );
}

#[test]
fn a_buffer_outside_a_pipeline_is_published_from_its_stats() {
    use futures::StreamExt;
    use weir::pipe::metrics::BufferMetrics;
    use weir::{BufferConfig, Limit, Written};

    let rec = TextRecorder::new();
    let labels = [("node", "a"), ("buffer", "uploads")];
    let (stats, gauge_live) = metrics::with_local_recorder(&rec, || {
        let (mut tx, mut rx) = BufferConfig::new(Limit::<Bytes>::bytes(8))
            .name("uploads")
            .build();
        let mut published = BufferMetrics::with_labels(tx.stats_handle(), [("node", "a")]);
        assert_eq!(
            tx.write(Bytes::from_static(b"abcde")).unwrap(),
            Written::Ready
        );
        assert_eq!(
            tx.write(Bytes::from_static(b"fghij")).unwrap(),
            Written::Full
        );
        published.publish();
        let live = rec.gauge("weir_buffer_buffered_bytes", &labels);
        for want in ["abcde", "fghij"] {
            let got = futures::executor::block_on(rx.next()).unwrap().unwrap();
            assert_eq!(got, want);
        }
        assert!(!tx.is_full()); // drained: counted when the writer looks
        published.publish();
        published.publish(); // nothing new: nothing added
        let stats = rx.stats();
        drop(published);
        (stats, live)
    });
    assert_eq!(gauge_live, Some(10.0));
    let c = |n: &str| rec.counter(n, &labels).unwrap();
    assert_eq!(c("weir_buffer_writes_total"), stats.writes);
    assert_eq!(c("weir_buffer_written_bytes_total"), 10);
    assert_eq!(c("weir_buffer_reads_total"), 2);
    assert_eq!(c("weir_buffer_read_bytes_total"), 10);
    assert_eq!(
        (
            c("weir_buffer_full_events_total"),
            c("weir_buffer_drains_total")
        ),
        (1, 1)
    );
    assert_eq!(c("weir_buffer_dropped_total"), 0);
    // Dropped: its amount is taken back out of the gauge.
    assert_eq!(rec.gauge("weir_buffer_buffered_bytes", &labels), Some(0.0));
}

#[test]
fn a_runtime_without_timers_runs_and_publishes() {
    // Pipelines never needed Tokio's timer; publishing must not either.
    let rec = TextRecorder::new();
    let report = metrics::with_local_recorder(&rec, || {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(async {
                let chunks = (0..10).map(|_| Bytes::from_static(b"0123456789"));
                Pipeline::from(readable::from_iter(chunks))
                    .into(ChunkWriter::new(tokio::io::sink()))
                    .run()
                    .await
                    .unwrap()
            })
    });
    assert_eq!(report.bytes_out, 100);
    assert_eq!(
        rec.counter("weir_stage_bytes_in_total", &[("stage", "source")]),
        Some(100)
    );
}
