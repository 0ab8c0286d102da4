//! Compresses or decompresses a file through weir's codec transforms.
//!
//! Run: `cargo run --release --example gzip_file -- gzip|gunzip|zstd|unzstd IN OUT [LEVEL] [CHUNK_KIB] [THREADS]`
//!
//! `THREADS` above 1 compresses gzip `pigz`-style on that many threads.
//!
//! The file is read in chunks of 256 KiB by default ([`ChunkReader`]), run
//! through the codec transform, and written with a [`ChunkWriter`] holding up
//! to 1 MiB; every step is pull-driven, so memory stays bounded whatever the
//! file size. `gzip` output is what `gzip -d` reads, and `gunzip` reads what
//! `gzip` writes (multi-member files included).
//!
//! The chunks are fed to the sink without flushing it whenever the file read
//! is pending (as `StreamExt::forward` would): a file gains nothing from
//! such flushes, and waiting for them would keep the writes from overlapping
//! the codec. A live consumer (a socket) wants `forward`'s flushes instead.
use std::process::ExitCode;

use futures::{SinkExt, StreamExt};
use weir::codecs::{GzipDecoder, GzipEncoder, ZstdDecoder, ZstdEncoder};
use weir::readable::ChunkReader;
use weir::writable::ChunkWriter;
use weir::{ReadableExt, Transform};

use bytes::Bytes;

async fn run(
    mode: &str,
    input: &str,
    output: &str,
    level: Option<i32>,
    chunk: usize,
    threads: usize,
) -> Result<u64, weir::Error> {
    let codec: Box<dyn Transform<In = Bytes, Out = Bytes> + Send> = match mode {
        "gzip" => Box::new(
            GzipEncoder::builder()
                .level(level.unwrap_or(6).max(0) as u32)
                .threads(threads)
                .build(),
        ),
        "gunzip" => Box::new(GzipDecoder::new()),
        "zstd" => Box::new(ZstdEncoder::with_level(level.unwrap_or(3))),
        "unzstd" => Box::new(ZstdDecoder::new()),
        other => return Err(weir::Error::msg(format!("unknown mode {other}"))),
    };
    let src = ChunkReader::with_chunk_size(tokio::fs::File::open(input).await?, chunk);
    let dst = tokio::fs::File::create(output).await?;
    // A 1 MiB high mark lets the file writes run behind the codec.
    let mut sink = ChunkWriter::with_high_water_mark(dst, 1024 * 1024);
    let mut chunks = src.through(codec);
    while let Some(chunk) = chunks.next().await {
        sink.feed(chunk?).await?;
    }
    sink.close().await?;
    Ok(sink.bytes_written())
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.len() < 3 {
        eprintln!("usage: gzip_file gzip|gunzip|zstd|unzstd IN OUT [LEVEL] [CHUNK_KIB] [THREADS]");
        return ExitCode::from(2);
    }
    let level = args.get(3).and_then(|l| l.parse().ok());
    let chunk_kib: usize = args.get(4).and_then(|c| c.parse().ok()).unwrap_or(256);
    let threads: usize = args.get(5).and_then(|t| t.parse().ok()).unwrap_or(1);
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("gzip_file: {e}");
            return ExitCode::from(1);
        }
    };
    match rt.block_on(run(
        &args[0],
        &args[1],
        &args[2],
        level,
        chunk_kib.max(1) * 1024,
        threads,
    )) {
        Ok(_) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("gzip_file: {e}");
            ExitCode::from(1)
        }
    }
}
