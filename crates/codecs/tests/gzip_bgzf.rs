//! Independent-block gzip (BGZF, `bgzip`'s format) and its parallel
//! decoding: every gunzip reads the output, the parallel decoder gives the
//! same bytes and the same errors as the sequential one, and lying block
//! sizes, truncation and corruption are errors with byte offsets, never a
//! hang or a panic.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod support;

use std::io::Read;
use std::sync::mpsc;
use std::time::Duration;

use proptest::prelude::*;
use support::*;
use weir::codecs::{GzipDecoder, GzipEncoder, Trailing};

/// BGZF's end-of-file block.
const EOF: [u8; 28] = [
    0x1f, 0x8b, 8, 4, 0, 0, 0, 0, 0, 0xff, 6, 0, b'B', b'C', 2, 0, 0x1b, 0, 3, 0, 0, 0, 0, 0, 0, 0,
    0, 0,
];

fn bgzf(level: u32, threads: usize, data: &[u8]) -> Vec<u8> {
    let enc = GzipEncoder::builder()
        .level(level)
        .threads(threads)
        .independent(true)
        .build();
    apply(enc, data).unwrap()
}

fn flate2_decode(gz: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    flate2::read::MultiGzDecoder::new(gz)
        .read_to_end(&mut out)
        .unwrap();
    out
}

/// Incompressible bytes.
fn noise(len: usize, seed: u32) -> Vec<u8> {
    let mut x = seed | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x as u8
        })
        .collect()
}

/// The members of a BGZF file: (offset, size) from each BSIZE.
fn blocks(file: &[u8]) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut at = 0;
    while at < file.len() {
        let bsize = u16::from_le_bytes([file[at + 16], file[at + 17]]) as usize;
        out.push((at, bsize + 1));
        at += bsize + 1;
    }
    assert_eq!(at, file.len(), "the block sizes tile the file");
    out
}

/// Runs `f` on another thread and fails if it takes longer than 60 s (a
/// hang must fail the test, not stall the suite).
fn within<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    rx.recv_timeout(Duration::from_secs(60))
        .expect("finished in time (no hang)")
}

