//! DESIGN §2 properties 2 and 3: `write` answers `Full` exactly when the
//! buffered amount reaches the high mark; `drained()` resolves when the
//! reader brings it down to the low mark (default high / 2, `0` = Node).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
// The loom build (`--cfg loom`) runs only the models in the library.
#![cfg(not(loom))]

mod support;

use bytes::Bytes;
use futures::StreamExt;
use tokio_test::task::spawn;
use tokio_test::{assert_pending, assert_ready_ok};
use weir_core::{BufferConfig, Limit, Written, buffer};

#[test]
fn full_exactly_when_the_high_mark_is_reached() {
    let (mut tx, _rx) = buffer::<Bytes>(Limit::bytes(10));
    let mut total = 0;
    for n in [3, 3, 3] {
        total += n;
        assert_eq!(
            tx.write(Bytes::from(vec![0; n])).unwrap(),
            Written::Ready,
            "at {total}"
        );
    }
    // 9 + 1 = 10: reaching the mark exactly is Full.
    assert_eq!(tx.write(Bytes::from_static(b"x")).unwrap(), Written::Full);
    assert_eq!(tx.stats().full_events, 1);
}

#[test]
fn full_answers_for_every_mark_and_size() {
    for high in 1..40usize {
        for size in 1..12usize {
            let (mut tx, _rx) = buffer::<Vec<u8>>(Limit::bytes(high));
            let mut buffered = 0;
            loop {
                buffered += size;
                let answer = tx.write(vec![0; size]).unwrap();
                if buffered >= high {
                    assert_eq!(
                        answer,
                        Written::Full,
                        "high {high} size {size} at {buffered}"
                    );
                    break;
                }
                assert_eq!(
                    answer,
                    Written::Ready,
                    "high {high} size {size} at {buffered}"
                );
            }
        }
    }
}

#[test]
fn object_mode_counts_items() {
    let (mut tx, _rx) = buffer::<String>(Limit::items(3));
    assert_eq!(
        tx.write("a very long string".repeat(100)).unwrap(),
        Written::Ready
    );
    assert_eq!(tx.write(String::new()).unwrap(), Written::Ready);
    assert_eq!(tx.write("c".into()).unwrap(), Written::Full);
    assert_eq!(tx.buffered(), 3);
}

#[test]
fn drained_waits_for_the_default_low_mark() {
    let (mut tx, mut rx) = buffer::<Bytes>(Limit::bytes(8));
    for _ in 0..4 {
        let _ = tx.write(Bytes::from_static(b"ab")).unwrap();
    }
    assert!(tx.is_full());
    let mut drained = spawn(tx.drained());
    assert_pending!(drained.poll());
    rx.try_next().unwrap(); // 6 left
    assert!(!drained.is_woken());
    assert_pending!(drained.poll());
    rx.try_next().unwrap(); // 4 left: the default low mark is 8 / 2
    assert!(drained.is_woken());
    assert_ready_ok!(drained.poll());
    drop(drained);
    let s = tx.stats();
    assert_eq!((s.full_events, s.drains, s.low_water_mark), (1, 1, 4));
}

#[test]
fn low_zero_drains_only_when_empty_like_node() {
    let (mut tx, mut rx) = BufferConfig::new(Limit::<Bytes>::bytes(4))
        .low_water_mark(0)
        .build();
    let _ = tx.write(Bytes::from_static(b"ab")).unwrap();
    assert_eq!(tx.write(Bytes::from_static(b"cd")).unwrap(), Written::Full);
    let mut drained = spawn(tx.drained());
    assert_pending!(drained.poll());
    rx.try_next().unwrap();
    assert!(!drained.is_woken(), "woken with 2 bytes still buffered");
    rx.try_next().unwrap();
    assert!(drained.is_woken());
    assert_ready_ok!(drained.poll());
}

#[test]
fn writes_stay_full_until_drained_to_the_low_mark() {
    // Hysteresis: once full, the buffer stays full (writes answer Full and
    // send waits) until the reader reaches the low mark, not just below high.
    let (mut tx, mut rx) = BufferConfig::new(Limit::<u8>::items(10))
        .low_water_mark(2)
        .build();
    for i in 0..10 {
        let _ = tx.write(i).unwrap();
    }
    assert!(tx.is_full());
    for _ in 0..7 {
        rx.try_next().unwrap();
    }
    // 3 buffered: below high, above low.
    assert_eq!(tx.buffered(), 3);
    assert!(tx.is_full());
    assert_eq!(tx.write(99).unwrap(), Written::Full);
    rx.try_next().unwrap();
    rx.try_next().unwrap();
    assert_eq!(tx.buffered(), 2);
    // 4 - 2 = 2: at the low mark, so drained.
    assert!(!tx.is_full());
    assert_eq!(tx.stats().drains, 1);
    assert_eq!(tx.write(100).unwrap(), Written::Ready);
}

#[test]
fn drained_is_immediate_when_not_full() {
    let (mut tx, _rx) = buffer::<u8>(Limit::items(4));
    let _ = tx.write(1).unwrap();
    let mut drained = spawn(tx.drained());
    assert_ready_ok!(drained.poll());
}

#[tokio::test]
async fn the_q1_loop_writes_everything_with_bounded_buffering() {
    // Node's loop: write until false, wait for 'drain', resume.
    let (mut tx, mut rx) = buffer::<Bytes>(Limit::bytes(1024));
    let writer = tokio::spawn(async move {
        let mut episodes = 0;
        for i in 0..10_000u32 {
            if tx.write(Bytes::from(i.to_le_bytes().to_vec())).unwrap() == Written::Full {
                episodes += 1;
                tx.drained().await.unwrap();
            }
        }
        tx.end();
        (episodes, tx.stats())
    });
    let mut next = 0u32;
    while let Some(chunk) = rx.next().await {
        assert_eq!(chunk.unwrap().as_ref(), next.to_le_bytes());
        next += 1;
        assert!(rx.available() <= 1024);
    }
    let (episodes, stats) = writer.await.unwrap();
    assert_eq!(next, 10_000);
    assert!(episodes > 0);
    assert_eq!(stats.full_events, episodes);
    assert_eq!(stats.drains, episodes);
    assert!(stats.peak_buffered <= 1024);
}
