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

/// Edge sizes at every level: empty, one byte, exact multiples of the block
/// size and one byte either side, each read back by `gzip -d`.
#[test]
fn every_level_and_edge_size_is_read_back_by_gzip() {
    assert!(have("gzip"), "`gzip` is needed on PATH");
    let block = 32 * 1024;
    let data = text(9 * block + 1, 51);
    for level in 0..=9 {
        for n in [
            0,
            1,
            block - 1,
            block,
            block + 1,
            2 * block,
            8 * block,
            9 * block + 1,
        ] {
            let input = &data[..n];
            for sizes in [&[usize::MAX][..], &[block], &[1, 4095, 70_000]] {
                let r = run_sync(parallel(level, 2, block, SyncFlush::Never), input, sizes);
                assert!(r.error.is_none(), "level {level} n {n}: {:?}", r.error);
                let (ok, out) = pipe_through("gzip", &["-dc"], &r.out);
                assert!(ok, "level {level} n {n} sizes {sizes:?}");
                assert_eq!(out, input, "level {level} n {n} sizes {sizes:?}");
                assert_eq!(
                    run_sync(GzipDecoder::new(), &r.out, &[65_536]).out,
                    input,
                    "level {level} n {n}"
                );
            }
        }
    }
}

/// Blocks go to the workers round-robin and are emitted in order, so for a
/// given number of threads the bytes depend neither on timing nor on how
/// the input is cut; with other thread counts they decode to the same data.
#[test]
fn output_is_the_same_whatever_the_timing_and_the_chunking() {
    let data = text(2 << 20, 52);
    for threads in [2, 3, 4] {
        let reference = run_sync(
            parallel(6, threads, 128 * 1024, SyncFlush::Never),
            &data,
            &[65_536],
        )
        .out;
        for sizes in [
            &[1usize << 20][..],
            &[7, 100_000, 3],
            &[128 * 1024],
            &[usize::MAX],
        ] {
            let out = run_sync(
                parallel(6, threads, 128 * 1024, SyncFlush::Never),
                &data,
                sizes,
            )
            .out;
            assert!(out == reference, "threads {threads} sizes {sizes:?}");
        }
        assert_eq!(flate2_decode(&reference), data);
    }
}

/// Output flows while input is taken: a call never returns more than the
/// in-flight blocks' output (plus the chunk's own), and at most `2 × threads`
/// blocks plus the one being filled are held back before the end.
#[test]
fn output_is_emitted_as_blocks_finish_and_memory_stays_bounded() {
    use bytes::Bytes;
    use weir::{Output, Transform};
    // Incompressible input, so each block's output is about its size.
    let mut x = 0x9e37_79b9_7f4a_7c15u64;
    let data: Vec<u8> = (0..(16usize << 20))
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect();
    let block = 128 * 1024;
    let threads = 2;
    let mut enc = parallel(6, threads, block, SyncFlush::Never);
    let mut o = Output::new();
    let mut gz = Vec::new();
    let chunk = 64 * 1024;
    let most = (2 * threads + 1) * (block + block / 8);
    for (i, piece) in data.chunks(chunk).enumerate() {
        enc.transform(Bytes::copy_from_slice(piece), &mut o)
            .unwrap();
        let before = gz.len();
        o.drain().for_each(|b| gz.extend_from_slice(&b));
        assert!(gz.len() - before <= most, "call {i}: {}", gz.len() - before);
        let taken = (i + 1) * chunk;
        let held = (2 * threads + 1) * block + chunk;
        assert!(
            gz.len() + held >= taken,
            "call {i}: {} out for {taken} in",
            gz.len()
        );
    }
    enc.flush(&mut o).unwrap();
    let before = gz.len();
    o.drain().for_each(|b| gz.extend_from_slice(&b));
    assert!(gz.len() - before <= most + 64);
    assert_eq!(flate2_decode(&gz), data);
}
