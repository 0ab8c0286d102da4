//! The `weir` command as a user runs it: round trips with the real `gzip`
//! and `zstd`, standard input and output, exit codes, atomic output, the
//! report.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

fn weir() -> Command {
    Command::new(env!("CARGO_BIN_EXE_weir"))
}

/// Text that compresses like logs do, `n` bytes.
fn sample(n: usize) -> Vec<u8> {
    let mut v = Vec::with_capacity(n + 100);
    let mut i = 0u64;
    while v.len() < n {
        v.extend_from_slice(
            format!(
                "10.0.{}.{} GET /api/items/{} 200 {}\n",
                i % 256,
                i % 7,
                i * 7919 % 10007,
                i % 4096
            )
            .as_bytes(),
        );
        i += 1;
    }
    v.truncate(n);
    v
}

fn run(cmd: &mut Command) -> Output {
    cmd.output().expect("cannot run weir")
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

fn files_in(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

#[test]
fn gzip_output_is_read_by_system_gzip_and_back() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.log");
    let data = sample(300_000);
    std::fs::write(&input, &data).unwrap();
    let gz = dir.path().join("in.log.gz");
    // The default (a thread per core), one stream on one thread, and
    // pigz-style on more threads than blocks: each is one stream gzip reads.
    for threads in [None, Some("1"), Some("2"), Some("5")] {
        let mut cmd = weir();
        cmd.arg("gzip").arg(&input).arg("-o").arg(&gz);
        if let Some(n) = threads {
            cmd.arg("-p").arg(n);
        }
        let o = run(&mut cmd);
        assert!(o.status.success(), "-p {threads:?}: {}", stderr(&o));
        let back = run(Command::new("gzip").arg("-dc").arg(&gz));
        assert!(back.status.success(), "-p {threads:?}");
        assert_eq!(back.stdout, data, "-p {threads:?}");
    }
    // And the other way: system gzip -9 into weir gunzip, through pipes.
    let sys = run_with_stdin(Command::new("gzip").arg("-9c"), &data);
    let o = run_with_stdin(weir().arg("gunzip"), &sys.stdout);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(o.stdout, data);
}

#[test]
fn zstd_output_is_read_by_system_zstd_and_back() {
    let data = sample(200_000);
    let o = run_with_stdin(weir().args(["zstd", "-l", "5", "-"]), &data);
    assert!(o.status.success(), "{}", stderr(&o));
    let back = run_with_stdin(Command::new("zstd").arg("-dc"), &o.stdout);
    assert!(back.status.success(), "system zstd could not read it");
    assert_eq!(back.stdout, data);
    let sys = run_with_stdin(Command::new("zstd").args(["-c", "-3"]), &data);
    let o = run_with_stdin(weir().arg("unzstd"), &sys.stdout);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(o.stdout, data);
}

#[test]
fn brotli_and_copy_round_trip() {
    let data = sample(100_000);
    let br = run_with_stdin(weir().args(["brotli", "-l", "4"]), &data);
    assert!(br.status.success(), "{}", stderr(&br));
    assert!(br.stdout.len() < data.len() / 3);
    let o = run_with_stdin(weir().arg("unbrotli"), &br.stdout);
    assert_eq!(o.stdout, data);
    let o = run_with_stdin(
        weir().args(["copy", "--chunk", "1K", "--hwm", "4KiB"]),
        &data,
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(o.stdout, data);
}

#[test]
fn corrupt_input_is_exit_1_with_one_line_and_no_output_file() {
    let dir = tempfile::tempdir().unwrap();
    let data = sample(100_000);
    let good = run_with_stdin(Command::new("gzip").arg("-c"), &data).stdout;
    let mut bad = good.clone();
    let mid = bad.len() / 2;
    bad[mid] ^= 0x55;
    let input = dir.path().join("bad.gz");
    std::fs::write(&input, &bad).unwrap();
    let out = dir.path().join("out.log");
    let o = run(weir().arg("gunzip").arg(&input).arg("-o").arg(&out));
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.starts_with("weir: gunzip: "), "{err}");
    assert!(!out.exists(), "a partial output file was left behind");
    assert_eq!(
        files_in(dir.path()),
        ["bad.gz"],
        "a temporary file was left behind"
    );
}

#[test]
fn a_failed_run_leaves_an_existing_output_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("keep.txt");
    std::fs::write(&out, b"precious").unwrap();
    let truncated = {
        let gz = run_with_stdin(Command::new("gzip").arg("-c"), &sample(50_000)).stdout;
        gz[..gz.len() - 10].to_vec()
    };
    let o = run_with_stdin(weir().arg("gunzip").arg("-o").arg(&out), &truncated);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert_eq!(std::fs::read(&out).unwrap(), b"precious");
    assert_eq!(files_in(dir.path()), ["keep.txt"]);
}

