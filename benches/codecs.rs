//! Codec throughput through weir against the plain libraries, in one run.
//!
//! Run: `cargo bench --bench codecs` (add `-- gzip` to pick groups).
//!
//! Each group compresses or decompresses the same in-memory corpus
//! (16 MiB of web-access-log-like text, ~5× compressible, like the anchors'
//! `gen_corpus.py`) through weir's transform adapter and through the plain
//! synchronous library with the same settings, so the ratio between the two
//! rows is weir's overhead:
//!
//! - `gzip6_encode`: `GzipEncoder` (level 6) vs flate2's `GzEncoder` on the
//!   same zlib-rs backend, 64 KiB input chunks.
//! - `gzip_decode`: `GzipDecoder` (256 KiB output chunks) vs flate2's
//!   `MultiGzDecoder` read 256 KiB at a time.
//! - `zstd3_encode` / `zstd_decode`: `ZstdEncoder`/`ZstdDecoder` vs the
//!   `zstd` crate's streaming writer/reader, both with content checksums.
//! - `xz6_encode` / `xz_decode` (4 MiB of the corpus for encoding):
//!   `XzEncoder`/`XzDecoder` vs the `liblzma` crate's writer/reader, the
//!   same liblzma at the same preset (CRC64).
//! - `bzip2_9_encode` / `bzip2_decode` (4 MiB for encoding):
//!   `Bzip2Encoder`/`Bzip2Decoder` vs the `bzip2` crate's writer/reader
//!   (libbz2-rs, 900 kB blocks).
//! - `lz4_1_encode` / `lz4_decode`: `Lz4Encoder`/`Lz4Decoder` vs the `lz4`
//!   crate's writer/reader, the same liblz4 with the same frame settings
//!   (level 1, 4 MiB linked blocks, content checksum).
use std::io::{Read, Write};
use std::time::Duration;

use bytes::Bytes;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use futures::StreamExt;
use weir::ReadableExt;
use weir::codecs::{
    Bzip2Decoder, Bzip2Encoder, GzipDecoder, GzipEncoder, Lz4Decoder, Lz4Encoder, XzDecoder,
    XzEncoder, ZstdDecoder, ZstdEncoder,
};

const CORPUS: usize = 16 << 20;
const IN_CHUNK: usize = 64 * 1024;

/// Deterministic log-like text (an xorshift stream picking fields).
fn corpus() -> Vec<u8> {
    let mut x: u64 = 0x2545_f491_4f6c_dd1d;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let paths = [
        "/",
        "/index.html",
        "/api/v1/items",
        "/api/v1/users/42",
        "/static/app.js",
        "/img/logo.png",
        "/login",
    ];
    let agents = [
        "Mozilla/5.0 (X11; Linux x86_64)",
        "curl/8.5.0",
        "Go-http-client/1.1",
        "Mozilla/5.0 (Macintosh)",
    ];
    let mut out = Vec::with_capacity(CORPUS + 512);
    while out.len() < CORPUS {
        let r = next();
        let line = format!(
            "{}.{}.{}.{} - - [26/Nov/2026:{:02}:{:02}:{:02} +0000] \"GET {}?id={} HTTP/1.1\" {} {} \"-\" \"{}\"\n",
            r % 223 + 1,
            (r >> 8) % 256,
            (r >> 16) % 256,
            (r >> 24) % 256,
            (r >> 32) % 24,
            (r >> 37) % 60,
            (r >> 43) % 60,
            paths[(r >> 49) as usize % paths.len()],
            (r >> 20) % 100_000,
            [200, 200, 200, 304, 404, 500][(r >> 52) as usize % 6],
            (r >> 12) % 50_000,
            agents[(r >> 58) as usize % agents.len()],
        );
        out.extend_from_slice(line.as_bytes());
    }
    out.truncate(CORPUS);
    out
}

fn chunks(data: &Bytes, size: usize) -> Vec<Bytes> {
    (0..data.len())
        .step_by(size)
        .map(|i| data.slice(i..(i + size).min(data.len())))
        .collect()
}

/// Runs `t` over `input` through weir's `Through` adapter; returns the
/// output length.
async fn weir_len<T>(input: Vec<Bytes>, t: T) -> usize
where
    T: weir::Transform<In = Bytes, Out = Bytes>,
{
    let mut s = std::pin::pin!(weir::readable::from_iter(input).through(t));
    let mut n = 0;
    while let Some(c) = s.next().await {
        n += c.map(|c| c.len()).unwrap_or(0);
    }
    n
}

