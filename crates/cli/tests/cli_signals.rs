//! Signals as a user (or the system) sends them to `weir`: every catchable
//! signal whose default action ends the process ends a run with 128 + its
//! number and leaves no temporary file, from the first instant (also while
//! the input or output is still being opened).
#![cfg(unix)]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::ffi::OsStr;
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

fn weir() -> Command {
    Command::new(env!("CARGO_BIN_EXE_weir"))
}

fn files_in(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

fn mkfifo(path: &Path) {
    let ok = Command::new("mkfifo").arg(path).status().unwrap();
    assert!(ok.success(), "mkfifo failed");
}

fn kill(child: &Child, signal: &str) {
    let ok = Command::new("kill")
        .arg(format!("-{signal}"))
        .arg(child.id().to_string())
        .status()
        .unwrap();
    assert!(ok.success(), "kill -{signal} failed");
}

/// Waits (at most 10 s) until `child` catches `signal`, as
/// /proc/PID/status shows (Linux; elsewhere, 300 ms): sent earlier, on a
/// loaded machine, the signal could still meet its default action.
fn wait_until_caught(child: &Child, signal: i32) {
    let status = format!("/proc/{}/status", child.id());
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        let Ok(text) = std::fs::read_to_string(&status) else {
            std::thread::sleep(Duration::from_millis(300));
            return;
        };
        let caught = text
            .lines()
            .find_map(|l| l.strip_prefix("SigCgt:"))
            .and_then(|m| u64::from_str_radix(m.trim(), 16).ok())
            .is_some_and(|mask| mask & (1 << (signal - 1)) != 0);
        if caught {
            return;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    panic!("signal {signal} is never caught");
}

/// Waits for `child` at most `secs`; past that kills it (SIGKILL, by its id)
/// and fails, saying what it printed.
fn wait_within(mut child: Child, secs: u64, what: &str) -> (ExitStatus, String) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            let mut err = String::new();
            if let Some(mut e) = child.stderr.take() {
                let _ = std::io::Read::read_to_string(&mut e, &mut err);
            }
            return (status, err);
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{what}: still running {secs} s after the signal (only SIGKILL ended it)");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// A FIFO with no writer as the input: the open waits for a writer, and
/// SIGTERM, SIGINT and SIGHUP still end the run at once with their status,
/// leaving neither an output nor a temporary file.
#[test]
fn a_signal_ends_a_run_still_opening_a_fifo_input() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("in.fifo");
    mkfifo(&fifo);
    let out = dir.path().join("out.gz");
    let args = [
        OsStr::new("gzip"),
        fifo.as_os_str(),
        OsStr::new("-o"),
        out.as_os_str(),
    ];
    signal_while_opening(&args, &[("TERM", 143), ("INT", 130), ("HUP", 129)]);
    assert_eq!(files_in(dir.path()), ["in.fifo"]);
}

/// A FIFO with no reader as the output (written in place: nothing to
/// replace): the open waits for a reader, and a signal still ends the run.
#[test]
fn a_signal_ends_a_run_still_opening_a_fifo_output() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.bin");
    std::fs::write(&input, b"some bytes").unwrap();
    let fifo = dir.path().join("out.fifo");
    mkfifo(&fifo);
    let args = [
        OsStr::new("copy"),
        input.as_os_str(),
        OsStr::new("-o"),
        fifo.as_os_str(),
    ];
    signal_while_opening(&args, &[("TERM", 143), ("INT", 130)]);
    assert_eq!(files_in(dir.path()), ["in.bin", "out.fifo"]);
}

/// Runs `weir ARGS` once per signal, sends the signal while the run waits in
/// `open()` on a FIFO, and checks the exit status.
fn signal_while_opening(args: &[&OsStr], signals: &[(&str, i32)]) {
    for &(signal, code) in signals {
        let child = weir()
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        wait_until_caught(&child, code - 128);
        // By now it waits in open() for the FIFO's other end.
        std::thread::sleep(Duration::from_millis(300));
        kill(&child, signal);
        let (status, err) = wait_within(child, 20, &format!("SIG{signal}"));
        assert_eq!(status.code(), Some(code), "SIG{signal}: {status} {err}");
    }
}

