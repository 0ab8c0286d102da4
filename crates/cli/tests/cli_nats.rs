//! `weir nats publish` / `weir nats consume` against a real nats-server
//! (from WEIR_NATS_SERVER; see crates/nats/tests/support/server.rs).
#![cfg(all(unix, feature = "nats"))]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "../../nats/tests/support/server.rs"]
mod server;

use std::collections::HashMap;
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

fn weir() -> Command {
    Command::new(env!("CARGO_BIN_EXE_weir"))
}

macro_rules! server_or_skip {
    ($name:expr) => {
        match server::server_bin($name) {
            Some(bin) => bin,
            None => return,
        }
    };
}

fn lines(n: usize, tag: &str) -> String {
    (0..n).map(|i| format!("{tag} line {i:07}\n")).collect()
}

fn publish(url: &str, stream: &str, input: &Path) -> Output {
    weir()
        .args(["nats", "publish", "--server", url, "--stream", stream])
        .args(["--subject", &format!("{stream}.in")])
        .arg(input)
        .output()
        .unwrap()
}

/// Waits (30 s at most) until `path` holds something: a consumer writing
/// to it is under way.
/// A running process's resident set, in KiB (`None` once it has gone).
fn rss_kib(pid: u32) -> Option<u64> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let kb = text.lines().find_map(|l| l.strip_prefix("VmRSS:"))?;
    kb.trim().trim_end_matches("kB").trim().parse().ok()
}

