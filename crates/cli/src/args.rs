//! The command line.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::size::{TimeLimit, parse_buffer_size, parse_duration, parse_rate, parse_size};

/// `weir --version`: the version and the libraries under the codecs.
const LONG_VERSION: &str = if cfg!(feature = "isal") {
    concat!(
        env!("CARGO_PKG_VERSION"),
        "\ngzip: flate2 on zlib-rs (encoding), ISA-L inflate (decoding)",
        "\nxz, lzma, bzip2, lz4: async-compression's codecs (liblzma, libbz2-rs, liblz4)"
    )
} else {
    concat!(
        env!("CARGO_PKG_VERSION"),
        "\ngzip: flate2 on zlib-rs (encoding and decoding)",
        "\nxz, lzma, bzip2, lz4: async-compression's codecs (liblzma, libbz2-rs, liblz4)"
    )
};

/// Streams with real backpressure: compress, decompress and copy in constant
/// memory, and see where the time went.
#[derive(Debug, Parser)]
#[command(name = "weir", version, long_version = LONG_VERSION, about, long_about = None)]
#[command(
    after_help = "INPUT and OUTPUT default to standard input and output; '-' means them too.\n\
Sizes accept 65536, 64KiB, 64K, 16M, 1G (binary units).\n\
-o FILE is written to a hidden .FILE.weir-XXXXXX.tmp beside FILE, renamed over it on success and\n\
removed on any failure or terminating signal (only SIGKILL or a crash can leave one behind).\n\
Exit status: 0 success, 1 runtime error (one line on stderr naming the stage), 2 usage error,\n\
128+N when signal N stopped the run (130 Ctrl-C, 143 SIGTERM, 129 SIGHUP, 153 SIGXFSZ)."
)]
pub(crate) struct Cli {
    #[command(subcommand)]
    pub(crate) command: Command,
}

