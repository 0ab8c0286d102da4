//! The network commands as a user runs them: `send` into `recv` (throttled,
//! with the bottleneck in the report), `serve` with `get` and with many slow
//! clients (the server's memory per connection), errors and exit codes.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

fn weir() -> Command {
    Command::new(env!("CARGO_BIN_EXE_weir"))
}

fn random(n: usize, seed: u64) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

/// A child that is killed if the test fails before it is waited for.
struct Guard(Option<Child>);

impl Guard {
    /// Waits for the child, reading its stdout meanwhile; kills it (by its
    /// id) if it runs longer than `secs`.
    fn wait_within(&mut self, secs: u64) -> std::process::Output {
        let child = self.0.take().unwrap();
        let pid = child.id();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let _ = tx.send(child.wait_with_output());
        });
        match rx.recv_timeout(Duration::from_secs(secs)) {
            Ok(out) => out.unwrap(),
            Err(_) => {
                let _ = Command::new("kill").arg("-9").arg(pid.to_string()).status();
                panic!("the command did not finish within {secs} s");
            }
        }
    }

    fn id(&self) -> u32 {
        self.0.as_ref().unwrap().id()
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        if let Some(mut c) = self.0.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// Starts `cmd` with stderr piped and returns it with the address it
/// printed on its first stderr line ("... 127.0.0.1:PORT ...").
fn start_listening(cmd: &mut Command) -> (Guard, String, BufReader<std::process::ChildStderr>) {
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("cannot run weir");
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
    (Guard(Some(child)), addr, err)
}

fn rest(mut err: BufReader<std::process::ChildStderr>) -> String {
    let mut s = String::new();
    let _ = err.read_to_string(&mut s);
    s
}

#[test]
fn send_into_recv_round_trips_a_file() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.bin");
    let output = dir.path().join("out.bin");
    let data = random(5_000_000, 1);
    std::fs::write(&input, &data).unwrap();
    let (mut recv, addr, err) = start_listening(
        weir()
            .args(["recv", "--listen", "127.0.0.1:0", "-o"])
            .arg(&output),
    );
    let sent = weir().arg("send").arg(&addr).arg(&input).output().unwrap();
    assert!(
        sent.status.success(),
        "{}",
        String::from_utf8_lossy(&sent.stderr)
    );
    let out = recv.wait_within(30);
    assert!(out.status.success(), "{}", rest(err));
    assert_eq!(std::fs::read(&output).unwrap(), data);
}

#[test]
fn send_from_stdin_and_recv_to_stdout() {
    let data = random(1_000_000, 2);
    let (mut recv, addr, _err) = start_listening(weir().args(["recv", "--listen", "127.0.0.1:0"]));
    let mut send = weir()
        .args(["send", &addr, "-"])
        .stdin(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = send.stdin.take().unwrap();
    stdin.write_all(&data).unwrap();
    drop(stdin);
    assert!(send.wait().unwrap().success());
    let out = recv.wait_within(30);
    assert!(out.status.success());
    assert_eq!(out.stdout, data);
}

/// A throttled receiver is the sender's bottleneck: its `send` stage spends
/// the run waiting on the socket.
#[test]
fn a_throttled_receiver_is_the_senders_bottleneck() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.bin");
    std::fs::write(&input, random(24 << 20, 3)).unwrap();
    let (mut recv, addr, err) = start_listening(weir().args([
        "recv",
        "--listen",
        "127.0.0.1:0",
        "--rate",
        "8M",
        "--stats",
        "json",
        "-o",
        "/dev/null",
    ]));
    let sent = weir()
        .args(["send", &addr])
        .arg(&input)
        .args(["--stats", "json"])
        .output()
        .unwrap();
    assert!(
        sent.status.success(),
        "{}",
        String::from_utf8_lossy(&sent.stderr)
    );
    let report: serde_json::Value =
        serde_json::from_str(String::from_utf8_lossy(&sent.stderr).trim()).unwrap();
    assert_eq!(report["bottleneck"], "send", "{report}");
    let stages = report["stages"].as_array().unwrap();
    let read = stages.iter().find(|s| s["name"] == "read").unwrap();
    assert!(read["full_events"].as_u64().unwrap() > 0, "{report}");
    let out = recv.wait_within(30);
    assert!(out.status.success());
    let recv_report: serde_json::Value =
        serde_json::from_str(rest(err).lines().last().unwrap()).unwrap();
    assert_eq!(recv_report["bottleneck"], "throttle", "{recv_report}");
    assert_eq!(recv_report["bytes_out"], 24 << 20);
}

/// A sender that dies mid-transfer: recv exits 1 and leaves no output file.
#[test]
fn recv_fails_cleanly_when_the_sender_resets() {
    let dir = tempfile::tempdir().unwrap();
    let output = dir.path().join("out.bin");
    let (mut recv, addr, err) = start_listening(
        weir()
            .args(["recv", "--listen", "127.0.0.1:0", "-o"])
            .arg(&output),
    );
    {
        let s = TcpStream::connect(&addr).unwrap();
        (&s).write_all(&random(100_000, 4)).unwrap();
        // Let recv accept and start writing, then die.
        std::thread::sleep(Duration::from_millis(300));
        // SO_LINGER 0: closing sends a reset, not an end.
        let sock = socket2::SockRef::from(&s);
        sock.set_linger(Some(Duration::ZERO)).unwrap();
    }
    let out = recv.wait_within(30);
    assert_eq!(out.status.code(), Some(1));
    let msg = rest(err);
    assert!(
        // Reset while reading, or (on a loaded machine) already before the
        // accepted socket could be set up.
        msg.contains("weir: recv")
            && (msg.to_lowercase().contains("reset") || msg.contains("not connected")),
        "{msg}"
    );
    let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
    assert!(left.is_empty(), "partial output left behind");
}

