//! `weir gzip --independent` (BGZF) and `weir gunzip -p N`: what any gunzip
//! reads, decoded on several threads, the workers' busy time in `--stats`,
//! errors with offsets, and usage errors.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::Write;
use std::process::{Command, Output, Stdio};

fn weir() -> Command {
    Command::new(env!("CARGO_BIN_EXE_weir"))
}

/// Log-like text, `n` bytes.
fn sample(n: usize) -> Vec<u8> {
    let mut v = Vec::with_capacity(n + 100);
    let mut i = 0u64;
    while v.len() < n {
        v.extend_from_slice(
            format!(
                "10.1.{}.{} GET /x/{} 200 {}\n",
                i % 256,
                i % 9,
                i * 31 % 997,
                i % 5000
            )
            .as_bytes(),
        );
        i += 1;
    }
    v.truncate(n);
    v
}

fn run_with_stdin(cmd: &mut Command, input: &[u8]) -> Output {
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("cannot run");
    let mut stdin = child.stdin.take().unwrap();
    let data = input.to_vec();
    let writer = std::thread::spawn(move || {
        let _ = stdin.write_all(&data);
    });
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap();
    out
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// The `workers_busy_ms` of the stage named `name` in a `--stats json` report.
fn workers_busy(o: &Output, name: &str) -> Vec<f64> {
    let json: serde_json::Value = serde_json::from_str(stderr(o).trim()).unwrap();
    let stage = json["stages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == name)
        .unwrap_or_else(|| panic!("no stage {name}: {json}"));
    stage["workers_busy_ms"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect()
}

#[test]
fn independent_output_is_read_by_gzip_and_decoded_on_threads() {
    let data = sample(3_000_000);
    let o = run_with_stdin(
        weir().args(["gzip", "--independent", "-p", "2", "-f", "--stats", "json"]),
        &data,
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let bgzf = o.stdout.clone();
    let busy = workers_busy(&o, "gzip");
    assert_eq!(busy.len(), 2);
    assert!(busy.iter().all(|&ms| ms > 0.0), "{busy:?}");
    // The BC subfield, and BGZF's end-of-file block.
    assert_eq!(&bgzf[12..16], b"BC\x02\x00");
    assert_eq!(&bgzf[bgzf.len() - 28..bgzf.len() - 24], &[0x1f, 0x8b, 8, 4]);
    let g = run_with_stdin(Command::new("gzip").arg("-dc"), &bgzf);
    assert!(g.status.success());
    assert_eq!(g.stdout, data);
    // --bgzf is the same switch.
    let o2 = run_with_stdin(weir().args(["gzip", "--bgzf", "-p", "2", "-f"]), &data);
    assert!(o2.status.success());
    assert_eq!(
        o2.stdout, bgzf,
        "the bytes depend on level and threads only"
    );

    let d = run_with_stdin(weir().args(["gunzip", "-p", "2", "--stats", "json"]), &bgzf);
    assert!(d.status.success(), "{}", stderr(&d));
    assert_eq!(d.stdout, data);
    let busy = workers_busy(&d, "gunzip");
    assert_eq!(busy.len(), 2);
    // The decoder's workers share one job queue: one may take every job.
    assert!(busy.iter().any(|&ms| ms > 0.0), "{busy:?}");
    let table = run_with_stdin(weir().args(["gunzip", "-p", "2", "--stats"]), &bgzf);
    assert!(
        stderr(&table).contains("2 workers busy"),
        "{}",
        stderr(&table)
    );
    // One thread: today's decoder, no workers.
    let d1 = run_with_stdin(weir().args(["gunzip", "-p", "1", "--stats", "json"]), &bgzf);
    assert!(d1.status.success());
    assert_eq!(d1.stdout, data);
    assert!(workers_busy(&d1, "gunzip").is_empty());
    // The default (one thread per core) decodes it too.
    let dd = run_with_stdin(weir().arg("gunzip"), &bgzf);
    assert_eq!(dd.stdout, data);
}

#[test]
fn bgzf_followed_by_ordinary_gzip_decodes_like_gzip() {
    let a = sample(200_000);
    let b = sample(90_000);
    let mut file = run_with_stdin(weir().args(["gzip", "--independent", "-f"]), &a).stdout;
    file.extend(run_with_stdin(Command::new("gzip").arg("-c"), &b).stdout);
    let want = run_with_stdin(Command::new("gzip").arg("-dc"), &file);
    assert!(want.status.success());
    let o = run_with_stdin(weir().args(["gunzip", "-p", "2"]), &file);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(o.stdout, want.stdout);
}

#[test]
fn a_lying_block_size_is_exit_1_with_its_offset_and_no_output_file() {
    let data = sample(300_000);
    let mut file = run_with_stdin(weir().args(["gzip", "--independent", "-f"]), &data).stdout;
    let bsize = u16::from_le_bytes([file[16], file[17]]);
    file[16..18].copy_from_slice(&(bsize - 50).to_le_bytes());
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let o = run_with_stdin(weir().args(["gunzip", "-p", "2", "-o"]).arg(&out), &file);
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(
        err.contains("byte offset 0") && err.contains("too small"),
        "{err}"
    );
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}

#[test]
fn threads_and_independent_are_usage_errors_where_they_do_not_apply() {
    for args in [
        &["zstd", "--independent"][..],
        &["brotli", "--bgzf"],
        // (unzstd and unxz take -T N as zstd and xz do: cli_formats.rs.)
        &["bunzip2", "-p", "2"],
        &["unbrotli", "-p", "3"],
        &["gunzip", "-p", "65"],
    ] {
        let o = run_with_stdin(weir().args(args), b"");
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", stderr(&o));
    }
}
