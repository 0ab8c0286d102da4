#!/usr/bin/env python3
"""Whole-process comparisons of the `weir` command against the baselines a
user would otherwise pick (the anchors in ../shared/anchors).

Each comparison runs two commands in turn, A B A B ..., after one warm-up run
of each, timing each run from outside (wall clock) and reading its peak RSS
from /usr/bin/time. It prints, per command, the median wall time and peak
RSS, and the median of the per-pair ratios B/A of wall time, i.e. how many
times faster A (weir) was than B in the same run. Nothing but the Python
standard library, /usr/bin/time, and the programs compared.

Usage (from the repository root, after `cargo build --release -p weir-cli
--examples` and building the anchors' rust-baselines as their README says):

    python3 benches/compare.py [GROUP ...] [--runs N] [--data DIR]

Groups: copy, gzip, gunzip, objects, rss, writeback, inflate, bgzf,
bgzf-speedup, formats, formats-inmem (default: all but inflate, the bgzf
and the formats ones; bgzf-speedup is only the BGZF target: default threads
against -p 1 to /dev/null and to a file, and, with --weir-base, this build
against that one on the BGZF and the ordinary file; bgzf
compares `weir gunzip` of a BGZF file made by
`weir gzip --independent` on every core with `-p 1` and with htslib's `bgzip
-d -@2` (if installed: Debian package tabix), prints the size cost of
`--independent`, and compares `weir gunzip` of an ordinary gzip file with a
baseline build of weir (--weir-base, e.g. main's, built into
target/base: `git worktree add /tmp/base main && CARGO_TARGET_DIR=$PWD/target/base
cargo build --release -p weir-cli --manifest-path /tmp/base/Cargo.toml`), at
256 MiB and 1 GiB; formats times
`weir xz|unxz|bzip2|bunzip2|lz4|unlz4` against the system's xz, bzip2 and
lz4 on 64 MiB, both writing to standard output (here /dev/null);
formats-inmem times examples/codec_inmem.rs's weir modes against the plain
liblzma, bzip2 and lz4 crates on the same files; writeback also needs `cargo build --release -p weir-io --example
file_copy`; inflate compares `weir gunzip` built with the opt-in ISA-L inflate,
`CARGO_TARGET_DIR=target/isal cargo build --release -p weir-cli --features
isal` (or pass --weir-isal PATH), with the default build on zlib-rs). Inputs are made in
DIR (default /tmp/weir-bench) with ../shared/anchors/gen_corpus.py.
"""
import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ANCHORS = os.path.join(os.path.dirname(ROOT), "shared", "anchors")
WEIR = os.path.join(ROOT, "target", "release", "weir")
EXAMPLES = os.path.join(ROOT, "target", "release", "examples")


def timed(cmd):
    """Runs cmd once; returns (wall seconds, peak RSS bytes, exit code, CPU
    seconds: user + system)."""
    with tempfile.NamedTemporaryFile(mode="r") as tf:
        t0 = time.perf_counter()
        p = subprocess.run(["/usr/bin/time", "-o", tf.name, "-f", "%M %U %S"] + cmd,
                           stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                           stderr=subprocess.PIPE)
        wall = time.perf_counter() - t0
        lines = [l for l in open(tf.name).read().splitlines() if l.strip()]
    if p.returncode != 0:
        sys.exit(f"failed ({p.returncode}): {' '.join(cmd)}\n{p.stderr.decode(errors='replace')}")
    rss, user, system = lines[-1].split()
    return wall, int(rss) * 1024, p.returncode, float(user) + float(system)


