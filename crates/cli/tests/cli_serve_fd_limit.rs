//! `weir serve` and the descriptor limit: it raises its soft RLIMIT_NOFILE
//! to the hard limit, and says so on stderr when `--max-connections` cannot
//! fit in what it has. Run under `prlimit` (util-linux) with chosen limits;
//! skipped, saying why, where `prlimit` or /proc is missing.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// Kills the server (by its own handle) when the test ends.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn have_prlimit() -> bool {
    let ok = Command::new("prlimit")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
        && Path::new("/proc/self/limits").exists();
    if !ok {
        eprintln!("skipped: needs the prlimit command (util-linux) and /proc");
    }
    ok
}

/// `weir serve DIR` under `prlimit --nofile=SOFT:HARD` (prlimit execs it,
/// so the child is weir itself); its address and its stderr.
fn serve(
    dir: &Path,
    soft: u64,
    hard: u64,
    extra: &[&str],
) -> (Server, String, BufReader<std::process::ChildStderr>) {
    let mut child = Command::new("prlimit")
        .arg(format!("--nofile={soft}:{hard}"))
        .arg(env!("CARGO_BIN_EXE_weir"))
        .arg("serve")
        .arg(dir)
        .args(["--addr", "127.0.0.1:0"])
        .args(extra)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut err = BufReader::new(child.stderr.take().unwrap());
    let mut line = String::new();
    err.read_line(&mut line).unwrap();
    let addr = line
        .split_whitespace()
        .find_map(|w| {
            let w = w.trim_start_matches("http://").trim_end_matches('/');
            w.starts_with("127.0.0.1:").then(|| w.to_string())
        })
        .unwrap_or_else(|| panic!("no address in {line:?}"));
    (Server(child), addr, err)
}

/// The soft and hard "Max open files" of a process.
fn nofile(pid: u32) -> (String, String) {
    let limits = std::fs::read_to_string(format!("/proc/{pid}/limits")).unwrap();
    let line = limits
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .unwrap();
    let f: Vec<&str> = line.split_whitespace().collect();
    (f[3].to_string(), f[4].to_string())
}

fn get(addr: &str) -> String {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s.write_all(b"GET /a.txt HTTP/1.1\r\nhost: t\r\nconnection: close\r\n\r\n")
        .unwrap();
    let mut out = String::new();
    let _ = s.read_to_string(&mut out);
    out
}

/// Whatever the server printed on stderr after its first line, until the
/// stream ends (the server was stopped) or `wait` passes.
fn more_stderr(mut err: BufReader<std::process::ChildStderr>, wait: Duration) -> String {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        while err.read_line(&mut line).is_ok_and(|n| n > 0) {
            let _ = tx.send(std::mem::take(&mut line));
        }
    });
    let mut out = String::new();
    let deadline = std::time::Instant::now() + wait;
    while let Some(left) = deadline.checked_duration_since(std::time::Instant::now()) {
        match rx.recv_timeout(left) {
            Ok(l) => out.push_str(&l),
            Err(_) => break,
        }
    }
    out
}

#[test]
fn serve_raises_its_soft_descriptor_limit_to_the_hard_one() {
    if !have_prlimit() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("a.txt"), "hello").unwrap();
    let (server, addr, err) = serve(dir.path(), 64, 4096, &["--max-connections", "100"]);
    assert_eq!(nofile(server.0.id()), ("4096".into(), "4096".into()));
    let r = get(&addr);
    assert!(r.starts_with("HTTP/1.1 200"), "{r}");
    drop(server);
    let msg = more_stderr(err, Duration::from_secs(20));
    assert!(!msg.contains("warning"), "{msg}");
}

#[test]
fn serve_warns_when_the_connection_cap_cannot_fit_in_the_descriptor_limit() {
    if !have_prlimit() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("a.txt"), "hello").unwrap();
    let (server, addr, err) = serve(dir.path(), 64, 64, &["--max-connections", "512"]);
    assert_eq!(nofile(server.0.id()), ("64".into(), "64".into()));
    // It still serves.
    let r = get(&addr);
    assert!(r.starts_with("HTTP/1.1 200"), "{r}");
    drop(server);
    let msg = more_stderr(err, Duration::from_secs(20));
    eprintln!("{msg}");
    assert!(
        msg.contains("warning") && msg.contains("--max-connections 512") && msg.contains("64"),
        "{msg}"
    );
}
