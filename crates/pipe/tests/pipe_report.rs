//! The run report: figures per stage, the bottleneck, the table and JSON.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::time::Duration;

use support::{Census, collect, source, within, work};
use weir::pipe::{Pipeline, StageKind};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_throttle_is_named_the_bottleneck() {
    let census = Census::default();
    let report = within(
        60,
        Pipeline::from(source(&census, 100, 1000, None))
            .throttle(200_000) // 100 KB at 200 KB/s: about half a second
            .into(collect(&census))
            .run(),
    )
    .await
    .unwrap();
    assert_eq!(report.bottleneck.as_deref(), Some("throttle"), "{report}");
    let src = report.stage("source").unwrap();
    let sink = report.stage("sink").unwrap();
    assert!(
        src.blocked > src.busy,
        "the source should mostly wait for room:\n{report}"
    );
    assert!(
        sink.starved > sink.busy,
        "the sink should mostly wait for data:\n{report}"
    );
    assert!(report.elapsed >= Duration::from_millis(400), "{report}");
    assert!(src.full_events > 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_heavy_transform_is_named_the_bottleneck() {
    let census = Census::default();
    let mut w = work(&census, true);
    w.spin = Duration::from_millis(2);
    let report = within(
        60,
        Pipeline::from(source(&census, 200, 1000, None))
            .through("work", w)
            .into(collect(&census))
            .run(),
    )
    .await
    .unwrap();
    assert_eq!(report.bottleneck.as_deref(), Some("work"), "{report}");
    let stage = report.stage("work").unwrap();
    assert_eq!(stage.kind, StageKind::Transform);
    assert_eq!((stage.chunks_in, stage.chunks_out), (200, 200));
    assert_eq!((stage.bytes_in, stage.bytes_out), (200_000, 200_000));
    assert!(stage.busy >= Duration::from_millis(400), "{report}");
    // One task per stage: source, work, sink.
    assert_eq!(report.stages.len(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cheap_transforms_are_fused_heavy_ones_get_a_task() {
    let census = Census::default();
    let report = within(
        60,
        Pipeline::from(source(&census, 10, 100, None))
            .through("cheap1", work(&census, false))
            .through("heavy", work(&census, true))
            .through("cheap2", work(&census, false))
            .into(collect(&census))
            .run(),
    )
    .await
    .unwrap();
    let names: Vec<&str> = report.stages.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["source+cheap1", "heavy+cheap2", "sink"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_report_prints_as_a_table_and_as_json() {
    let census = Census::default();
    let report = within(
        60,
        Pipeline::from(source(&census, 50, 1024, None))
            .through("work", work(&census, true))
            .into(collect(&census))
            .run(),
    )
    .await
    .unwrap();
    let table = report.to_string();
    for want in [
        "stage",
        "working",
        "io wait",
        "blocked",
        "starved",
        "source",
        "work",
        "sink",
        "bottleneck:",
        "50.0 KiB",
    ] {
        assert!(table.contains(want), "missing {want:?} in\n{table}");
    }
    let json = serde_json::to_value(&report).unwrap();
    assert!(json["elapsed_ms"].as_f64().unwrap() > 0.0);
    assert_eq!(json["bytes_in"], 51_200);
    assert_eq!(json["bytes_out"], 51_200);
    assert!(json["bottleneck"].is_string());
    let stages = json["stages"].as_array().unwrap();
    assert_eq!(stages.len(), 3);
    for s in stages {
        for field in [
            "name",
            "bytes_in",
            "bytes_out",
            "busy_ms",
            "working_ms",
            "io_wait_ms",
            "blocked_ms",
            "starved_ms",
            "peak_buffered",
            "full_events",
        ] {
            assert!(!s[field].is_null(), "stage lacks {field}: {s}");
        }
    }
    assert_eq!(stages[1]["name"], "work");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn object_pipelines_count_items() {
    use futures::SinkExt;
    let src = weir::readable::from_iter(0..10_000u64);
    let (tx, mut rx) = weir::buffer::<u64>(weir::Limit::items(64));
    let reader = tokio::spawn(async move {
        let mut sum = 0;
        while let Some(x) = futures::StreamExt::next(&mut rx).await {
            sum += x.unwrap();
        }
        sum
    });
    let report = Pipeline::from(src)
        .map("double", |x: u64| x * 2)
        .through(
            "evens",
            weir::transform::filter(|x: &u64| x.is_multiple_of(4)),
        )
        .into(tx.sink_map_err(|e| e))
        .run()
        .await
        .unwrap();
    let expected: u64 = (0..10_000u64)
        .map(|x| x * 2)
        .filter(|x| x.is_multiple_of(4))
        .sum();
    assert_eq!(reader.await.unwrap(), expected);
    assert_eq!(report.unit, "items");
    assert_eq!(report.bytes_in, 10_000);
    assert_eq!(report.bytes_out, 5_000);
    assert_eq!(report.stages[0].name, "source+double+evens");
}

/// A transform that says it has two workers and bills them as it goes.
struct TwoWorkers(weir::WorkerBusy);

impl weir::Transform for TwoWorkers {
    type In = bytes::Bytes;
    type Out = bytes::Bytes;
    fn transform(
        &mut self,
        chunk: bytes::Bytes,
        out: &mut weir::Output<bytes::Bytes>,
    ) -> Result<(), weir::Error> {
        self.0.add(0, Duration::from_millis(2));
        self.0.add(1, Duration::from_millis(1));
        out.push(chunk);
        Ok(())
    }
    fn heavy(&self) -> bool {
        true
    }
    fn worker_busy(&self) -> Option<weir::WorkerBusy> {
        Some(self.0.clone())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_parallel_stage_reports_its_workers_busy_time() {
    use futures::SinkExt;
    let chunks = (0..10).map(|_| Ok::<_, weir::Error>(bytes::Bytes::from_static(b"0123456789")));
    let report = within(
        60,
        Pipeline::from(futures::stream::iter(chunks))
            .through("par", TwoWorkers(weir::WorkerBusy::new(2)))
            .into(futures::sink::drain().sink_map_err(|e| match e {}))
            .run(),
    )
    .await
    .unwrap();
    let par = report.stage("par").unwrap();
    assert_eq!(
        par.workers_busy,
        [Duration::from_millis(20), Duration::from_millis(10)]
    );
    assert!(report.stage("source").unwrap().workers_busy.is_empty());
    let json = serde_json::to_value(&report).unwrap();
    let stage = &json["stages"][1];
    assert_eq!(stage["workers_busy_ms"], serde_json::json!([20.0, 10.0]));
    assert!(
        report.to_string().contains("2 workers busy 0.02s 0.01s"),
        "{report}"
    );
}