#[test]
fn a_missing_input_names_the_stage_and_the_file() {
    let o = run(weir().args(["gzip", "/no/such/file.log", "-o", "/tmp/never-written.gz"]));
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    assert!(err.starts_with("weir: read: "), "{err}");
    assert!(err.contains("/no/such/file.log"), "{err}");
    assert!(err.contains("No such file"), "{err}");
    assert!(!Path::new("/tmp/never-written.gz").exists());
}

#[test]
fn usage_errors_are_exit_2() {
    for args in [
        vec!["gzip", "--level"],
        vec!["frobnicate"],
        vec!["copy", "--rate", "fast"],
        vec!["copy", "--hwm", "0"],
        vec!["gunzip", "--max-output", "12 parsecs"],
        vec!["gzip", "-p", "65"],
    ] {
        let o = run(weir().args(&args));
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", stderr(&o));
    }
    // Ranges that depend on the format are usage errors too.
    for (args, says) in [
        (vec!["gzip", "-l", "12"], "level 12 is out of range (0-9)"),
        (vec!["zstd", "-l", "0"], "level 0 is out of range (1-22)"),
        (
            vec!["brotli", "-l", "12"],
            "level 12 is out of range (0-11)",
        ),
        (
            vec!["brotli", "-p", "2"],
            "--threads is only for gzip, zstd and xz",
        ),
    ] {
        let o = run(weir().args(&args).arg("-f").stdin(Stdio::null()));
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", stderr(&o));
        assert!(stderr(&o).contains(says), "{args:?}: {}", stderr(&o));
    }
    // `--stats=WORD` must name a format.
    let o = run(weir().args(["gzip", "--stats=yaml"]).stdin(Stdio::null()));
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("table or json"), "{}", stderr(&o));
    // Threads are a gzip option; `-p 1` is accepted everywhere.
    let o = run(weir().args(["zstd", "-p", "1", "-f"]).stdin(Stdio::null()));
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
}

#[test]
fn max_output_stops_a_decompression_bomb() {
    // 64 MiB of zeros compress to about 64 KiB.
    let zeros = vec![0u8; 64 << 20];
    let bomb = run_with_stdin(Command::new("gzip").arg("-c"), &zeros).stdout;
    assert!(bomb.len() < 200_000);
    let o = run_with_stdin(weir().args(["gunzip", "--max-output", "1M"]), &bomb);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("limit"), "{}", stderr(&o));
    assert!(
        o.stdout.len() <= 1 << 20,
        "{} bytes came out",
        o.stdout.len()
    );
}