/// Decodes `input` fed in `split`-byte chunks with `threads` threads and
/// `chunk`-byte output chunks: (output, error message).
fn decode(input: &[u8], threads: usize, split: usize, chunk: usize) -> (Vec<u8>, Option<String>) {
    let input = input.to_vec();
    within(move || {
        let dec = GzipDecoder::builder()
            .threads(threads)
            .chunk_size(chunk)
            .build();
        let r = run_sync(dec, &input, &[split]);
        assert!(
            r.most_per_call <= chunk,
            "one call emitted {}",
            r.most_per_call
        );
        (r.out, r.error.map(|e| e.to_string()))
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]
    #[test]
    fn bgzf_round_trips_at_any_split_and_chunk_size(
        level in 0u32..=9,
        enc_threads in 1usize..=3,
        dec_threads in 2usize..=4,
        n in 0usize..300_000,
        seed in any::<u64>(),
        incompressible in any::<bool>(),
        split in prop_oneof![1usize..64, 1usize..5000, 1usize..(1 << 20)],
        chunk in prop_oneof![1usize..100, 1usize..300_000],
        enc_sizes in proptest::collection::vec(1usize..200_000, 1..4),
    ) {
        let data = if incompressible { noise(n, seed as u32) } else { text(n, seed) };
        let enc = GzipEncoder::builder().level(level).threads(enc_threads).independent(true).build();
        let r = run_sync(enc, &data, &enc_sizes);
        prop_assert!(r.error.is_none());
        let file = r.out;
        prop_assert!(file.ends_with(&EOF));
        for (at, size) in blocks(&file) {
            prop_assert!(size <= 65_536);
            let isize = u32::from_le_bytes(file[at + size - 4..at + size].try_into().unwrap());
            prop_assert!(isize as usize <= 65_280);
        }
        prop_assert_eq!(flate2_decode(&file), data.clone());
        let (out, err) = decode(&file, dec_threads, split, chunk);
        prop_assert_eq!(err, None);
        prop_assert_eq!(out, data);
    }

    /// A damaged BGZF file (a block size that lies, flipped bytes, a cut)
    /// gives the same output and the same error whether its blocks are
    /// handed on as slices of one large input chunk or gathered by copying
    /// from small chunks (1,000 bytes: no batch of four blocks fits in one).
    #[test]
    fn the_slice_path_and_the_copying_path_agree_on_any_damage(
        n in 100_000usize..700_000,
        seed in any::<u64>(),
        resize in any::<Option<(prop::sample::Index, i16)>>(),
        flips in proptest::collection::vec((any::<prop::sample::Index>(), 1u8..=255), 0..3),
        cut in any::<Option<prop::sample::Index>>(),
    ) {
        let mut file = bgzf(6, 2, &text(n, seed));
        let b = blocks(&file);
        if let Some((k, delta)) = resize {
            let (at, size) = b[k.index(b.len())];
            let lied = (size as i64 + i64::from(delta)).clamp(1, 65_536) as usize;
            set_size(&mut file, at, lied);
        }
        for (i, x) in flips {
            let i = i.index(file.len());
            file[i] ^= x;
        }
        if let Some(c) = cut {
            file.truncate(c.index(file.len()));
        }
        let (sliced, sliced_err) = decode(&file, 2, 1 << 20, 65_536);
        let (copied, copied_err) = decode(&file, 2, 1_000, 65_536);
        let (three, three_err) = decode(&file, 3, 1 << 20, 65_536);
        prop_assert_eq!(&sliced_err, &copied_err);
        prop_assert_eq!(&sliced_err, &three_err);
        prop_assert!(sliced == copied, "outputs differ: {} vs {} bytes", sliced.len(), copied.len());
        prop_assert!(sliced == three, "outputs differ: {} vs {} bytes", sliced.len(), three.len());
    }

    /// Any gzip file that is not BGZF decodes to the same bytes, or fails
    /// with the same error, with threads as without.
    #[test]
    fn ordinary_gzip_decodes_as_before(
        n in 0usize..200_000,
        seed in any::<u64>(),
        cut in any::<prop::sample::Index>(),
        flip in any::<Option<(prop::sample::Index, u8)>>(),
        split in 1usize..70_000,
    ) {
        let data = text(n, seed);
        let mut gz = apply(GzipEncoder::new(), &data).unwrap();
        if let Some((i, x)) = flip {
            let i = i.index(gz.len());
            gz[i] ^= x.max(1);
        }
        let end = gz.len() - cut.index(gz.len() / 8 + 1);
        let gz = &gz[..end];
        let (seq, seq_err) = decode(gz, 1, split, 65_536);
        let (par, par_err) = decode(gz, 2, split, 65_536);
        prop_assert_eq!(par_err, seq_err);
        prop_assert_eq!(par, seq);
    }
}

#[test]
fn system_gzip_and_node_read_bgzf_output() {
    assert!(have("gzip"), "`gzip` is needed on PATH");
    let data = text(1 << 20, 7);
    for threads in [1, 2] {
        let file = bgzf(6, threads, &data);
        assert!(blocks(&file).len() > 16);
        let (ok, out) = pipe_through("gzip", &["-dc"], &file);
        assert!(ok);
        assert_eq!(out, data);
        assert!(pipe_through("gzip", &["-t"], &file).0);
    }
    if have("node") {
        let file = bgzf(6, 2, &data);
        let (ok, out) = pipe_through(
            "node",
            &[
                "-e",
                "const z=require('zlib');const c=[];process.stdin.on('data',d=>c.push(d));\
                 process.stdin.on('end',()=>process.stdout.write(z.gunzipSync(Buffer.concat(c))));",
            ],
            &file,
        );
        assert!(ok);
        assert_eq!(out, data);
    }
}

#[test]
fn bgzf_layout_is_bgzips() {
    let data = text(200_000, 3);
    let file = bgzf(6, 2, &data);
    let b = blocks(&file);
    // 200,000 bytes in blocks of 65,280, then the EOF block.
    assert_eq!(b.len(), 5);
    let mut total = 0;
    for &(at, size) in &b {
        let m = &file[at..at + size];
        assert_eq!(&m[..4], &[0x1f, 0x8b, 8, 4], "gzip, deflate, FEXTRA only");
        assert_eq!(&m[10..16], &[6, 0, b'B', b'C', 2, 0], "XLEN 6, BC, SLEN 2");
        let isize = u32::from_le_bytes(m[size - 4..].try_into().unwrap()) as usize;
        total += isize;
    }
    assert_eq!(total, data.len());
    assert_eq!(&file[b[4].0..], &EOF);
    // Empty input: the EOF block alone, which every gunzip reads as empty.
    let empty = bgzf(6, 2, b"");
    assert_eq!(empty, EOF);
    assert!(flate2_decode(&empty).is_empty());
    assert_eq!(decode(&empty, 2, 7, 100), (Vec::new(), None));
    // Stored when it does not shrink: still within 64 KiB per block.
    let raw = noise(300_000, 9);
    for level in [0, 1, 9] {
        let file = bgzf(level, 2, &raw);
        assert!(blocks(&file).iter().all(|&(_, s)| s <= 65_536));
        assert_eq!(decode(&file, 3, 10_000, 1 << 20).0, raw);
    }
}

#[test]
fn the_parallel_decoder_uses_its_threads_and_reports_them() {
    let data = text(2 << 20, 11);
    let file = bgzf(6, 2, &data);
    let dec = GzipDecoder::parallel(2);
    let mut o = weir::Output::new();
    let mut dec = dec;
    let mut out = Vec::new();
    use weir::Transform;
    for piece in file.chunks(100_000) {
        dec.transform(bytes::Bytes::copy_from_slice(piece), &mut o)
            .unwrap();
        loop {
            out.extend(o.drain().flat_map(|c| c.to_vec()));
            if !dec.resume(&mut o).unwrap() {
                break;
            }
        }
        out.extend(o.drain().flat_map(|c| c.to_vec()));
    }
    dec.flush(&mut o).unwrap();
    loop {
        out.extend(o.drain().flat_map(|c| c.to_vec()));
        if !dec.resume(&mut o).unwrap() {
            break;
        }
    }
    out.extend(o.drain().flat_map(|c| c.to_vec()));
    assert!(out == data, "{} bytes out of {}", out.len(), data.len());
    let blocks = blocks(&file).len() as u64;
    assert_eq!(dec.parallel_blocks(), blocks);
    assert_eq!(dec.members(), blocks);
    let busy = dec.worker_busy().unwrap().times();
    assert_eq!(busy.len(), 2);
    // The workers share one job queue, so a fast one may take every job
    // (as it did under ISA-L in CI); the first batch always goes to them.
    assert!(busy.iter().any(|d| !d.is_zero()), "{busy:?}");
    let h = dec.header().unwrap();
    assert_eq!(&h.extra().unwrap()[..4], b"BC\x02\x00");
    // One thread: the sequential decoder, no block counted as parallel.
    let one = GzipDecoder::builder().threads(1).build();
    assert_eq!(one.parallel_blocks(), 0);
    assert!(one.worker_busy().is_none());
    assert_eq!(apply(one, &file).unwrap(), data);
}

#[test]
fn bgzf_then_ordinary_gzip_falls_back_to_the_sequential_decoder() {
    let a = text(300_000, 1);
    let b = text(100_000, 2);
    let c = noise(70_000, 3);
    let mut file = bgzf(6, 2, &a);
    file.extend(apply(GzipEncoder::builder().file_name("b.txt").build(), &b).unwrap());
    file.extend(bgzf(1, 1, &c));
    let want: Vec<u8> = [a.clone(), b, c].concat();
    for split in [1, 13, 4096, 1 << 20] {
        for chunk in [1000, 256 * 1024] {
            let (out, err) = decode(&file, 2, split, chunk);
            assert_eq!(err, None);
            assert_eq!(out, want);
        }
    }
    assert_eq!(flate2_decode(&file), want);
    // And an ordinary first member: sequential from the start.
    let mut file = apply(GzipEncoder::new(), &a).unwrap();
    file.extend(bgzf(6, 2, &a));
    assert_eq!(
        decode(&file, 2, 5000, 65_536),
        ([a.clone(), a].concat(), None)
    );
}

#[test]
fn padding_and_trailing_data_after_bgzf_are_handled_as_gunzip_does() {
    let data = text(150_000, 4);
    let file = bgzf(6, 2, &data);
    let mut padded = file.clone();
    padded.extend([0u8; 700]);
    assert_eq!(decode(&padded, 2, 333, 65_536), (data.clone(), None));
    for tail in [
        &b"x"[..],
        b"\x1f",
        b"\x1f\x00",
        b"\x1fjunk",
        b"\x00\x00\x1f",
    ] {
        let mut bad = file.clone();
        bad.extend_from_slice(tail);
        for split in [1, 2, 1000, 1 << 20] {
            let (seq, seq_err) = decode(&bad, 1, split, 65_536);
            let (par, par_err) = decode(&bad, 2, split, 65_536);
            // "trailing garbage", or a truncated header for a lone 0x1f.
            assert!(
                seq_err.as_deref().unwrap().contains("byte offset"),
                "{seq_err:?}"
            );
            if tail == b"\x1f" {
                // The sequential decoder names the member before the lone
                // byte; the parallel one the member it would start.
                assert!(
                    par_err
                        .as_deref()
                        .unwrap()
                        .contains("truncated input (unexpected end of file at byte offset"),
                    "{par_err:?}"
                );
            } else {
                assert_eq!(par_err, seq_err, "tail {tail:?} split {split}");
            }
            assert!(
                par == seq,
                "tail {tail:?} split {split}: {} vs {} bytes",
                par.len(),
                seq.len()
            );
        }
        if tail == b"\x1f" {
            continue;
        }
        // Trailing::Ignore skips it.
        let dec = GzipDecoder::builder()
            .threads(2)
            .trailing(Trailing::Ignore)
            .build();
        assert_eq!(apply(dec, &bad).unwrap(), data);
    }
}

/// Decodes a bad BGZF file every way, and returns the error (the same for
/// every split and thread count above 1).
fn bad_bgzf(file: &[u8]) -> String {
    let mut seen = None;
    for threads in [2, 3] {
        for split in [1, 7, 4096, 1 << 20] {
            let (_, err) = decode(file, threads, split, 65_536);
            let err = err.expect("an error");
            assert!(err.contains("byte offset"), "{err}");
            match &seen {
                None => seen = Some(err),
                Some(s) => assert_eq!(s, &err),
            }
        }
    }
    seen.unwrap()
}

/// Rewrites the BSIZE of the block at `at` to `size - 1`.
fn set_size(file: &mut [u8], at: usize, size: usize) {
    let bsize = (size - 1) as u16;
    file[at + 16..at + 18].copy_from_slice(&bsize.to_le_bytes());
}

#[test]
fn lying_block_sizes_are_errors_with_offsets() {
    // Block 2 is in the first batch, gathered by copying; block 11 is the
    // last of the third batch, which a large input chunk hands on as a
    // slice of itself (only the headers of its blocks are read before it
    // is handed on, so a lie in the last one is found by the decoding):
    // both paths must find the same errors.
    lying_block_sizes_are_errors_with_offsets_at(2);
    lying_block_sizes_are_errors_with_offsets_at(11);
}

fn lying_block_sizes_are_errors_with_offsets_at(block: usize) {
    let data = text(1_000_000, 5);
    let file = bgzf(6, 2, &data);
    let b = blocks(&file);
    assert!(b.len() > 12, "{} blocks", b.len());
    let (at, size) = b[block];
    // Too large, inside the file: the member's data ends before the
    // recorded end.
    let mut f = file.clone();
    set_size(&mut f, at, size + 100);
    let e = bad_bgzf(&f);
    assert!(
        e.contains(&format!("byte offset {at}")) && e.contains("too large"),
        "{e}"
    );
    // Too small: the deflate data goes on past it.
    let mut f = file.clone();
    set_size(&mut f, at, size - 100);
    let e = bad_bgzf(&f);
    assert!(
        e.contains(&format!("byte offset {at}")) && e.contains("too small"),
        "{e}"
    );
    // Smaller than a header and trailer (including the zero BSIZE).
    for size in [1, 18, 27] {
        let mut f = file.clone();
        set_size(&mut f, at, size);
        let e = bad_bgzf(&f);
        assert!(
            e.contains(&format!("byte offset {at}")) && e.contains("less than its header"),
            "{e}"
        );
    }
    // Past the end of the input.
    let (last, _) = b[b.len() - 2];
    let mut f = file[..b[b.len() - 1].0].to_vec();
    set_size(&mut f, last, 65_536);
    let e = bad_bgzf(&f);
    assert!(
        e.contains("truncated") && e.contains(&format!("starting at byte offset {last}")),
        "{e}"
    );
    // The largest possible size, on a short file: the same, never a hang.
    let mut f = file[..b[1].0].to_vec();
    set_size(&mut f, 0, 65_536);
    assert!(bad_bgzf(&f).contains("byte offset 0"));
}

#[test]
fn truncation_anywhere_is_an_error() {
    let data = text(140_000, 6);
    let file = bgzf(6, 2, &data);
    let step = (file.len() / 300).max(1);
    let mut cuts: Vec<usize> = (0..file.len()).step_by(step).collect();
    // Every byte of the first header, and around each block boundary.
    cuts.extend(0..40);
    for (at, _) in blocks(&file) {
        cuts.extend(at.saturating_sub(10)..(at + 30).min(file.len()));
    }
    for cut in cuts {
        if cut == file.len() || blocks_end(&file).contains(&cut) && cut > 0 {
            continue;
        }
        let (seq, seq_err) = decode(&file[..cut], 1, 4096, 65_536);
        let (par, par_err) = decode(&file[..cut], 2, 4096, 65_536);
        let e = par_err.unwrap_or_else(|| panic!("cut at {cut}: no error"));
        assert!(
            e.contains("truncated") || e.contains("empty input"),
            "cut {cut}: {e}"
        );
        assert!(seq_err.is_some());
        // No more output than the sequential decoder gave.
        assert!(par.len() <= data.len() && data.starts_with(&par));
        assert!(seq.len() <= data.len());
    }
}

/// The offsets where a block ends (a file cut there is a shorter valid file).
fn blocks_end(file: &[u8]) -> Vec<usize> {
    blocks(file).iter().map(|&(at, size)| at + size).collect()
}

#[test]
fn corrupt_blocks_are_errors_with_offsets() {
    let data = text(1_000_000, 8);
    let file = bgzf(6, 2, &data);
    let b = blocks(&file);
    // Block 1 is gathered by copying, block 9 (after whole batches) handed
    // on as a slice of a large input chunk.
    for k in [1, 9] {
        let (at, size) = b[k];
        let member = format!("member {}", k + 1);
        // A CRC-32 that does not match.
        let mut f = file.clone();
        f[at + size - 8] ^= 1;
        let e = bad_bgzf(&f);
        assert!(
            e.contains(&format!("crc32 mismatch in {member} "))
                && e.contains(&format!("byte offset {}", at + size - 8)),
            "{e}"
        );
        // A length that does not match.
        let mut f = file.clone();
        f[at + size - 4] ^= 1;
        let e = bad_bgzf(&f);
        assert!(e.contains("ISIZE") && e.contains(&member), "{e}");
    }
    let (at, size) = b[1];
    // Corrupt DEFLATE data (every byte of the body, a few bits each).
    let mut errors = 0;
    for i in (at + 18..at + size - 8).step_by(997) {
        let mut f = file.clone();
        f[i] ^= 0x55;
        let (out, err) = decode(&f, 2, 50_000, 65_536);
        // Whatever comes out before the error is the start of the data.
        assert!(data.starts_with(&out[..out.len().min(65_280)]));
        let e = err.expect("an error");
        assert!(e.contains("byte offset"), "{e}");
        errors += 1;
    }
    assert!(errors > 5);
    // Output before the bad block is emitted first, in order.
    let mut f = file.clone();
    f[b[3].0 + b[3].1 - 8] ^= 0xff;
    let (out, err) = decode(&f, 2, 1 << 20, 1 << 20);
    assert!(err.is_some());
    assert_eq!(out, data[..3 * 65_280]);
}

#[test]
fn a_bc_member_with_more_than_64_kib_is_an_error_not_unbounded() {
    // A hand-made member with the BC field holding 1 MiB of zeros.
    let zeros = vec![0u8; 1 << 20];
    let mut c = flate2::Compress::new(flate2::Compression::new(6), false);
    let mut body = Vec::with_capacity(1 << 16);
    c.compress_vec(&zeros, &mut body, flate2::FlushCompress::Finish)
        .unwrap();
    let mut m = vec![
        0x1f, 0x8b, 8, 4, 0, 0, 0, 0, 0, 0xff, 6, 0, b'B', b'C', 2, 0, 0, 0,
    ];
    m.extend_from_slice(&body);
    let mut h = crc32fast::Hasher::new();
    h.update(&zeros);
    m.extend_from_slice(&h.finalize().to_le_bytes());
    m.extend_from_slice(&(zeros.len() as u32).to_le_bytes());
    let size = m.len();
    set_size(&mut m, 0, size);
    // Any gunzip reads it...
    assert_eq!(flate2_decode(&m), zeros);
    // ...but it breaks BGZF's rule, and the parallel decoder says so.
    let e = bad_bgzf(&m);
    assert!(e.contains("more than 65536 bytes"), "{e}");
}

#[test]
#[ignore = "needs htslib's bgzip (Debian package tabix): .ci/run installs it and runs this"]
fn bgzip_reads_ours_and_we_decode_bgzips_in_parallel() {
    assert!(have("bgzip"), "`bgzip` is needed on PATH");
    let data = text(1 << 20, 12);
    let ours = bgzf(6, 2, &data);
    let (ok, out) = pipe_through("bgzip", &["-d", "-c"], &ours);
    assert!(ok);
    assert_eq!(out, data);
    let (ok, theirs) = pipe_through("bgzip", &["-c", "-@", "2"], &data);
    assert!(ok);
    assert!(theirs.ends_with(&EOF));
    let n = blocks(&theirs).len() as u64;
    use weir::Transform;
    let mut dec = GzipDecoder::parallel(2);
    let mut o = weir::Output::new();
    let mut out = Vec::new();
    dec.transform(bytes::Bytes::from(theirs), &mut o).unwrap();
    loop {
        out.extend(o.drain().flat_map(|c| c.to_vec()));
        if !dec.resume(&mut o).unwrap() {
            break;
        }
    }
    dec.flush(&mut o).unwrap();
    loop {
        out.extend(o.drain().flat_map(|c| c.to_vec()));
        if !dec.resume(&mut o).unwrap() {
            break;
        }
    }
    out.extend(o.drain().flat_map(|c| c.to_vec()));
    assert!(out == data, "{} bytes out of {}", out.len(), data.len());
    assert_eq!(dec.parallel_blocks(), n);
}

#[test]
fn an_empty_chunk_hands_on_the_blocks_in_flight() {
    use weir::Transform;
    let data = text(500_000, 13);
    let file = bgzf(6, 2, &data);
    let mut dec = GzipDecoder::parallel(2);
    let mut o = weir::Output::new();
    let mut out = Vec::new();
    let mut take = |dec: &mut GzipDecoder, o: &mut weir::Output<bytes::Bytes>| loop {
        out.extend(o.drain().flat_map(|c| c.to_vec()));
        if !dec.resume(o).unwrap() {
            out.extend(o.drain().flat_map(|c| c.to_vec()));
            return out.len();
        }
    };
    // Everything but the EOF block, then nothing more for now.
    let body = bytes::Bytes::copy_from_slice(&file[..file.len() - EOF.len()]);
    dec.transform(body, &mut o).unwrap();
    take(&mut dec, &mut o);
    // A live source with nothing ready sends an empty chunk: every block
    // in flight comes out, before the end of the input.
    dec.transform(bytes::Bytes::new(), &mut o).unwrap();
    assert_eq!(take(&mut dec, &mut o), data.len());
    dec.transform(bytes::Bytes::from_static(&EOF), &mut o)
        .unwrap();
    take(&mut dec, &mut o);
    dec.flush(&mut o).unwrap();
    assert_eq!(take(&mut dec, &mut o), data.len());
}

#[test]
fn the_output_limit_holds_for_output_handed_on_whole() {
    // The parallel decoder hands a batch's output on without copying it;
    // `max_output` still cuts it at the limit exactly, then fails.
    let data = text(2_000_000, 21);
    let file = bgzf(6, 2, &data);
    for limit in [1u64, 65_280, 300_001, 1_000_000] {
        let input = file.clone();
        let r = within(move || {
            let dec = GzipDecoder::builder().threads(2).max_output(limit).build();
            run_sync(dec, &input, &[1 << 20])
        });
        assert_eq!(r.out, data[..limit as usize], "limit {limit}");
        let e = r.error.expect("a limit error").to_string();
        assert!(e.contains("exceeds the limit"), "{e}");
    }
}
