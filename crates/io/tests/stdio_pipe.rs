//! `stdin()` and `stdout()` in a real process: this test binary runs itself
//! as a child whose standard input and output are pipes, and the child
//! copies one to the other through weir.
//!
//! It has its own `main` (no libtest harness), because the harness writes
//! to standard output, which is what is under test here.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{Read, Write};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use futures::StreamExt;

const CHILD: &str = "WEIR_IO_STDIO_CHILD";

fn main() {
    if std::env::var_os(CHILD).is_some() {
        child();
    }
    let tests: [(&str, fn()); 4] = [
        ("copies_every_byte", copies_every_byte),
        ("empty_input", empty_input),
        ("passes_data_on_as_it_arrives", passes_data_on_as_it_arrives),
        ("a_closed_stdout_is_an_error", a_closed_stdout_is_an_error),
    ];
    let mut failed = 0;
    for (name, test) in tests {
        let ok = std::panic::catch_unwind(test).is_ok();
        println!("test {name} ... {}", if ok { "ok" } else { "FAILED" });
        failed += usize::from(!ok);
    }
    println!("stdio: {} passed, {failed} failed", tests.len() - failed);
    std::process::exit(i32::from(failed > 0));
}

/// The child: standard input to standard output. On an error it prints one
/// line and exits at once (a read of the parent's pipe may be in flight on
/// the blocking pool, and would hold up the runtime's shutdown).
fn child() -> ! {
    let rt = tokio::runtime::Runtime::new().unwrap();
    match rt.block_on(weir_io::stdin().forward(weir_io::stdout())) {
        Ok(()) => {
            drop(rt);
            std::process::exit(0)
        }
        Err(e) => {
            eprintln!("error: {e} [{:?}]", e.io_kind());
            std::process::exit(1)
        }
    }
}

fn spawn() -> Child {
    Command::new(std::env::current_exe().unwrap())
        .env(CHILD, "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// Waits for the child, killing it after 20 s.
fn wait(child: &mut Child) -> ExitStatus {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("the child hung");
        }
        thread::sleep(Duration::from_millis(10));
    }
}

fn stderr_of(child: &mut Child) -> String {
    let mut s = String::new();
    if let Some(mut e) = child.stderr.take() {
        let _ = e.read_to_string(&mut s);
    }
    s
}

fn copies_every_byte() {
    let data = weir_core::testing::Rng::new(1).bytes(3 * 1024 * 1024 + 12_345);
    let mut child = spawn();
    let mut stdin = child.stdin.take().unwrap();
    let input = data.clone();
    let writer = thread::spawn(move || stdin.write_all(&input));
    let mut out = Vec::new();
    child.stdout.take().unwrap().read_to_end(&mut out).unwrap();
    writer.join().unwrap().unwrap();
    let status = wait(&mut child);
    assert!(status.success(), "{}", stderr_of(&mut child));
    assert_eq!(out.len(), data.len());
    assert!(out == data);
}

fn empty_input() {
    let mut child = spawn();
    drop(child.stdin.take());
    let mut out = Vec::new();
    child.stdout.take().unwrap().read_to_end(&mut out).unwrap();
    assert!(wait(&mut child).success(), "{}", stderr_of(&mut child));
    assert!(out.is_empty());
}

fn passes_data_on_as_it_arrives() {
    let mut child = spawn();
    let mut stdin = child.stdin.take().unwrap();
    let mut stdout = child.stdout.take().unwrap();
    stdin.write_all(b"hello\n").unwrap();
    stdin.flush().unwrap();
    // The line must come out while standard input is still open.
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let mut buf = [0u8; 6];
        let r = stdout.read_exact(&mut buf).map(|()| buf);
        let _ = tx.send((r.map_err(|e| e.to_string()), stdout));
    });
    let (line, mut stdout) = rx
        .recv_timeout(Duration::from_secs(10))
        .expect("the line did not come through before the end of input");
    assert_eq!(&line.unwrap(), b"hello\n");
    drop(stdin);
    let mut rest = Vec::new();
    stdout.read_to_end(&mut rest).unwrap();
    assert!(rest.is_empty());
    assert!(wait(&mut child).success(), "{}", stderr_of(&mut child));
}

fn a_closed_stdout_is_an_error() {
    let mut child = spawn();
    drop(child.stdout.take());
    let mut stdin = child.stdin.take().unwrap();
    // Keep feeding until the child gives up (its reads fail once it exits).
    let feeder = thread::spawn(move || {
        let chunk = vec![b'x'; 64 * 1024];
        for _ in 0..1000 {
            if stdin.write_all(&chunk).is_err() {
                break;
            }
        }
    });
    let status = wait(&mut child);
    let err = stderr_of(&mut child);
    feeder.join().unwrap();
    assert_eq!(status.code(), Some(1), "{err}");
    assert!(err.contains("stdout: "), "{err}");
    assert!(err.contains("BrokenPipe"), "{err}");
}