def pair(label, a, b, runs, volume=None, unit="MB/s"):
    """Times a and b alternately; prints medians and the ratio."""
    timed(a)
    timed(b)
    wa, wb, ra, rb, ratios, ca, cb = [], [], [], [], [], [], []
    for _ in range(runs):
        x, rx, _, cx = timed(a)
        y, ry, _, cy = timed(b)
        wa.append(x), wb.append(y), ra.append(rx), rb.append(ry), ratios.append(y / x)
        ca.append(cx), cb.append(cy)
    ma, mb = statistics.median(wa), statistics.median(wb)

    def rate(w):
        if volume is None:
            return ""
        return f"  {volume / w / 1e6:8.1f} {unit}"

    print(f"\n{label}")
    print(f"  A {ma:8.3f} s{rate(ma)}  peak RSS {statistics.median(ra) / 2**20:7.1f} MiB  "
          f"[{min(wa):.3f} .. {max(wa):.3f}]  {' '.join(a)}")
    print(f"  B {mb:8.3f} s{rate(mb)}  peak RSS {statistics.median(rb) / 2**20:7.1f} MiB  "
          f"[{min(wb):.3f} .. {max(wb):.3f}]  {' '.join(b)}")
    print(f"  A is {statistics.median(ratios):.2f}x B (median of {runs} paired ratios B/A; "
          f"range {min(ratios):.2f} .. {max(ratios):.2f})")
    # CPU time (user + system) is steadier than the wall clock on a loaded
    # machine; a multi-threaded command spends more of it than its wall time.
    mca, mcb = statistics.median(ca), statistics.median(cb)
    print(f"  CPU (user + system), medians: A {mca:.3f} s, B {mcb:.3f} s; "
          f"A uses {mca / mcb if mcb else float('nan'):.2f}x the CPU of B")
    sys.stdout.flush()


def corpus(data, size):
    path = os.path.join(data, f"corpus_{size.lower()}.log")
    if not os.path.exists(path):
        subprocess.run([sys.executable, os.path.join(ANCHORS, "gen_corpus.py"), path, size], check=True)
    return path


def gzipped_corpus(data, size):
    """The corpus of `size`, compressed by `gzip -6` (made once)."""
    src = corpus(data, size)
    gz = src + ".gz"
    if not os.path.exists(gz):
        with open(gz, "wb") as f:
            subprocess.run(["gzip", "-6", "-c", src], stdout=f, check=True)
    return gz


def packed_corpus(data, size, tool, ext):
    """The corpus of `size`, compressed by the system `tool` at its default
    level (made once)."""
    src = corpus(data, size)
    packed = src + ext
    if not os.path.exists(packed):
        with open(packed, "wb") as f:
            subprocess.run([tool, "-c", src], stdout=f, check=True)
    return packed


