//! One codec run over a file held in memory, through weir or through the
//! plain library: the in-process half of `docs/benchmarks.md`, made to be
//! timed as a whole process and paired run by run with its baseline.
//!
//! Run: `cargo run --release --example codec_inmem -- MODE FILE`
//!
//! MODE is `weir-gzip`, `flate2-gzip`, `weir-gunzip`, `flate2-gunzip`,
//! `weir-zstd`, `zstd-zstd`, `weir-unzstd` or `zstd-unzstd`; for the
//! formats over async-compression's codecs, `weir-xz`, `liblzma-xz`,
//! `weir-unxz`, `liblzma-unxz`, `weir-bzip2`, `bzip2-bzip2`, `weir-bunzip2`,
//! `bzip2-bunzip2`, `weir-lz4`, `lz4-lz4`, `weir-unlz4` or `lz4-unlz4`. The
//! file (the compressed one for the decoding modes) is read into memory
//! first, then fed in 64 KiB chunks; the output is counted and dropped.
//! Encoders use gzip level 6 and zstd level 3 with a content checksum on
//! both sides, xz level 6 (CRC64), bzip2 level 9, and LZ4 level 1 with 4 MiB
//! linked blocks and a content checksum.
use std::io::{Read, Write};
use std::process::ExitCode;

use bytes::Bytes;
use futures::StreamExt;
use weir::codecs::{
    Bzip2Decoder, Bzip2Encoder, GzipDecoder, GzipEncoder, Lz4Decoder, Lz4Encoder, XzDecoder,
    XzEncoder, ZstdDecoder, ZstdEncoder,
};
use weir::{ReadableExt, Transform};

const CHUNK: usize = 64 * 1024;

fn through_weir<T>(data: Bytes, t: T) -> Result<u64, weir::Error>
where
    T: Transform<In = Bytes, Out = Bytes>,
{
    let chunks: Vec<Bytes> = (0..data.len())
        .step_by(CHUNK)
        .map(|i| data.slice(i..(i + CHUNK).min(data.len())))
        .collect();
    let rt = tokio::runtime::Builder::new_current_thread().build()?;
    rt.block_on(async {
        let mut s = std::pin::pin!(weir::readable::from_iter(chunks).through(t));
        let mut n = 0u64;
        while let Some(c) = s.next().await {
            n += c?.len() as u64;
        }
        Ok(n)
    })
}

/// Counts what is written to it.
struct Count(u64);

impl Write for Count {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0 += b.len() as u64;
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn read_all(mut r: impl Read) -> std::io::Result<u64> {
    let mut buf = vec![0u8; 256 * 1024];
    let mut n = 0u64;
    loop {
        match r.read(&mut buf)? {
            0 => return Ok(n),
            k => n += k as u64,
        }
    }
}

fn run(mode: &str, data: Bytes) -> Result<u64, weir::Error> {
    Ok(match mode {
        "weir-gzip" => through_weir(data, GzipEncoder::with_level(6))?,
        "weir-gunzip" => through_weir(data, GzipDecoder::new())?,
        "weir-zstd" => through_weir(data, ZstdEncoder::with_level(3))?,
        "weir-unzstd" => through_weir(data, ZstdDecoder::new())?,
        "flate2-gzip" => {
            let mut e = flate2::write::GzEncoder::new(Count(0), flate2::Compression::new(6));
            for c in data.chunks(CHUNK) {
                e.write_all(c)?;
            }
            e.finish()?.0
        }
        "flate2-gunzip" => read_all(flate2::read::MultiGzDecoder::new(&data[..]))?,
        "zstd-zstd" => {
            let mut e = zstd::stream::write::Encoder::new(Count(0), 3)?;
            e.include_checksum(true)?;
            for c in data.chunks(CHUNK) {
                e.write_all(c)?;
            }
            e.finish()?.0
        }
        "zstd-unzstd" => read_all(zstd::stream::read::Decoder::new(&data[..])?)?,
        "weir-xz" => through_weir(data, XzEncoder::with_level(6))?,
        "weir-unxz" => through_weir(data, XzDecoder::new())?,
        "weir-bzip2" => through_weir(data, Bzip2Encoder::with_level(9))?,
        "weir-bunzip2" => through_weir(data, Bzip2Decoder::new())?,
        "weir-lz4" => through_weir(data, Lz4Encoder::with_level(1))?,
        "weir-unlz4" => through_weir(data, Lz4Decoder::new())?,
        "liblzma-xz" => {
            let mut e = liblzma::write::XzEncoder::new(Count(0), 6);
            for c in data.chunks(CHUNK) {
                e.write_all(c)?;
            }
            e.finish()?.0
        }
        "liblzma-unxz" => read_all(liblzma::read::XzDecoder::new_multi_decoder(&data[..]))?,
        "bzip2-bzip2" => {
            let mut e = bzip2::write::BzEncoder::new(Count(0), bzip2::Compression::new(9));
            for c in data.chunks(CHUNK) {
                e.write_all(c)?;
            }
            e.finish()?.0
        }
        "bzip2-bunzip2" => read_all(bzip2::read::MultiBzDecoder::new(&data[..]))?,
        "lz4-lz4" => {
            let mut e = lz4::EncoderBuilder::new()
                .level(1)
                .block_size(lz4::BlockSize::Max4MB)
                .block_mode(lz4::BlockMode::Linked)
                .checksum(lz4::ContentChecksum::ChecksumEnabled)
                .build(Count(0))?;
            for c in data.chunks(CHUNK) {
                e.write_all(c)?;
            }
            let (count, r) = e.finish();
            r?;
            count.0
        }
        "lz4-unlz4" => read_all(lz4::Decoder::new(&data[..])?)?,
        other => return Err(weir::Error::msg(format!("unknown mode {other}"))),
    })
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.len() != 2 {
        eprintln!("usage: codec_inmem MODE FILE");
        return ExitCode::from(2);
    }
    let data = match std::fs::read(&args[1]) {
        Ok(d) => Bytes::from(d),
        Err(e) => {
            eprintln!("codec_inmem: {}: {e}", args[1]);
            return ExitCode::from(1);
        }
    };
    match run(&args[0], data) {
        Ok(n) => {
            println!("{} {n}", args[0]);
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("codec_inmem: {e}");
            ExitCode::from(1)
        }
    }
}