#[test]
fn send_to_nobody_is_a_clear_error() {
    let o = weir()
        .args(["send", "127.0.0.1:1", "-"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    let msg = String::from_utf8_lossy(&o.stderr);
    assert!(msg.contains("send") && msg.contains("refused"), "{msg}");
    let o = weir().args(["recv"]).output().unwrap();
    assert_eq!(o.status.code(), Some(2), "--listen is required");
}

fn serve(dir: &Path, extra: &[&str]) -> (Guard, String, BufReader<std::process::ChildStderr>) {
    start_listening(
        weir()
            .arg("serve")
            .arg(dir)
            .args(["--addr", "127.0.0.1:0"])
            .args(extra),
    )
}

#[test]
fn get_downloads_from_serve_identity_and_gzip() {
    let dir = tempfile::tempdir().unwrap();
    let www = dir.path().join("www");
    std::fs::create_dir(&www).unwrap();
    let bin = random(2_000_000, 5);
    let text: Vec<u8> = (0..60_000)
        .flat_map(|i| format!("line {i} of a text file\n").into_bytes())
        .collect();
    std::fs::write(www.join("a.bin"), &bin).unwrap();
    std::fs::write(www.join("b.txt"), &text).unwrap();
    let (_server, addr, _err) = serve(&www, &[]);
    let out = dir.path().join("a.out");
    let o = weir()
        .args(["get", &format!("http://{addr}/a.bin"), "-o"])
        .arg(&out)
        .args(["--stats", "json"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(std::fs::read(&out).unwrap(), bin);
    // Text comes gzipped and is decoded on the way.
    let o = weir()
        .args(["get", &format!("http://{addr}/b.txt"), "--stats", "json"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(o.stdout, text);
    let report: serde_json::Value =
        serde_json::from_str(String::from_utf8_lossy(&o.stderr).trim()).unwrap();
    let names: Vec<_> = report["stages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap().to_string())
        .collect();
    assert!(names.contains(&"gunzip".to_string()), "{report}");
    assert!(report["stages"][0]["bytes_in"].as_u64().unwrap() < text.len() as u64 / 3);
    // 404 and a refused escape are errors, with no output file left.
    let missing = dir.path().join("missing.out");
    let o = weir()
        .args(["get", &format!("http://{addr}/nope"), "-o"])
        .arg(&missing)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("404"));
    assert!(!missing.exists());
    let o = weir()
        .args([
            "get",
            &format!("http://{addr}/%2e%2e/www/a.bin"),
            "-o",
            "/dev/null",
        ])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("403"));
    let o = weir().args(["get", "https://127.0.0.1/"]).output().unwrap();
    assert_eq!(o.status.code(), Some(1));
}

fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap()
}

/// Many clients that each read a large file slowly: the server's memory per
/// connection is its per-connection buffers, not the file.
#[test]
fn many_slow_clients_cost_bounded_memory_each() {
    const CLIENTS: usize = 48;
    let dir = tempfile::tempdir().unwrap();
    let www = dir.path().join("www");
    std::fs::create_dir(&www).unwrap();
    let file = random(64 << 20, 6);
    std::fs::write(www.join("big.bin"), &file).unwrap();
    let (server, addr, _err) = serve(&www, &["--write-timeout", "off", "--min-rate", "0"]);
    let pid = server.id();
    // Warm up: one full fast download, so lazily allocated runtime pieces
    // are counted before the baseline.
    let o = weir()
        .args(["get", &format!("http://{addr}/big.bin"), "-o", "/dev/null"])
        .output()
        .unwrap();
    assert!(o.status.success());
    std::thread::sleep(Duration::from_millis(300));
    let before = rss_kib(pid);
    let mut clients = Vec::new();
    for _ in 0..CLIENTS {
        let s = TcpStream::connect(&addr).unwrap();
        socket2::SockRef::from(&s)
            .set_recv_buffer_size(64 * 1024)
            .unwrap();
        (&s).write_all(b"GET /big.bin HTTP/1.1\r\nhost: t\r\n\r\n")
            .unwrap();
        clients.push(s);
    }
    // Each reads a little now and then (slow), never the whole file.
    let mut buf = vec![0u8; 16 * 1024];
    for _ in 0..10 {
        for s in &clients {
            let _ = (&*s).read(&mut buf).unwrap();
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let during = rss_kib(pid);
    let per_conn = during.saturating_sub(before) as f64 / CLIENTS as f64;
    eprintln!(
        "weir serve RSS: {before} KiB before, {during} KiB with {CLIENTS} slow clients of a 64 MiB file: {per_conn:.0} KiB per connection"
    );
    // Two 256 KiB file blocks and a 64 KiB write buffer per connection, and
    // nowhere near the 64 MiB file.
    assert!(per_conn < 1024.0, "{per_conn:.0} KiB per connection");
    drop(clients);
}