fn benches(c: &mut Criterion) {
    let Ok(rt) = tokio::runtime::Builder::new_current_thread().build() else {
        eprintln!("cannot build a tokio runtime");
        return;
    };
    let data = Bytes::from(corpus());
    let input = chunks(&data, IN_CHUNK);

    let gz = {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::new(6));
        e.write_all(&data).unwrap_or_default();
        Bytes::from(e.finish().unwrap_or_default())
    };
    let gz_chunks = chunks(&gz, IN_CHUNK);
    let zst = Bytes::from(zstd::encode_all(&data[..], 3).unwrap_or_default());
    let zst_chunks = chunks(&zst, IN_CHUNK);

    let mut g = c.benchmark_group("codecs/gzip6_encode");
    g.throughput(Throughput::Bytes(data.len() as u64));
    g.sample_size(10).measurement_time(Duration::from_secs(12));
    g.bench_function("weir", |b| {
        b.to_async(&rt)
            .iter(|| weir_len(input.clone(), GzipEncoder::with_level(6)))
    });
    g.bench_function("flate2_zlib_rs", |b| {
        b.iter(|| {
            let mut e = flate2::write::GzEncoder::new(
                Vec::with_capacity(4 << 20),
                flate2::Compression::new(6),
            );
            for c in &input {
                e.write_all(c).unwrap_or_default();
            }
            e.finish().map(|v| v.len()).unwrap_or_default()
        })
    });
    g.finish();

    let mut g = c.benchmark_group("codecs/gzip_decode");
    g.throughput(Throughput::Bytes(data.len() as u64));
    g.sample_size(10).measurement_time(Duration::from_secs(8));
    g.bench_function("weir", |b| {
        b.to_async(&rt)
            .iter(|| weir_len(gz_chunks.clone(), GzipDecoder::new()))
    });
    g.bench_function("flate2_zlib_rs", |b| {
        b.iter(|| {
            let mut d = flate2::read::MultiGzDecoder::new(&gz[..]);
            let mut buf = vec![0u8; 256 * 1024];
            let mut n = 0;
            while let Ok(k @ 1..) = d.read(&mut buf) {
                n += k;
            }
            n
        })
    });
    g.finish();

    let mut g = c.benchmark_group("codecs/zstd3_encode");
    g.throughput(Throughput::Bytes(data.len() as u64));
    g.sample_size(10).measurement_time(Duration::from_secs(8));
    g.bench_function("weir", |b| {
        b.to_async(&rt)
            .iter(|| weir_len(input.clone(), ZstdEncoder::with_level(3)))
    });
    g.bench_function("zstd_crate", |b| {
        b.iter(|| {
            let Ok(mut e) = zstd::stream::write::Encoder::new(Vec::with_capacity(2 << 20), 3)
            else {
                return 0;
            };
            e.include_checksum(true).unwrap_or_default();
            for c in &input {
                e.write_all(c).unwrap_or_default();
            }
            e.finish().map(|v| v.len()).unwrap_or_default()
        })
    });
    g.finish();

    more_formats(c, &rt, &data);

    let mut g = c.benchmark_group("codecs/zstd_decode");
    g.throughput(Throughput::Bytes(data.len() as u64));
    g.sample_size(10).measurement_time(Duration::from_secs(8));
    g.bench_function("weir", |b| {
        b.to_async(&rt)
            .iter(|| weir_len(zst_chunks.clone(), ZstdDecoder::new()))
    });
    g.bench_function("zstd_crate", |b| {
        b.iter(|| {
            let Ok(mut d) = zstd::stream::read::Decoder::new(&zst[..]) else {
                return 0;
            };
            let mut buf = vec![0u8; 256 * 1024];
            let mut n = 0;
            while let Ok(k @ 1..) = d.read(&mut buf) {
                n += k;
            }
            n
        })
    });
    g.finish();
}

/// Reads all of `r` 256 KiB at a time; returns the length.
fn read_len(mut r: impl Read) -> usize {
    let mut buf = vec![0u8; 256 * 1024];
    let mut n = 0;
    while let Ok(k @ 1..) = r.read(&mut buf) {
        n += k;
    }
    n
}

/// The `lz4` crate's encoder with the settings of `Lz4Encoder::new()`.
fn lz4_crate_encode(input: &[Bytes]) -> Vec<u8> {
    let Ok(mut e) = lz4::EncoderBuilder::new()
        .level(1)
        .block_size(lz4::BlockSize::Max4MB)
        .block_mode(lz4::BlockMode::Linked)
        .checksum(lz4::ContentChecksum::ChecksumEnabled)
        .build(Vec::with_capacity(8 << 20))
    else {
        return Vec::new();
    };
    for c in input {
        e.write_all(c).unwrap_or_default();
    }
    e.finish().0
}

