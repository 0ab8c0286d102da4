//! Decompression limits: a bomb is stopped after at most the limit, with a
//! distinct error, and no call emits more than one output chunk.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod support;

use bytes::Bytes;
use flate2::{Compress, Compression, FlushCompress};
use support::*;
use weir::codecs::GzipDecoder;
use weir::{Output, Transform};

const SEGMENT: usize = 64 * 1024;
const GIB: u64 = 1 << 30;

/// A DEFLATE segment for 64 KiB of zeros, full-flushed so that it refers to
/// nothing before it: repeating it gives a valid stream of any length.
fn zero_segment() -> Bytes {
    let mut c = Compress::new(Compression::best(), false);
    let mut out = Vec::with_capacity(4096);
    c.compress_vec(&[0; SEGMENT], &mut out, FlushCompress::Full)
        .unwrap();
    assert_eq!(c.total_in(), SEGMENT as u64);
    Bytes::from(out)
}

/// The CRC-32 of `n` zero bytes (n a power-of-two multiple of 64 KiB),
/// by combining CRCs rather than hashing a gibibyte.
fn crc_of_zeros(n: u64) -> u32 {
    let mut h = crc32fast::Hasher::new();
    h.update(&[0; SEGMENT]);
    let mut len = SEGMENT as u64;
    while len < n {
        let copy = h.clone();
        h.combine(&copy);
        len *= 2;
    }
    h.finalize()
}

/// A gzip member of `n` zero bytes, as a stream of chunks that share one
/// segment allocation: about 1 MB for 1 GiB, generated as it is read.
fn zeros_gzip(n: u64) -> impl Iterator<Item = Bytes> {
    let seg = zero_segment();
    let header = Bytes::from_static(&[0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 2, 255]);
    let mut tail = vec![0x03, 0x00]; // a final, empty fixed-Huffman block
    tail.extend_from_slice(&crc_of_zeros(n).to_le_bytes());
    tail.extend_from_slice(&(n as u32).to_le_bytes());
    std::iter::once(header)
        .chain(std::iter::repeat_n(seg, (n / SEGMENT as u64) as usize))
        .chain(std::iter::once(Bytes::from(tail)))
}

#[test]
fn the_generated_zero_bomb_is_valid_gzip() {
    // The construction, checked at 4 MiB by system gzip and by us.
    let small: Vec<u8> = zeros_gzip(4 << 20).flat_map(|b| b.to_vec()).collect();
    if have("gzip") {
        let (ok, out) = pipe_through("gzip", &["-dc"], &small);
        assert!(ok);
        assert_eq!(out.len(), 4 << 20);
        assert!(out.iter().all(|&b| b == 0));
    }
    let out = apply(GzipDecoder::new(), &small).unwrap();
    assert_eq!(out.len(), 4 << 20);
    // The real one is about 1 MB.
    let size: usize = zeros_gzip(GIB).map(|b| b.len()).sum();
    assert!((500_000..2_000_000).contains(&size), "{size}");
}

/// Feeds chunks one by one as the driver would; returns (output bytes,
/// largest output of one call, error).
fn drive(
    mut dec: impl Transform<In = Bytes, Out = Bytes>,
    input: impl Iterator<Item = Bytes>,
) -> (u64, usize, weir::Error) {
    let mut out = Output::new();
    let mut total = 0u64;
    let mut most = 0usize;
    let mut take = |out: &mut Output<Bytes>| {
        let n: usize = out.drain().map(|c| c.len()).sum();
        most = most.max(n);
        total += n as u64;
    };
    let res = (|| {
        for chunk in input {
            dec.transform(chunk, &mut out)?;
            take(&mut out);
            while dec.resume(&mut out)? {
                take(&mut out);
            }
            take(&mut out);
        }
        dec.flush(&mut out)?;
        take(&mut out);
        Ok::<(), weir::Error>(())
    })();
    (total, most, res.expect_err("the limit must stop the bomb"))
}

