//! Object mode, whole process: N small objects through source -> 2
//! transforms -> sink, for comparison with Node's
//! `Readable.from -> Transform -> Writable` (`node_objects.mjs`).
//!
//! Run: `cargo run --release --example objects_pipeline [N] [HWM]` (default
//! 5 000 000 items, buffers of 64 items)
//!
//! Prints one line: items, seconds, items per second, checksum.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use weir::pipe::Pipeline;
use weir::{readable, writable};

#[derive(Debug, Clone, Copy)]
struct Item {
    id: u64,
    value: f64,
    flag: bool,
}

#[derive(Debug, Clone, Copy)]
struct Enriched {
    id: u64,
    value: f64,
    flag: bool,
    doubled: f64,
}

#[tokio::main]
async fn main() -> Result<(), weir::Error> {
    let n: u64 = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(5_000_000);
    let hwm: usize = std::env::args()
        .nth(2)
        .and_then(|a| a.parse().ok())
        .unwrap_or(64);
    // The writable at the end folds every object into a checksum (Node's
    // `new Writable({ objectMode: true, write(o, enc, cb) { sum += o.id; cb() } })`).
    let sum = Arc::new(AtomicU64::new(0));
    let out = sum.clone();
    let mut acc = 0u64;
    let sink = writable::from_fn(move |x: Enriched| {
        acc = acc
            .wrapping_add(x.id ^ (x.flag as u64) ^ (x.doubled as u64 & 1) ^ (x.value as u64 & 1));
        out.store(acc, Ordering::Relaxed);
        async { Ok(()) }
    });
    let t = Instant::now();
    let source = readable::from_iter((0..n).map(|i| Item {
        id: i,
        value: i as f64 * 0.5,
        flag: i & 1 == 0,
    }));
    // Buffers of 64 objects, not the default 16: for objects this small the
    // cost is the wake-up of the next task, once per batch, and 64 items
    // fill one batch of the buffer's reader (measured in
    // docs/benchmarks.md: 4.1-4.9 M items/s at 16, 7.1-7.6 at 64, and
    // 5.8-6.7 at 128). Node's stream gained nothing from 64.
    let report = Pipeline::from(source)
        .high_water_mark(64 * 1024, hwm)
        .map("enrich", |x: Item| Enriched {
            id: x.id,
            value: x.value,
            flag: x.flag,
            doubled: x.value * 2.0,
        })
        .map("score", |x: Enriched| Enriched {
            doubled: x.doubled + 1.0,
            ..x
        })
        .into(sink)
        .run()
        .await?;
    let secs = t.elapsed().as_secs_f64();
    println!(
        "weir objects: {n} items in {secs:.3} s = {:.2} M items/s (checksum {}, {} tasks: {})",
        n as f64 / secs / 1e6,
        sum.load(Ordering::Relaxed),
        report.stages.len(),
        report
            .stages
            .iter()
            .map(|s| s.name.as_str())
            .collect::<Vec<_>>()
            .join(" | ")
    );
    Ok(())
}