/// The habits of gzip's and zstd's users, turned into weir's arguments
/// before clap sees them (nothing after a `--` is touched):
/// - in `weir gzip|zstd|brotli|xz|bzip2|lz4`, `-d`/`--decompress` means
///   the decoder: `weir gzip -d` is `weir gunzip`, `weir zstd -d` is `weir
///   unzstd`, `weir brotli -d` is `weir unbrotli`, `weir xz -d` is `weir
///   unxz`, `weir bzip2 -d` is `weir bunzip2`, `weir lz4 -d` is `weir unlz4`;
/// - in those and in `weir gunzip|unzstd|unbrotli|unxz|unlzma|bunzip2|unlz4`,
///   an argument `-N` (one
///   or two digits) means `--level N`; the last one wins, and levels are
///   ignored when decompressing, as gzip does;
/// - short flags may be combined as gzip's are: `-9c`, `-dc`, `-19cf`
///   (digits and the letters below); from the first other letter on, the
///   rest goes to clap as flags of its own: `-dT0` is `-d -T0`, and in
///   `-9q` clap names `-q`, not `-9` (`-9e` is `-9 -e`, xz's extreme);
/// - `-c` is standard output, `-f` forces compressed output to a terminal
///   (ignored when decompressing), `-k` (keep the input) and `-n` (store no
///   name) are what weir always does, and `-t` tests: it decompresses and
///   writes nothing (`-o /dev/null`, with any `-c` dropped), so the exit
///   status says whether the input is intact;
/// - `--stats` followed by anything but `table` or `json` is `--stats`
///   alone, so `weir gzip --stats big.log` reads `big.log`.
pub(crate) fn habits(
    args: impl IntoIterator<Item = std::ffi::OsString>,
) -> Vec<std::ffi::OsString> {
    let args: Vec<std::ffi::OsString> = args.into_iter().collect();
    // The decoder of an encoding command; a decoding command decodes already.
    let (codec, decoder) = match args.get(1).and_then(|a| a.to_str()) {
        Some("gzip") => (true, Some("gunzip")),
        Some("zstd") => (true, Some("unzstd")),
        Some("brotli") => (true, Some("unbrotli")),
        Some("xz") => (true, Some("unxz")),
        Some("bzip2") => (true, Some("bunzip2")),
        Some("lz4") => (true, Some("unlz4")),
        Some("gunzip" | "unzstd" | "unbrotli" | "unxz" | "unlzma" | "bunzip2" | "unlz4") => {
            (true, None)
        }
        _ => (false, None),
    };
    let mut out: Vec<std::ffi::OsString> = args.iter().take(2).cloned().collect();
    let mut decoding = codec && decoder.is_none();
    let (mut stdout, mut force, mut test, mut level) = (false, false, false, None);
    let mut verbatim = false;
    for (i, arg) in args.iter().enumerate().skip(2) {
        let text = match arg.to_str() {
            Some(text) if !verbatim => text,
            _ => {
                out.push(arg.clone());
                continue;
            }
        };
        if text == "--" {
            verbatim = true;
        } else if text == "--stats" {
            let format = args
                .get(i + 1)
                .and_then(|a| a.to_str())
                .is_some_and(|n| n.eq_ignore_ascii_case("table") || n.eq_ignore_ascii_case("json"));
            if !format {
                out.push("--stats=table".into());
                continue;
            }
        } else if codec {
            if text == "--decompress" {
                decoding = true;
                continue;
            }
            if let Some(c) = short_cluster(text) {
                decoding |= c.decompress || c.test;
                stdout |= c.stdout;
                force |= c.force;
                test |= c.test;
                level = c.level.or(level);
                if let Some(rest) = c.rest {
                    // `-dT0`, `-9e`: clap reads (or names) the rest alone.
                    out.push(format!("-{rest}").into());
                }
                continue;
            }
        }
        out.push(arg.clone());
    }
    let mut front: Vec<std::ffi::OsString> = Vec::new();
    // `-t` writes nothing: `-tc` (as gzip and xz take it) is `-t`.
    if stdout && !test {
        front.push("-c".into());
    }
    if test {
        front.extend(["-o".into(), "/dev/null".into()]);
    }
    if decoding {
        if let Some(name) = decoder {
            out[1] = name.into();
        }
    } else {
        if force {
            front.push("-f".into());
        }
        if let Some(level) = level {
            front.push(format!("--level={level}").into());
        }
    }
    let at = out.len().min(2);
    out.splice(at..at, front);
    out
}

/// What a gzip-style cluster of short flags (`-9`, `-dc`, `-19cf`) asks for.
struct ShortCluster<'a> {
    level: Option<&'a str>,
    /// The cluster from its first letter not known here (`T0` in `-dT0`),
    /// after at least one that is.
    rest: Option<&'a str>,
    decompress: bool,
    stdout: bool,
    force: bool,
    test: bool,
}

