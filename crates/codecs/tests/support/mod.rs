//! Helpers shared by the codec tests.
#![allow(
    dead_code,
    unreachable_pub,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic
)]

use std::io::Write;
use std::process::{Command, Stdio};

use bytes::Bytes;
use futures::TryStreamExt;
use weir::codecs::*;
use weir::{Output, ReadableExt, Transform, readable};

/// What a synchronous run of a transform produced.
#[derive(Debug)]
pub struct Run {
    pub out: Vec<u8>,
    pub chunks: usize,
    pub largest_chunk: usize,
    /// The most bytes emitted by one call of transform/resume/flush.
    pub most_per_call: usize,
    pub error: Option<weir::Error>,
}

/// Drives `t` over `input` cut into pieces of `sizes` (cycled), exactly as
/// the `Through` adapter does: after every `transform`/`flush`, take the
/// output, then `resume` while it says more remains.
pub fn run_sync<T>(mut t: T, input: &[u8], sizes: &[usize]) -> Run
where
    T: Transform<In = Bytes, Out = Bytes>,
{
    let mut run = Run {
        out: Vec::new(),
        chunks: 0,
        largest_chunk: 0,
        most_per_call: 0,
        error: None,
    };
    let mut o = Output::new();
    let take = |o: &mut Output<Bytes>, run: &mut Run| {
        let mut this_call = 0;
        for c in o.drain() {
            this_call += c.len();
            run.chunks += 1;
            run.largest_chunk = run.largest_chunk.max(c.len());
            run.out.extend_from_slice(&c);
        }
        run.most_per_call = run.most_per_call.max(this_call);
    };
    let mut pos = 0;
    let mut k = 0;
    let data = Bytes::copy_from_slice(input);
    let res = (|| -> Result<(), weir::Error> {
        while pos < data.len() {
            let n = sizes[k % sizes.len()].max(1).min(data.len() - pos);
            k += 1;
            t.transform(data.slice(pos..pos + n), &mut o)?;
            pos += n;
            take(&mut o, &mut run);
            while t.resume(&mut o)? {
                take(&mut o, &mut run);
            }
            take(&mut o, &mut run);
        }
        t.flush(&mut o)?;
        take(&mut o, &mut run);
        while t.resume(&mut o)? {
            take(&mut o, &mut run);
        }
        take(&mut o, &mut run);
        Ok(())
    })();
    run.error = res.err();
    run
}

/// Runs `t` over `input` in one piece and returns the output or the error.
pub fn apply<T>(t: T, input: &[u8]) -> Result<Vec<u8>, weir::Error>
where
    T: Transform<In = Bytes, Out = Bytes>,
{
    let r = run_sync(t, input, &[usize::MAX]);
    match r.error {
        Some(e) => Err(e),
        None => Ok(r.out),
    }
}

/// Runs `t` through the real `Through` adapter over chunks of `size`.
pub fn through<T>(t: T, input: &[u8], size: usize) -> Result<Vec<u8>, weir::Error>
where
    T: Transform<In = Bytes, Out = Bytes>,
{
    let data = Bytes::copy_from_slice(input);
    let chunks: Vec<Bytes> = (0..data.len())
        .step_by(size.max(1))
        .map(|i| data.slice(i..(i + size.max(1)).min(data.len())))
        .collect();
    futures::executor::block_on(async {
        let out: Vec<Bytes> = readable::from_iter(chunks).through(t).try_collect().await?;
        Ok(out.concat())
    })
}

/// Every codec, by name, with a level.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Gzip,
    Deflate,
    Zlib,
    Zstd,
    Brotli,
    Xz,
    Bzip2,
    Lz4,
}

pub const FORMATS: [Format; 8] = [
    Format::Gzip,
    Format::Deflate,
    Format::Zlib,
    Format::Zstd,
    Format::Brotli,
    Format::Xz,
    Format::Bzip2,
    Format::Lz4,
];

