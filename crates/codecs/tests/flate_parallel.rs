//! Parallel (`pigz`-style) zlib and raw DEFLATE compression: one ordinary
//! stream, whatever the threads, blocks, levels and chunking, read by flate2,
//! Python's zlib and weir's own decoders; zlib's Adler-32 is combined from
//! the blocks'.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod support;

use std::io::Read;

use proptest::prelude::*;
use support::*;
use weir::codecs::{DeflateDecoder, DeflateEncoder, SyncFlush, ZlibDecoder, ZlibEncoder};

fn zlib(level: u32, threads: usize, block: usize, sync: SyncFlush) -> ZlibEncoder {
    ZlibEncoder::builder()
        .level(level)
        .threads(threads)
        .block_size(block)
        .sync_flush(sync)
        .build()
}

fn deflate(level: u32, threads: usize, block: usize, sync: SyncFlush) -> DeflateEncoder {
    DeflateEncoder::builder()
        .level(level)
        .threads(threads)
        .block_size(block)
        .sync_flush(sync)
        .build()
}

fn flate2_zlib(z: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    flate2::read::ZlibDecoder::new(z)
        .read_to_end(&mut out)
        .unwrap();
    out
}

fn flate2_raw(z: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    flate2::read::DeflateDecoder::new(z)
        .read_to_end(&mut out)
        .unwrap();
    out
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]
    #[test]
    fn parallel_zlib_and_deflate_decode_to_the_input(
        level in 0u32..=9,
        threads in 2usize..=4,
        block in prop_oneof![Just(32 * 1024), 32 * 1024usize..200_000],
        n in 0usize..400_000,
        seed in any::<u64>(),
        sizes in proptest::collection::vec(prop_oneof![1usize..5000, 1usize..(1 << 20)], 1..4),
        sync in prop_oneof![Just(SyncFlush::Never), Just(SyncFlush::EveryChunk), (1u64..100_000).prop_map(SyncFlush::EveryBytes)],
    ) {
        let data = text(n, seed);
        let z = run_sync(zlib(level, threads, block, sync), &data, &sizes);
        prop_assert!(z.error.is_none());
        prop_assert_eq!(flate2_zlib(&z.out), data.clone());
        prop_assert_eq!(run_sync(ZlibDecoder::new(), &z.out, &[65_536]).out, data.clone());
        let d = run_sync(deflate(level, threads, block, sync), &data, &sizes);
        prop_assert!(d.error.is_none());
        prop_assert_eq!(flate2_raw(&d.out), data.clone());
        prop_assert_eq!(run_sync(DeflateDecoder::new(), &d.out, &[65_536]).out, data);
    }
}

#[test]
fn python_zlib_reads_parallel_zlib_and_deflate() {
    let data = text(3 << 20, 21);
    let z = apply(zlib(6, 2, 128 * 1024, SyncFlush::Never), &data).unwrap();
    let d = apply(deflate(6, 3, 64 * 1024, SyncFlush::Never), &data).unwrap();
    let single = apply(ZlibEncoder::new(), &data).unwrap();
    // Priming each block with the previous 32 KiB keeps the size within 1%.
    assert!((z.len() as f64) < single.len() as f64 * 1.01);
    // The trailer is the Adler-32 of the whole input, big-endian.
    let adler = u32::from_be_bytes(z[z.len() - 4..].try_into().unwrap());
    let single_adler = u32::from_be_bytes(single[single.len() - 4..].try_into().unwrap());
    assert_eq!(adler, single_adler);
    assert!(have("python3"), "python3 is needed on PATH");
    let script = "import sys, zlib; w = int(sys.argv[1]); \
                  sys.stdout.buffer.write(zlib.decompress(sys.stdin.buffer.read(), w))";
    let (ok, out) = pipe_through("python3", &["-c", script, "15"], &z);
    assert!(ok);
    assert_eq!(out, data);
    let (ok, out) = pipe_through("python3", &["-c", script, "-15"], &d);
    assert!(ok);
    assert_eq!(out, data);
}

#[test]
fn parallel_zlib_empty_input_and_worker_busy_time() {
    let z = apply(zlib(6, 2, 32 * 1024, SyncFlush::Never), b"").unwrap();
    assert!(flate2_zlib(&z).is_empty());
    assert_eq!(&z[..2], &[0x78, 0x9c]);
    assert_eq!(u32::from_be_bytes(z[z.len() - 4..].try_into().unwrap()), 1);
    let d = apply(deflate(9, 2, 32 * 1024, SyncFlush::Never), b"").unwrap();
    assert!(flate2_raw(&d).is_empty());

    use weir::Transform;
    let mut enc = zlib(6, 2, 32 * 1024, SyncFlush::Never);
    let mut o = weir::Output::new();
    let data = text(1 << 20, 3);
    for piece in data.chunks(50_000) {
        enc.transform(bytes::Bytes::copy_from_slice(piece), &mut o)
            .unwrap();
    }
    enc.flush(&mut o).unwrap();
    let busy = enc.worker_busy().unwrap().times();
    assert_eq!(busy.len(), 2);
    assert!(busy.iter().all(|d| !d.is_zero()), "{busy:?}");
    assert!(ZlibEncoder::new().worker_busy().is_none());
    let out: Vec<u8> = o.drain().flat_map(|c| c.to_vec()).collect();
    assert_eq!(flate2_zlib(&out), data);
}
