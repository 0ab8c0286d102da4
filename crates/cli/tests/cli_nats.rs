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
            panic!("still running after {secs} s");
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
    // Messages fetched but not written were not acknowledged: they come
    // back after ack_wait, not now; so the second run may miss up to the
    // first's two pulls, and must not repeat anything.
    let input_text = std::fs::read_to_string(&input).unwrap();
    let got = String::from_utf8(all).unwrap();
    let got_lines: Vec<&str> = got.lines().collect();
    let mut uniq = got_lines.clone();
    uniq.sort_unstable();
    uniq.dedup();
    assert_eq!(uniq.len(), got_lines.len(), "nothing acknowledged twice");
    assert!(got_lines.len() + 100 >= input_text.lines().count());
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
    let status = format!("/proc/{}/status", child.id());
    let rss = || -> Option<u64> {
        let text = std::fs::read_to_string(&status).ok()?;
        let kb = text.lines().find_map(|l| l.strip_prefix("VmRSS:"))?;
        kb.trim().trim_end_matches("kB").trim().parse().ok()
    };
    let mut samples = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(6);
    while Instant::now() < deadline {
        if let Some(kb) = rss() {
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
    for (path, stage) in [(&published, "publish"), (&consumed, "commit")] {
        let text = std::fs::read_to_string(path).unwrap();
        let json: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert!(
            text.contains(&format!("\"{stage}\"")),
            "{stage} not in {text}"
        );
        assert!(json.is_object(), "{text}");
    }
}
