//! Property tests: random chunk sizes, marks and interleavings of writes,
//! waits and reads. The reader sees exactly what was written, in order, and
//! the bound holds at every step.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
// The loom build (`--cfg loom`) runs only the models in the library.
#![cfg(not(loom))]

use bytes::Bytes;
use futures::StreamExt;
use proptest::prelude::*;
use tokio_test::task::spawn;
use weir_core::{BufferConfig, Limit, Written};

#[derive(Debug, Clone)]
enum Op {
    /// Node-style write, then wait if Full (the wait completes only as the
    /// reader takes, so it is modelled as a flag).
    Write(usize),
    /// Read up to n chunks.
    Read(usize),
}

fn ops() -> impl Strategy<Value = Vec<Op>> {
    prop::collection::vec(
        prop_oneof![
            3 => (1usize..2000).prop_map(Op::Write),
            2 => (1usize..6).prop_map(Op::Read),
        ],
        1..200,
    )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// A well-behaved Node-style producer (writes only when not told to
    /// wait) against a reader taking chunks at random moments.
    #[test]
    fn node_style_interleavings(high in 1usize..5000, low_frac in 0u32..100, ops in ops()) {
        let low = (high as u64 * low_frac as u64 / 100) as usize;
        let (mut tx, mut rx) = BufferConfig::new(Limit::<Bytes>::bytes(high)).low_water_mark(low).build();
        let mut written: Vec<u8> = Vec::new();
        let mut read: Vec<u8> = Vec::new();
        let mut max_chunk = 0;
        let mut seq = 0u8;
        let mut must_wait = false;
        for op in ops {
            match op {
                Op::Write(n) => {
                    // The producer respects Full: it writes only once drained.
                    if must_wait && tx.is_full() { continue; }
                    let chunk: Vec<u8> = (0..n).map(|i| seq.wrapping_add(i as u8)).collect();
                    seq = seq.wrapping_add(1);
                    max_chunk = max_chunk.max(n);
                    let before = tx.buffered();
                    let answer = tx.write(Bytes::from(chunk.clone())).unwrap();
                    written.extend_from_slice(&chunk);
                    // Full exactly when the mark is reached (the producer only
                    // writes outside a Full episode).
                    prop_assert_eq!(answer == Written::Full, before + n >= high);
                    must_wait = answer == Written::Full;
                }
                Op::Read(k) => {
                    for _ in 0..k {
                        match rx.try_next() {
                            Some(c) => read.extend_from_slice(&c),
                            None => break,
                        }
                        // Drained exactly at the low mark.
                        if !tx.is_full() { prop_assert!(tx.buffered() < high); }
                        else { prop_assert!(tx.buffered() > low); }
                    }
                }
            }
            prop_assert!(tx.buffered() < high + max_chunk.max(1));
            prop_assert_eq!(tx.buffered(), written.len() - read.len());
        }
        tx.end();
        while let Some(c) = rx.try_next() { read.extend_from_slice(&c); }
        prop_assert_eq!(read, written);
        let s = rx.stats();
        prop_assert!(s.peak_buffered < high + max_chunk.max(1));
        prop_assert!(s.drains <= s.full_events && s.full_events <= s.drains + 1);
    }

    /// An awaiting producer (`send`) polled step by step against a reader
    /// polled at random: same bytes out, bound `high + one chunk` throughout.
    #[test]
    fn send_interleavings(high in 1usize..3000, sizes in prop::collection::vec(1usize..1500, 1..150),
                          schedule in prop::collection::vec(any::<bool>(), 1..600)) {
        let (mut tx, mut rx) = BufferConfig::new(Limit::<Bytes>::bytes(high)).build();
        let max_chunk = *sizes.iter().max().unwrap();
        let expected: Vec<u8> = sizes.iter().enumerate().flat_map(|(i, &n)| std::iter::repeat_n(i as u8, n)).collect();
        let mut got = Vec::new();
        {
            let sizes2 = sizes.clone();
            let mut producer = spawn(async move {
                for (i, n) in sizes2.into_iter().enumerate() {
                    tx.send(Bytes::from(vec![i as u8; n])).await.unwrap();
                    prop_assert!(tx.buffered() <= high + max_chunk);
                }
                tx.end();
                Ok::<(), TestCaseError>(())
            });
            let mut steps = schedule.into_iter().cycle();
            let mut done = false;
            let mut guard = 0;
            let mut reader_idle = false;
            let mut producer_idle = false;
            loop {
                guard += 1;
                prop_assert!(guard < 1_000_000, "no progress");
                // Follow the schedule, but a side that could not progress
                // hands the next turn to the other.
                let producer_turn = (steps.next().unwrap_or(true) || reader_idle) && !producer_idle;
                reader_idle = false;
                producer_idle = false;
                if producer_turn && !done {
                    match producer.poll() {
                        std::task::Poll::Ready(r) => { r?; done = true; }
                        std::task::Poll::Pending => producer_idle = true,
                    }
                } else {
                    let mut next = spawn(rx.next());
                    match next.poll() {
                        std::task::Poll::Ready(Some(c)) => got.extend_from_slice(&c.unwrap()),
                        std::task::Poll::Ready(None) => break,
                        std::task::Poll::Pending => {
                            prop_assert!(!done, "pending after the end");
                            reader_idle = true;
                        }
                    }
                }
            }
        }
        prop_assert_eq!(got, expected);
        prop_assert!(rx.stats().peak_buffered <= high + max_chunk);
    }

    /// Object mode: the items come out in order, and at most `high` are
    /// ever buffered by a sending producer.
    #[test]
    fn object_mode_order_and_bound(high in 1usize..40, n in 0u32..500, seed in any::<u64>()) {
        let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
        rt.block_on(async move {
            let (mut tx, mut rx) = BufferConfig::new(Limit::<u32>::items(high)).build();
            let producer = tokio::spawn(async move {
                for i in 0..n {
                    tx.send(i).await.unwrap();
                    assert!(tx.buffered() <= high);
                }
                tx.end();
            });
            let mut rng = weir_core::testing::Rng::new(seed);
            let mut next = 0;
            while let Some(i) = rx.next().await {
                assert_eq!(i.unwrap(), next);
                next += 1;
                for _ in 0..rng.below(3) { tokio::task::yield_now().await; }
            }
            producer.await.unwrap();
            assert_eq!(next, n);
            assert!(rx.stats().peak_buffered <= high);
        });
    }
}
