//! The `weir` command: compress, decompress and copy with backpressure, in
//! constant memory, with a report that names the bottleneck; and `weir demo`.
// One documented exception, in `alloc.rs`: a call to glibc's `mallopt`.
#![deny(unsafe_code)]

mod alloc;
mod args;
mod demo;
mod fmt;
mod net;
mod progress;
mod run;
mod signals;
mod size;

use std::process::ExitCode;

use clap::Parser;
use weir_core::Error;
use weir_pipe::CancellationToken;

use crate::args::{Cli, Command};
use crate::run::Format;

fn main() -> ExitCode {
    alloc::one_arena();
    let cli = Cli::parse_from(args::habits(std::env::args_os()));
    if let Err(msg) = validate(&cli.command) {
        eprintln!("weir: {msg}");
        return ExitCode::from(2);
    }
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
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
        let signalled = signals::watch(&token);
        match dispatch(cli.command, token).await {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) if e.is_cancelled() => {
                let signal = signalled.get();
                eprintln!("weir: {}", signals::describe(signal));
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

/// Usage errors clap cannot find alone.
fn validate(command: &Command) -> Result<(), String> {
    match command {
        Command::Gzip(a) => run::validate_encode(Format::Gzip, a),
        Command::Zstd(a) => run::validate_encode(Format::Zstd, a),
        Command::Brotli(a) => run::validate_encode(Format::Brotli, a),
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
        Command::Copy(a) => run::copy(a, token).await.map(drop),
        Command::Send(a) => net::send(a, token).await.map(drop),
        Command::Recv(a) => net::recv(a, token).await.map(drop),
        Command::Serve(a) => net::serve(a, token).await,
        Command::Get(a) => net::get(a, token).await.map(drop),
        Command::Demo(a) => demo::run(a, token).await,
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