/// Reads `-` followed by digits (one run of one or two) and the letters
/// `c`, `d`, `f`, `k`, `n`, `t`, then possibly other letters (kept whole
/// in `rest`); one that begins with another letter is not such a cluster,
/// nor one with two runs of digits or three digits in a row among the
/// known letters.
fn short_cluster(text: &str) -> Option<ShortCluster<'_>> {
    let body = text.strip_prefix('-')?;
    if body.is_empty() || body.starts_with('-') {
        return None;
    }
    let mut c = ShortCluster {
        level: None,
        rest: None,
        decompress: false,
        stdout: false,
        force: false,
        test: false,
    };
    let bytes = body.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'0'..=b'9' => {
                let run = bytes[i..].iter().take_while(|b| b.is_ascii_digit()).count();
                if c.level.is_some() || run > 2 {
                    return None;
                }
                c.level = Some(&body[i..i + run]);
                i += run;
                continue;
            }
            b'c' => c.stdout = true,
            b'd' => c.decompress = true,
            b'f' => c.force = true,
            b't' => c.test = true,
            // Keep the input, store no name: what weir always does.
            b'k' | b'n' => {}
            b'a'..=b'z' | b'A'..=b'Z' if i > 0 => {
                c.rest = Some(&body[i..]);
                break;
            }
            _ => return None,
        }
        i += 1;
    }
    Some(c)
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Compress with gzip (output readable by `gzip -d`).
    Gzip(Encode),
    /// Decompress gzip (every member of a multi-member file).
    Gunzip(Decode),
    /// Compress with Zstandard.
    Zstd(Encode),
    /// Decompress Zstandard.
    Unzstd(Decode),
    /// Compress with brotli.
    Brotli(Encode),
    /// Decompress brotli.
    Unbrotli(Decode),
    /// Compress with xz (output readable by `xz -d`).
    Xz(Encode),
    /// Decompress xz (every stream of a multi-stream file).
    Unxz(Decode),
    /// Decompress .lzma files (the LZMA-alone format; `unlzma`).
    Unlzma(Decode),
    /// Compress with bzip2 (output readable by `bzip2 -d`).
    Bzip2(Encode),
    /// Decompress bzip2 (every stream of a multi-stream file).
    Bunzip2(Decode),
    /// Compress with LZ4 (the frame format, readable by `lz4 -d`).
    Lz4(Encode),
    /// Decompress LZ4 (every frame of the input).
    Unlz4(Decode),
    /// Copy, optionally throttled to a rate: a slow consumer on demand.
    Copy(Copy),
    /// Send INPUT to a TCP address, paced by the receiver (netcat with
    /// backpressure).
    Send(Send),
    /// Accept one TCP connection and write what arrives until the sender ends.
    Recv(Recv),
    /// Serve a folder over HTTP: streaming, ranges, gzip, guarded against
    /// slow clients.
    Serve(Serve),
    /// Download an http:// URL (decoding gzip).
    Get(Get),
    /// Publish to and consume from NATS JetStream, with backpressure from
    /// the stream's acknowledgements and at-least-once delivery.
    #[cfg(feature = "nats")]
    #[command(subcommand)]
    Nats(Nats),
    /// Watch backpressure at work: a fast producer against a slow consumer,
    /// with and without backpressure, and 1 GiB gzipped in constant memory.
    Demo(Demo),
}

/// Options every file-to-file streaming command has.
#[derive(Debug, Args, Clone)]
pub(crate) struct Common {
    /// Input file ('-' or none: standard input).
    #[arg(value_name = "INPUT")]
    pub(crate) input: Option<PathBuf>,
    #[command(flatten)]
    pub(crate) out: OutputArgs,
    /// Write to standard output (the default without -o; accepted for
    /// gzip's users).
    #[arg(short = 'c', long = "stdout", conflicts_with = "output")]
    pub(crate) to_stdout: bool,
    #[command(flatten)]
    pub(crate) run: RunArgs,
}

/// Where a command's output goes.
#[derive(Debug, Args, Clone)]
pub(crate) struct OutputArgs {
    /// Output file ('-' or none: standard output). Written atomically: a
    /// temporary file beside it (.OUTPUT.weir-XXXXXX.tmp) renamed into place
    /// on success, removed on failure or a signal.
    #[arg(short, long, value_name = "OUTPUT")]
    pub(crate) output: Option<PathBuf>,
    /// Also fsync the output file before renaming it into place.
    #[arg(long)]
    pub(crate) fsync: bool,
}

