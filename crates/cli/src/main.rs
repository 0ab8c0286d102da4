//! The `weir` command: compress, decompress and copy with backpressure, in
//! constant memory, with a report that names the bottleneck; and `weir demo`.
// One documented exception, in `alloc.rs`: a call to glibc's `mallopt`.
#![deny(unsafe_code)]

mod alloc;
mod args;
mod demo;
mod fd_limit;
mod fmt;
#[cfg(feature = "nats")]
mod nats;
mod net;
mod progress;
mod run;
mod serve_metrics;
mod signals;
mod size;

use std::process::ExitCode;

use clap::Parser;
use weir_core::Error;
use weir_pipe::CancellationToken;

use crate::args::{Cli, Command};
use crate::run::Format;

fn main() -> ExitCode {
    alloc::tune();
    let cli = Cli::parse_from(args::habits(std::env::args_os()));
    if let Err(msg) = validate(&cli.command) {
        eprintln!("weir: {msg}");
        return ExitCode::from(2);
    }
    let _ = tracing_subscriber::fmt()
        .with_env_filter(match std::env::var_os("RUST_LOG") {
            Some(_) => tracing_subscriber::EnvFilter::from_default_env(),
            // Without RUST_LOG, errors only, and not the NATS client's own
            // (its reconnection attempts): weir reports the outcome in its
            // one error line.
            None => tracing_subscriber::EnvFilter::new("error,async_nats=off"),
        })
        .with_writer(std::io::stderr)
        .try_init();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("weir: cannot start the runtime: {e}");
            return ExitCode::from(1);
        }
    };
    let code = runtime.block_on(async {
        let token = CancellationToken::new();
        // A second signal ends at once a command whose graceful stop waits
        // on others: serve's open connections, nats consume's commits.
        let force = match &cli.command {
            Command::Serve(_) => true,
            #[cfg(feature = "nats")]
            Command::Nats(_) => true,
            _ => false,
        };
        let signalled = signals::watch(&token, output_is_a_file(&cli.command), force);
        let result = dispatch(cli.command, token.clone()).await;
        let result = match result {
            Err(e) if e.io_kind() == std::io::ErrorKind::FileTooLarge => {
                // Over the file size limit (`ulimit -f`), the kernel fails the
                // write and sends SIGXFSZ: let its handler record it.
                let _ = tokio::time::timeout(XFSZ_GRACE, token.cancelled()).await;
                Err(e)
            }
            r => r,
        };
        match result {
            Ok(()) => ExitCode::SUCCESS,
            // A signal stopped the run, which may have failed of it first
            // (SIGXFSZ's write, a SIGPIPE's): the signal's status.
            Err(e) if e.is_cancelled() || signalled.recorded().is_some() => {
                let signal = signalled.get();
                if let Some(what) = signals::describe(signal) {
                    eprintln!("weir: {what}");
                }
                ExitCode::from(128 + signal)
            }
            // The reader of standard output went away (`weir … | head`):
            // end quietly, as a tool killed by SIGPIPE does.
            Err(e)
                if e.io_kind() == std::io::ErrorKind::BrokenPipe && e.stage() == Some("write") =>
            {
                ExitCode::from(128 + 13)
            }
            Err(e) => {
                eprintln!("weir: {}", one_line(&e));
                ExitCode::from(1)
            }
        }
    });
    // Standard input may still be held by a blocking read: do not wait for it.
    runtime.shutdown_background();
    code
}

/// How long a write that failed over the file size limit waits for the
/// SIGXFSZ the kernel sent with the failure to be recorded.
const XFSZ_GRACE: std::time::Duration = std::time::Duration::from_millis(500);

