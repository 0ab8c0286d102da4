//! Interoperability with the real tools: system `gzip` and `zstd` (both
//! ways), and fixtures made by `gzip -N`, `gzip -9`, concatenation, `zstd`
//! and Node's `zlib` (see `fixtures/make_fixtures.sh`).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod support;

use std::path::PathBuf;

use support::*;
use weir::codecs::*;

fn fixture(name: &str) -> Vec<u8> {
    let p: PathBuf = [env!("CARGO_MANIFEST_DIR"), "tests", "fixtures", name]
        .iter()
        .collect();
    std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// Fails loudly when a tool the interop tests need is missing (CI installs
/// them), rather than skipping.
fn require(tool: &str) {
    assert!(
        have(tool),
        "`{tool}` is needed on PATH for the interop tests"
    );
}

#[test]
fn fixtures_from_gzip_decode() {
    let text = fixture("text.txt");
    for name in ["gzip_9.gz", "gzip_1.gz", "gzip_n.gz", "node_gzip.gz"] {
        for sizes in [&[usize::MAX][..], &[1][..], &[100, 3][..]] {
            let r = run_sync(GzipDecoder::new(), &fixture(name), sizes);
            assert!(r.error.is_none(), "{name}: {:?}", r.error);
            assert_eq!(r.out, text, "{name}");
        }
    }
}

#[test]
fn gzip_n_header_is_read() {
    use weir::{Output, Transform};
    let mut d = GzipDecoder::new();
    let mut out = Output::new();
    d.transform(bytes::Bytes::from(fixture("gzip_n.gz")), &mut out)
        .unwrap();
    while d.resume(&mut out).unwrap() {}
    d.flush(&mut out).unwrap();
    let h = d.header().unwrap();
    assert_eq!(h.name(), Some(&b"named.txt"[..]));
    assert_eq!(h.mtime(), 1_795_687_200); // 2026-11-26 10:00:00 UTC
    assert_eq!(h.os(), Some(3));
}

#[test]
fn concatenated_fixtures_decode_completely() {
    let want = [fixture("text.txt"), fixture("second.txt")].concat();
    assert_eq!(
        run_sync(GzipDecoder::new(), &fixture("multi.gz"), &[7]).out,
        want
    );
    assert_eq!(
        run_sync(ZstdDecoder::new(), &fixture("multi.zst"), &[7]).out,
        want
    );
    assert_eq!(
        apply(GzipDecoder::new(), &fixture("multi.gz")).unwrap(),
        want
    );
    assert_eq!(
        apply(ZstdDecoder::new(), &fixture("multi.zst")).unwrap(),
        want
    );
}

#[test]
fn fixtures_from_node_and_zstd_decode() {
    let text = fixture("text.txt");
    assert_eq!(
        apply(ZlibDecoder::new(), &fixture("node_deflate.zz")).unwrap(),
        text
    );
    assert_eq!(
        apply(DeflateDecoder::new(), &fixture("node_raw.deflate")).unwrap(),
        text
    );
    assert_eq!(
        apply(BrotliDecoder::new(), &fixture("node_brotli.br")).unwrap(),
        text
    );
    assert_eq!(
        apply(ZstdDecoder::new(), &fixture("text.zst")).unwrap(),
        text
    );
    for (name, f) in [
        ("node_deflate.zz", Format::Zlib),
        ("node_raw.deflate", Format::Deflate),
        ("node_brotli.br", Format::Brotli),
        ("text.zst", Format::Zstd),
    ] {
        assert_eq!(
            run_sync(f.decoder(), &fixture(name), &[1]).out,
            text,
            "{name}"
        );
    }
}

#[test]
fn system_gzip_decodes_our_output_at_every_level() {
    require("gzip");
    let data = text(150_000, 31);
    for level in 0..=9 {
        let gz = run_sync(GzipEncoder::with_level(level), &data, &[10_000]).out;
        let (ok, out) = pipe_through("gzip", &["-dc"], &gz);
        assert!(ok, "level {level}");
        assert_eq!(out, data, "level {level}");
        // And `gzip -t` says it is intact.
        assert!(pipe_through("gzip", &["-t"], &gz).0, "level {level}");
    }
}

#[test]
fn system_gzip_reads_our_header_fields_and_flushed_streams() {
    require("gzip");
    let enc = GzipEncoder::builder()
        .file_name("report.csv")
        .comment("made by weir")
        .mtime(1_700_000_000)
        .build();
    let gz = apply(enc, b"a,b\n1,2\n").unwrap();
    let (ok, out) = pipe_through("gzip", &["-dc"], &gz);
    assert!(ok);
    assert_eq!(out, b"a,b\n1,2\n");

    let data = text(50_000, 32);
    let enc = GzipEncoder::builder()
        .sync_flush(SyncFlush::EveryChunk)
        .build();
    let gz = run_sync(enc, &data, &[333]).out;
    assert_eq!(pipe_through("gzip", &["-dc"], &gz).1, data);
    let empty = apply(GzipEncoder::new(), b"").unwrap();
    let (ok, out) = pipe_through("gzip", &["-dc"], &empty);
    assert!(ok && out.is_empty());
}

#[test]
fn we_decode_what_system_gzip_writes() {
    require("gzip");
    let data = text(120_000, 33);
    for level in ["-1", "-6", "-9"] {
        let (ok, gz) = pipe_through("gzip", &[level, "-c"], &data);
        assert!(ok);
        assert_eq!(
            run_sync(GzipDecoder::new(), &gz, &[4096, 1, 65_536]).out,
            data,
            "{level}"
        );
    }
    // gzip writes a multi-member file when given several inputs.
    let dir = std::env::temp_dir().join(format!("weir-gz-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("a"), &data[..1000]).unwrap();
    std::fs::write(dir.join("b"), &data[1000..3000]).unwrap();
    let out = std::process::Command::new("gzip")
        .arg("-c")
        .arg(dir.join("a"))
        .arg(dir.join("b"))
        .output()
        .unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
    assert!(out.status.success());
    assert_eq!(
        apply(GzipDecoder::new(), &out.stdout).unwrap(),
        &data[..3000]
    );
}

#[test]
fn system_zstd_round_trips_with_us() {
    require("zstd");
    let data = text(200_000, 34);
    for level in [1, 3, 19] {
        let ours = run_sync(ZstdEncoder::with_level(level), &data, &[65_536]).out;
        let (ok, out) = pipe_through("zstd", &["-dcq"], &ours);
        assert!(ok, "level {level}");
        assert_eq!(out, data);
        let (ok, theirs) = pipe_through("zstd", &[&format!("-{level}"), "-cq"], &data);
        assert!(ok);
        assert_eq!(run_sync(ZstdDecoder::new(), &theirs, &[1000]).out, data);
    }
    let empty = apply(ZstdEncoder::new(), b"").unwrap();
    let (ok, out) = pipe_through("zstd", &["-dcq"], &empty);
    assert!(ok && out.is_empty());
    // A flushed stream is one frame the tool reads whole.
    let enc = ZstdEncoder::builder()
        .sync_flush(SyncFlush::EveryChunk)
        .build();
    let z = run_sync(enc, &data, &[5000]).out;
    assert_eq!(pipe_through("zstd", &["-dcq"], &z).1, data);
}

#[test]
fn node_decodes_our_gzip_and_brotli() {
    require("node");
    let data = text(40_000, 35);
    for (f, call) in [
        (Format::Gzip, "gunzipSync"),
        (Format::Brotli, "brotliDecompressSync"),
        (Format::Zlib, "inflateSync"),
        (Format::Deflate, "inflateRawSync"),
    ] {
        let packed = encode(f, f.quick_level(), &data);
        let script = format!(
            "const z=require('zlib');const c=[];process.stdin.on('data',d=>c.push(d));process.stdin.on('end',()=>process.stdout.write(z.{call}(Buffer.concat(c))));"
        );
        let (ok, out) = pipe_through("node", &["-e", &script], &packed);
        assert!(ok, "{}", f.name());
        assert_eq!(out, data, "{}", f.name());
    }
}
