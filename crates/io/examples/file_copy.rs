//! Copies a file through a weir file source and file sink.
//!
//! Run: `cargo run --release -p weir-io --example file_copy -- IN OUT [--block SIZE] [--chunk SIZE] [--atomic] [--fsync] [--writeback SIZE] [--current]`
//!
//! `IN` or `OUT` may be `-` for standard input or output. SIZE is in bytes,
//! or with a `K`/`M` suffix (KiB/MiB). `--current` uses Tokio's
//! current-thread runtime instead of the multi-thread one; `--writeback 0`
//! turns off the sink's early writeback (default every 8 MiB). Prints the bytes
//! copied, the time and the rate on standard error.

use std::process::ExitCode;
use std::time::Instant;

use futures::StreamExt;
use weir_io::{BlockingSink, BlockingSource, ByteCounter, FileSink, FileSource};

struct Args {
    input: String,
    output: String,
    block: usize,
    chunk: usize,
    atomic: bool,
    fsync: bool,
    writeback: Option<usize>,
    current: bool,
}

fn size(s: &str) -> Result<usize, String> {
    let (num, mult) = match s.as_bytes().last() {
        Some(b'K' | b'k') => (&s[..s.len() - 1], 1024),
        Some(b'M' | b'm') => (&s[..s.len() - 1], 1024 * 1024),
        _ => (s, 1),
    };
    num.parse::<usize>()
        .map(|n| n * mult)
        .map_err(|_| format!("not a size: {s}"))
}

fn parse() -> Result<Args, String> {
    let mut a = Args {
        input: String::new(),
        output: String::new(),
        block: weir_io::DEFAULT_BLOCK_SIZE,
        chunk: weir_io::DEFAULT_CHUNK_SIZE,
        atomic: false,
        fsync: false,
        writeback: None,
        current: false,
    };
    let mut positional = Vec::new();
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--block" => a.block = size(&it.next().ok_or("--block needs a size")?)?,
            "--chunk" => a.chunk = size(&it.next().ok_or("--chunk needs a size")?)?,
            "--atomic" => a.atomic = true,
            "--fsync" => a.fsync = true,
            "--writeback" => {
                a.writeback = Some(size(&it.next().ok_or("--writeback needs a size")?)?)
            }
            "--current" => a.current = true,
            _ => positional.push(arg),
        }
    }
    let [input, output] = <[String; 2]>::try_from(positional)
        .map_err(|_| "usage: file_copy IN OUT [--block SIZE] [--chunk SIZE] [--atomic] [--fsync] [--writeback SIZE] [--current]")?;
    a.input = input;
    a.output = output;
    Ok(a)
}

async fn copy(a: &Args) -> Result<u64, weir_core::Error> {
    let counter: ByteCounter;
    if a.input == "-" {
        let src = BlockingSource::builder()
            .chunk_size(a.chunk)
            .block_size(a.block)
            .name("stdin")
            .build(std::io::stdin());
        counter = src.counter();
        run(src, a).await?;
    } else {
        let src = FileSource::builder(&a.input)
            .chunk_size(a.chunk)
            .block_size(a.block)
            .open()
            .await?;
        counter = src.counter();
        run(src, a).await?;
    }
    Ok(counter.get())
}

async fn run<S>(src: S, a: &Args) -> Result<(), weir_core::Error>
where
    S: futures::Stream<Item = Result<bytes::Bytes, weir_core::Error>>,
{
    if a.output == "-" {
        let sink = BlockingSink::builder()
            .block_size(a.block)
            .name("stdout")
            .build(std::io::stdout());
        src.forward(sink).await
    } else {
        let mut builder = FileSink::builder(&a.output);
        builder.block_size(a.block).atomic(a.atomic).fsync(a.fsync);
        if let Some(step) = a.writeback {
            builder.writeback(step);
        }
        let sink = builder.create().await?;
        src.forward(sink).await
    }
}

fn main() -> ExitCode {
    let args = match parse() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    let rt = if args.current {
        tokio::runtime::Builder::new_current_thread().build()
    } else {
        tokio::runtime::Builder::new_multi_thread().build()
    };
    let rt = match rt {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("cannot start the runtime: {e}");
            return ExitCode::from(1);
        }
    };
    let start = Instant::now();
    match rt.block_on(copy(&args)) {
        Ok(n) => {
            let secs = start.elapsed().as_secs_f64();
            eprintln!(
                "copied {n} bytes in {secs:.3} s ({:.1} MB/s)",
                n as f64 / secs / 1e6
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(1)
        }
    }
}
