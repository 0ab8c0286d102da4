//! `weir xz|unxz|bzip2|bunzip2|lz4|unlz4` and `weir unlzma` as a user runs
//! them: round trips with the system's `xz`, `bzip2` and `lz4` both ways,
//! gzip's habits (`-d`, `-N`, `-c`, `-t`, `-o`), concatenated files, exit
//! codes and atomic output.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

/// (encoding command, decoding command, system tool).
const FORMATS: [(&str, &str, &str); 3] = [
    ("xz", "unxz", "xz"),
    ("bzip2", "bunzip2", "bzip2"),
    ("lz4", "unlz4", "lz4"),
];

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
fn weir_and_the_system_tools_read_each_other() {
    let data = sample(2_000_000);
    for (enc, dec, tool) in FORMATS {
        // weir's output, at the default and the top level, read by the tool.
        for level in [None, Some("-9")] {
            let mut cmd = weir();
            cmd.arg(enc).args(level).arg("-c");
            let o = run_with_stdin(&mut cmd, &data);
            assert!(o.status.success(), "weir {enc}: {}", stderr(&o));
            let back = run_with_stdin(Command::new(tool).arg("-dc"), &o.stdout);
            assert!(back.status.success(), "{tool} -d: {}", stderr(&back));
            assert!(back.stdout == data, "{tool} -d of weir {enc} {level:?}");
        }
        // The tool's output read by weir, as `weir DEC` and `weir ENC -d`.
        let theirs = run_with_stdin(Command::new(tool).arg("-c"), &data).stdout;
        for args in [vec![dec], vec![enc, "-d"], vec![enc, "-dc"]] {
            let o = run_with_stdin(weir().args(&args), &theirs);
            assert!(o.status.success(), "weir {args:?}: {}", stderr(&o));
            assert!(o.stdout == data, "weir {args:?}");
        }
    }
}