#[test]
fn stats_json_has_the_promised_fields() {
    let data = sample(500_000);
    let o = run_with_stdin(weir().args(["gzip", "-f", "--stats", "json"]), &data);
    assert!(o.status.success(), "{}", stderr(&o));
    let json: serde_json::Value = serde_json::from_str(stderr(&o).trim()).unwrap();
    assert_eq!(json["bytes_in"], 500_000);
    assert_eq!(json["bytes_out"], o.stdout.len() as u64);
    for key in ["elapsed_ms", "bottleneck"] {
        assert!(!json[key].is_null(), "no {key}");
    }
    let names: Vec<&str> = json["stages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["read", "gzip", "write"]);
    for s in json["stages"].as_array().unwrap() {
        for key in [
            "bytes_in",
            "bytes_out",
            "busy_ms",
            "blocked_ms",
            "starved_ms",
            "peak_buffered",
            "full_events",
        ] {
            assert!(s[key].is_number(), "stage {} lacks {key}", s["name"]);
        }
    }
}

#[test]
fn a_throttled_copy_names_the_throttle_as_the_bottleneck() {
    // 256 KiB at 128 KiB/s: over a second waiting on the throttle, with
    // little to compute, so that even a machine that leaves the run a few
    // percent of a core (reading standard input, fed by this test's
    // thread, and writing take CPU time; the throttle's wait does not)
    // spends far longer in the throttle. (At 4 MiB/s for 1 MiB, such a
    // machine made the read the bottleneck.)
    let data = sample(256 << 10);
    let t = std::time::Instant::now();
    let o = run_with_stdin(weir().args(["copy", "--rate", "128K", "--stats"]), &data);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(t.elapsed().as_millis() >= 1000, "the rate was not applied");
    assert_eq!(o.stdout, data);
    let table = stderr(&o);
    assert!(table.contains("bottleneck: throttle"), "{table}");
}

#[test]
fn demo_part_three_names_gzip() {
    // Its chart in a folder of its own, not the shared default one in the
    // system's temporary folder (another run may be writing there).
    let dir = tempfile::tempdir().unwrap();
    let o = run(weir()
        .args(["demo", "--part", "3", "--size", "4M", "--timelines"])
        .arg(dir.path()));
    assert!(o.status.success(), "{}", stderr(&o));
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(text.contains("bottleneck: gzip"), "{text}");
    assert!(dir.path().join("demo-3-gzip.svg").exists());
}

#[cfg(unix)]
#[test]
fn sigterm_and_sighup_remove_the_temporary_file_like_ctrl_c() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.bin");
    std::fs::write(&input, sample(4 << 20)).unwrap();
    let out = dir.path().join("out.bin");
    std::fs::write(&out, b"the old contents").unwrap();
    for (signal, code, says) in [
        ("TERM", 143, "terminated"),
        ("HUP", 129, "hung up"),
        ("INT", 130, "interrupted"),
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
        // Wait until the temporary file exists: the run has started.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while files_in(dir.path()).len() < 3 && std::time::Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        assert_eq!(files_in(dir.path()).len(), 3, "no temporary file");
        let pid = child.id().to_string();
        let killed = Command::new("kill")
            .args([&format!("-{signal}"), &pid])
            .status()
            .unwrap();
        assert!(killed.success());
        let o = child.wait_with_output().unwrap();
        assert_eq!(o.status.code(), Some(code), "SIG{signal}: {}", stderr(&o));
        assert!(stderr(&o).contains(says), "SIG{signal}: {}", stderr(&o));
        assert_eq!(files_in(dir.path()), ["in.bin", "out.bin"], "SIG{signal}");
        assert_eq!(std::fs::read(&out).unwrap(), b"the old contents");
    }
}

#[test]
fn a_reader_that_goes_away_ends_the_run_quietly() {
    // `weir copy big | head -c 10`: no error line, the status of SIGPIPE.
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.log");
    std::fs::write(&input, sample(8 << 20)).unwrap();
    let mut child = weir()
        .arg("copy")
        .arg(&input)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let mut first = [0u8; 10];
    std::io::Read::read_exact(&mut stdout, &mut first).unwrap();
    drop(stdout);
    let o = child.wait_with_output().unwrap();
    assert_eq!(o.status.code(), Some(141), "{}", stderr(&o));
    assert_eq!(stderr(&o), "");
}

#[cfg(unix)]
#[test]
fn a_replaced_file_keeps_its_mode_and_owner() {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.txt");
    std::fs::write(&input, b"new").unwrap();
    let out = dir.path().join("out.txt");
    std::fs::write(&out, b"old").unwrap();
    std::fs::set_permissions(&out, std::fs::Permissions::from_mode(0o640)).unwrap();
    let before = std::fs::metadata(&out).unwrap();
    let o = run(weir().arg("copy").arg(&input).arg("-o").arg(&out));
    assert!(o.status.success(), "{}", stderr(&o));
    let after = std::fs::metadata(&out).unwrap();
    assert_eq!(std::fs::read(&out).unwrap(), b"new");
    assert_eq!(after.permissions().mode() & 0o7777, 0o640);
    assert_eq!((after.uid(), after.gid()), (before.uid(), before.gid()));
    assert_ne!(after.ino(), before.ino(), "replaced by a rename");
}