impl Format {
    pub fn levels(self) -> std::ops::RangeInclusive<i32> {
        match self {
            Format::Gzip | Format::Deflate | Format::Zlib => 0..=9,
            Format::Zstd => 1..=22,
            Format::Brotli => 0..=11,
            Format::Xz => 0..=9,
            Format::Bzip2 => 1..=9,
            Format::Lz4 => 1..=12,
        }
    }

    pub fn encoder(self, level: i32) -> Box<dyn Transform<In = Bytes, Out = Bytes>> {
        let l = level.max(0) as u32;
        match self {
            Format::Gzip => Box::new(GzipEncoder::with_level(l)),
            Format::Deflate => Box::new(DeflateEncoder::with_level(l)),
            Format::Zlib => Box::new(ZlibEncoder::with_level(l)),
            Format::Zstd => Box::new(ZstdEncoder::with_level(level)),
            Format::Brotli => Box::new(BrotliEncoder::with_quality(l)),
            Format::Xz => Box::new(XzEncoder::with_level(l)),
            Format::Bzip2 => Box::new(Bzip2Encoder::with_level(l)),
            Format::Lz4 => Box::new(Lz4Encoder::with_level(l)),
        }
    }

    pub fn encoder_with(
        self,
        level: i32,
        sync: SyncFlush,
    ) -> Box<dyn Transform<In = Bytes, Out = Bytes>> {
        let l = level.max(0) as u32;
        match self {
            Format::Gzip => Box::new(GzipEncoder::builder().level(l).sync_flush(sync).build()),
            Format::Deflate => {
                Box::new(DeflateEncoder::builder().level(l).sync_flush(sync).build())
            }
            Format::Zlib => Box::new(ZlibEncoder::builder().level(l).sync_flush(sync).build()),
            Format::Zstd => Box::new(ZstdEncoder::builder().level(level).sync_flush(sync).build()),
            Format::Brotli => {
                Box::new(BrotliEncoder::builder().quality(l).sync_flush(sync).build())
            }
            Format::Xz => Box::new(XzEncoder::builder().level(l).sync_flush(sync).build()),
            Format::Bzip2 => Box::new(Bzip2Encoder::builder().level(l).sync_flush(sync).build()),
            Format::Lz4 => Box::new(Lz4Encoder::builder().level(l).sync_flush(sync).build()),
        }
    }

    /// An encoder at its quick level for which an empty chunk is a flush.
    pub fn encoder_flush_on_empty(self) -> Box<dyn Transform<In = Bytes, Out = Bytes>> {
        let level = self.quick_level();
        let l = level as u32;
        match self {
            Format::Gzip => Box::new(GzipEncoder::builder().level(l).flush_on_empty(true).build()),
            Format::Deflate => Box::new(
                DeflateEncoder::builder()
                    .level(l)
                    .flush_on_empty(true)
                    .build(),
            ),
            Format::Zlib => Box::new(ZlibEncoder::builder().level(l).flush_on_empty(true).build()),
            Format::Zstd => Box::new(
                ZstdEncoder::builder()
                    .level(level)
                    .flush_on_empty(true)
                    .build(),
            ),
            Format::Brotli => Box::new(
                BrotliEncoder::builder()
                    .quality(l)
                    .flush_on_empty(true)
                    .build(),
            ),
            Format::Xz => Box::new(XzEncoder::builder().level(l).flush_on_empty(true).build()),
            Format::Bzip2 => Box::new(
                Bzip2Encoder::builder()
                    .level(l)
                    .flush_on_empty(true)
                    .build(),
            ),
            Format::Lz4 => Box::new(Lz4Encoder::builder().level(l).flush_on_empty(true).build()),
        }
    }