# (weir encoder, weir decoder, system tool, file extension, codec_inmem's
# baseline prefix, corpus size) for the formats over async-compression's
# codecs: 64 MiB for the slow xz and bzip2, 256 MiB for LZ4.
MORE_FORMATS = [
    ("xz", "unxz", "xz", ".xz", "liblzma", "64M"),
    ("bzip2", "bunzip2", "bzip2", ".bz2", "bzip2", "64M"),
    ("lz4", "unlz4", "lz4", ".lz4", "lz4", "256M"),
]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("groups", nargs="*", default=["copy", "gzip", "gunzip", "objects", "rss", "writeback"])
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--data", default="/tmp/weir-bench")
    ap.add_argument("--weir-isal", default=os.path.join(ROOT, "target", "isal", "release", "weir"),
                    help="a weir binary built with --features isal (gzip decoding on ISA-L)")
    ap.add_argument("--weir-base", default=os.path.join(ROOT, "target", "base", "release", "weir"),
                    help="a weir binary from before a change, for the bgzf group's no-regression pair")
    ap.add_argument("--sizes", default="256M,1G", help="corpus sizes of the bgzf group")
    ap.add_argument("--formats-size", default=None,
                    help="one corpus size for every pair of the formats groups (e.g. 256M; "
                         "default: 64M for xz and bzip2, 256M for LZ4)")
    ap.add_argument("--formats-only", default=None,
                    help="comma-separated weir commands of the formats groups to time "
                         "(e.g. unxz,bzip2,bunzip2,lz4,unlz4; default: all six)")
    ap.add_argument("--baselines", default="/tmp/anchors-data",
                    help="target dirs of the anchors' rust-baselines (target/, target-zlibrs/)")
    args = ap.parse_args()
    os.makedirs(args.data, exist_ok=True)
    r = os.path.join(args.baselines, "target", "release")
    z = os.path.join(args.baselines, "target-zlibrs", "release")
    node = os.path.join(ANCHORS, "node")
    # Each side overwrites its own previous output: replacing a file the
    # other command has just written (its pages still being written back)
    # would charge one side for the other's I/O.
    out = os.path.join(args.data, "out")
    base_out = os.path.join(args.data, "out_b")
    gib = 1 << 30

    if "copy" in args.groups:
        src = corpus(args.data, "1G")
        pair("copy 1 GiB: weir copy vs tokio copy_buf (1 MiB BufReader/BufWriter)",
             [WEIR, "copy", src, "-o", out], [os.path.join(r, "tokio_copy"), src, base_out, "buf1024"],
             args.runs, gib)
        pair("copy 1 GiB: weir copy vs Node stream.pipeline",
             [WEIR, "copy", src, "-o", out], ["node", os.path.join(node, "node_copy.mjs"), src, base_out],
             args.runs, gib)
    if "gzip" in args.groups:
        src = corpus(args.data, "1G")
        pair("gzip -6 1 GiB: weir gzip vs flate2 sync GzEncoder (zlib-rs)",
             [WEIR, "gzip", src, "-o", out + ".gz"], [os.path.join(z, "flate2_gzip"), src, base_out + ".gz"],
             args.runs, gib)
        pair("gzip -6 1 GiB: weir gzip vs Node zlib pipeline",
             [WEIR, "gzip", src, "-o", out + ".gz"], ["node", os.path.join(node, "node_gzip.mjs"), src, base_out + ".gz"],
             args.runs, gib)
    if "gunzip" in args.groups:
        gz = gzipped_corpus(args.data, "1G")
        pair("gunzip 1 GiB: weir gunzip vs flate2 sync GzDecoder (zlib-rs)",
             [WEIR, "gunzip", gz, "-o", out], [os.path.join(z, "flate2_gunzip"), gz, base_out], args.runs, gib)
        pair("gunzip 1 GiB: weir gunzip vs Node zlib pipeline",
             [WEIR, "gunzip", gz, "-o", out], ["node", os.path.join(node, "node_gunzip.mjs"), gz, base_out],
             args.runs, gib)
    if "inflate" in args.groups:
        gz = gzipped_corpus(args.data, "1G")
        pair("gunzip 1 GiB: weir gunzip built with --features isal (ISA-L) vs the default build (zlib-rs)",
             [args.weir_isal, "gunzip", gz, "-o", out], [WEIR, "gunzip", gz, "-o", base_out], args.runs, gib)
    if "objects" in args.groups:
        n = "5000000"
        pair("objects, 5 M items, source -> 2 transforms -> sink: weir vs 3-task tokio mpsc(16)",
             [os.path.join(EXAMPLES, "objects_pipeline"), n],
             [os.path.join(r, "mpsc_objects"), n, "tokio", "multi", "16", "3"], args.runs, 5e6, "M items/s")
        pair("objects, 5 M items: weir vs Node Readable.from -> Transform -> Writable",
             [os.path.join(EXAMPLES, "objects_pipeline"), n],
             ["node", os.path.join(node, "node_objects.mjs"), n], args.runs, 5e6, "M items/s")
        # The same at equal marks: both at the default 16, both at 64.
        pair("objects, 5 M items, buffers of 16 on both sides: weir vs Node",
             [os.path.join(EXAMPLES, "objects_pipeline"), n, "16"],
             ["node", os.path.join(node, "node_objects.mjs"), n], args.runs, 5e6, "M items/s")
        pair("objects, 5 M items, buffers of 64 on both sides: weir vs Node --hwm 64",
             [os.path.join(EXAMPLES, "objects_pipeline"), n, "64"],
             ["node", os.path.join(node, "node_objects.mjs"), n, "--hwm", "64"], args.runs, 5e6, "M items/s")
    if "rss" in args.groups:
        small, big = corpus(args.data, "64M"), corpus(args.data, "1G")
        pair("peak RSS of weir gzip: 64 MiB input (A) vs 1 GiB input (B)",
             [WEIR, "gzip", small, "-o", out + ".gz"], [WEIR, "gzip", big, "-o", out + ".gz"], 3)
    only = set(args.formats_only.split(",")) if args.formats_only else None

    def wanted(cmd):
        return only is None or cmd in only

    if "formats" in args.groups:
        for enc, dec, tool, ext, _, size in MORE_FORMATS:
            size = args.formats_size or size
            src, packed = corpus(args.data, size), packed_corpus(args.data, size, tool, ext)
            volume = os.path.getsize(src)
            # xz 5.4 compresses on one thread by default (xz -T1); 5.6 and
            # later default to -T0: ask for one thread, as weir xz uses.
            threads = ["-T1"] if tool == "xz" else []
            if wanted(enc):
                pair(f"{tool} {size} at the default level: weir {enc} -c vs {tool} {' '.join(threads)} -c",
                     [WEIR, enc, "-c", src], [tool] + threads + ["-c", src], args.runs, volume)
            if tool == "xz" and wanted("xz-T2"):
                # Both on liblzma's threaded encoder, two workers, 24 MiB
                # blocks (so 64 MiB is three blocks on two threads).
                pair(f"xz {size} on two threads: weir xz -p 2 -c vs xz -T2 -c",
                     [WEIR, enc, "-p", "2", "-c", src], [tool, "-T2", "-c", src], args.runs, volume)
            if wanted(dec):
                pair(f"{tool} -d {size}: weir {dec} -c vs {tool} -dc",
                     [WEIR, dec, "-c", packed], [tool, "-dc", packed], args.runs, volume)
    if "formats-inmem" in args.groups:
        inmem = os.path.join(EXAMPLES, "codec_inmem")
        for enc, dec, tool, ext, plain, size in MORE_FORMATS:
            size = args.formats_size or size
            src, packed = corpus(args.data, size), packed_corpus(args.data, size, tool, ext)
            volume = os.path.getsize(src)
            if wanted(enc):
                pair(f"{tool} {size} in memory: weir {enc} transform vs the plain {plain} crate",
                     [inmem, f"weir-{enc}", src], [inmem, f"{plain}-{enc}", src], args.runs, volume)
            if wanted(dec):
                pair(f"{tool} -d {size} in memory: weir {dec} transform vs the plain {plain} crate",
                     [inmem, f"weir-{dec}", packed], [inmem, f"{plain}-{dec}", packed], args.runs, volume)
    if "writeback" in args.groups:
        src = corpus(args.data, "1G")
        copy = os.path.join(EXAMPLES, "file_copy")
        pair("atomic file copy 1 GiB: early writeback every 8 MiB (default) vs off",
             [copy, src, out, "--atomic"], [copy, src, base_out, "--atomic", "--writeback", "0"],
             args.runs, gib)
    if "bgzf" in args.groups:
        bgzf(args, out, base_out)
    if "bgzf-speedup" in args.groups:
        bgzf_speedup(args, out, base_out)


