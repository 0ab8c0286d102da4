//! Memory stays bounded by construction: a 256 MiB file streamed from a
//! `FileSource` into a `FileSink` raises the process's peak RSS by a few
//! blocks, not by the file's size.
//!
//! This binary holds one test only, so no other test's allocations show up
//! in the process's RSS.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::io::{Read, Write};
use std::time::Instant;

use futures::StreamExt;
use support::{path_in, random, tempdir, within};
use weir_io::{FileSink, FileSource};

const SIZE: usize = 256 << 20;
const MIB: u64 = 1 << 20;

/// A field of `/proc/self/status`, in bytes.
fn status_bytes(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status
        .lines()
        .find(|l| l.starts_with(field))
        .unwrap_or_else(|| panic!("no {field} in /proc/self/status"));
    let kib: u64 = line
        .split_whitespace()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("cannot parse {line}"));
    kib * 1024
}

/// Resets the peak RSS (VmHWM) to the current RSS (Linux, `clear_refs` 5).
fn reset_peak() {
    std::fs::write("/proc/self/clear_refs", "5").unwrap();
}

fn files_equal(a: &std::path::Path, b: &std::path::Path) -> bool {
    let (mut fa, mut fb) = (
        std::fs::File::open(a).unwrap(),
        std::fs::File::open(b).unwrap(),
    );
    let (mut ba, mut bb) = (vec![0u8; 1 << 20], vec![0u8; 1 << 20]);
    loop {
        let na = fa.read(&mut ba).unwrap();
        let mut nb = 0;
        while nb < na {
            let k = fb.read(&mut bb[nb..na]).unwrap();
            if k == 0 {
                return false;
            }
            nb += k;
        }
        if ba[..na] != bb[..na] {
            return false;
        }
        if na == 0 {
            return fb.read(&mut bb).unwrap() == 0;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_256_mib_copy_stays_within_a_few_blocks() {
    within(60, async {
        let dir = tempdir();
        let input = path_in(&dir, "input");
        let output = path_in(&dir, "output");
        {
            let block = random(1, 1 << 20);
            let mut f = std::io::BufWriter::new(std::fs::File::create(&input).unwrap());
            for i in 0..(SIZE >> 20) as u64 {
                f.write_all(&i.to_le_bytes()).unwrap();
                f.write_all(&block[8..]).unwrap();
            }
            f.flush().unwrap();
        }

        reset_peak();
        let base = status_bytes("VmRSS:");
        let start = Instant::now();
        let src = FileSource::open(&input).await.unwrap();
        let sink = FileSink::create(&output).await.unwrap();
        let (read, written) = (src.counter(), sink.counter());
        src.forward(sink).await.unwrap();
        let elapsed = start.elapsed();
        let peak = status_bytes("VmHWM:");
        let growth = peak.saturating_sub(base);
        eprintln!(
            "256 MiB copied in {elapsed:?}; RSS {} MiB before, peak {} MiB (+{} KiB)",
            base / MIB,
            peak / MIB,
            growth / 1024
        );

        assert_eq!(read.get(), SIZE as u64);
        assert_eq!(written.get(), SIZE as u64);
        // Live data by construction: two source blocks and two sink batches
        // (which may pin up to two more source blocks) of 1 MiB, plus what
        // the allocator keeps around. 16 MiB is 1/16 of the file.
        assert!(
            growth < 16 * MIB,
            "peak RSS grew by {} KiB while copying 256 MiB",
            growth / 1024
        );
        assert!(files_equal(&input, &output), "the copy differs");
    })
    .await;
}