#[test]
fn a_gibibyte_of_zeros_is_stopped_by_a_10_mb_output_limit() {
    let limit = 10_000_000;
    let dec = GzipDecoder::builder().max_output(limit).build();
    let (total, most, err) = drive(dec, zeros_gzip(GIB));
    assert!(err.is_limit(), "{err}");
    assert!(!err.is_corrupt());
    assert!(err.to_string().contains("10000000"), "{err}");
    assert_eq!(total, limit, "exactly the limit is emitted, never more");
    assert!(most <= 256 * 1024, "one call emitted {most} bytes");
}

#[test]
fn a_gibibyte_of_zeros_is_stopped_by_a_ratio_limit() {
    let dec = GzipDecoder::builder()
        .max_ratio(100)
        .chunk_size(64 * 1024)
        .build();
    let (total, most, err) = drive(dec, zeros_gzip(GIB));
    assert!(err.is_limit(), "{err}");
    assert!(err.to_string().contains("ratio"), "{err}");
    // 64 KiB of zeros compress to ~70 bytes, so 100:1 stops it early.
    assert!(total < 1_000_000, "{total}");
    assert!(most <= 64 * 1024);
}

#[test]
fn a_legitimate_stream_under_the_limits_passes() {
    let data = text(500_000, 11);
    for f in FORMATS {
        let packed = encode(f, f.quick_level(), &data);
        let dec = f.decoder_with(Some(data.len() as u64), Some(50), 100_000);
        let r = run_sync(dec, &packed, &[4096]);
        assert!(r.error.is_none(), "{}: {:?}", f.name(), r.error);
        assert_eq!(r.out, data);
        // One byte less is over the limit: exactly that many come out.
        let dec = f.decoder_with(Some(data.len() as u64 - 1), None, 100_000);
        let r = run_sync(dec, &packed, &[4096]);
        assert!(
            r.error.as_ref().is_some_and(|e| e.is_limit()),
            "{}: {:?}",
            f.name(),
            r.error
        );
        assert_eq!(r.out.len(), data.len() - 1, "{}", f.name());
    }
}

#[test]
fn every_decoder_bounds_a_bomb_and_its_per_call_output() {
    let zeros = vec![0u8; 16 << 20];
    for f in FORMATS {
        let packed = encode(f, f.quick_level(), &zeros);
        // LZ4 tops out near 255:1 (16 MiB of zeros are 66 KB).
        let small = if f == Format::Lz4 { 80_000 } else { 40_000 };
        assert!(packed.len() < small, "{}: {}", f.name(), packed.len());
        let dec = f.decoder_with(Some(1_000_000), None, 128 * 1024);
        let r = run_sync(dec, &packed, &[65_536]);
        let e = r
            .error
            .unwrap_or_else(|| panic!("{}: no limit error", f.name()));
        assert!(e.is_limit(), "{}: {e}", f.name());
        assert_eq!(r.out.len(), 1_000_000, "{}", f.name());
        assert!(
            r.most_per_call <= 128 * 1024,
            "{}: {}",
            f.name(),
            r.most_per_call
        );

        let dec = f.decoder_with(None, Some(20), 128 * 1024);
        let r = run_sync(dec, &packed, &[65_536]);
        assert!(r.error.is_some_and(|e| e.is_limit()), "{}", f.name());
        assert!(
            r.out.len() < (packed.len() * 20 + 65_536 + 1),
            "{}",
            f.name()
        );

        // Without limits, a whole 64 KiB chunk of it still comes out one
        // bounded chunk per call.
        let r = run_sync(f.decoder_with(None, None, 256 * 1024), &packed, &[65_536]);
        assert!(r.error.is_none());
        assert_eq!(r.out.len(), zeros.len());
        assert!(
            r.most_per_call <= 256 * 1024,
            "{}: {}",
            f.name(),
            r.most_per_call
        );
    }
}