def bgzf_corpus(data, size):
    """The corpus of `size`, as BGZF by `weir gzip --independent` (made once)."""
    src = corpus(data, size)
    path = src + ".bgz"
    if not os.path.exists(path):
        subprocess.run([WEIR, "gzip", "--independent", src, "-o", path], check=True)
    return path


def bgzf(args, out, base_out):
    """Parallel gunzip of BGZF, its ratio cost, and ordinary gunzip unchanged."""
    for size in args.sizes.split(","):
        src = corpus(args.data, size)
        volume = os.path.getsize(src)
        bgz = bgzf_corpus(args.data, size)
        gz = gzipped_corpus(args.data, size)
        one = os.path.join(args.data, f"corpus_{size.lower()}.weir-p1.gz")
        if not os.path.exists(one):
            subprocess.run([WEIR, "gzip", "-p", "1", src, "-o", one], check=True)
        many = os.path.join(args.data, f"corpus_{size.lower()}.weir.gz")
        if not os.path.exists(many):
            subprocess.run([WEIR, "gzip", src, "-o", many], check=True)
        sizes = [(p, os.path.getsize(p)) for p in (one, many, bgz, gz)]
        print(f"\nsizes, {size} corpus ({volume} bytes): " + "; ".join(
            f"{os.path.basename(p)} {n} ({n / volume:.4f})" for p, n in sizes))
        print(f"  --independent costs {os.path.getsize(bgz) / os.path.getsize(many) - 1:+.2%} "
              f"against weir gzip (pipelined, one member), "
              f"{os.path.getsize(bgz) / os.path.getsize(one) - 1:+.2%} against weir gzip -p 1")
        pair(f"gunzip BGZF {size}: weir gunzip (threads = cores) vs weir gunzip -p 1",
             [WEIR, "gunzip", bgz, "-o", out], [WEIR, "gunzip", "-p", "1", bgz, "-o", base_out],
             args.runs, volume)
        pair(f"gunzip BGZF {size} to /dev/null: weir gunzip (threads = cores) vs weir gunzip -p 1",
             [WEIR, "gunzip", bgz, "-o", "/dev/null"], [WEIR, "gunzip", "-p", "1", bgz, "-o", "/dev/null"],
             args.runs, volume)
        if shutil.which("bgzip"):
            pair(f"gunzip BGZF {size}: weir gunzip (threads = cores) vs bgzip -d -@2",
                 [WEIR, "gunzip", bgz, "-o", out],
                 ["sh", "-c", f'exec bgzip -d -@2 -c "$0" > "$1"', bgz, base_out],
                 args.runs, volume)
        if os.path.exists(args.weir_base):
            pair(f"gunzip of an ordinary gzip -6 file {size}: weir gunzip (this build) vs --weir-base",
                 [WEIR, "gunzip", gz, "-o", out], [args.weir_base, "gunzip", gz, "-o", base_out],
                 args.runs, volume)
        else:
            print(f"\n(no {args.weir_base}: the ordinary-gunzip pair against a baseline build is skipped)")


