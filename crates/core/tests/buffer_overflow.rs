//! DESIGN §2 property 4: a producer that ignores `Full` cannot exhaust memory
//! by default; the overflow policies past the hard cap.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
// The loom build (`--cfg loom`) runs only the models in the library.
#![cfg(not(loom))]

use bytes::Bytes;
use weir_core::{BufferConfig, Limit, Overflow, Written, buffer};

#[test]
fn ignoring_full_meets_an_error_at_the_hard_cap_by_default() {
    let (mut tx, _rx) = buffer::<Bytes>(Limit::bytes(1000));
    let mut accepted = 0usize;
    let err = loop {
        match tx.write(Bytes::from(vec![0u8; 100])) {
            Ok(_) => accepted += 100,
            Err(e) => break e,
        }
        assert!(accepted <= 10_000_000, "no error after {accepted} bytes");
    };
    // Default hard cap: twice the high mark.
    assert_eq!(accepted, 2000);
    assert!(err.error().is_overflow(), "{}", err.error());
    // Nothing is lost: the refused chunk comes back.
    assert_eq!(err.into_inner().len(), 100);
    assert_eq!(tx.buffered(), 2000);
    assert_eq!(tx.stats().peak_buffered, 2000);
}

#[test]
fn the_hard_cap_is_configurable() {
    let (mut tx, _rx) = BufferConfig::new(Limit::<u32>::items(4))
        .hard_cap(6)
        .build();
    for i in 0..6 {
        let _ = tx.write(i).unwrap();
    }
    let e = tx.write(6).unwrap_err();
    assert!(e.error().is_overflow());
    assert!(e.to_string().contains("hard cap of 6"), "{e}");
}

#[test]
fn drop_oldest_keeps_the_latest() {
    let (mut tx, mut rx) = BufferConfig::new(Limit::<u32>::items(3))
        .overflow(Overflow::DropOldest)
        .build();
    for i in 0..10 {
        let answer = tx.write(i).unwrap();
        assert_eq!(answer == Written::Full, i >= 2);
    }
    let kept: Vec<u32> = std::iter::from_fn(|| rx.try_next()).collect();
    assert_eq!(kept, [7, 8, 9]);
    assert_eq!(rx.stats().dropped, 7);
}

#[test]
fn drop_newest_keeps_the_first() {
    let (mut tx, mut rx) = BufferConfig::new(Limit::<u32>::items(3))
        .overflow(Overflow::DropNewest)
        .build();
    for i in 0..10 {
        let _ = tx.write(i).unwrap();
    }
    let kept: Vec<u32> = std::iter::from_fn(|| rx.try_next()).collect();
    assert_eq!(kept, [0, 1, 2]);
    assert_eq!(rx.stats().dropped, 7);
}

#[test]
fn drop_oldest_in_byte_mode_evicts_until_the_chunk_fits() {
    let (mut tx, mut rx) = BufferConfig::new(Limit::<Bytes>::bytes(10))
        .overflow(Overflow::DropOldest)
        .build();
    for c in [b"aaaa", b"bbbb", b"cccc"] {
        let _ = tx.write(Bytes::from_static(c)).unwrap();
    }
    // 12 buffered (over the cap of 10 only by the chunk that made it full);
    // a new 4-byte chunk evicts until 4 more fit under 10.
    let _ = tx.write(Bytes::from_static(b"dddd")).unwrap();
    let kept: Vec<Bytes> = std::iter::from_fn(|| rx.try_next()).collect();
    assert_eq!(kept, ["cccc", "dddd"]);
    assert!(rx.stats().peak_buffered <= 12);
}

#[test]
fn unbounded_accepts_everything_and_memory_grows() {
    let (mut tx, _rx) = BufferConfig::new(Limit::<Bytes>::bytes(1024))
        .overflow(Overflow::Unbounded)
        .build();
    for _ in 0..1000 {
        assert_eq!(
            tx.write(Bytes::from(vec![0u8; 1024])).unwrap(),
            Written::Full
        );
    }
    assert_eq!(tx.buffered(), 1000 * 1024);
    assert_eq!(tx.stats().full_events, 1);
}

#[tokio::test]
async fn send_never_meets_the_cap() {
    // A producer that waits for room never sees the overflow policy.
    let (mut tx, mut rx) = BufferConfig::new(Limit::<u32>::items(2))
        .hard_cap(2)
        .build();
    let reader = tokio::spawn(async move {
        let mut n = 0;
        while let Some(r) = futures::StreamExt::next(&mut rx).await {
            r.unwrap();
            n += 1;
        }
        n
    });
    for i in 0..1000 {
        tx.send(i).await.unwrap();
    }
    tx.end();
    assert_eq!(reader.await.unwrap(), 1000);
}
