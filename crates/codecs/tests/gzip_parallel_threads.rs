//! Parallel gzip's worker threads: started on first input, joined at the
//! end of the stream and when an encoder is dropped mid-stream. (A test
//! binary of its own, with one test, so no other test's threads are
//! counted.)
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod support;

use bytes::Bytes;
use support::*;
use weir::codecs::GzipEncoder;
use weir::{Output, Transform};

/// Live threads of this process named as the encoder's workers.
fn workers() -> usize {
    std::fs::read_dir("/proc/self/task")
        .unwrap()
        .filter_map(|t| std::fs::read_to_string(t.ok()?.path().join("comm")).ok())
        .filter(|name| name.trim_end() == "weir-gzip")
        .count()
}

/// Waits (up to 10 s) until `n` workers are live, and says how many are.
/// A new thread names itself just after it starts, and a joined thread's
/// entry can outlive `join` by a moment: a leak is a count that stays.
fn settle(n: usize) -> usize {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let live = workers();
        if live == n || std::time::Instant::now() > deadline {
            return live;
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
}

fn encoder(threads: usize) -> GzipEncoder {
    GzipEncoder::builder()
        .threads(threads)
        .block_size(32 * 1024)
        .build()
}

#[test]
fn workers_are_joined_when_finished_or_dropped_mid_stream() {
    if !std::path::Path::new("/proc/self/task").exists() {
        return;
    }
    let data = Bytes::from(text(1 << 20, 53));
    let mut o = Output::new();

    // None before the first input.
    let mut e = encoder(3);
    assert_eq!(settle(0), 0);
    e.transform(data.clone(), &mut o).unwrap();
    assert_eq!(settle(3), 3);
    // Dropped mid-stream, with blocks in flight: all joined.
    e.transform(data.slice(..100_000), &mut o).unwrap();
    drop(e);
    assert_eq!(settle(0), 0);

    // Finished: joined at the end of the stream, before the drop.
    let mut e = encoder(4);
    e.transform(data.clone(), &mut o).unwrap();
    assert_eq!(settle(4), 4);
    e.flush(&mut o).unwrap();
    assert_eq!(settle(0), 0);
    drop(e);

    // Many encoders made and dropped: no thread is left behind.
    for i in 0..50 {
        let mut e = encoder(2 + i % 3);
        e.transform(data.slice(..(i * 20_000) % data.len()), &mut o)
            .unwrap();
        if i % 2 == 0 {
            e.flush(&mut o).unwrap();
        }
    }
    assert_eq!(settle(0), 0);
    drop(o.drain());
}