def bgzf_speedup(args, out, base_out):
    """Issue 12's BGZF target alone: `weir gunzip` of the BGZF corpus on
    every core against `-p 1` (to /dev/null and to a file), and, with
    --weir-base, this build against that one on the BGZF file and on an
    ordinary `gzip -6` file (both to /dev/null)."""
    for size in args.sizes.split(","):
        volume = os.path.getsize(corpus(args.data, size))
        bgz = bgzf_corpus(args.data, size)
        pair(f"gunzip BGZF {size} to /dev/null: weir gunzip (threads = cores) vs weir gunzip -p 1",
             [WEIR, "gunzip", bgz, "-o", "/dev/null"], [WEIR, "gunzip", "-p", "1", bgz, "-o", "/dev/null"],
             args.runs, volume)
        pair(f"gunzip BGZF {size} to a file: weir gunzip (threads = cores) vs weir gunzip -p 1",
             [WEIR, "gunzip", bgz, "-o", out], [WEIR, "gunzip", "-p", "1", bgz, "-o", base_out],
             args.runs, volume)
        if os.path.exists(args.weir_base):
            pair(f"gunzip BGZF {size} to /dev/null (threads = cores): this build vs --weir-base",
                 [WEIR, "gunzip", bgz, "-o", "/dev/null"], [args.weir_base, "gunzip", bgz, "-o", "/dev/null"],
                 args.runs, volume)
            gz = gzipped_corpus(args.data, size)
            pair(f"gunzip of an ordinary gzip -6 file {size} to /dev/null: this build vs --weir-base",
                 [WEIR, "gunzip", gz, "-o", "/dev/null"], [args.weir_base, "gunzip", gz, "-o", "/dev/null"],
                 args.runs, volume)


if __name__ == "__main__":
    main()
