//! The throttle: same chunks out as in, whatever the delivery, at no more
//! than the rate.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use bytes::Bytes;
use futures::TryStreamExt;
use weir::pipe::Throttle;
use weir::readable;
use weir::testing::Chaos;

#[tokio::test(start_paused = true)]
async fn the_throttle_passes_everything_at_the_rate_under_chaos() {
    let data: Vec<u8> = (0..50_000u32).map(|i| (i % 251) as u8).collect();
    for seed in 0..4 {
        // Random chunk sizes and random Pending before and after the throttle.
        let chaos = Chaos::new(seed).max_chunk(3000);
        let src = chaos.rechunk(readable::from_iter([Bytes::from(data.clone())]));
        let t0 = tokio::time::Instant::now();
        let out: Vec<Bytes> = chaos
            .stream(Throttle::new(src, 10_000))
            .try_collect()
            .await
            .unwrap();
        let elapsed = t0.elapsed();
        assert_eq!(out.concat(), data, "seed {seed}");
        // 50 000 bytes at 10 000 bytes/s: the last chunk may leave once the
        // bytes before it had their time, so at least (50 000 - last) / rate.
        let last = out.last().map_or(0, |c| c.len()) as f64;
        let floor = Duration::from_secs_f64((50_000.0 - last) / 10_000.0);
        assert!(elapsed >= floor, "seed {seed}: {elapsed:?} < {floor:?}");
        assert!(
            elapsed <= Duration::from_secs(6),
            "seed {seed}: {elapsed:?}"
        );
    }
}

#[tokio::test(start_paused = true)]
async fn objects_are_throttled_per_item() {
    let t0 = tokio::time::Instant::now();
    let out: Vec<u32> = Throttle::new(readable::from_iter(0..100u32), 50)
        .try_collect()
        .await
        .unwrap();
    assert_eq!(out.len(), 100);
    // 100 items at 50 items/s: the 100th leaves after 99 items' worth.
    assert_eq!(t0.elapsed(), Duration::from_secs_f64(99.0 / 50.0));
}

#[tokio::test]
async fn the_throttle_passes_the_conformance_kit() {
    // A rate far above what the runs move, so the kit's timeouts measure the
    // adapter, not the throttle's waits.
    let data: Vec<u8> = (0..40_000u32).map(|i| (i % 251) as u8).collect();
    weir::testing::Check::new()
        .reader(&data, |r| {
            Throttle::new(readable::ChunkReader::with_chunk_size(r, 4096), 1 << 30)
        })
        .await;
}
