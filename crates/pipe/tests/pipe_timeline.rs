//! The run timeline: bounded samples, JSON, and the SVG chart rendered.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::time::Duration;

use bytes::Bytes;
use futures::StreamExt;

use support::{Census, collect, source, within, work};
use weir::pipe::{MAX_SAMPLES, Pipeline, StageState};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_timeline_counts_everything_and_shows_the_states() {
    let census = Census::default();
    let report = within(
        60,
        // 300 KB at 100 KB/s: about 3 s, some 150 samples of 20 ms (and
        // still well over 10 if a loaded machine wakes the sampler late).
        Pipeline::from(source(&census, 300, 1000, None))
            .throttle(100_000)
            .into(collect(&census))
            .timeline(Duration::from_millis(20))
            .run(),
    )
    .await
    .unwrap();
    let tl = report.timeline().expect("a timeline was asked for");
    let names: Vec<&str> = tl.stages.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["source", "throttle", "sink"]);
    assert_eq!(tl.bottleneck.as_deref(), Some("throttle"));
    assert!(tl.samples.len() >= 10, "{} samples", tl.samples.len());
    // Amounts add up to the report's, sample by sample.
    let sum = |i: usize| -> u64 { tl.samples.iter().map(|s| s.stages[i].amount_in).sum() };
    assert_eq!(sum(0), 300_000);
    assert_eq!(sum(2), 300_000);
    // The source spends most of the run (until the last 64 KiB fit in the
    // buffer, about 2.3 s of 3 s) blocked on the throttle's full buffer.
    let blocked = tl
        .samples
        .iter()
        .filter(|s| s.stages[0].state == StageState::Blocked)
        .count();
    assert!(blocked * 2 > tl.samples.len(), "{tl:?}");
    assert!(tl.samples.iter().any(|s| s.stages[0].buffered > 0));
    assert_eq!(tl.stages[0].buffer_high, 64 * 1024);
    // Samples follow each other without gaps.
    for w in tl.samples.windows(2) {
        assert_eq!(w[1].t - w[1].span, w[0].t);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_long_timeline_is_downsampled_not_grown() {
    let census = Census::default();
    let report = within(
        60,
        // A source that waits 1 ms on a timer before each of its 1100
        // chunks: the sampler's 1 ms timer comes due as often, so it ticks
        // some 1100 times, more than MAX_SAMPLES (512), however slowly a
        // loaded machine runs the timers (a run of fixed length could see
        // fewer than 512 ticks there).
        Pipeline::from(futures::stream::iter(0..1100).then(|_| async {
            tokio::time::sleep(Duration::from_millis(1)).await;
            Ok::<_, weir::Error>(Bytes::from(vec![7u8; 100]))
        }))
        .into(collect(&census))
        .timeline(Duration::from_millis(1))
        .run(),
    )
    .await
    .unwrap();
    let tl = report.timeline().unwrap();
    assert!(tl.samples.len() <= MAX_SAMPLES, "{}", tl.samples.len());
    assert!(
        tl.interval >= Duration::from_millis(2),
        "never merged: {:?}",
        tl.interval
    );
    let total: u64 = tl.samples.iter().map(|s| s.stages[1].amount_in).sum();
    assert_eq!(total, 110_000, "merging lost amounts");
    let covered: Duration = tl.samples.iter().map(|s| s.span).sum();
    assert_eq!(covered, tl.samples.last().unwrap().t);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_timeline_writes_json() {
    let census = Census::default();
    let report = within(
        60,
        Pipeline::from(source(&census, 50, 1000, None))
            .through("work", work(&census, true))
            .into(collect(&census))
            .timeline(Duration::from_millis(5))
            .run(),
    )
    .await
    .unwrap();
    let tl = report.timeline().unwrap();
    let mut out = Vec::new();
    tl.write_json(&mut out).unwrap();
    let json: serde_json::Value = serde_json::from_slice(&out).unwrap();
    assert!(json["interval_ms"].as_f64().unwrap() >= 5.0);
    assert_eq!(json["stages"][1]["name"], "work");
    assert_eq!(json["stages"][1]["kind"], "transform");
    let first = &json["samples"][0];
    for key in ["t_ms", "span_ms"] {
        assert!(first[key].is_number(), "{first}");
    }
    for key in [
        "buffered",
        "amount_in",
        "amount_out",
        "working",
        "io_wait",
        "blocked",
        "starved",
    ] {
        assert!(first["stages"][0][key].is_number(), "{key}: {first}");
    }
    assert!(first["stages"][0]["state"].is_string());
    // The report's own JSON is unchanged by it.
    let report_json = serde_json::to_value(&report).unwrap();
    assert!(report_json.get("timeline").is_none());
    // save() picks JSON for .json names, whole or not at all.
    let path = std::env::temp_dir().join(format!("weir-tl-{}.json", std::process::id()));
    tl.save(&path).unwrap();
    let back: serde_json::Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    assert_eq!(back, json);
    std::fs::remove_file(&path).unwrap();
}

#[cfg(feature = "svg")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_timeline_draws_a_valid_svg() {
    let census = Census::default();
    let report = within(
        60,
        Pipeline::from(source(&census, 100, 1000, None))
            .named("read")
            .throttle(400_000)
            .into_named("write", collect(&census))
            .timeline(Duration::from_millis(10))
            .run(),
    )
    .await
    .unwrap();
    let svg = report.timeline().unwrap().to_svg().unwrap();
    // The stage names and the axes' units are text in the picture.
    for want in [
        "read (source)",
        "throttle (transform)  &lt;- bottleneck",
        "write (sink)",
        "time (s)",
        "buffered (KiB)",
        "throughput (MB/s)",
    ] {
        assert!(svg.contains(want), "missing {want:?}");
    }
    // It parses and renders to a picture that is not blank.
    let tree = resvg::usvg::Tree::from_str(&svg, &resvg::usvg::Options::default()).unwrap();
    let size = tree.size().to_int_size();
    assert!(size.width() >= 800 && size.height() >= 3 * 150, "{size:?}");
    let mut pixmap = resvg::tiny_skia::Pixmap::new(size.width(), size.height()).unwrap();
    resvg::render(
        &tree,
        resvg::tiny_skia::Transform::default(),
        &mut pixmap.as_mut(),
    );
    let px = pixmap.pixels();
    let white = px
        .iter()
        .filter(|p| p.red() == 255 && p.green() == 255 && p.blue() == 255)
        .count();
    let coloured = px
        .iter()
        .filter(|p| p.alpha() == 255 && !(p.red() == p.green() && p.green() == p.blue()))
        .count();
    assert!(white > px.len() / 4, "the background is drawn");
    assert!(
        coloured > px.len() / 50,
        "areas, lines and bands are drawn: {coloured} of {}",
        px.len()
    );
    // A state band: the source is blocked (red) for most of the run.
    let red = px
        .iter()
        .filter(|p| p.red() == 211 && p.green() == 47 && p.blue() == 47)
        .count();
    assert!(red > 1000, "no blocked band: {red}");
}
