//! The conformance kit on the generic adapters: `BlockingSource` and
//! `BlockingSink` over adversarial readers and writers (short reads and
//! writes, one byte at a time, `Pending` bridged into blocking waits).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::time::Duration;

use tokio_util::io::SyncIoBridge;
use weir_core::testing::Check;
use weir_io::{BlockingSink, BlockingSource};

fn check() -> Check {
    Check::new().rounds(6).timeout(Duration::from_secs(30))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn source_in_fill_mode() {
    let input = support::random(1, 20_000);
    check()
        .reader(&input, |r| {
            BlockingSource::builder()
                .chunk_size(700)
                .block_size(3000)
                .fill(true)
                .build(SyncIoBridge::new(r))
        })
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn source_with_adaptive_blocks() {
    let input = support::random(5, 20_000);
    check()
        .reader(&input, |r| {
            BlockingSource::builder()
                .chunk_size(700)
                .block_size(3000)
                .adaptive(100)
                .fill(true)
                .build(SyncIoBridge::new(r))
        })
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn source_in_read_once_mode() {
    let input = support::random(2, 20_000);
    check()
        .reader(&input, |r| {
            BlockingSource::builder()
                .chunk_size(700)
                .block_size(3000)
                .build(SyncIoBridge::new(r))
        })
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn source_with_default_sizes() {
    let input = support::random(3, 20_000);
    check()
        .reader(&input, |r| BlockingSource::new(SyncIoBridge::new(r)))
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sink_with_small_batches() {
    let input = support::random(4, 20_000);
    check()
        .writer(&input, |w| {
            BlockingSink::builder()
                .block_size(2500)
                .build(SyncIoBridge::new(w))
        })
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sink_with_default_batches() {
    let input = support::random(5, 20_000);
    check()
        .writer(&input, |w| BlockingSink::new(SyncIoBridge::new(w)))
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sink_with_one_byte_batches() {
    let input = support::random(6, 3000);
    check()
        .writer(&input, |w| {
            BlockingSink::builder()
                .block_size(1)
                .build(SyncIoBridge::new(w))
        })
        .await;
}