/// A signal sent as soon as the handlers are installed (before the run is
/// under way, or while it opens its input) exits with 128 + N, never by the
/// signal's default action. (Before `main` installs them, during argument
/// parsing, the default action is all there is, and nothing is open yet; a
/// fixed delay after the spawn cannot tell the two apart on a loaded
/// machine, so the test waits until the handler is in place.)
#[test]
fn a_signal_at_once_is_still_an_exit_status() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("in.fifo");
    mkfifo(&fifo);
    let out = dir.path().join("out.gz");
    for delay in [0u64, 5, 20, 50] {
        let child = weir()
            .arg("gzip")
            .arg(&fifo)
            .arg("-o")
            .arg(&out)
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        wait_until_caught(&child, 15);
        std::thread::sleep(Duration::from_millis(delay));
        kill(&child, "TERM");
        let (status, err) = wait_within(child, 20, "SIGTERM");
        assert_eq!(status.code(), Some(143), "after {delay} ms: {status} {err}");
        assert_eq!(files_in(dir.path()), ["in.fifo"]);
    }
}

/// Every other catchable signal that would end the process ends a long run
/// into `-o FILE` with 128 + its number, and the temporary file is removed
/// (the existing output untouched).
#[test]
fn every_terminating_signal_removes_the_temporary_file() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.bin");
    std::fs::write(&input, vec![b'x'; 4 << 20]).unwrap();
    let out = dir.path().join("out.bin");
    std::fs::write(&out, b"the old contents").unwrap();
    for (signal, number) in [
        ("QUIT", 3),
        ("USR1", 10),
        ("USR2", 12),
        ("PIPE", 13),
        ("ALRM", 14),
        ("XFSZ", 25),
        ("VTALRM", 26),
    ] {
        // 4 MiB at 1 MiB/s: still running when the signal comes.
        let child = weir()
            .arg("copy")
            .arg(&input)
            .arg("-o")
            .arg(&out)
            .args(["--rate", "1M"])
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(10);
        while files_in(dir.path()).len() < 3 && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        let tmp = files_in(dir.path());
        assert_eq!(tmp.len(), 3, "no temporary file");
        // The temporary file's documented name: .NAME.weir-XXXXXX.tmp
        assert!(
            tmp.iter()
                .any(|f| f.starts_with(".out.bin.weir-") && f.ends_with(".tmp")),
            "{tmp:?}"
        );
        kill(&child, signal);
        let (status, err) = wait_within(child, 20, &format!("SIG{signal}"));
        assert_eq!(
            status.code(),
            Some(128 + number),
            "SIG{signal}: {status} {err}"
        );
        assert_eq!(files_in(dir.path()), ["in.bin", "out.bin"], "SIG{signal}");
        assert_eq!(std::fs::read(&out).unwrap(), b"the old contents");
        // Quiet for SIGPIPE, as a shell is; one line for the others.
        assert_eq!(err.is_empty(), signal == "PIPE", "SIG{signal}: {err:?}");
    }
}

/// Over the file size limit (`ulimit -f`), the kernel sends SIGXFSZ: like
/// GNU gzip, weir removes its temporary file, and exits with 128 + 25.
#[test]
fn the_file_size_limit_removes_the_temporary_file() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.bin");
    std::fs::write(&input, vec![b'x'; 4 << 20]).unwrap();
    let out = dir.path().join("out.bin");
    let child = Command::new("sh")
        .arg("-c")
        // 100 blocks (50 or 100 KiB, as the shell counts them).
        .arg("ulimit -f 100 && exec \"$0\" copy \"$1\" -o \"$2\"")
        .arg(env!("CARGO_BIN_EXE_weir"))
        .arg(&input)
        .arg(&out)
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (status, err) = wait_within(child, 30, "ulimit -f");
    assert_eq!(status.code(), Some(128 + 25), "{status} {err}");
    assert_eq!(files_in(dir.path()), ["in.bin"]);
}
