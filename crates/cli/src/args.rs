//! The command line.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::size::{parse_buffer_size, parse_rate, parse_size};

/// Streams with real backpressure: compress, decompress and copy in constant
/// memory, and see where the time went.
#[derive(Debug, Parser)]
#[command(name = "weir", version, about, long_about = None)]
#[command(
    after_help = "INPUT and OUTPUT default to standard input and output; '-' means them too.\n\
Sizes accept 65536, 64KiB, 64K, 16M, 1G (binary units).\n\
Exit status: 0 success, 1 runtime error (one line on stderr naming the stage), 2 usage error."
)]
pub(crate) struct Cli {
    #[command(subcommand)]
    pub(crate) command: Command,
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
    /// Copy, optionally throttled to a rate: a slow consumer on demand.
    Copy(Copy),
    /// Watch backpressure at work: a fast producer against a slow consumer,
    /// with and without backpressure, and 1 GiB gzipped in constant memory.
    Demo(Demo),
}

/// Options every streaming command has.
#[derive(Debug, Args, Clone)]
pub(crate) struct Common {
    /// Input file ('-' or none: standard input).
    #[arg(value_name = "INPUT")]
    pub(crate) input: Option<PathBuf>,
    /// Output file ('-' or none: standard output). Written atomically: a
    /// temporary file renamed into place on success, removed on failure.
    #[arg(short, long, value_name = "OUTPUT")]
    pub(crate) output: Option<PathBuf>,
    /// High-water mark of the buffers between stages.
    #[arg(long, value_name = "SIZE", value_parser = parse_buffer_size, default_value = "64KiB")]
    pub(crate) hwm: usize,
    /// Size of the chunks read from the input.
    #[arg(long, value_name = "SIZE", value_parser = parse_buffer_size, default_value = "64KiB")]
    pub(crate) chunk: usize,
    /// Show a progress bar on stderr (when stderr is a terminal).
    #[arg(long)]
    pub(crate) progress: bool,
    /// Print the run report on stderr: a table, or one JSON object.
    #[arg(long, value_name = "FORMAT", num_args = 0..=1, default_missing_value = "table")]
    pub(crate) stats: Option<StatsFormat>,
    /// Also fsync the output file before renaming it into place.
    #[arg(long)]
    pub(crate) fsync: bool,
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
    /// brotli 0-11, default 6).
    #[arg(short, long, value_name = "LEVEL")]
    pub(crate) level: Option<u32>,
    /// Write compressed data to standard output even when it is a terminal.
    #[arg(short, long)]
    pub(crate) force: bool,
}

#[derive(Debug, Args)]
pub(crate) struct Decode {
    #[command(flatten)]
    pub(crate) common: Common,
    /// Stop with an error once the output passes this size (a guard against
    /// decompression bombs).
    #[arg(long, value_name = "SIZE", value_parser = parse_size)]
    pub(crate) max_output: Option<u64>,
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
}
