//! Parallel (`pigz`-style) gzip compression: a normal gzip stream, whatever
//! the threads, blocks, levels and chunking.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod support;

use std::io::Read;

use proptest::prelude::*;
use support::*;
use weir::codecs::{GzipDecoder, GzipEncoder, SyncFlush};

fn parallel(level: u32, threads: usize, block: usize, sync: SyncFlush) -> GzipEncoder {
    GzipEncoder::builder()
        .level(level)
        .threads(threads)
        .block_size(block)
        .sync_flush(sync)
        .build()
}

fn flate2_decode(gz: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    flate2::read::MultiGzDecoder::new(gz)
        .read_to_end(&mut out)
        .unwrap();
    out
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]
    #[test]
    fn parallel_output_decodes_to_the_input(
        level in 0u32..=9,
        threads in 2usize..=4,
        block in prop_oneof![Just(32 * 1024), 32 * 1024usize..200_000],
        n in 0usize..400_000,
        seed in any::<u64>(),
        sizes in proptest::collection::vec(prop_oneof![1usize..5000, 1usize..(1 << 20)], 1..4),
        sync in prop_oneof![Just(SyncFlush::Never), Just(SyncFlush::EveryChunk), (1u64..100_000).prop_map(SyncFlush::EveryBytes)],
    ) {
        let data = text(n, seed);
        let r = run_sync(parallel(level, threads, block, sync), &data, &sizes);
        prop_assert!(r.error.is_none());
        prop_assert_eq!(flate2_decode(&r.out), data.clone());
        prop_assert_eq!(run_sync(GzipDecoder::new(), &r.out, &[65_536]).out, data);
    }
}

#[test]
fn system_gzip_reads_parallel_output_and_the_ratio_holds() {
    assert!(have("gzip"), "`gzip` is needed on PATH");
    let data = text(3 << 20, 50);
    let single = run_sync(GzipEncoder::with_level(6), &data, &[65_536]).out;
    let multi = run_sync(
        parallel(6, 2, 128 * 1024, SyncFlush::Never),
        &data,
        &[65_536],
    )
    .out;
    let (ok, out) = pipe_through("gzip", &["-dc"], &multi);
    assert!(ok);
    assert_eq!(out, data);
    assert!(pipe_through("gzip", &["-t"], &multi).0);
    // Priming each block with the previous 32 KiB keeps the size within 1%.
    assert!(
        (multi.len() as f64) < single.len() as f64 * 1.01,
        "{} vs {}",
        multi.len(),
        single.len()
    );
}

#[test]
fn parallel_empty_input_is_a_valid_empty_member() {
    let gz = apply(parallel(6, 2, 128 * 1024, SyncFlush::Never), b"").unwrap();
    assert!(flate2_decode(&gz).is_empty());
    assert_eq!(apply(GzipDecoder::new(), &gz).unwrap(), b"");
}
