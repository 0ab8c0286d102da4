//! `weir serve --metrics ADDR`: Prometheus text on a listener of its own,
//! with the server's counters moving as requests come and guards cut.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Kills the server (by its id) when the test ends, however it ends.
struct Guard(Child);

impl Drop for Guard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The `127.0.0.1:PORT` in a line of the server's stderr.
fn addr_in(line: &str) -> String {
    line.split_whitespace()
        .find_map(|w| {
            let w = w.trim_start_matches("http://");
            let w = w.split('/').next().unwrap();
            w.starts_with("127.0.0.1:").then(|| w.to_string())
        })
        .unwrap_or_else(|| panic!("no address in {line:?}"))
}

/// One request on a fresh connection; the whole answer as text.
fn http(addr: &str, request: &str) -> String {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s.write_all(request.as_bytes()).unwrap();
    let mut out = Vec::new();
    s.read_to_end(&mut out).unwrap();
    String::from_utf8_lossy(&out).into_owned()
}

fn get(addr: &str, path: &str) -> String {
    http(
        addr,
        &format!("GET {path} HTTP/1.1\r\nhost: t\r\nconnection: close\r\n\r\n"),
    )
}

/// The value of the series `line` (name and labels, as rendered).
fn value(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' '))
        .map(|v| v.trim().parse().unwrap())
}

/// Scrapes with curl, as a monitoring system would (a fresh machine has it).
fn scrape(metrics: &str) -> String {
    let out = Command::new("curl")
        .args([
            "-sS",
            "--max-time",
            "10",
            "-D",
            "-",
            &format!("http://{metrics}/metrics"),
        ])
        .output()
        .expect("curl");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn serve_metrics_answers_and_its_counters_move() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("a.txt"), "hello metrics\n".repeat(100)).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_weir"))
        .arg("serve")
        .arg(dir.path())
        .args(["--addr", "127.0.0.1:0", "--metrics", "127.0.0.1:0"])
        .args(["--header-timeout", "300ms", "--gzip-level", "0"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut err = BufReader::new(child.stderr.take().unwrap());
    let _guard = Guard(child);
    let mut line = String::new();
    err.read_line(&mut line).unwrap();
    let addr = addr_in(&line);
    line.clear();
    err.read_line(&mut line).unwrap();
    assert!(line.contains("metrics on"), "{line}");
    let metrics = addr_in(&line);

    // Before any request: the endpoint answers, counters at zero.
    let first = scrape(&metrics);
    assert!(first.starts_with("HTTP/1.1 200"), "{first}");
    assert!(
        first.contains("content-type: text/plain; version=0.0.4"),
        "{first}"
    );
    assert!(
        first.contains("# TYPE weir_http_requests_total counter"),
        "{first}"
    );
    assert_eq!(
        value(&first, "weir_http_requests_total"),
        Some(0.0),
        "{first}"
    );

    // Two files, one miss, and a client that stalls in its headers.
    for _ in 0..2 {
        assert!(get(&addr, "/a.txt").starts_with("HTTP/1.1 200"));
    }
    assert!(get(&addr, "/nope.txt").starts_with("HTTP/1.1 404"));
    let mut stalled = TcpStream::connect(&addr).unwrap();
    stalled.write_all(b"GET / HT").unwrap();

    // The header timeout (300 ms) cuts the stalled one; wait for the count.
    let t = Instant::now();
    let text = loop {
        let text = scrape(&metrics);
        let cut = value(
            &text,
            "weir_http_connections_cut_total{guard=\"header_timeout\"}",
        );
        if cut == Some(1.0) || t.elapsed() > Duration::from_secs(30) {
            break text;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    assert_eq!(
        value(
            &text,
            "weir_http_connections_cut_total{guard=\"header_timeout\"}"
        ),
        Some(1.0),
        "{text}"
    );
    assert_eq!(
        value(&text, "weir_http_requests_total"),
        Some(3.0),
        "{text}"
    );
    assert_eq!(
        value(&text, "weir_http_responses_total{status=\"200\"}"),
        Some(2.0),
        "{text}"
    );
    assert_eq!(
        value(&text, "weir_http_responses_total{status=\"404\"}"),
        Some(1.0),
        "{text}"
    );
    assert_eq!(
        value(&text, "weir_http_connections_accepted_total"),
        Some(4.0),
        "{text}"
    );
    for guard in ["write_timeout", "min_rate", "shed", "max_connections"] {
        let series = format!("weir_http_connections_cut_total{{guard=\"{guard}\"}}");
        assert_eq!(value(&text, &series), Some(0.0), "{text}");
    }
    let sent = value(&text, "weir_http_sent_bytes_total").unwrap();
    assert!(sent >= 2.0 * 1400.0, "{text}");
    assert!(
        text.contains("# HELP weir_http_connections_cut_total "),
        "{text}"
    );

    // Anything but /metrics is 404, on the metrics listener.
    assert!(get(&metrics, "/other").starts_with("HTTP/1.1 404"));
}