#[test]
fn unlz4_checks_content_checksums_on_one_thread_or_two() {
    // Two frames of the system tool's (with content checksums, its
    // default) and one without, back to back.
    let (a, b, c) = (sample(1_500_000), sample(10), sample(700_000));
    let mut packed = run_with_stdin(Command::new("lz4").arg("-c"), &a).stdout;
    packed.extend(run_with_stdin(Command::new("lz4").arg("-c"), &b).stdout);
    packed.extend(run_with_stdin(Command::new("lz4").args(["-c", "--no-frame-crc"]), &c).stdout);
    let all = [a.clone(), b, c].concat();
    // The first frame's checksum: the 4 bytes before the second frame.
    let first = run_with_stdin(Command::new("lz4").arg("-c"), &a)
        .stdout
        .len();
    let mut bad = packed.clone();
    bad[first - 3] ^= 0x40;
    for threads in ["1", "2", "0"] {
        let o = run_with_stdin(weir().args(["unlz4", "-p", threads]), &packed);
        assert!(o.status.success(), "-p {threads}: {}", stderr(&o));
        assert!(o.stdout == all, "-p {threads}: wrong output");
        let o = run_with_stdin(weir().args(["unlz4", "-p", threads]), &bad);
        assert_eq!(o.status.code(), Some(1), "-p {threads}: {}", stderr(&o));
        let msg = stderr(&o);
        assert!(
            msg.contains("content checksum mismatch")
                && msg.contains(&format!("byte offset {}", first - 4)),
            "-p {threads}: {msg}"
        );
    }
    let o = run_with_stdin(weir().args(["bunzip2", "-p", "2"]), b"");
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("bunzip2: --threads is not supported here: gunzip and unlz4"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn xz_extreme_is_read_by_xz_on_one_thread_or_two() {
    let data = sample(1_500_000);
    let plain = run_with_stdin(weir().args(["xz", "-1", "-c"]), &data).stdout;
    for args in [
        vec!["xz", "-1e"],
        vec!["xz", "-e", "-1", "-T", "2"],
        vec!["xz", "--extreme", "-l", "1"],
    ] {
        let o = run_with_stdin(weir().args(&args).arg("-c"), &data);
        assert!(o.status.success(), "{args:?}: {}", stderr(&o));
        assert!(o.stdout != plain, "{args:?}: the same bytes as without -e");
        let back = run_with_stdin(Command::new("xz").arg("-dc"), &o.stdout);
        assert!(
            back.status.success() && back.stdout == data,
            "{args:?}: xz -d"
        );
    }
}

/// `xz --robot -l`'s block count of an xz file.
fn xz_blocks(file: &Path) -> u64 {
    let o = Command::new("xz")
        .args(["--robot", "-l"])
        .arg(file)
        .output()
        .unwrap();
    assert!(o.status.success(), "xz -l: {}", stderr(&o));
    let list = String::from_utf8_lossy(&o.stdout).into_owned();
    let totals = list.lines().find(|l| l.starts_with("totals")).unwrap();
    // totals, streams, blocks, ...
    totals.split('\t').nth(2).unwrap().parse().unwrap()
}

#[test]
fn xz_on_several_threads_writes_blocks_any_xz_reads() {
    // At level 0 liblzma's threaded encoder cuts 1 MiB blocks: 4.5 MiB is
    // five blocks, compressed on two threads (`-p 2`, and `-T 2` as xz
    // spells it) or on one per core (`-p 0`).
    let dir = tempfile::tempdir().unwrap();
    let data = sample(4_500_000);
    let input = dir.path().join("in.log");
    std::fs::write(&input, &data).unwrap();
    for (i, threads) in [["-p", "2"], ["-T", "2"], ["-p", "0"], ["-p", "1"]]
        .iter()
        .enumerate()
    {
        let out = dir.path().join(format!("out{i}.xz"));
        let o = weir()
            .args(["xz", "-l", "0"])
            .args(threads)
            .arg("-o")
            .arg(&out)
            .arg(&input)
            .output()
            .unwrap();
        assert!(o.status.success(), "{threads:?}: {}", stderr(&o));
        let back = Command::new("xz").arg("-dc").arg(&out).output().unwrap();
        assert!(back.status.success(), "xz -d: {}", stderr(&back));
        assert!(back.stdout == data, "{threads:?}: xz -d gave other bytes");
        let o = weir().args(["unxz", "-c"]).arg(&out).output().unwrap();
        assert!(o.stdout == data, "{threads:?}: weir unxz: {}", stderr(&o));
        // One thread writes one block, as `xz` does; more write 1 MiB ones
        // (with -p 0 on a one-core machine, one block too).
        let blocks = xz_blocks(&out);
        let several = threads[1] == "2"
            || (threads[1] == "0" && std::thread::available_parallelism().unwrap().get() > 1);
        assert_eq!(blocks, if several { 5 } else { 1 }, "{threads:?}");
    }
}

#[test]
fn files_in_and_out_and_concatenated_input() {
    let dir = tempfile::tempdir().unwrap();
    let a = sample(300_000);
    let b = sample(1000);
    let input = dir.path().join("in.log");
    std::fs::write(&input, &a).unwrap();
    for (enc, dec, tool) in FORMATS {
        let packed = dir.path().join(format!("in.log.{enc}"));
        let o = weir()
            .args([enc, "-1"])
            .arg(&input)
            .arg("-o")
            .arg(&packed)
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", stderr(&o));
        let t = Command::new(tool).arg("-t").arg(&packed).output().unwrap();
        assert!(t.status.success(), "{tool} -t: {}", stderr(&t));
        // weir's file, then the tool's, back to back: one output.
        let mut both = std::fs::read(&packed).unwrap();
        both.extend(run_with_stdin(Command::new(tool).arg("-c"), &b).stdout);
        let cat = dir.path().join(format!("cat.{enc}"));
        std::fs::write(&cat, &both).unwrap();
        let out = dir.path().join(format!("out.{enc}.log"));
        let o = weir()
            .arg(dec)
            .arg(&cat)
            .arg("-o")
            .arg(&out)
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", stderr(&o));
        assert!(std::fs::read(&out).unwrap() == [a.clone(), b.clone()].concat());
        // `-t` tests: the exit status says whether the file is intact.
        let o = weir().args([enc, "-t"]).arg(&cat).output().unwrap();
        assert!(o.status.success(), "{enc} -t: {}", stderr(&o));
    }
}

#[test]
fn corrupt_and_truncated_input_are_exit_1_with_one_line_and_no_output_file() {
    let dir = tempfile::tempdir().unwrap();
    let data = sample(400_000);
    for (_, dec, tool) in FORMATS {
        let good = run_with_stdin(Command::new(tool).arg("-c"), &data).stdout;
        let mut bad = good.clone();
        let mid = bad.len() / 2;
        bad[mid] ^= 0x55;
        let truncated = good[..good.len() - 3].to_vec();
        for (what, input) in [("corrupt", bad), ("truncated", truncated)] {
            let path = dir.path().join(format!("{what}.{tool}"));
            std::fs::write(&path, &input).unwrap();
            let out = dir.path().join("out.log");
            let o = weir()
                .arg(dec)
                .arg(&path)
                .arg("-o")
                .arg(&out)
                .output()
                .unwrap();
            assert_eq!(o.status.code(), Some(1), "{dec} {what}");
            let err = stderr(&o);
            assert_eq!(err.lines().count(), 1, "{err}");
            assert!(err.starts_with(&format!("weir: {dec}: ")), "{err}");
            assert!(err.contains("offset"), "{err}");
            assert!(!out.exists(), "{dec} {what}: a partial output was left");
            std::fs::remove_file(&path).unwrap();
        }
    }
    assert!(
        files_in(dir.path()).is_empty(),
        "{:?}",
        files_in(dir.path())
    );
}

#[test]
fn usage_errors_and_limits() {
    for (args, says) in [
        (vec!["xz", "-l", "10"], "level 10 is out of range (0-9)"),
        (vec!["bzip2", "-l", "0"], "level 0 is out of range (1-9)"),
        (vec!["lz4", "-l", "13"], "level 13 is out of range (1-12)"),
        (
            vec!["bzip2", "-p", "2"],
            "--threads is only for gzip, zstd and xz",
        ),
        (
            vec!["lz4", "-T", "2"],
            "--threads is only for gzip, zstd and xz",
        ),
        (vec!["gzip", "-9e"], "--extreme (-e) is only for xz"),
        (vec!["lz4", "--extreme"], "--extreme (-e) is only for xz"),
    ] {
        let o = weir()
            .args(&args)
            .arg("-f")
            .stdin(Stdio::null())
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", stderr(&o));
        assert!(stderr(&o).contains(says), "{args:?}: {}", stderr(&o));
    }
    // A bomb stops at --max-output, with at most that much written.
    let zeros = vec![0u8; 32 << 20];
    for (_, dec, tool) in FORMATS {
        let bomb = run_with_stdin(Command::new(tool).arg("-c"), &zeros).stdout;
        let o = run_with_stdin(weir().args([dec, "--max-output", "1M"]), &bomb);
        assert_eq!(o.status.code(), Some(1), "{dec}");
        assert!(stderr(&o).contains("limit"), "{}", stderr(&o));
        assert!(o.stdout.len() <= 1 << 20, "{dec}: {}", o.stdout.len());
    }
}

#[test]
fn unlzma_reads_what_xz_format_lzma_writes() {
    let data = sample(500_000);
    let lzma = run_with_stdin(Command::new("xz").args(["--format=lzma", "-c"]), &data).stdout;
    let o = run_with_stdin(weir().arg("unlzma"), &lzma);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(o.stdout == data);
    // An xz file is not a .lzma file.
    let xz = run_with_stdin(Command::new("xz").arg("-c"), &data).stdout;
    let o = run_with_stdin(weir().arg("unlzma"), &xz);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).starts_with("weir: unlzma: "), "{}", stderr(&o));
}