/// How a pipeline run moves data and what it shows: every command that runs
/// one has these. The default marks (1 MiB buffers, 256 KiB chunks) hand
/// data between stages in a few large batches: with Node's 64 KiB and
/// 64 KiB a file copy ran about 1.5x slower here, and the kernel's socket
/// buffers already hold megabytes (docs/benchmarks.md).
#[derive(Debug, Args, Clone)]
pub(crate) struct RunArgs {
    /// High-water mark of the buffers between stages (and, for send, of the
    /// socket's write buffer).
    #[arg(long, value_name = "SIZE", value_parser = parse_buffer_size, default_value = "1MiB")]
    pub(crate) hwm: usize,
    /// Size of the chunks read from the input (the file, or the socket).
    #[arg(long, value_name = "SIZE", value_parser = parse_buffer_size, default_value = "256KiB")]
    pub(crate) chunk: usize,
    /// Show a progress bar on stderr (when stderr is a terminal).
    #[arg(long)]
    pub(crate) progress: bool,
    /// Print the run report on stderr: a table (`table`, the default), or one
    /// JSON object (`json`).
    #[arg(long, value_name = "FORMAT", num_args = 0..=1, default_missing_value = "table",
          value_parser = parse_stats_format)]
    pub(crate) stats: Option<StatsFormat>,
    /// Record the run's timeline (every stage's buffer, throughput and
    /// state, sampled every 100 ms, coarser for long runs) and write it to
    /// FILE when the run ends, also when it fails: a chart for FILE.svg, the
    /// samples as JSON for any other name.
    #[arg(long, value_name = "FILE")]
    pub(crate) timeline: Option<PathBuf>,
    /// End the run (exit status 1) when no stage has made progress for this
    /// long, with one line naming the stage that holds it and what every
    /// stage waits on (e.g. 30s; default off). Time inside one call of a
    /// codec counts as no progress: threaded xz and zstd encoders (`-T N`)
    /// return only when a whole block is done, seconds at xz's level 6 and
    /// minutes at 9, so give them a timeout longer than that.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration, default_value = "off")]
    pub(crate) stall_timeout: TimeLimit,
}

/// `--stats`'s value (`--stats=WORD`; with a space, [`habits`] has already
/// kept any other word out of it).
fn parse_stats_format(text: &str) -> Result<StatsFormat, String> {
    StatsFormat::from_str(text, true)
        .map_err(|_| format!("{text:?} is not a report format (table or json)"))
}

/// How `--stats` prints the report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum StatsFormat {
    /// A table a person can read.
    Table,
    /// One JSON object.
    Json,
}

#[derive(Debug, Args)]
pub(crate) struct Encode {
    #[command(flatten)]
    pub(crate) common: Common,
    /// Compression level (gzip 0-9, default 6; zstd 1-22, default 3;
    /// brotli 0-11, default 6; xz 0-9, default 6; bzip2 1-9, default 9;
    /// lz4 1-12, default 1).
    #[arg(short, long, value_name = "LEVEL")]
    pub(crate) level: Option<u32>,
    /// Write compressed data to standard output even when it is a terminal.
    #[arg(short, long)]
    pub(crate) force: bool,
    /// Compress on this many threads, 0 for one per available core (gzip,
    /// zstd and xz; `-T N` as zstd and xz spell it). gzip, like `pigz -p`:
    /// the output is still one gzip stream any `gzip -d` reads; default one
    /// per core, and `-p 1` compresses as one stream on one thread, the
    /// least CPU per byte. zstd: libzstd's own workers, as `zstd -T N`;
    /// default 1, as zstd's. xz: liblzma's own workers, as `xz -T N`, on
    /// blocks of 24 MiB at level 6 (so a smaller input gains nothing), each
    /// worker with its own encoder and blocks: about 130 to 165 MiB per
    /// thread at level 6 (about 100 MiB on one), and fewer threads when they
    /// would need more than a quarter of the memory, as xz plans; default 1,
    /// as xz 5.4's.
    #[arg(short = 'p', short_alias = 'T', long, value_name = "N",
          value_parser = clap::value_parser!(u32).range(0..=64))]
    pub(crate) threads: Option<u32>,
    /// gzip: write independent blocks, BGZF-compatible (as `bgzip` does):
    /// each block of up to 65,280 input bytes a complete gzip member that
    /// records its own size, so `weir gunzip` can decode the file on every
    /// core. Any gzip reads it; it is larger (about 11% on log text).
    #[arg(long, visible_alias = "bgzf")]
    pub(crate) independent: bool,
    /// xz: the level's extreme variant, as `xz -e` (`-9e`): a slower, more
    /// thorough search for a slightly smaller file, with the same memory.
    #[arg(short, long)]
    pub(crate) extreme: bool,
}

