//! One codec run over a file held in memory, through weir or through the
//! plain library: the in-process half of `docs/benchmarks.md`, made to be
//! timed as a whole process and paired run by run with its baseline.
//!
//! Run: `cargo run --release --example codec_inmem -- MODE FILE`
//!
//! MODE is `weir-gzip`, `flate2-gzip`, `weir-gunzip`, `flate2-gunzip`,
//! `weir-zstd`, `zstd-zstd`, `weir-unzstd` or `zstd-unzstd`. The file (the
//! compressed one for the decoding modes) is read into memory first, then
//! fed in 64 KiB chunks; the output is counted and dropped. Encoders use
//! gzip level 6 and zstd level 3 with a content checksum on both sides.
use std::io::{Read, Write};
use std::process::ExitCode;

use bytes::Bytes;
use futures::StreamExt;
use weir::codecs::{GzipDecoder, GzipEncoder, ZstdDecoder, ZstdEncoder};
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
