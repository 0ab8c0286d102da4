//! The streaming commands: codecs and copy, as weir pipelines.

use std::io::IsTerminal;
use std::path::Path;
use std::pin::Pin;
use std::time::Duration;

use bytes::Bytes;
use futures_util::Sink;
use weir_codecs::{
    BrotliDecoder, BrotliEncoder, Bzip2Decoder, Bzip2Encoder, GzipDecoder, GzipEncoder, Lz4Decoder,
    Lz4Encoder, LzmaDecoder, XzDecoder, XzEncoder, ZstdDecoder, ZstdEncoder,
};
use weir_core::{Error, Transform};
use weir_io::{FileSink, FileSource};
use weir_pipe::{CancellationToken, Pipeline, Report};

use crate::args::{Common, Copy, Decode, Encode, RunArgs, StatsFormat};

/// A byte transform chosen at run time.
type BoxTransform = Box<dyn Transform<In = Bytes, Out = Bytes> + Send>;
/// A byte sink chosen at run time.
pub(crate) type BoxSink = Pin<Box<dyn Sink<Bytes, Error = Error> + Send>>;

/// The compression formats the command knows.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Format {
    Gzip,
    Zstd,
    Brotli,
    Xz,
    /// `.lzma`: decoding only.
    Lzma,
    Bzip2,
    Lz4,
}

impl Format {
    fn name(self) -> &'static str {
        match self {
            Format::Gzip => "gzip",
            Format::Zstd => "zstd",
            Format::Brotli => "brotli",
            Format::Xz => "xz",
            Format::Lzma => "lzma",
            Format::Bzip2 => "bzip2",
            Format::Lz4 => "lz4",
        }
    }

    fn decoder_name(self) -> &'static str {
        match self {
            Format::Gzip => "gunzip",
            Format::Zstd => "unzstd",
            Format::Brotli => "unbrotli",
            Format::Xz => "unxz",
            Format::Lzma => "unlzma",
            Format::Bzip2 => "bunzip2",
            Format::Lz4 => "unlz4",
        }
    }

    /// The levels the encoder takes: the lowest, the default, the highest.
    fn levels(self) -> (u32, u32, u32) {
        match self {
            Format::Gzip => (0, 6, 9),
            Format::Zstd => (1, 3, 22),
            Format::Brotli => (0, 6, 11),
            // Not asked: there is no lzma encoding command.
            Format::Lzma => (0, 0, 0),
            Format::Xz => (0, 6, 9),
            Format::Bzip2 => (1, 9, 9),
            Format::Lz4 => (1, 1, 12),
        }
    }

    /// The encoder; `level` has been checked by [`validate_encode`].
    ///
    /// # Errors
    /// For `.lzma`, which weir decodes but does not write.
    fn encoder(
        self,
        level: Option<u32>,
        threads: u32,
        independent: bool,
        extreme: bool,
    ) -> Result<BoxTransform, Error> {
        let level = level.unwrap_or(self.levels().1);
        Ok(match self {
            Format::Gzip => Box::new(
                GzipEncoder::builder()
                    .level(level)
                    .threads(threads as usize)
                    .independent(independent)
                    .build(),
            ),
            Format::Zstd => Box::new(
                ZstdEncoder::builder()
                    .level(level as i32)
                    .threads(threads as usize)
                    .build(),
            ),
            Format::Brotli => Box::new(BrotliEncoder::with_quality(level)),
            Format::Xz => Box::new(
                XzEncoder::builder()
                    .level(level)
                    .extreme(extreme)
                    .threads(threads as usize)
                    .max_memory(quarter_of_memory())
                    .build(),
            ),
            Format::Bzip2 => Box::new(Bzip2Encoder::with_level(level)),
            Format::Lz4 => Box::new(Lz4Encoder::with_level(level)),
            Format::Lzma => {
                return Err(Error::msg(
                    "lzma: weir decodes .lzma files but does not write them (use weir xz)",
                ));
            }
        })
    }

    fn decoder(self, max_output: Option<u64>, threads: u32) -> BoxTransform {
        match self {
            Format::Gzip => {
                let mut b = GzipDecoder::builder();
                b.threads(threads as usize);
                if let Some(n) = max_output {
                    b.max_output(n);
                }
                Box::new(b.build())
            }
            Format::Zstd => {
                let mut b = ZstdDecoder::builder();
                if let Some(n) = max_output {
                    b.max_output(n);
                }
                Box::new(b.build())
            }
            Format::Brotli => {
                let mut b = BrotliDecoder::builder();
                if let Some(n) = max_output {
                    b.max_output(n);
                }
                Box::new(b.build())
            }
            Format::Xz => {
                let mut b = XzDecoder::builder();
                if let Some(n) = max_output {
                    b.max_output(n);
                }
                Box::new(b.build())
            }
            Format::Lzma => {
                let mut b = LzmaDecoder::builder();
                if let Some(n) = max_output {
                    b.max_output(n);
                }
                Box::new(b.build())
            }
            Format::Bzip2 => {
                let mut b = Bzip2Decoder::builder();
                if let Some(n) = max_output {
                    b.max_output(n);
                }
                Box::new(b.build())
            }
            Format::Lz4 => {
                let mut b = Lz4Decoder::builder();
                b.threads(threads as usize);
                if let Some(n) = max_output {
                    b.max_output(n);
                }
                Box::new(b.build())
            }
        }
    }
}