#[derive(Debug, Args)]
pub(crate) struct Decode {
    #[command(flatten)]
    pub(crate) common: Common,
    /// Stop with an error once the output passes this size (a guard against
    /// decompression bombs).
    #[arg(long, value_name = "SIZE", value_parser = parse_size)]
    pub(crate) max_output: Option<u64>,
    /// gunzip: decode BGZF files (`weir gzip --independent`, `bgzip`) on
    /// this many threads, 0 for one per available core (the default); `-p
    /// 1` decodes on one. Other gzip files always decode on one thread.
    /// unlz4: 2 or more (the default on two cores or more) verifies the
    /// content checksum on a thread beside the decoder; 1 does everything
    /// on one. unxz and unzstd take it (`-T N`, as `xz -dT0`, `tar -I 'xz
    /// -T0'` and zstd write it) and decode on one thread.
    #[arg(short = 'p', short_alias = 'T', long, value_name = "N",
          value_parser = clap::value_parser!(u32).range(0..=64))]
    pub(crate) threads: Option<u32>,
}

#[derive(Debug, Args)]
pub(crate) struct Copy {
    #[command(flatten)]
    pub(crate) common: Common,
    /// Let at most this many bytes per second through (e.g. 20M).
    #[arg(long, value_name = "SIZE", value_parser = parse_rate)]
    pub(crate) rate: Option<u64>,
}

