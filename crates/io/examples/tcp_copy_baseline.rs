//! The baseline `weir send` / `weir recv` are measured against (see
//! docs/benchmarks.md, "Network"): plain Tokio, no weir.
//!
//! Run: `cargo build --release -p weir-io --example tcp_copy_baseline`, then
//! `tcp_copy_baseline recv ADDR` in one process and
//! `tcp_copy_baseline send ADDR FILE` in another.
//!
//! `recv` accepts one connection and copies it into `tokio::io::sink()`
//! with `tokio::io::copy` (no write system calls at all: a conservative
//! baseline); `send` connects and copies FILE into the socket with
//! `tokio::io::copy_buf` through a 1 MiB `BufReader` (plain `io::copy` from
//! a Tokio file moves 8 KiB per blocking-pool hop, far below the socket's
//! speed, which would flatter weir).
use std::process::ExitCode;

use tokio::io::{AsyncWriteExt, BufReader};

#[tokio::main]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    let result = match (args.get(1).map(String::as_str), args.get(2), args.get(3)) {
        (Some("recv"), Some(addr), None) => recv(addr).await,
        (Some("send"), Some(addr), Some(file)) => send(addr, file).await,
        _ => {
            eprintln!("usage: tcp_copy_baseline recv ADDR | send ADDR FILE");
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(n) => {
            eprintln!("{n} bytes");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("tcp_copy_baseline: {e}");
            ExitCode::from(1)
        }
    }
}

async fn recv(addr: &str) -> std::io::Result<u64> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let (mut sock, _) = listener.accept().await?;
    tokio::io::copy(&mut sock, &mut tokio::io::sink()).await
}

async fn send(addr: &str, file: &str) -> std::io::Result<u64> {
    let mut sock = tokio::net::TcpStream::connect(addr).await?;
    sock.set_nodelay(true)?;
    let file = tokio::fs::File::open(file).await?;
    let mut input = BufReader::with_capacity(1 << 20, file);
    let n = tokio::io::copy_buf(&mut input, &mut sock).await?;
    sock.shutdown().await?;
    Ok(n)
}