/// `-` or nothing: standard input/output.
fn is_std(path: &Option<std::path::PathBuf>) -> bool {
    path.as_deref().is_none_or(|p| p == Path::new("-"))
}

/// Fails when the output file is the input file (through any link): the
/// atomic replace would swap the input for its own encoding.
fn refuse_same_file(common: &Common) -> Result<(), Error> {
    if is_std(&common.input) || is_std(&common.out.output) {
        return Ok(());
    }
    let (Some(input), Some(output)) = (&common.input, &common.out.output) else {
        return Ok(());
    };
    let (Ok(a), Ok(b)) = (std::fs::metadata(input), std::fs::metadata(output)) else {
        return Ok(());
    };
    if same_file(&a, &b) {
        return Err(Error::msg(format!(
            "{} is the same file as the input (directly or through a link): not replacing it",
            output.display()
        ))
        .with_stage("write"));
    }
    Ok(())
}

#[cfg(unix)]
fn same_file(a: &std::fs::Metadata, b: &std::fs::Metadata) -> bool {
    use std::os::unix::fs::MetadataExt;
    (a.dev(), a.ino()) == (b.dev(), b.ino())
}

#[cfg(not(unix))]
fn same_file(_: &std::fs::Metadata, _: &std::fs::Metadata) -> bool {
    false
}

/// Waits for `open`, or gives it up when `token` is cancelled.
///
/// Opening a FIFO waits for the other end (a writer for an input, a reader
/// for an output), inside `open(2)` on the blocking pool, where nothing can
/// interrupt it. Dropping the future abandons that job: the process exits
/// with the signal's status at once, and the thread still inside `open`
/// ends with it. (Opening with `O_NONBLOCK` instead would not wait at all:
/// a FIFO input with no writer yet would read as empty, a FIFO output with
/// no reader yet would fail with `ENXIO`.)
async fn unless_cancelled<T>(
    open: impl Future<Output = Result<T, Error>>,
    token: &CancellationToken,
) -> Result<T, Error> {
    tokio::select! {
        // A signal that came before the open started wins.
        biased;
        () = token.cancelled() => Err(Error::cancelled()),
        r = open => r,
    }
}

/// Opens the input: a file source, or standard input.
async fn open_input(
    common: &Common,
    token: &CancellationToken,
) -> Result<(Pipeline<Bytes>, Option<u64>), Error> {
    open_input_path(&common.input, common.run.chunk, token).await
}

/// Opens `input`: a file source, or standard input for `-` or none; gives
/// up (a cancelled error) when `token` is cancelled meanwhile.
pub(crate) async fn open_input_path(
    input: &Option<std::path::PathBuf>,
    chunk: usize,
    token: &CancellationToken,
) -> Result<(Pipeline<Bytes>, Option<u64>), Error> {
    if is_std(input) {
        let mut b = weir_io::BlockingSource::builder();
        b.chunk_size(chunk).name("read");
        return Ok((
            Pipeline::from(b.build(std::io::stdin())).named("read"),
            None,
        ));
    }
    let path = input.as_deref().unwrap_or(Path::new("-"));
    let mut builder = FileSource::builder(path);
    builder.chunk_size(chunk).name("read");
    let source = unless_cancelled(builder.open(), token)
        .await
        .map_err(|e| e.with_stage("read"))?;
    let len = source.file_len();
    Ok((Pipeline::from(source).named("read"), Some(len)))
}