#[test]
fn gzip_habits_level_shorthand_and_dash_c() {
    let data = sample(200_000);
    // `-9` is `--level 9` (the header says "maximum compression"), `-1`
    // is `--level 1` ("fastest"), `-c` writes to standard output.
    for (flag, xfl) in [("-9", 2u8), ("-1", 4u8)] {
        let o = run_with_stdin(weir().args(["gzip", flag, "-c"]), &data);
        assert!(o.status.success(), "{flag}: {}", stderr(&o));
        assert_eq!(o.stdout[8], xfl, "{flag}");
        let back = run_with_stdin(Command::new("gzip").arg("-dc"), &o.stdout);
        assert_eq!(back.stdout, data, "{flag}");
    }
    // Two digits for zstd; out of range is a usage error.
    let o = run_with_stdin(weir().args(["zstd", "-19"]), &data);
    assert!(o.status.success(), "{}", stderr(&o));
    let back = run_with_stdin(weir().arg("unzstd"), &o.stdout);
    assert_eq!(back.stdout, data);
    let o = run(weir().args(["zstd", "-23", "-f"]).stdin(Stdio::null()));
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    // `-c` and `-o` together make no sense.
    let o = run(weir()
        .args(["gzip", "-c", "-o", "x.gz"])
        .stdin(Stdio::null()));
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
}

#[test]
fn gzip_habits_dash_d_and_stats_before_the_input() {
    let dir = tempfile::tempdir().unwrap();
    let data = sample(100_000);
    let plain = dir.path().join("in.log");
    std::fs::write(&plain, &data).unwrap();
    // `--stats FILE`: FILE is the input, the report a table on stderr.
    let gz = dir.path().join("in.log.gz");
    let o = run(weir()
        .arg("gzip")
        .arg("--stats")
        .arg(&plain)
        .arg("-o")
        .arg(&gz));
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stderr(&o).contains("bottleneck"), "{}", stderr(&o));
    // `--stats json FILE` still reads `json` as the format.
    let o = run(weir()
        .args(["gunzip", "--stats", "json", "-o", "-"])
        .arg(&gz));
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(o.stdout, data);
    assert!(stderr(&o).trim_start().starts_with('{'), "{}", stderr(&o));
    // `weir gzip -d` is `weir gunzip`; `-dc` also writes to standard output.
    let out = dir.path().join("back.log");
    let o = run(weir().args(["gzip", "-d"]).arg(&gz).arg("-o").arg(&out));
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(std::fs::read(&out).unwrap(), data);
    for flag in ["-dc", "-cd", "--decompress"] {
        let o = run(weir().args(["gzip", flag]).arg(&gz));
        assert!(o.status.success(), "{flag}: {}", stderr(&o));
        assert_eq!(o.stdout, data, "{flag}");
    }
    let zst = run_with_stdin(weir().arg("zstd"), &data);
    let o = run_with_stdin(weir().args(["zstd", "-d"]), &zst.stdout);
    assert_eq!(o.stdout, data);
    // An encoder's option on a decoder is still a usage error (`-p N` is
    // gunzip's too now: its threads for BGZF files).
    let o = run(weir().args(["gzip", "-d", "--independent"]).arg(&gz));
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let o = run(weir().args(["gzip", "-d", "-p", "2", "-c"]).arg(&gz));
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(o.stdout, data);
    // After `--`, `-d` is a file name.
    let o = run(weir()
        .args(["gzip", "-c", "--", "-d"])
        .current_dir(dir.path()));
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("-d"), "{}", stderr(&o));
}

#[test]
fn gzip_habits_combined_flags_last_level_and_same_file() {
    let data = sample(150_000);
    // Combined short flags as gzip takes them; the last level wins.
    for (flags, xfl) in [
        (&["-9c"][..], 2u8),
        (&["-c9"][..], 2u8),
        (&["-1", "-9", "-c"][..], 2u8),
        (&["-9", "-1c"][..], 4u8),
    ] {
        let o = run_with_stdin(weir().arg("gzip").args(flags), &data);
        assert!(o.status.success(), "{flags:?}: {}", stderr(&o));
        assert_eq!(o.stdout[8], xfl, "{flags:?}");
        let back = run_with_stdin(Command::new("gzip").arg("-dc"), &o.stdout);
        assert_eq!(back.stdout, data, "{flags:?}");
    }
    let zst = run_with_stdin(weir().args(["zstd", "-19c"]), &data);
    assert!(zst.status.success(), "{}", stderr(&zst));
    // Decompressing ignores levels and -f, as gzip does.
    let gz = run_with_stdin(weir().arg("gzip"), &data).stdout;
    for flags in [
        &["-d9"][..],
        &["-d", "-9"],
        &["-9", "-d"],
        &["-dcf"],
        &["-fd"],
    ] {
        let o = run_with_stdin(weir().arg("gzip").args(flags), &gz);
        assert!(o.status.success(), "{flags:?}: {}", stderr(&o));
        assert_eq!(o.stdout, data, "{flags:?}");
    }
    let o = run_with_stdin(weir().args(["zstd", "-d", "-19"]), &zst.stdout);
    assert_eq!(o.stdout, data);
    // Clusters with other letters are left to the parser: a usage error.
    let o = run(weir().args(["gzip", "-9x"]).stdin(Stdio::null()));
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));

    // The output may not be the input, even through a link.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("same.log");
    std::fs::write(&file, &data).unwrap();
    let link = dir.path().join("link.log");
    std::os::unix::fs::symlink(&file, &link).unwrap();
    for out in [&file, &link] {
        let o = run(weir().arg("gzip").arg(&file).arg("-o").arg(out));
        assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
        assert!(stderr(&o).contains("same file"), "{}", stderr(&o));
        assert_eq!(std::fs::read(&file).unwrap(), data, "input untouched");
    }
    assert_eq!(files_in(dir.path()).len(), 2, "{:?}", files_in(dir.path()));
}