fn wait_for_output(path: &std::path::Path) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while std::fs::metadata(path).map_or(0, |m| m.len()) == 0 {
        assert!(
            Instant::now() < deadline,
            "nothing written to {path:?} in 30 s"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn wait_within(mut child: Child, secs: u64) -> Output {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            let out = child.wait_with_output().unwrap();
            panic!(
                "still running after {secs} s: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().unwrap()
}

#[test]
fn publish_then_consume_to_a_file_round_trips() {
    let bin = server_or_skip!("publish_then_consume_to_a_file_round_trips");
    let server = server::Server::start(&bin);
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.txt");
    std::fs::write(&input, lines(20_000, "a")).unwrap();
    let out = publish(&server.url(), "RT", &input);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let output = dir.path().join("out.txt");
    let out = weir()
        .args([
            "nats",
            "consume",
            "--server",
            &server.url(),
            "--stream",
            "RT",
        ])
        .args(["--consumer", "c", "--idle", "3s", "--stats", "json", "-o"])
        .arg(&output)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        std::fs::read(&output).unwrap(),
        std::fs::read(&input).unwrap()
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    let json: serde_json::Value = serde_json::from_str(stderr.trim()).unwrap();
    assert_eq!(json["nats"]["acked"], 20_000);
    assert_eq!(json["nats"]["broker"]["ack_pending"], 0);
    assert_eq!(json["nats"]["broker"]["pending"], 0);
    // Nothing left: a second run writes nothing more.
    let out = weir()
        .args([
            "nats",
            "consume",
            "--server",
            &server.url(),
            "--stream",
            "RT",
        ])
        .args(["--consumer", "c", "--idle", "500ms", "-o"])
        .arg(&output)
        .output()
        .unwrap();
    assert!(out.status.success());
    assert_eq!(
        std::fs::read(&output).unwrap(),
        std::fs::read(&input).unwrap()
    );
}

#[test]
fn count_stops_after_n_and_leaves_the_rest_to_others() {
    let bin = server_or_skip!("count_stops_after_n_and_leaves_the_rest_to_others");
    let server = server::Server::start(&bin);
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.txt");
    std::fs::write(&input, lines(1000, "c")).unwrap();
    assert!(publish(&server.url(), "CNT", &input).status.success());
    let first = weir()
        .args([
            "nats",
            "consume",
            "--server",
            &server.url(),
            "--stream",
            "CNT",
        ])
        .args(["--consumer", "c", "--count", "300", "--batch", "64"])
        .output()
        .unwrap();
    assert!(
        first.status.success(),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    let rest = weir()
        .args([
            "nats",
            "consume",
            "--server",
            &server.url(),
            "--stream",
            "CNT",
        ])
        .args(["--consumer", "c", "--idle", "3s"])
        .output()
        .unwrap();
    assert!(rest.status.success());
    // The second run sees at once (not after ack_wait) exactly the rest:
    // the first pulled no more than its count.
    let mut all = first.stdout.clone();
    all.extend_from_slice(&rest.stdout);
    assert_eq!(first.stdout.iter().filter(|&&b| b == b'\n').count(), 300);
    assert_eq!(all, std::fs::read(&input).unwrap());
}

#[test]
fn three_workers_share_a_consumer_and_a_killed_one_loses_nothing() {
    let bin = server_or_skip!("three_workers_share_a_consumer_and_a_killed_one_loses_nothing");
    let server = server::Server::start(&bin);
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.txt");
    let n = 30_000;
    std::fs::write(&input, lines(n, "w")).unwrap();
    assert!(publish(&server.url(), "WORK", &input).status.success());
    let batch = 100;
    let start = |i: usize, rate: Option<&str>| {
        let mut c = weir();
        c.args([
            "nats",
            "consume",
            "--server",
            &server.url(),
            "--stream",
            "WORK",
        ])
        .args(["--consumer", "workers", "--idle", "4s", "--ack-wait", "2s"])
        .args(["--batch", &batch.to_string(), "--commit-every", "50"])
        .arg("-o")
        .arg(dir.path().join(format!("out{i}.txt")))
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
        if let Some(r) = rate {
            c.args(["--rate", r]);
        }
        c.spawn().unwrap()
    };
    // Worker 0 is slow, so it is surely mid-stream when it is killed: once
    // it has written something (its output is appended to in place),
    // however long a loaded machine takes to get there.
    let mut victim = start(0, Some("100K"));
    let others = [start(1, Some("400K")), start(2, Some("400K"))];
    wait_for_output(&dir.path().join("out0.txt"));
    victim.kill().unwrap(); // SIGKILL
    victim.wait().unwrap();
    let written0 = std::fs::read_to_string(dir.path().join("out0.txt")).unwrap_or_default();
    assert!(
        !written0.is_empty(),
        "the victim wrote something before it died"
    );
    for c in others {
        let out = wait_within(c, 120);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let mut seen: HashMap<String, usize> = HashMap::new();
    for i in 0..3 {
        let text =
            std::fs::read_to_string(dir.path().join(format!("out{i}.txt"))).unwrap_or_default();
        for l in text.lines() {
            *seen.entry(l.to_string()).or_default() += 1;
        }
    }
    let expected = lines(n, "w");
    let missing = expected.lines().filter(|l| !seen.contains_key(*l)).count();
    assert_eq!(missing, 0, "every published message is in some output");
    let duplicates: usize = seen.values().map(|c| c - 1).sum();
    // Only what the killed worker had written but not yet acknowledged can
    // come twice: at most its two pulls plus a commit batch.
    assert!(
        duplicates <= 2 * batch + 50,
        "{duplicates} duplicates, more than the killed worker's window"
    );
    assert_eq!(seen.len(), n);
}

#[test]
fn sigterm_stops_fetching_and_acknowledges_what_was_written() {
    let bin = server_or_skip!("sigterm_stops_fetching_and_acknowledges_what_was_written");
    let server = server::Server::start(&bin);
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.txt");
    std::fs::write(&input, lines(20_000, "t")).unwrap();
    assert!(publish(&server.url(), "TERM", &input).status.success());
    let output = dir.path().join("out.txt");
    let child = weir()
        .args([
            "nats",
            "consume",
            "--server",
            &server.url(),
            "--stream",
            "TERM",
        ])
        .args([
            "--consumer",
            "c",
            "--rate",
            "50K",
            "--batch",
            "50",
            "--commit-every",
            "20",
        ])
        .arg("-o")
        .arg(&output)
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Under way (something written), however loaded the machine.
    wait_for_output(&output);
    let ok = Command::new("kill")
        .arg("-TERM")
        .arg(child.id().to_string())
        .status()
        .unwrap();
    assert!(ok.success());
    let out = wait_within(child, 30);
    assert_eq!(
        out.status.code(),
        Some(143),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let written = std::fs::read_to_string(&output).unwrap();
    let n = written.lines().count();
    assert!(n > 0 && n < 20_000, "{n} lines written");
    // The rest, read by another worker at once (nothing left unacknowledged
    // waiting for ack_wait), completes the input exactly.
    let rest = weir()
        .args([
            "nats",
            "consume",
            "--server",
            &server.url(),
            "--stream",
            "TERM",
        ])
        .args(["--consumer", "c", "--idle", "3s", "--ack-wait", "60s"])
        .output()
        .unwrap();
    assert!(rest.status.success());
    let mut all = written.into_bytes();
    all.extend_from_slice(&rest.stdout);
    // Messages fetched but not written were released (negatively
    // acknowledged) when the first stopped: the second run gets them at
    // once, not after the 30 s ack_wait, so the two runs together hold the
    // input exactly, nothing twice.
    let input_text = std::fs::read_to_string(&input).unwrap();
    let got = String::from_utf8(all).unwrap();
    let mut got_lines: Vec<&str> = got.lines().collect();
    let n_got = got_lines.len();
    got_lines.sort_unstable();
    got_lines.dedup();
    assert_eq!(got_lines.len(), n_got, "nothing acknowledged twice");
    let mut want: Vec<&str> = input_text.lines().collect();
    want.sort_unstable();
    assert_eq!(got_lines, want);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn bad_input_is_a_clear_error_naming_the_stage() {
    let bin = server_or_skip!("bad_input_is_a_clear_error_naming_the_stage");
    let server = server::Server::start_with(&bin, "max_payload: 1024");
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.txt");
    std::fs::write(&input, "short\n").unwrap();
    let url = server.url();
    let check = |args: &[&str], needle: &str| {
        let out = weir().args(args).output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {err}");
        assert!(err.contains(needle), "{args:?}: {err}");
    };
    let input_s = input.to_str().unwrap();
    check(
        &[
            "nats",
            "publish",
            "--server",
            &url,
            "--stream",
            "B",
            "--subject",
            "has space",
            input_s,
        ],
        "weir: publish: subject",
    );
    check(
        &[
            "nats",
            "publish",
            "--server",
            &url,
            "--stream",
            "B",
            "--subject",
            "B.*",
            input_s,
        ],
        "wildcard",
    );
    check(
        &[
            "nats",
            "consume",
            "--server",
            &url,
            "--stream",
            "NONE",
            "--consumer",
            "c",
        ],
        "weir: consume: stream \"NONE\" does not exist",
    );
    let port = server::free_port();
    check(
        &[
            "nats",
            "consume",
            "--server",
            &format!("127.0.0.1:{port}"),
            "--stream",
            "B",
            "--consumer",
            "c",
        ],
        "weir: connect:",
    );
    assert!(publish(&url, "B", &input).status.success());
    check(
        &[
            "nats",
            "consume",
            "--server",
            &url,
            "--stream",
            "B",
            "--consumer",
            "absent",
            "--no-create",
        ],
        "consumer \"absent\" does not exist",
    );
    // A line over the server's max payload: an error, and what came before
    // it is in the stream, nothing after.
    std::fs::write(&input, format!("ok\n{}\nafter\n", "x".repeat(4000))).unwrap();
    check(
        &[
            "nats",
            "publish",
            "--server",
            &url,
            "--stream",
            "B",
            "--subject",
            "B.in",
            input_s,
        ],
        "weir: publish: message 2",
    );
}

#[test]
fn a_slow_consumer_keeps_its_memory_flat() {
    let bin = server_or_skip!("a_slow_consumer_keeps_its_memory_flat");
    let server = server::Server::start(&bin);
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.txt");
    // 100 MiB of 1 KiB lines.
    let line = format!("{}\n", "r".repeat(1023));
    let mut f = std::io::BufWriter::new(std::fs::File::create(&input).unwrap());
    for _ in 0..(100 * 1024) {
        std::io::Write::write_all(&mut f, line.as_bytes()).unwrap();
    }
    drop(f);
    let out = weir()
        .args([
            "nats",
            "publish",
            "--server",
            &server.url(),
            "--stream",
            "SLOW",
            "--subject",
            "SLOW.in",
        ])
        .arg(&input)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let child = weir()
        .args([
            "nats",
            "consume",
            "--server",
            &server.url(),
            "--stream",
            "SLOW",
        ])
        .args([
            "--consumer",
            "slow",
            "--rate",
            "4M",
            "--count",
            "12000",
            "-o",
        ])
        .arg(dir.path().join("out.txt"))
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    let mut samples = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(6);
    while Instant::now() < deadline {
        if let Some(kb) = rss_kib(pid) {
            samples.push(kb);
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    let out = wait_within(child, 60);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(samples.len() > 10);
    let early = samples[samples.len() / 4];
    let peak = *samples.iter().max().unwrap();
    // Flat: the peak stays within 16 MiB of where it was a quarter of the
    // way in, and far below the 100 MiB in the stream.
    assert!(
        peak < early + 16 * 1024,
        "RSS grew from {early} kB to {peak} kB"
    );
    assert!(peak < 64 * 1024, "RSS {peak} kB");
}

#[test]
fn publish_and_consume_write_their_timelines() {
    let bin = server_or_skip!("publish_and_consume_write_their_timelines");
    let server = server::Server::start(&bin);
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.txt");
    std::fs::write(&input, lines(5_000, "t")).unwrap();
    let published = dir.path().join("publish.json");
    let out = weir()
        .args([
            "nats",
            "publish",
            "--server",
            &server.url(),
            "--stream",
            "TL",
        ])
        .args(["--subject", "TL.in", "--timeline"])
        .arg(&published)
        .arg(&input)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let consumed = dir.path().join("consume.json");
    let out = weir()
        .args([
            "nats",
            "consume",
            "--server",
            &server.url(),
            "--stream",
            "TL",
        ])
        .args(["--consumer", "c", "--idle", "500ms", "--timeline"])
        .arg(&consumed)
        .arg("-o")
        .arg(dir.path().join("out.txt"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for (path, stage) in [(&published, "publish"), (&consumed, "write")] {
        let text = std::fs::read_to_string(path).unwrap();
        let json: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert!(
            text.contains(&format!("\"{stage}\"")),
            "{stage} not in {text}"
        );
        assert!(json.is_object(), "{text}");
    }
}

/// The consumer's figures from the server's monitoring port (`/jsz`).
fn consumer_detail(server: &server::Server, stream: &str, consumer: &str) -> serde_json::Value {
    let (status, body) = server
        .monitor_get("/jsz?accounts=true&streams=true&consumers=true")
        .expect("jsz");
    assert_eq!(status, 200, "{body}");
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    for account in v["account_details"].as_array().into_iter().flatten() {
        for s in account["stream_detail"].as_array().into_iter().flatten() {
            if s["name"] != stream {
                continue;
            }
            for c in s["consumer_detail"].as_array().into_iter().flatten() {
                if c["name"] == consumer {
                    return c.clone();
                }
            }
        }
    }
    serde_json::Value::Null
}

fn consume_cmd(url: &str, stream: &str, consumer: &str) -> Command {
    let mut c = weir();
    c.args(["nats", "consume", "--server", url, "--stream", stream])
        .args(["--consumer", consumer]);
    c
}

#[test]
fn a_server_gone_for_good_ends_consume_with_exit_1_and_acks_only_what_was_written() {
    let bin = server_or_skip!(
        "a_server_gone_for_good_ends_consume_with_exit_1_and_acks_only_what_was_written"
    );
    let mut server = server::Server::start(&bin);
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.txt");
    let n = 20_000;
    std::fs::write(&input, lines(n, "g")).unwrap();
    assert!(publish(&server.url(), "GONE", &input).status.success());
    let first = dir.path().join("first.txt");
    // Slow (about 4 s for the stream), so it is mid-stream when the server
    // is killed; it gives up reconnecting after 1 s.
    let child = consume_cmd(&server.url(), "GONE", "c")
        .args(["--rate", "100K", "--batch", "100", "--commit-every", "50"])
        .args(["--ack-wait", "2s", "--reconnect-for", "1s", "-o"])
        .arg(&first)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(1500));
    server.kill(); // SIGKILL, not restarted (yet)
    let killed = Instant::now();
    let out = wait_within(child, 20);
    let took = killed.elapsed();
    eprintln!(
        "ended {took:?} after the kill: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    // About the reconnect time, not the client's default 30 attempts.
    assert!(
        took < Duration::from_secs(8),
        "ended {took:?} after the kill"
    );
    let errors: Vec<&str> = stderr.lines().filter(|l| l.starts_with("weir: ")).collect();
    assert_eq!(errors.len(), 1, "one error line: {stderr}");
    assert!(
        errors[0].starts_with("weir: consume: ") || errors[0].starts_with("weir: ack: "),
        "names the stage: {stderr}"
    );
    assert!(errors[0].contains("connection"), "{stderr}");
    let written = std::fs::read_to_string(&first).unwrap();
    let expected = lines(n, "g");
    // In stream order, one worker: what it wrote is a prefix of the input.
    assert!(
        expected.starts_with(&written),
        "the output is the input's prefix"
    );
    let n_written = written.lines().count();
    assert!(n_written > 0 && n_written < n, "{n_written} lines written");
    // The server back on the same store: whatever the first run did not
    // write was not acknowledged, so the broker delivers it again (after
    // the 2 s ack_wait) to the next worker.
    server.restart();
    server.wait_healthy();
    let detail = consumer_detail(&server, "GONE", "c");
    let floor = detail["ack_floor"]["stream_seq"].as_u64().unwrap_or(0);
    assert!(
        floor as usize <= n_written,
        "ack floor {floor} beyond the {n_written} lines written: {detail}"
    );
    let second = dir.path().join("second.txt");
    let out = consume_cmd(&server.url(), "GONE", "c")
        .args(["--idle", "4s", "-o"])
        .arg(&second)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let again = std::fs::read_to_string(&second).unwrap();
    let mut all: Vec<&str> = written.lines().chain(again.lines()).collect();
    all.sort_unstable();
    all.dedup();
    let mut want: Vec<&str> = expected.lines().collect();
    want.sort_unstable();
    assert_eq!(all, want, "every message written by one run or the other");
}

#[test]
fn a_server_restarted_quickly_is_picked_up_and_consume_finishes() {
    let bin = server_or_skip!("a_server_restarted_quickly_is_picked_up_and_consume_finishes");
    let mut server = server::Server::start(&bin);
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.txt");
    let n = 20_000;
    std::fs::write(&input, lines(n, "r")).unwrap();
    assert!(publish(&server.url(), "RESTART", &input).status.success());
    let output = dir.path().join("out.txt");
    let batch = 100;
    let child = consume_cmd(&server.url(), "RESTART", "c")
        .args(["--rate", "200K", "--batch", &batch.to_string()])
        .args(["--commit-every", "50", "--ack-wait", "2s", "--idle", "4s"])
        .arg("-o")
        .arg(&output)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(1000));
    server.kill();
    let before = std::fs::read_to_string(&output).unwrap_or_default();
    let written_before = before.lines().count();
    std::thread::sleep(Duration::from_millis(300));
    server.restart();
    server.wait_healthy();
    let out = wait_within(child, 60);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = std::fs::read_to_string(&output).unwrap();
    let mut got: Vec<&str> = text.lines().collect();
    let total = got.len();
    got.sort_unstable();
    got.dedup();
    let expected = lines(n, "r");
    let mut want: Vec<&str> = expected.lines().collect();
    want.sort_unstable();
    assert_eq!(got, want, "every message written");
    // At least once: what was in flight when the server went away (two
    // pulls and the commit batches) may come twice, and so may what was
    // acknowledged before it went away if the broker had not stored those
    // acknowledgements yet (a SIGKILL'd server loses its latest consumer
    // state); nothing written after the restart comes twice.
    assert!(
        total - n <= written_before + 2 * batch + 3 * 50,
        "{} duplicates, {written_before} lines written before the kill",
        total - n
    );
}

#[test]
fn large_messages_keep_consume_bounded_in_bytes() {
    let bin = server_or_skip!("large_messages_keep_consume_bounded_in_bytes");
    let server = server::Server::start(&bin);
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.bin");
    // 160 messages of 512 KiB (80 MiB), within the default 1 MiB payload.
    let chunk = 512 * 1024;
    {
        let mut f = std::io::BufWriter::new(std::fs::File::create(&input).unwrap());
        for i in 0..160u8 {
            std::io::Write::write_all(&mut f, &vec![b'a' + i % 26; chunk]).unwrap();
        }
    }
    let out = weir()
        .args(["nats", "publish", "--server", &server.url()])
        .args(["--stream", "BIG", "--subject", "BIG.in", "--chunk", "512K"])
        .arg(&input)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Slow: 8 MB/s, 60 messages (30 MiB), with the default item counts
    // (pulls of 512 messages, commits of 1024) that would hold hundreds of
    // such messages if only counts bounded them.
    let child = consume_cmd(&server.url(), "BIG", "slow")
        .args(["--rate", "8M", "--count", "60", "--hwm", "2M", "-o"])
        .arg(dir.path().join("out.bin"))
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    let mut samples = Vec::new();
    let mut ack_pending = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(3);
    while Instant::now() < deadline {
        if let Some(kb) = rss_kib(pid) {
            samples.push(kb);
        }
        let d = consumer_detail(&server, "BIG", "slow");
        if let Some(p) = d["num_ack_pending"].as_u64() {
            ack_pending.push(p);
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let out = wait_within(child, 60);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(samples.len() > 10 && ack_pending.len() > 10);
    // Outstanding at the broker: two pulls of about 1 MiB (two messages
    // each), a batch being gathered, one waiting and one being written
    // (about 1 MiB each): some ten messages, never dozens.
    let most = *ack_pending.iter().max().unwrap();
    assert!(
        most <= 16,
        "{most} messages of 512 KiB outstanding: {ack_pending:?}"
    );
    let early = samples[samples.len() / 4];
    let peak = *samples.iter().max().unwrap();
    assert!(
        peak < early + 8 * 1024,
        "RSS grew from {early} kB to {peak} kB"
    );
    assert!(peak < 48 * 1024, "RSS {peak} kB");
    assert_eq!(
        std::fs::metadata(dir.path().join("out.bin")).unwrap().len(),
        60 * (chunk as u64 + 1)
    );
}