/// Opens the output: an atomic file sink, or standard output.
async fn open_output(common: &Common, token: &CancellationToken) -> Result<BoxSink, Error> {
    open_output_path(&common.out.output, common.out.fsync, token).await
}

/// Opens `output`: an atomic file sink, or standard output for `-` or none;
/// gives up (a cancelled error, and no temporary file left) when `token` is
/// cancelled meanwhile.
pub(crate) async fn open_output_path(
    output: &Option<std::path::PathBuf>,
    fsync: bool,
    token: &CancellationToken,
) -> Result<BoxSink, Error> {
    if is_std(output) {
        let mut b = weir_io::BlockingSink::builder();
        b.name("write");
        return Ok(Box::pin(b.build(std::io::stdout())));
    }
    let path = output.as_deref().unwrap_or(Path::new("-"));
    let mut builder = FileSink::builder(path);
    builder.atomic(true).fsync(fsync).name("write");
    let sink = unless_cancelled(builder.create(), token)
        .await
        .map_err(|e| e.with_stage("write"))?;
    Ok(Box::pin(sink))
}

/// Checks an encoding command's options that clap cannot check alone
/// (their ranges depend on the format): a usage error, exit status 2.
///
/// # Errors
/// The message to print.
pub(crate) fn validate_encode(format: Format, args: &Encode) -> Result<(), String> {
    let (min, _, max) = format.levels();
    if let Some(l) = args.level.filter(|l| !(min..=max).contains(l)) {
        return Err(format!(
            "{}: level {l} is out of range ({min}-{max})",
            format.name()
        ));
    }
    let single = matches!(
        format,
        Format::Brotli | Format::Lzma | Format::Bzip2 | Format::Lz4
    );
    if single && args.threads.is_some_and(|n| n != 1) {
        return Err(format!(
            "{}: --threads is only for gzip, zstd and xz",
            format.name()
        ));
    }
    if args.extreme && !matches!(format, Format::Xz) {
        return Err(format!("{}: --extreme (-e) is only for xz", format.name()));
    }
    if args.independent && !matches!(format, Format::Gzip) {
        return Err(format!(
            "{}: --independent (BGZF) is only for gzip",
            format.name()
        ));
    }
    Ok(())
}

/// Checks a decoding command's options that clap cannot check alone: a
/// usage error, exit status 2.
///
/// # Errors
/// The message to print.
pub(crate) fn validate_decode(format: Format, args: &Decode) -> Result<(), String> {
    // unxz and unzstd take `-T N` as xz and zstd do (`tar -I 'xz -T0'`
    // runs `xz -T0 -d`), and decode on one thread.
    let takes_threads = matches!(
        format,
        Format::Gzip | Format::Lz4 | Format::Xz | Format::Zstd
    );
    if !takes_threads && args.threads.is_some_and(|n| n != 1) {
        return Err(format!(
            "{}: --threads is not supported here: gunzip and unlz4 decode on several threads, unxz and unzstd accept it (as xz and zstd do) and decode on one",
            format.decoder_name()
        ));
    }
    Ok(())
}

/// A quarter of the machine's memory (`MemTotal` in `/proc/meminfo`): what
/// xz plans threads for at most. No limit where that cannot be read.
fn quarter_of_memory() -> u64 {
    std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|text| {
            let line = text.lines().find(|l| l.starts_with("MemTotal:"))?;
            let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
            Some(kib.saturating_mul(1024) / 4)
        })
        .unwrap_or(u64::MAX)
}

/// Every core the process may use: pigz's default, and `zstd -T0`.
fn cores() -> u32 {
    std::thread::available_parallelism().map_or(1, |n| u32::try_from(n.get()).unwrap_or(1).min(64))
}

