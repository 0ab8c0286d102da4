//! Errors and cancellation: the first error stops every stage and is
//! returned naming its stage; a panic is an error; a token or a dropped
//! future cancels; and no stage outlives the run.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::sync::atomic::Ordering;
use std::time::Duration;

use support::{Census, collect, source, within, work};
use weir::pipe::{CancellationToken, Pipeline};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn success_closes_the_sink_and_leaves_nothing_running() {
    let census = Census::default();
    let sink = collect(&census);
    let (got, closed) = (sink.got.clone(), sink.closed.clone());
    let report = within(
        60,
        Pipeline::from(source(&census, 100, 1000, None))
            .through("work", work(&census, true))
            .into(sink)
            .run(),
    )
    .await
    .unwrap();
    assert_eq!(census.alive(), 0, "a stage outlived the run");
    assert_eq!(got.load(Ordering::SeqCst), 100_000);
    assert_eq!(closed.load(Ordering::SeqCst), 1);
    assert_eq!((report.bytes_in, report.bytes_out), (100_000, 100_000));
}

async fn failing(
    fail_source: Option<usize>,
    fail_work: Option<usize>,
    fail_sink: Option<usize>,
) -> (weir::Error, Census, usize) {
    let census = Census::default();
    let mut w = work(&census, true);
    w.fail_at = fail_work;
    let mut sink = collect(&census);
    sink.fail_after = fail_sink;
    let closed = sink.closed.clone();
    let err = within(
        60,
        Pipeline::from(source(&census, 1000, 1000, fail_source))
            .through("work", w)
            .into(sink)
            .run(),
    )
    .await
    .unwrap_err();
    (err, census, closed.load(Ordering::SeqCst))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_source_is_named_and_stops_everything() {
    let (err, census, closed) = failing(Some(500), None, None).await;
    assert_eq!(err.stage(), Some("source"));
    assert!(err.is_io());
    assert_eq!(err.to_string(), "source: disk read failed");
    assert_eq!(census.alive(), 0);
    assert_eq!(closed, 0, "the sink must not be closed after a failure");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_middle_stage_is_named_and_stops_everything() {
    let (err, census, closed) = failing(None, Some(300), None).await;
    assert_eq!(err.stage(), Some("work"));
    assert!(err.is_corrupt(), "{err}");
    assert_eq!(census.alive(), 0);
    assert_eq!(closed, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_sink_is_named_and_stops_everything() {
    let (err, census, closed) = failing(None, None, Some(200_000)).await;
    assert_eq!(err.stage(), Some("sink"));
    assert_eq!(err.io_kind(), std::io::ErrorKind::StorageFull);
    assert_eq!(census.alive(), 0);
    assert_eq!(closed, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panicking_transform_is_an_error_not_a_crash() {
    for heavy in [true, false] {
        let census = Census::default();
        let mut w = work(&census, heavy);
        w.panic_at = Some(10);
        let err = within(
            60,
            Pipeline::from(source(&census, 1000, 100, None))
                .through("buggy", w)
                .into(collect(&census))
                .run(),
        )
        .await
        .unwrap_err();
        assert!(err.is_panic(), "{err}");
        assert!(
            err.to_string().contains("transform bug at chunk 10"),
            "{err}"
        );
        // Fused, the panic is in the source's task; alone, in its own.
        let stage = if heavy { "buggy" } else { "source+buggy" };
        assert_eq!(err.stage(), Some(stage));
        assert_eq!(census.alive(), 0);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancellation_token_stops_the_run() {
    let census = Census::default();
    let mut sink = collect(&census);
    sink.delay = Some(Duration::from_millis(5));
    let token = CancellationToken::new();
    let run = Pipeline::from(source(&census, 100_000, 100, None))
        .into(sink)
        .cancel_on(token.clone())
        .run();
    let stopper = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(100)).await;
        token.cancel();
    });
    let err = within(60, run).await.unwrap_err();
    stopper.await.unwrap();
    assert!(err.is_cancelled(), "{err}");
    assert_eq!(census.alive(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropping_the_run_future_cancels_every_stage() {
    let census = Census::default();
    let mut sink = collect(&census);
    sink.delay = Some(Duration::from_millis(5));
    let got = sink.got.clone();
    let run = Pipeline::from(source(&census, 100_000, 100, None))
        .through("work", work(&census, true))
        .into(sink)
        .run();
    // Let it start (however long a loaded machine takes to deliver the
    // first chunk), then give up on it.
    // Boxed, so that dropping it drops the run itself.
    let mut run = Box::pin(run);
    within(60, async {
        while got.load(Ordering::SeqCst) == 0 {
            tokio::select! {
                r = &mut run => panic!("the run ended: {r:?}"),
                () = tokio::time::sleep(Duration::from_millis(1)) => {}
            }
        }
    })
    .await;
    drop(run);
    // Aborted tasks end at their next await point: shortly, not never.
    within(60, async {
        while census.alive() != 0 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await;
    let after = got.load(Ordering::SeqCst);
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(got.load(Ordering::SeqCst), after, "the sink kept receiving");
}

/// Runs `pipeline` to its error, which must name `stage` and keep its cause.
async fn fails_naming(run: weir::pipe::Run, stage: &str, text: &str) {
    let err = within(60, run.run()).await.unwrap_err();
    assert_eq!(err.stage(), Some(stage), "{err}");
    assert_eq!(err.to_string(), format!("{stage}: {text}"));
}

/// A stream stage (`through_stream`) that fails after `n` chunks.
fn fail_after(
    r: weir::Reader<bytes::Bytes>,
    n: usize,
) -> impl futures::Stream<Item = Result<bytes::Bytes, weir::Error>> + Send {
    use futures::StreamExt;
    r.enumerate().map(move |(i, c)| {
        if i == n {
            Err(weir::Error::corrupt("bad record"))
        } else {
            c
        }
    })
}

/// docs/architecture.md promises errors named after the innermost failing
/// stage: in every position, fused with others or alone, the error names
/// the stage that failed, never the task it shares (`read+parse`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn errors_name_the_failing_stage_in_every_position() {
    let census = Census::default();
    let tag = |c: bytes::Bytes| c;
    // The source, fused with a cheap transform after it.
    fails_naming(
        Pipeline::from(source(&census, 1000, 100, Some(10)))
            .named("read")
            .map("parse", tag)
            .into(collect(&census)),
        "read",
        "disk read failed",
    )
    .await;
    // The source, unnamed, fused with a transform.
    fails_naming(
        Pipeline::from(source(&census, 1000, 100, Some(10)))
            .through("work", work(&census, false))
            .into(collect(&census)),
        "source",
        "disk read failed",
    )
    .await;
    // A fused transform after the source.
    let mut w = work(&census, false);
    w.fail_at = Some(10);
    fails_naming(
        Pipeline::from(source(&census, 1000, 100, None))
            .named("read")
            .through("parse", w)
            .map("tag", tag)
            .into(collect(&census)),
        "parse",
        "corrupt input: bad chunk 10",
    )
    .await;
    // A stream stage with a cheap transform fused after it.
    fails_naming(
        Pipeline::from(source(&census, 1000, 100, None))
            .through_stream("fetch", |r| fail_after(r, 10))
            .map("tag", tag)
            .into(collect(&census)),
        "fetch",
        "corrupt input: bad record",
    )
    .await;
    // A heavy transform after a stream stage, on its own task.
    let mut w = work(&census, true);
    w.fail_at = Some(10);
    fails_naming(
        Pipeline::from(source(&census, 1000, 100, None))
            .through_stream("fetch", |r| fail_after(r, usize::MAX))
            .through("gzip", w)
            .map("tag", tag)
            .into(collect(&census)),
        "gzip",
        "corrupt input: bad chunk 10",
    )
    .await;
    // The sink.
    let mut sink = collect(&census);
    sink.fail_after = Some(1000);
    fails_naming(
        Pipeline::from(source(&census, 1000, 100, None))
            .map("tag", tag)
            .into_named("write", sink),
        "write",
        "no space left",
    )
    .await;
    assert_eq!(census.alive(), 0);
}
