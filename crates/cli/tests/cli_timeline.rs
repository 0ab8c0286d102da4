//! `--timeline` and `--stall-timeout`, as a user runs them.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn weir() -> Command {
    Command::new(env!("CARGO_BIN_EXE_weir"))
}

fn stderr(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn timeline_writes_a_chart_or_the_samples() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.bin");
    std::fs::write(&input, vec![b'x'; 2 << 20]).unwrap();
    let svg = dir.path().join("run.svg");
    let o = weir()
        .args(["gzip", "-1"])
        .arg(&input)
        .arg("-o")
        .arg(dir.path().join("out.gz"))
        .arg("--timeline")
        .arg(&svg)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let text = std::fs::read_to_string(&svg).unwrap();
    assert!(text.starts_with("<svg"), "{}", &text[..text.len().min(200)]);
    for want in [
        "read (source)",
        "gzip (transform)",
        "write (sink)",
        "time (s)",
    ] {
        assert!(text.contains(want), "missing {want:?}");
    }
    let json = dir.path().join("run.json");
    let o = weir()
        .args(["copy", "--rate", "8M"])
        .arg(&input)
        .arg("-o")
        .arg(dir.path().join("copy.bin"))
        .arg("--timeline")
        .arg(&json)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    let names: Vec<&str> = v["stages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["read", "throttle", "write"]);
    assert_eq!(v["bottleneck"], "throttle");
    // 2 MiB at 8 MB/s: about a quarter of a second, a sample every 100 ms.
    assert!(v["samples"].as_array().unwrap().len() >= 2, "{v}");
    let moved: u64 = v["samples"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["stages"][2]["amount_in"].as_u64().unwrap())
        .sum();
    assert_eq!(moved, 2 << 20);
}

#[cfg(unix)]
#[test]
fn a_fifo_that_never_gets_data_stalls_with_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("in.fifo");
    assert!(
        Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success()
    );
    // A writer that opens the FIFO and never writes, until the run is over
    // (60 s at most: then the input ends, and a run the watchdog did not
    // stop succeeds, which fails the test).
    let path = fifo.clone();
    let (done, wait_done) = std::sync::mpsc::channel::<()>();
    let holder = std::thread::spawn(move || {
        let f = std::fs::OpenOptions::new().write(true).open(path).unwrap();
        let _ = wait_done.recv_timeout(Duration::from_secs(60));
        drop(f);
    });
    let out = dir.path().join("out.gz");
    let t = Instant::now();
    let o = weir()
        .arg("gzip")
        .arg(&fifo)
        .arg("-o")
        .arg(&out)
        .args(["--stall-timeout", "500ms"])
        .arg("--timeline")
        .arg(dir.path().join("stall.json"))
        .output()
        .unwrap();
    let _ = done.send(());
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    // Stopped by the 0.5 s watchdog, long before the writer lets go.
    assert!(t.elapsed() < Duration::from_secs(20), "{:?}", t.elapsed());
    let err = stderr(&o);
    assert_eq!(err.lines().count(), 1, "{err}");
    // The time named is how long the run had gone without progress when
    // the watchdog looked: the 0.5 s timeout, or a little more (0.6 s was
    // seen beside two busy loops).
    let rest = err
        .strip_prefix("weir: read: stalled: ")
        .unwrap_or_else(|| panic!("{err}"));
    let (secs, rest) = rest.split_once(" s ").unwrap_or_else(|| panic!("{err}"));
    let secs: f64 = secs.parse().unwrap_or_else(|_| panic!("{err}"));
    assert!((0.5..5.0).contains(&secs), "{err}");
    assert!(
        rest.starts_with("without progress: read waits on its input"),
        "{err}"
    );
    assert!(err.contains("gzip starved (nothing from read)"), "{err}");
    // No partial output; the timeline of the stalled run names its root.
    assert!(!out.exists());
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert!(!names.iter().any(|n| n.ends_with(".tmp")), "{names:?}");
    let v: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("stall.json")).unwrap()).unwrap();
    assert_eq!(v["bottleneck"], "read");
    holder.join().unwrap();
}

#[test]
fn a_reader_that_takes_nothing_stalls_the_writer() {
    let mut child = weir()
        .args(["copy", "--stall-timeout", "500ms"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Standard input gives plenty; standard output is never read.
    let mut stdin = child.stdin.take().unwrap();
    let feeder = std::thread::spawn(move || {
        let chunk = vec![b'y'; 64 * 1024];
        for _ in 0..256 {
            if std::io::Write::write_all(&mut stdin, &chunk).is_err() {
                break;
            }
        }
    });
    let _stdout = child.stdout.take().unwrap(); // held open, never read
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(1), "{err}");
    // The time named is how long the run has gone without progress when
    // the watchdog looks: at least the timeout, a check interval more (and
    // what a loaded machine adds to the watchdog's wake-up) at most.
    let rest = err
        .strip_prefix("weir: write: stalled: ")
        .unwrap_or_else(|| panic!("{err}"));
    let (secs, rest) = rest.split_once(" s ").unwrap_or_else(|| panic!("{err}"));
    let secs: f64 = secs.parse().unwrap_or_else(|_| panic!("{err}"));
    assert!((0.5..5.0).contains(&secs), "{err}");
    assert!(
        rest.starts_with("without progress: write waits on its output"),
        "{err}"
    );
    assert!(
        err.contains("read blocked on a full buffer (write takes nothing)"),
        "{err}"
    );
    drop(_stdout);
    let _ = feeder.join();
}

#[test]
fn a_slow_copy_is_not_stalled() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.bin");
    std::fs::write(&input, vec![b'z'; 1 << 20]).unwrap();
    // 1 MiB at 1 MB/s, in 256 KiB chunks: a chunk every ~260 ms.
    let o = weir()
        .args(["copy", "--rate", "1M", "--stall-timeout", "1s"])
        .arg(&input)
        .arg("-o")
        .arg(dir.path().join("out.bin"))
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        std::fs::read(dir.path().join("out.bin")).unwrap().len(),
        1 << 20
    );
}