/// Compresses with `format`; `args` have been checked by
/// [`validate_encode`] (before the run, as a usage error).
pub(crate) async fn encode(
    format: Format,
    args: Encode,
    token: CancellationToken,
) -> Result<Report, Error> {
    if is_std(&args.common.out.output) && std::io::stdout().is_terminal() && !args.force {
        return Err(Error::msg(format!(
            "{}: compressed data not written to a terminal (use -o FILE, a pipe, or -f)",
            format.name()
        )));
    }
    let threads = match (format, args.threads) {
        (Format::Brotli | Format::Lzma | Format::Bzip2 | Format::Lz4, _) => 1,
        (_, Some(0)) | (Format::Gzip, None) => cores(),
        (_, Some(n)) => n,
        (Format::Zstd | Format::Xz, None) => 1,
    };
    let transform = format.encoder(args.level, threads, args.independent, args.extreme)?;
    run(&args.common, Some((format.name(), transform)), None, token).await
}

/// Decompresses `format`.
pub(crate) async fn decode(
    format: Format,
    args: Decode,
    token: CancellationToken,
) -> Result<Report, Error> {
    if is_std(&args.common.input) && std::io::stdin().is_terminal() {
        return Err(Error::msg(format!(
            "{}: compressed data not read from a terminal (give a file or a pipe)",
            format.decoder_name()
        )));
    }
    let threads = match args.threads {
        None | Some(0) => cores(),
        Some(n) => n,
    };
    let transform = format.decoder(args.max_output, threads);
    run(
        &args.common,
        Some((format.decoder_name(), transform)),
        None,
        token,
    )
    .await
}

/// Copies, optionally throttled.
pub(crate) async fn copy(args: Copy, token: CancellationToken) -> Result<Report, Error> {
    run(&args.common, None, args.rate, token).await
}

/// Builds and runs read -> stage (if any) -> throttle (if any) -> write.
async fn run(
    common: &Common,
    stage: Option<(&'static str, BoxTransform)>,
    rate: Option<u64>,
    token: CancellationToken,
) -> Result<Report, Error> {
    refuse_same_file(common)?;
    let (mut pipeline, len) = open_input(common, &token).await?;
    pipeline = pipeline.high_water_mark(common.run.hwm, weir_core::DEFAULT_ITEMS);
    if let Some((name, t)) = stage {
        // Codecs are CPU-bound: always a task of their own, on another core
        // than the reading and the writing.
        pipeline = pipeline.spawn(name, t);
    }
    if let Some(rate) = rate {
        pipeline = pipeline.throttle(rate);
    }
    let sink = open_output(common, &token).await?;
    let run = pipeline.into_named("write", sink).cancel_on(token);
    finish(run, &common.run, len).await
}

/// Runs `run` as `opts` ask (a progress bar, a timeline, a stall timeout),
/// then prints the report and writes the timeline as asked.
pub(crate) async fn finish(
    mut run: weir_pipe::Run,
    opts: &RunArgs,
    len: Option<u64>,
) -> Result<Report, Error> {
    if opts.timeline.is_some() {
        run = run.timeline(TIMELINE_EVERY);
    }
    if let Some(d) = opts.stall_timeout.0 {
        run = run.stall_timeout(d);
    }
    let monitor = run.monitor();
    let progress = opts
        .progress
        .then(|| crate::progress::start(monitor.clone(), len));
    let result = run.run().await;
    if let Some(p) = progress {
        p.finish(result.as_ref().ok().map(|r| r.bytes_in)).await;
    }
    let saved = match (&opts.timeline, monitor.timeline()) {
        (Some(path), Some(timeline)) => timeline.save(path).map_err(|e| {
            Error::msg(format!(
                "cannot write the timeline to {}: {e}",
                path.display()
            ))
        }),
        _ => Ok(()),
    };
    // The run's own error, if any, is the one to report.
    let report = result?;
    saved?;
    match opts.stats {
        Some(StatsFormat::Table) => eprintln!("{report}"),
        Some(StatsFormat::Json) => match serde_json::to_string(&report) {
            Ok(json) => eprintln!("{json}"),
            Err(e) => return Err(Error::other(e)),
        },
        None => {}
    }
    Ok(report)
}

/// How often the progress bar is refreshed.
pub(crate) const TICK: Duration = Duration::from_millis(100);

/// How often `--timeline` samples a run (coarser once a long run has filled
/// the timeline).
pub(crate) const TIMELINE_EVERY: Duration = Duration::from_millis(100);
