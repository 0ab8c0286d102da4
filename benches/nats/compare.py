#!/usr/bin/env python3
"""`weir nats publish` / `weir nats consume` against a plain async-nats
program doing the same work (crates/nats/examples/plain_async_nats.rs),
side by side in one run, against one node or a 3-node cluster.

publish: N lines of 100 bytes (99 + newline) into a fresh stream, one
message per line, a Nats-Msg-Id on each, the same window of unacknowledged
publishes (256). consume: one stream read by a fresh durable consumer per
run, every 1024 messages appended to a file, fsync'd, then acknowledged one
by one, ending after N messages.

Runs alternate A B A B ... after one warm-up each; printed: median wall
time, messages/s and MB/s of payload per command, and the median of the
per-pair ratios (baseline time / weir time: above 1, weir is faster).

Usage (from the repository root):
    cargo build --release -p weir-cli
    cargo build --release -p weir-nats --example plain_async_nats
    WEIR_NATS_SERVER=/path/to/nats-server python3 benches/nats/compare.py [--lines N] [--runs N] [--cluster]
"""
import argparse
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
WEIR = os.path.join(ROOT, "target", "release", "weir")
PLAIN = os.path.join(ROOT, "target", "release", "examples", "plain_async_nats")


def free_ports(n):
    socks = []
    for _ in range(n):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        socks.append(s)
    ports = [s.getsockname()[1] for s in socks]
    for s in socks:
        s.close()
    return ports


def start_servers(binary, work, cluster):
    """Starts one node or three; returns (processes, client URL list)."""
    n = 3 if cluster else 1
    flat = free_ports(3 * n)
    ports = [tuple(flat[3 * i:3 * i + 3]) for i in range(n)]
    procs = []
    for i, (port, http, route) in enumerate(ports):
        conf = os.path.join(work, f"n{i}.conf")
        text = (f"server_name: n{i}\nlisten: 127.0.0.1:{port}\nhttp: 127.0.0.1:{http}\n"
                f"jetstream {{ store_dir: \"{work}/store{i}\" }}\n")
        if cluster:
            routes = ",".join(f"nats-route://127.0.0.1:{p[2]}" for p in ports)
            text += f"cluster {{ name: bench, listen: 127.0.0.1:{route}, routes: [{routes}] }}\n"
        with open(conf, "w") as f:
            f.write(text)
        log = open(os.path.join(work, f"n{i}.log"), "w")
        procs.append(subprocess.Popen([binary, "-c", conf], stdout=log, stderr=log))
    deadline = time.time() + 30
    for (_, http, _) in ports:
        while True:
            try:
                url = f"http://127.0.0.1:{http}/healthz?js-enabled-only=true"
                with urllib.request.urlopen(url, timeout=1) as r:
                    if r.status == 200:
                        break
            except Exception:
                pass
            if time.time() > deadline:
                sys.exit("the servers did not become healthy")
            time.sleep(0.05)
    return procs, ",".join(f"nats://127.0.0.1:{p[0]}" for p in ports)


def run(cmd, retry_for=0.0):
    deadline = time.time() + retry_for
    while True:
        t = time.perf_counter()
        r = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        if r.returncode == 0:
            return time.perf_counter() - t
        if time.time() > deadline:
            sys.exit(f"failed: {' '.join(cmd)}\n{r.stderr.decode()}")
        time.sleep(0.5)


def compare(name, weir_cmd, plain_cmd, runs, messages, payload):
    """weir_cmd / plain_cmd: functions of the run number giving a command."""
    run(weir_cmd(0))
    run(plain_cmd(0))
    wt, pt, ratios = [], [], []
    for i in range(1, runs + 1):
        a = run(weir_cmd(i))
        b = run(plain_cmd(i))
        wt.append(a)
        pt.append(b)
        ratios.append(b / a)
    for label, times in (("weir", wt), ("plain async-nats", pt)):
        m = statistics.median(times)
        print(f"  {name:8} {label:17} {m:7.3f} s  {messages / m / 1e3:8.1f} k msg/s"
              f"  {payload / m / 1e6:7.1f} MB/s")
    print(f"  {name:8} ratio plain/weir (median of pairs): {statistics.median(ratios):.3f}"
          f"  {['%.2f' % r for r in ratios]}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--lines", type=int, default=1_000_000)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--cluster", action="store_true",
                    help="a 3-node cluster, streams with 3 replicas")
    args = ap.parse_args()
    binary = os.environ.get("WEIR_NATS_SERVER") or shutil.which("nats-server")
    if not binary:
        sys.exit("set WEIR_NATS_SERVER to a nats-server binary")
    work = tempfile.mkdtemp(prefix="weir-nats-bench-")
    procs = []
    try:
        procs, url = start_servers(binary, work, args.cluster)
        data = os.path.join(work, "lines.txt")
        with open(data, "w") as f:
            for i in range(args.lines):
                f.write(f"{i:012d} " + "x" * 86 + "\n")
        payload = args.lines * 99
        replicas = "3" if args.cluster else "1"
        version = subprocess.run([binary, "--version"], capture_output=True, text=True).stdout.strip()
        where = "3-node cluster, R3 streams" if args.cluster else "one node"
        print(f"{args.lines} lines of 100 bytes, {args.runs} pairs, {where}, {version}")
        # Every stream created up front (R3 on a cluster; the plain program
        # would create R1 ones), from an empty input; retried while a
        # cluster elects its meta leader.
        empty = os.path.join(work, "empty.txt")
        open(empty, "w").close()
        for i in range(args.runs + 1):
            for kind in ("W", "P"):
                run([WEIR, "nats", "publish", "--server", url, "--stream", f"{kind}{i}",
                     "--subject", f"{kind.lower()}{i}.in", "--replicas", replicas, empty],
                    retry_for=30.0)
        compare(
            "publish",
            lambda i: [WEIR, "nats", "publish", "--server", url, "--stream", f"W{i}",
                       "--subject", f"w{i}.in", "--window", "256", data],
            lambda i: [PLAIN, "publish", url, f"P{i}", f"p{i}.in", data, "256"],
            args.runs, args.lines, payload)
        out = os.path.join(work, "out")
        os.makedirs(out)
        compare(
            "consume",
            lambda i: [WEIR, "nats", "consume", "--server", url, "--stream", "W0",
                       "--consumer", f"cw{i}", "--count", str(args.lines), "--batch", "512",
                       "--commit-every", "1024", "--max-ack-pending", "8192",
                       "-o", os.path.join(out, f"w{i}")],
            lambda i: [PLAIN, "consume", url, "W0", f"cp{i}", os.path.join(out, f"p{i}"),
                       str(args.lines), "512", "1024"],
            args.runs, args.lines, payload)
        sizes = {os.path.getsize(os.path.join(out, f)) for f in os.listdir(out)}
        if sizes != {args.lines * 100}:
            sys.exit(f"outputs differ in size: {sizes}")
    finally:
        for p in procs:
            p.kill()
            p.wait()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