#[derive(Debug, Args)]
pub(crate) struct Demo {
    /// How much generated data the gzip part streams.
    #[arg(long, value_name = "SIZE", value_parser = parse_size, default_value = "1GiB")]
    pub(crate) size: u64,
    /// Run only one part: 1 (with backpressure), 2 (without), 3 (gzip).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u8).range(1..=3))]
    pub(crate) part: Option<u8>,
    /// Where to write each part's timeline as an SVG chart
    /// (demo-1-backpressure.svg, demo-2-ignored.svg, demo-3-gzip.svg);
    /// default: a weir-demo folder in the system's temporary folder.
    #[arg(long, value_name = "DIR")]
    pub(crate) timelines: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub(crate) struct Send {
    /// Where to connect: HOST:PORT.
    #[arg(value_name = "ADDR")]
    pub(crate) addr: String,
    /// Input file ('-' or none: standard input).
    #[arg(value_name = "INPUT")]
    pub(crate) input: Option<PathBuf>,
    #[command(flatten)]
    pub(crate) run: RunArgs,
}

#[derive(Debug, Args)]
pub(crate) struct Recv {
    /// Where to listen: HOST:PORT (port 0 picks a free port; the address is
    /// printed on stderr).
    #[arg(long, value_name = "ADDR")]
    pub(crate) listen: String,
    #[command(flatten)]
    pub(crate) out: OutputArgs,
    /// Take at most this many bytes per second (e.g. 1M): a slow receiver on
    /// demand, which the sender feels as backpressure.
    #[arg(long, value_name = "SIZE", value_parser = parse_rate)]
    pub(crate) rate: Option<u64>,
    /// Accept a connection that closes without sending a byte as an empty
    /// transfer (the output becomes empty). Without it such a connection (a
    /// port scanner's, say) is ignored, with a line on stderr, and recv
    /// keeps listening for the next one.
    #[arg(long)]
    pub(crate) keep_empty: bool,
    #[command(flatten)]
    pub(crate) run: RunArgs,
}

#[derive(Debug, Args)]
pub(crate) struct Serve {
    /// The folder to serve (default: the current one).
    #[arg(value_name = "DIR", default_value = ".")]
    pub(crate) dir: PathBuf,
    /// Where to listen: HOST:PORT (port 0 picks a free port; the address is
    /// printed on stderr).
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8080")]
    pub(crate) addr: String,
    /// How long a client may take to send its request headers (also bounds
    /// idle keep-alive connections); 'off' for no limit.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration, default_value = "30s")]
    pub(crate) header_timeout: TimeLimit,
    /// How long a write may wait without the client taking a byte; 'off'
    /// for no limit.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration, default_value = "60s")]
    pub(crate) write_timeout: TimeLimit,
    /// Disconnect clients that take the response slower than this, averaged
    /// over the time spent waiting on them (0: off).
    #[arg(long, value_name = "SIZE", value_parser = parse_size, default_value = "240")]
    pub(crate) min_rate: u64,
    /// Waiting time granted before the minimum rate applies.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration, default_value = "5s")]
    pub(crate) min_rate_grace: TimeLimit,
    /// The most connections open at once. At the cap, the connection that
    /// has waited longest for its request headers is closed for the new one;
    /// with none waiting, the new one gets 503. The open-file limit is
    /// raised to the hard limit at start, with a warning if this cannot fit.
    #[arg(long, value_name = "N", default_value_t = 512)]
    pub(crate) max_connections: usize,
    /// Size of the chunks files are sent in.
    #[arg(long, value_name = "SIZE", value_parser = parse_buffer_size, default_value = "64KiB")]
    pub(crate) chunk: usize,
    /// The most one read of a file moves: what a fast client gets (reads
    /// grow from --min-block to this as fast as the client takes the data).
    #[arg(long, value_name = "SIZE", value_parser = parse_buffer_size, default_value = "256KiB")]
    pub(crate) block: usize,
    /// The least one read of a file moves: where each response starts, and
    /// what a slow client stays at (it then holds one such block, with no
    /// read-ahead); --min-block equal to --block reads whole blocks always.
    #[arg(long, value_name = "SIZE", value_parser = parse_buffer_size, default_value = "16KiB")]
    pub(crate) min_block: usize,
    /// The most response bytes queued per connection in the server's own
    /// write buffer.
    #[arg(long, value_name = "SIZE", value_parser = parse_buffer_size, default_value = "64KiB")]
    pub(crate) hwm: usize,
    /// gzip level for compressible files (1-9); 0 turns compression off.
    #[arg(long, value_name = "LEVEL", default_value_t = 6, value_parser = clap::value_parser!(u32).range(0..=9))]
    pub(crate) gzip_level: u32,
    /// Answer folders without index.html with 403 instead of a listing.
    #[arg(long)]
    pub(crate) no_listing: bool,
    /// Also listen on HOST:PORT for Prometheus scrapes (GET /metrics): the
    /// server's counters (connections, cuts by each guard, requests,
    /// responses by status, bytes) and any pipeline's stage figures, as
    /// Prometheus text. Off by default.
    #[arg(long, value_name = "ADDR")]
    pub(crate) metrics: Option<String>,
    /// On exit, print the server's counters on stderr: a table (`table`, the
    /// default), or one JSON object (`json`).
    #[arg(long, value_name = "FORMAT", num_args = 0..=1, default_missing_value = "table",
          value_parser = parse_stats_format)]
    pub(crate) stats: Option<StatsFormat>,
}

#[derive(Debug, Args)]
pub(crate) struct Get {
    /// The http:// URL.
    #[arg(value_name = "URL")]
    pub(crate) url: String,
    #[command(flatten)]
    pub(crate) out: OutputArgs,
    /// Stop with an error once the output passes this size, whatever the
    /// body's framing (Content-Length, chunked, or up to the end of the
    /// connection) and after gzip decoding; counted as bytes arrive.
    #[arg(long, value_name = "SIZE", value_parser = parse_size)]
    pub(crate) max_output: Option<u64>,
    /// How long resolving the host and connecting may take; 'off' for the
    /// system's own limit.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration, default_value = "30s")]
    pub(crate) connect_timeout: TimeLimit,
    /// Give up when nothing arrives for this long: the response headers
    /// within it, then no pause in the body longer than it (wget's
    /// --read-timeout); 'off' for no limit.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration, default_value = "900s")]
    pub(crate) timeout: TimeLimit,
    /// Give up when the whole transfer (connecting, the headers, the body
    /// and writing it) takes longer than this (curl's --max-time); 'off'
    /// for no limit.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration, default_value = "off")]
    pub(crate) max_time: TimeLimit,
    #[command(flatten)]
    pub(crate) run: RunArgs,
}