/// Whether the command writes its output to a file (`-o FILE`), so that a
/// SIGPIPE can only come from outside: it then removes the temporary file
/// and exits 141, as the other signals do. (To standard output, a pipe or
/// a socket, a SIGPIPE would come from a write to a reader that is gone,
/// which stays that write's error.)
fn output_is_a_file(command: &Command) -> bool {
    let output = match command {
        Command::Gzip(a)
        | Command::Zstd(a)
        | Command::Brotli(a)
        | Command::Xz(a)
        | Command::Bzip2(a)
        | Command::Lz4(a) => &a.common.out.output,
        Command::Gunzip(a)
        | Command::Unzstd(a)
        | Command::Unbrotli(a)
        | Command::Unxz(a)
        | Command::Unlzma(a)
        | Command::Bunzip2(a)
        | Command::Unlz4(a) => &a.common.out.output,
        Command::Copy(a) => &a.common.out.output,
        Command::Recv(a) => &a.out.output,
        _ => return false,
    };
    output
        .as_deref()
        .is_some_and(|p| p != std::path::Path::new("-"))
}

/// Usage errors clap cannot find alone.
fn validate(command: &Command) -> Result<(), String> {
    match command {
        Command::Gzip(a) => run::validate_encode(Format::Gzip, a),
        Command::Zstd(a) => run::validate_encode(Format::Zstd, a),
        Command::Brotli(a) => run::validate_encode(Format::Brotli, a),
        Command::Gunzip(a) => run::validate_decode(Format::Gzip, a),
        Command::Unzstd(a) => run::validate_decode(Format::Zstd, a),
        Command::Unbrotli(a) => run::validate_decode(Format::Brotli, a),
        Command::Xz(a) => run::validate_encode(Format::Xz, a),
        Command::Bzip2(a) => run::validate_encode(Format::Bzip2, a),
        Command::Lz4(a) => run::validate_encode(Format::Lz4, a),
        Command::Unxz(a) => run::validate_decode(Format::Xz, a),
        Command::Unlzma(a) => run::validate_decode(Format::Lzma, a),
        Command::Bunzip2(a) => run::validate_decode(Format::Bzip2, a),
        Command::Unlz4(a) => run::validate_decode(Format::Lz4, a),
        _ => Ok(()),
    }
}

async fn dispatch(command: Command, token: CancellationToken) -> Result<(), Error> {
    match command {
        Command::Gzip(a) => run::encode(Format::Gzip, a, token).await.map(drop),
        Command::Zstd(a) => run::encode(Format::Zstd, a, token).await.map(drop),
        Command::Brotli(a) => run::encode(Format::Brotli, a, token).await.map(drop),
        Command::Gunzip(a) => run::decode(Format::Gzip, a, token).await.map(drop),
        Command::Unzstd(a) => run::decode(Format::Zstd, a, token).await.map(drop),
        Command::Unbrotli(a) => run::decode(Format::Brotli, a, token).await.map(drop),
        Command::Xz(a) => run::encode(Format::Xz, a, token).await.map(drop),
        Command::Unxz(a) => run::decode(Format::Xz, a, token).await.map(drop),
        Command::Unlzma(a) => run::decode(Format::Lzma, a, token).await.map(drop),
        Command::Bzip2(a) => run::encode(Format::Bzip2, a, token).await.map(drop),
        Command::Bunzip2(a) => run::decode(Format::Bzip2, a, token).await.map(drop),
        Command::Lz4(a) => run::encode(Format::Lz4, a, token).await.map(drop),
        Command::Unlz4(a) => run::decode(Format::Lz4, a, token).await.map(drop),
        Command::Copy(a) => run::copy(a, token).await.map(drop),
        Command::Send(a) => net::send(a, token).await.map(drop),
        Command::Recv(a) => net::recv(a, token).await.map(drop),
        Command::Serve(a) => net::serve(a, token).await,
        Command::Get(a) => net::get(a, token).await.map(drop),
        Command::Demo(a) => demo::run(a, token).await,
        #[cfg(feature = "nats")]
        Command::Nats(a) => nats::run(a, token).await,
    }
}

/// The error and its causes on one line, without repeating a cause the
/// error's own text already shows.
fn one_line(e: &Error) -> String {
    let mut line = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        let text = s.to_string();
        if !line.contains(&text) {
            line.push_str(": ");
            line.push_str(&text);
        }
        source = s.source();
    }
    line.replace('\n', " ")
}