    pub fn decoder(self) -> Box<dyn Transform<In = Bytes, Out = Bytes>> {
        match self {
            Format::Gzip => Box::new(GzipDecoder::new()),
            Format::Deflate => Box::new(DeflateDecoder::new()),
            Format::Zlib => Box::new(ZlibDecoder::new()),
            Format::Zstd => Box::new(ZstdDecoder::new()),
            Format::Brotli => Box::new(BrotliDecoder::new()),
            Format::Xz => Box::new(XzDecoder::new()),
            Format::Bzip2 => Box::new(Bzip2Decoder::new()),
            Format::Lz4 => Box::new(Lz4Decoder::new()),
        }
    }

    /// A decoder with limits and a chunk size.
    pub fn decoder_with(
        self,
        max_output: Option<u64>,
        max_ratio: Option<u64>,
        chunk: usize,
    ) -> Box<dyn Transform<In = Bytes, Out = Bytes>> {
        macro_rules! build {
            ($t:ty) => {{
                let mut b = <$t>::builder();
                b.chunk_size(chunk);
                if let Some(m) = max_output {
                    b.max_output(m);
                }
                if let Some(r) = max_ratio {
                    b.max_ratio(r);
                }
                Box::new(b.build())
            }};
        }
        match self {
            Format::Gzip => build!(GzipDecoder),
            Format::Deflate => build!(DeflateDecoder),
            Format::Zlib => build!(ZlibDecoder),
            Format::Zstd => build!(ZstdDecoder),
            Format::Brotli => build!(BrotliDecoder),
            Format::Xz => build!(XzDecoder),
            Format::Bzip2 => build!(Bzip2Decoder),
            Format::Lz4 => build!(Lz4Decoder),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Format::Gzip => "gzip",
            Format::Deflate => "deflate",
            Format::Zlib => "zlib",
            Format::Zstd => "zstd",
            Format::Brotli => "brotli",
            Format::Xz => "xz",
            Format::Bzip2 => "bzip2",
            Format::Lz4 => "lz4",
        }
    }

    /// A reasonably fast level for tests that do not sweep levels.
    pub fn quick_level(self) -> i32 {
        match self {
            Format::Brotli => 4,
            Format::Zstd => 3,
            Format::Xz => 1,
            Format::Bzip2 => 1,
            Format::Lz4 => 1,
            _ => 6,
        }
    }
}

pub fn encode(f: Format, level: i32, data: &[u8]) -> Vec<u8> {
    apply(f.encoder(level), data).expect("encoding never fails")
}

/// Log-like text, compressible about 5×, deterministic.
pub fn text(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    let mut out = Vec::with_capacity(len + 128);
    let paths = [
        "/index.html",
        "/api/v1/items",
        "/static/app.js",
        "/login",
        "/img/logo.png",
    ];
    while out.len() < len {
        x = x
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let r = (x >> 33) as usize;
        let line = format!(
            "10.0.{}.{} - - [26/Nov/2026:09:{:02}:{:02} +0000] \"GET {} HTTP/1.1\" {} {}\n",
            r % 256,
            (r >> 8) % 256,
            (r >> 16) % 60,
            (r >> 22) % 60,
            paths[r % paths.len()],
            [200, 200, 304, 404][(r >> 4) % 4],
            r % 100_000
        );
        out.extend_from_slice(line.as_bytes());
    }
    out.truncate(len);
    out
}

/// Whether a system tool is on PATH.
pub fn have(tool: &str) -> bool {
    Command::new(tool)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok()
}

/// Runs `cmd args` with `input` on stdin; returns (status ok, stdout).
pub fn pipe_through(cmd: &str, args: &[&str], input: &[u8]) -> (bool, Vec<u8>) {
    let mut child = Command::new(cmd)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {cmd}: {e}"));
    let mut stdin = child.stdin.take().unwrap();
    let input = input.to_vec();
    let writer = std::thread::spawn(move || {
        let _ = stdin.write_all(&input);
    });
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap();
    (out.status.success(), out.stdout)
}