/// What xz's and zstd's users type when decompressing: `-T N` on the
/// decoder (`xz -dT0`; `tar -I 'xz -T0'` extracts with `xz -T0 -d`) is
/// taken, and unxz and unzstd decode on one thread; a cluster with a letter
/// weir does not know keeps the rest for clap, which names that letter;
/// `-tc` tests (as `xz -tc` and `gzip -tc` do).
#[test]
fn decoders_take_xz_and_zstd_thread_flags_and_clusters_split() {
    let data = sample(400_000);
    let xz = run_with_stdin(Command::new("xz").args(["-T2", "-c"]), &data).stdout;
    let zst = run_with_stdin(Command::new("zstd").args(["-T2", "-c"]), &data).stdout;
    for (args, input) in [
        (&["xz", "-T0", "-d"][..], &xz),
        (&["xz", "-dT0"], &xz),
        (&["xz", "-dcT2"], &xz),
        (&["unxz", "-T2"], &xz),
        (&["unxz", "-p", "0"], &xz),
        (&["zstd", "-T0", "-d"], &zst),
        (&["zstd", "-dT2"], &zst),
    ] {
        let o = run_with_stdin(weir().args(args), input);
        assert!(o.status.success(), "{args:?}: {}", stderr(&o));
        assert!(o.stdout == data, "{args:?}: wrong output");
    }
    // Compressing too: `-6T2` is level 6 on two threads.
    let o = run_with_stdin(weir().args(["xz", "-6T2"]), &data);
    assert!(o.status.success(), "{}", stderr(&o));
    let back = run_with_stdin(Command::new("xz").arg("-dc"), &o.stdout);
    assert!(back.stdout == data);
    // `-9q`: the unknown flag is `-q`, not `-9`.
    let o = run_with_stdin(weir().args(["xz", "-9q"]), &data);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("'-q'") && !stderr(&o).contains("'-9'"),
        "{}",
        stderr(&o)
    );
    // Threads stay a usage error where no thread flag is the tool's own.
    for dec in ["bunzip2", "unlzma", "unbrotli"] {
        let o = run_with_stdin(weir().args([dec, "-T2"]), b"");
        assert_eq!(o.status.code(), Some(2), "{dec}: {}", stderr(&o));
        assert!(
            stderr(&o).contains("--threads is not supported here"),
            "{}",
            stderr(&o)
        );
    }
    // `-tc` and `-t -c`: a test, nothing written.
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("a.xz");
    std::fs::write(&good, &xz).unwrap();
    let bad = dir.path().join("b.xz");
    std::fs::write(&bad, &xz[..xz.len() - 7]).unwrap();
    for args in [
        &["xz", "-tc"][..],
        &["unxz", "-t", "-c"],
        &["xz", "-c", "-t"],
    ] {
        let o = weir().args(args).arg(&good).output().unwrap();
        assert!(o.status.success(), "{args:?}: {}", stderr(&o));
        assert!(o.stdout.is_empty(), "{args:?} wrote to standard output");
        let o = weir().args(args).arg(&bad).output().unwrap();
        assert_eq!(o.status.code(), Some(1), "{args:?}: {}", stderr(&o));
        assert!(stderr(&o).contains("truncated"), "{args:?}: {}", stderr(&o));
    }
}

/// `weir --help` names every format it has commands for.
#[test]
fn the_help_names_every_format() {
    let o = weir().arg("--help").output().unwrap();
    assert!(o.status.success());
    let help = String::from_utf8_lossy(&o.stdout);
    let first = help.lines().next().unwrap();
    for name in ["gzip", "zstd", "brotli", "xz", "bzip2", "lz4"] {
        assert!(first.contains(name), "{name} missing from: {first}");
    }
}