/// `weir nats …`.
#[cfg(feature = "nats")]
#[derive(Debug, Subcommand)]
pub(crate) enum Nats {
    /// Publish INPUT to a JetStream stream, one message per line (or per
    /// --chunk bytes); exits 0 only when the stream has acknowledged every
    /// message. Creates the stream (on SUBJECT) if it does not exist.
    Publish(NatsPublish),
    /// Read a stream through a durable pull consumer (created if absent)
    /// and write each message as a line; a message is acknowledged only
    /// once the output has durably taken it (-o FILE: appended and
    /// fsync'd). Several processes with the same --consumer share the work.
    Consume(NatsConsume),
}

/// Where the broker is.
#[cfg(feature = "nats")]
#[derive(Debug, Args)]
pub(crate) struct NatsServer {
    /// The server, or a comma-separated list of a cluster's servers
    /// (nats://HOST:PORT, HOST:PORT, tls://HOST:PORT).
    #[arg(long, value_name = "URL", default_value = "nats://127.0.0.1:4222")]
    pub(crate) server: String,
    /// When the connection drops, how long to try to reconnect (to any
    /// server of the list, every 250 ms) before giving up with an error
    /// (exit status 1; `off`: never give up). Messages pulled and not acknowledged meanwhile are
    /// delivered again (to this worker once it is back, or another).
    #[arg(long, value_name = "DURATION", value_parser = parse_duration, default_value = "10s")]
    pub(crate) reconnect_for: TimeLimit,
    /// The stream's name.
    #[arg(long, value_name = "NAME")]
    pub(crate) stream: String,
}

/// The run options of the NATS commands besides their own report: the
/// timeline and the stall watchdog, as in [`RunArgs`].
#[cfg(feature = "nats")]
#[derive(Debug, Args, Clone)]
pub(crate) struct WatchArgs {
    /// Record the run's timeline (every stage's buffer, throughput and
    /// state) and write it to FILE when the run ends, also when it fails: a
    /// chart for FILE.svg, the samples as JSON for any other name.
    #[arg(long, value_name = "FILE")]
    pub(crate) timeline: Option<PathBuf>,
    /// End the run (exit status 1) when no stage has made progress for this
    /// long, with one line naming the stage that holds it (default off; a
    /// consumer waiting for messages makes no progress: see --idle).
    #[arg(long, value_name = "DURATION", value_parser = parse_duration, default_value = "off")]
    pub(crate) stall_timeout: TimeLimit,
}

#[cfg(feature = "nats")]
#[derive(Debug, Args)]
pub(crate) struct NatsPublish {
    #[command(flatten)]
    pub(crate) nats: NatsServer,
    #[command(flatten)]
    pub(crate) watch: WatchArgs,
    /// The subject to publish to (no spaces, no wildcards).
    #[arg(long, value_name = "SUBJECT")]
    pub(crate) subject: String,
    /// Input file ('-' or none: standard input).
    #[arg(value_name = "INPUT")]
    pub(crate) input: Option<PathBuf>,
    /// One message per SIZE bytes of input instead of one per line.
    #[arg(long, value_name = "SIZE", value_parser = parse_buffer_size)]
    pub(crate) chunk: Option<usize>,
    /// The longest line accepted (a longer one is an error).
    #[arg(long, value_name = "SIZE", value_parser = parse_buffer_size, default_value = "1MiB")]
    pub(crate) max_line: usize,
    /// The most messages published and not yet acknowledged by the stream.
    #[arg(long, value_name = "N", default_value_t = 256,
          value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub(crate) window: u32,
    /// The prefix of the Nats-Msg-Id headers ("PREFIX-1", "PREFIX-2", …;
    /// default: random per run). The same prefix on the same input makes a
    /// repeated run store nothing twice (within the stream's duplicate
    /// window).
    #[arg(long, value_name = "PREFIX")]
    pub(crate) msg_id: Option<String>,
    /// Replicas of a stream this command creates (1-5; a cluster's).
    #[arg(long, value_name = "N", default_value_t = 1,
          value_parser = clap::value_parser!(u32).range(1..=5))]
    pub(crate) replicas: u32,
    /// High-water mark of the buffers between stages.
    #[arg(long, value_name = "SIZE", value_parser = parse_buffer_size, default_value = "1MiB")]
    pub(crate) hwm: usize,
    /// Print the run report on stderr: a table (`table`, the default), or one
    /// JSON object (`json`).
    #[arg(long, value_name = "FORMAT", num_args = 0..=1, default_missing_value = "table",
          value_parser = parse_stats_format)]
    pub(crate) stats: Option<StatsFormat>,
}

