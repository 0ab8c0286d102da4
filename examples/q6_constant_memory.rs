//! Q6: streams vs loading everything — a stream far larger than memory's
//! buffers, in constant memory.
//!
//! Run: `cargo run --release --example q6_constant_memory [GiB]` (default 4)
//!
//! A generated stream of several GiB of log text goes through a pipeline
//! (source -> checksum stage -> sink). The program prints, every half second,
//! how much has gone through, what the buffers hold and the process's
//! resident memory: the first grows to gigabytes, the other two stay flat.
//! Loading the same data first (`fs.readFileSync`) would need all of it in
//! memory at once.

#[path = "common/mod.rs"]
mod common;

use std::time::Duration;

use bytes::Bytes;
use weir::pipe::Pipeline;
use weir::writable::ChunkWriter;
use weir::{Output, Transform, readable};

/// A cheap checksum over every byte (so the data is really touched).
struct Checksum(u64);
impl Transform for Checksum {
    type In = Bytes;
    type Out = Bytes;
    fn transform(&mut self, chunk: Bytes, out: &mut Output<Bytes>) -> Result<(), weir::Error> {
        for w in chunk.chunks(8) {
            let mut x = [0u8; 8];
            x[..w.len()].copy_from_slice(w);
            self.0 = self.0.rotate_left(5) ^ u64::from_le_bytes(x);
        }
        out.push(chunk);
        Ok(())
    }
    fn heavy(&self) -> bool {
        true
    }
}

#[tokio::main]
async fn main() -> Result<(), weir::Error> {
    let gib: u64 = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(4);
    let chunk_size = 64 * 1024;
    let chunks = gib * 1024 * 1024 * 1024 / chunk_size as u64;
    // One 64 KiB block of log lines, handed out again and again (a real
    // source would read a file: see `weir copy`).
    let mut block = String::new();
    let mut i = 0u64;
    while block.len() < chunk_size {
        block.push_str(&format!(
            "10.0.{}.{} GET /api/items/{} 200 {}\n",
            i % 256,
            i % 7,
            i,
            i * 31 % 9000
        ));
        i += 1;
    }
    let block = Bytes::from(block.into_bytes()).slice(..chunk_size);
    let source = readable::from_iter((0..chunks).map(move |_| block.clone()));

    let (rss0, _) = common::rss().unwrap_or((0, 0));
    println!(
        "streaming {gib} GiB through source -> checksum -> sink (RSS at start {})",
        common::human(rss0)
    );
    println!(
        "{:>10} {:>12} {:>14} {:>12}",
        "time", "through", "buffered now", "RSS"
    );
    let run = Pipeline::from(source)
        .through("checksum", Checksum(0))
        .into(ChunkWriter::new(tokio::io::sink()));
    let monitor = run.monitor();
    let printer = tokio::spawn(async move {
        let start = std::time::Instant::now();
        loop {
            tokio::time::sleep(Duration::from_millis(500)).await;
            let rss = common::rss().map_or(0, |r| r.0);
            println!(
                "{:>9.1}s {:>12} {:>14} {:>12}",
                start.elapsed().as_secs_f64(),
                common::human(monitor.bytes_in()),
                common::human(monitor.buffered() as u64),
                common::human(rss)
            );
        }
    });
    let report = run.run().await?;
    printer.abort();
    let (rss, hwm) = common::rss().unwrap_or((0, 0));
    let peak: usize = report.stages.iter().map(|s| s.peak_buffered).sum();
    println!("\n{report}\n");
    println!(
        "{} streamed; the buffers never held more than {} together; \
         process RSS {} now, {} at its peak.",
        common::human(report.bytes_in),
        common::human(peak as u64),
        common::human(rss),
        common::human(hwm)
    );
    Ok(())
}
