//! Backpressure through a pipeline: a slow sink holds the source back by no
//! more than the buffers between them, so memory stays bounded whatever the
//! input size; a tee is paced by its slowest sink.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::sync::atomic::Ordering;
use std::time::Duration;

use support::{Census, collect, source, within, work};
use weir::pipe::Pipeline;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_sink_holds_the_source_back() {
    let census = Census::default();
    let mut sink = collect(&census);
    sink.delay = Some(Duration::from_millis(1));
    let got = sink.got.clone();
    let chunk = 1000;
    let run = Pipeline::from(source(&census, 1_000_000, chunk, None))
        .high_water_mark(8 * 1024, 16)
        .through("work", work(&census, true))
        .into(sink);
    let monitor = run.monitor();
    let task = tokio::spawn(run.run());
    // Two buffers of 8 KiB, one chunk in each task's hands, the sink's own.
    let bound = 2 * (8 * 1024 + chunk) + 4 * chunk;
    for _ in 0..50 {
        tokio::time::sleep(Duration::from_millis(10)).await;
        // Pulled first: what is delivered by the time it is read is at
        // least what was then, so the difference never overstates the gap
        // (and may be negative if the thread is preempted in between).
        let pulled = monitor.bytes_in() as usize;
        let delivered = got.load(Ordering::SeqCst);
        assert!(
            pulled.saturating_sub(delivered) <= bound,
            "the source ran {} bytes ahead",
            pulled - delivered
        );
        assert!(monitor.buffered() <= 2 * (8 * 1024 + chunk));
    }
    task.abort();
    let _ = task.await;
    within(60, async {
        while census.alive() != 0 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tee_gives_every_sink_everything_paced_by_the_slowest() {
    let census = Census::default();
    let fast = collect(&census);
    let mut slow = collect(&census);
    slow.delay = Some(Duration::from_micros(200));
    let (fast_got, slow_got) = (fast.got.clone(), slow.got.clone());
    let run = Pipeline::from(source(&census, 2000, 100, None))
        .high_water_mark(1000, 16)
        .into_tee(vec![fast, slow]);
    let task = tokio::spawn(run.run());
    for _ in 0..20 {
        tokio::time::sleep(Duration::from_millis(5)).await;
        let (f, s) = (
            fast_got.load(Ordering::SeqCst),
            slow_got.load(Ordering::SeqCst),
        );
        // The fast sink is never more than the two branch buffers ahead.
        assert!(f <= s + 2 * 1100 + 200, "fast {f} vs slow {s}");
    }
    let report = within(60, task).await.unwrap().unwrap();
    assert_eq!(fast_got.load(Ordering::SeqCst), 200_000);
    assert_eq!(slow_got.load(Ordering::SeqCst), 200_000);
    assert_eq!(report.bytes_out, 400_000);
    assert_eq!(census.alive(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_error_in_one_tee_branch_ends_the_run() {
    let census = Census::default();
    let ok = collect(&census);
    let mut bad = collect(&census);
    bad.fail_after = Some(5000);
    let err = within(
        60,
        Pipeline::from(source(&census, 10_000, 100, None))
            .into_tee(vec![ok, bad])
            .run(),
    )
    .await
    .unwrap_err();
    assert_eq!(err.stage(), Some("sink 2"));
    assert_eq!(census.alive(), 0);
}