#[cfg(feature = "nats")]
#[derive(Debug, Args)]
pub(crate) struct NatsConsume {
    #[command(flatten)]
    pub(crate) nats: NatsServer,
    #[command(flatten)]
    pub(crate) watch: WatchArgs,
    /// The durable consumer's name (shared by every worker of the group).
    #[arg(long, value_name = "NAME")]
    pub(crate) consumer: String,
    /// Output file ('-' or none: standard output). Appended to, and
    /// fsync'd before the messages written are acknowledged.
    #[arg(short, long, value_name = "OUTPUT")]
    pub(crate) output: Option<PathBuf>,
    /// End once nothing has arrived for this long (default: run until
    /// stopped).
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub(crate) idle: Option<TimeLimit>,
    /// End after this many messages.
    #[arg(long, value_name = "N")]
    pub(crate) count: Option<u64>,
    /// Write at most this many bytes per second (e.g. 1M): a slow consumer
    /// on demand, which holds back the fetching from the stream.
    #[arg(long, value_name = "SIZE", value_parser = parse_rate)]
    pub(crate) rate: Option<u64>,
    /// Fail if the consumer does not exist instead of creating it.
    #[arg(long)]
    pub(crate) no_create: bool,
    /// Messages per pull request (the read-ahead: at most two pulls are
    /// outstanding; see --hwm for their bytes).
    #[arg(long, value_name = "N", default_value_t = 512,
          value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub(crate) batch: u32,
    /// The bytes of messages held between the fetch and the write: each of
    /// the (at most two) outstanding pulls asks for at most half of it (or
    /// the server's max payload, if larger), and a commit batch is closed at
    /// half of it. The messages held are at most about three times SIZE,
    /// whatever their sizes and counts.
    #[arg(long, value_name = "SIZE", value_parser = parse_buffer_size, default_value = "2MiB")]
    pub(crate) hwm: usize,
    /// Messages written, then fsync'd and acknowledged, at once (at most;
    /// a batch is also closed at half of --hwm bytes).
    #[arg(long, value_name = "N", default_value_t = 1024,
          value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    pub(crate) commit_every: u32,
    /// The longest a message waits for the rest of its commit batch.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration, default_value = "100ms")]
    pub(crate) commit_wait: TimeLimit,
    /// For a consumer this command creates: the most messages delivered to
    /// all its workers and not yet acknowledged.
    #[arg(long, value_name = "N", default_value_t = 8192)]
    pub(crate) max_ack_pending: i64,
    /// For a consumer this command creates: deliveries of a message before
    /// a failing one is terminated (-1: unlimited).
    #[arg(long, value_name = "N", default_value_t = 5)]
    pub(crate) max_deliver: i64,
    /// For a consumer this command creates: how long the broker waits for
    /// an acknowledgement before delivering a message again.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration, default_value = "30s")]
    pub(crate) ack_wait: TimeLimit,
    /// Print the run report (with the broker's figures) on stderr: a table
    /// (`table`, the default), or one JSON object (`json`).
    #[arg(long, value_name = "FORMAT", num_args = 0..=1, default_missing_value = "table",
          value_parser = parse_stats_format)]
    pub(crate) stats: Option<StatsFormat>,
}