/// gzip's `-t` tests an archive (exit status only, nothing written), `-k`
/// and `-n` are accepted (weir never removes its input and stores no name),
/// and a decoding command takes the same clusters, a level included
/// (ignored), as `gunzip -9` does.
#[test]
fn gzip_habits_test_keep_and_levels_on_decoders() {
    let dir = tempfile::tempdir().unwrap();
    let data = sample(50_000);
    let plain = dir.path().join("in.log");
    std::fs::write(&plain, &data).unwrap();
    let gz = dir.path().join("in.log.gz");
    let o = run(weir().args(["gzip", "-kn9"]).arg(&plain).arg("-o").arg(&gz));
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(plain.exists());
    let bad = dir.path().join("bad.gz");
    let bytes = std::fs::read(&gz).unwrap();
    std::fs::write(&bad, &bytes[..bytes.len() / 2]).unwrap();
    for cmd in [
        &["gzip", "-t"][..],
        &["gunzip", "-t"],
        &["gzip", "-dt"],
        &["gunzip", "-9t"],
    ] {
        let o = run(weir().args(cmd).arg(&gz));
        assert!(o.status.success(), "{cmd:?}: {}", stderr(&o));
        assert!(o.stdout.is_empty(), "{cmd:?} wrote to standard output");
        let o = run(weir().args(cmd).arg(&bad));
        assert_eq!(o.status.code(), Some(1), "{cmd:?}: {}", stderr(&o));
        assert!(stderr(&o).contains("truncated"), "{cmd:?}: {}", stderr(&o));
    }
    for cmd in [
        &["gunzip", "-9c"][..],
        &["gunzip", "-dkc"],
        &["gunzip", "-c", "-1"],
    ] {
        let o = run(weir().args(cmd).arg(&gz));
        assert!(o.status.success(), "{cmd:?}: {}", stderr(&o));
        assert_eq!(o.stdout, data, "{cmd:?}");
    }
    assert_eq!(files_in(dir.path()).len(), 3, "{:?}", files_in(dir.path()));
}

/// `weir zstd -T N` / `-p N` compresses on libzstd's workers into one
/// ordinary frame that `zstd -d` reads; `-T0` is one per core.
#[test]
fn zstd_on_several_threads_is_one_frame_zstd_reads() {
    // Several MiB, so that libzstd cuts it into more than one job.
    let data: Vec<u8> = (0..6_000_000u32)
        .flat_map(|i| format!("{} ", i % 7919).into_bytes())
        .take(24 << 20)
        .collect();
    for args in [
        &["zstd", "-T2"][..],
        &["zstd", "-p", "3"],
        &["zstd", "-T0", "-19"],
    ] {
        let o = run_with_stdin(weir().args(args), &data);
        assert!(o.status.success(), "{args:?}: {}", stderr(&o));
        let back = run_with_stdin(Command::new("zstd").arg("-dc"), &o.stdout);
        assert!(back.status.success(), "{args:?}");
        assert_eq!(back.stdout, data, "{args:?}");
        let back = run_with_stdin(weir().arg("unzstd"), &o.stdout);
        assert_eq!(back.stdout, data, "{args:?}");
    }
}