/// xz, bzip2 and LZ4 (weir-codecs' `xz`, `bzip2` and `lz4` features, over
/// async-compression's codecs) against the plain crates.
fn more_formats(c: &mut Criterion, rt: &tokio::runtime::Runtime, data: &Bytes) {
    let input = chunks(data, IN_CHUNK);
    // xz and bzip2 compress at a few MB/s: a quarter of the corpus.
    let small = data.slice(..data.len() / 4);
    let small_input = chunks(&small, IN_CHUNK);

    let xz = {
        let mut e = liblzma::write::XzEncoder::new(Vec::new(), 6);
        e.write_all(data).unwrap_or_default();
        Bytes::from(e.finish().unwrap_or_default())
    };
    let xz_chunks = chunks(&xz, IN_CHUNK);
    let bz = {
        let mut e = bzip2::write::BzEncoder::new(Vec::new(), bzip2::Compression::new(9));
        e.write_all(data).unwrap_or_default();
        Bytes::from(e.finish().unwrap_or_default())
    };
    let bz_chunks = chunks(&bz, IN_CHUNK);
    let lz = Bytes::from(lz4_crate_encode(&input));
    let lz_chunks = chunks(&lz, IN_CHUNK);

    let mut g = c.benchmark_group("codecs/xz6_encode");
    g.throughput(Throughput::Bytes(small.len() as u64));
    g.sample_size(10).measurement_time(Duration::from_secs(20));
    g.bench_function("weir", |b| {
        b.to_async(rt)
            .iter(|| weir_len(small_input.clone(), XzEncoder::with_level(6)))
    });
    g.bench_function("liblzma_crate", |b| {
        b.iter(|| {
            let mut e = liblzma::write::XzEncoder::new(Vec::with_capacity(1 << 20), 6);
            for c in &small_input {
                e.write_all(c).unwrap_or_default();
            }
            e.finish().map(|v| v.len()).unwrap_or_default()
        })
    });
    g.finish();

    let mut g = c.benchmark_group("codecs/xz_decode");
    g.throughput(Throughput::Bytes(data.len() as u64));
    g.sample_size(10).measurement_time(Duration::from_secs(12));
    g.bench_function("weir", |b| {
        b.to_async(rt)
            .iter(|| weir_len(xz_chunks.clone(), XzDecoder::new()))
    });
    g.bench_function("liblzma_crate", |b| {
        b.iter(|| read_len(liblzma::read::XzDecoder::new_multi_decoder(&xz[..])))
    });
    g.finish();

    let mut g = c.benchmark_group("codecs/bzip2_9_encode");
    g.throughput(Throughput::Bytes(small.len() as u64));
    g.sample_size(10).measurement_time(Duration::from_secs(20));
    g.bench_function("weir", |b| {
        b.to_async(rt)
            .iter(|| weir_len(small_input.clone(), Bzip2Encoder::with_level(9)))
    });
    g.bench_function("bzip2_crate", |b| {
        b.iter(|| {
            let mut e = bzip2::write::BzEncoder::new(
                Vec::with_capacity(1 << 20),
                bzip2::Compression::new(9),
            );
            for c in &small_input {
                e.write_all(c).unwrap_or_default();
            }
            e.finish().map(|v| v.len()).unwrap_or_default()
        })
    });
    g.finish();

    let mut g = c.benchmark_group("codecs/bzip2_decode");
    g.throughput(Throughput::Bytes(data.len() as u64));
    g.sample_size(10).measurement_time(Duration::from_secs(20));
    g.bench_function("weir", |b| {
        b.to_async(rt)
            .iter(|| weir_len(bz_chunks.clone(), Bzip2Decoder::new()))
    });
    g.bench_function("bzip2_crate", |b| {
        b.iter(|| read_len(bzip2::read::MultiBzDecoder::new(&bz[..])))
    });
    g.finish();

    let mut g = c.benchmark_group("codecs/lz4_1_encode");
    g.throughput(Throughput::Bytes(data.len() as u64));
    g.sample_size(20).measurement_time(Duration::from_secs(8));
    g.bench_function("weir", |b| {
        b.to_async(rt)
            .iter(|| weir_len(input.clone(), Lz4Encoder::with_level(1)))
    });
    g.bench_function("lz4_crate", |b| b.iter(|| lz4_crate_encode(&input).len()));
    g.finish();

    let mut g = c.benchmark_group("codecs/lz4_decode");
    g.throughput(Throughput::Bytes(data.len() as u64));
    g.sample_size(20).measurement_time(Duration::from_secs(8));
    g.bench_function("weir", |b| {
        b.to_async(rt)
            .iter(|| weir_len(lz_chunks.clone(), Lz4Decoder::new()))
    });
    g.bench_function("lz4_crate", |b| {
        b.iter(|| lz4::Decoder::new(&lz[..]).map(read_len).unwrap_or_default())
    });
    g.finish();
}

criterion_group!(codecs, benches);
criterion_main!(codecs);
