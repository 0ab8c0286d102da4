#!/usr/bin/env python3
"""Red-team / load scenarios for `weir serve`, side by side with nginx.

Loopback (127.0.0.1) only. Every scenario starts its own servers on free
ports, bounds every load in count and time, and stops what it started.
Python 3 standard library only, plus curl and nginx (installed with apt-get
when missing, as benches/net/compare.sh does; run as root for that).

Scenarios (--scenarios, comma-separated; default all):
  a  N slow clients (--clients, default 1000) reading a 64 MiB file at
     --rate (default 20 KB/s) for --secs: peak server RSS (VmHWM).
  b  1 GiB to `curl -o /dev/null`, --runs times each, alternating: wall time.
  c  CPU fairness: --gzip-clients (default 100) clients pulling gzip of a
     compressible file at --gzip-rate each, while a 6-byte identity request
     is repeated --probes times: its latency and status.
  d  slowloris: --loris (default 600) connections dripping header bytes,
     while a normal client repeats a small request: its latency and status.

Quick run (about a minute here):
  python3 benches/net/attack.py --quick
Full run (the figures in docs/benchmarks.md, "Under attack"):
  python3 benches/net/attack.py
Options: --weir PATH (default target/release/weir), --weir-args '...' (more
options for weir serve), --corpus FILE (the 1 GiB file for b; generated
when missing), --only weir|nginx; see --help for the sizes.
"""
import argparse
import os
import random
import resource
import selectors
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

PROCS = []  # every process started, stopped in stop_all()


def log(*a):
    print(*a, flush=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def stop(p):
    if p.poll() is None:
        p.send_signal(signal.SIGTERM)
        try:
            p.wait(5)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait(5)


def stop_all():
    while PROCS:
        stop(PROCS.pop())


def status_kib(pid, field):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def children(pid):
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            return [int(x) for x in f.read().split()]
    except OSError:
        return []


def cpu_secs(pid):
    """utime + stime of pid and its children's threads (seconds)."""
    total = 0.0
    tick = os.sysconf("SC_CLK_TCK")
    for p in [pid] + children(pid):
        try:
            with open(f"/proc/{p}/stat") as f:
                parts = f.read().rsplit(")", 1)[1].split()
            total += (int(parts[11]) + int(parts[12])) / tick
        except OSError:
            pass
    return total


def wait_port(port, proc, secs=10):
    end = time.monotonic() + secs
    while time.monotonic() < end:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listens on {port}")


class Server:
    """A running server: its process, port, and the pid whose memory is
    measured (nginx: the worker)."""

    def __init__(self, kind, root, args, work, defaults=False):
        """defaults: each server's own connection limit (weir 512, nginx's
        built-in worker_connections 512) instead of room for every client."""
        self.kind = kind
        self.port = free_port()
        conns = 512 if defaults else args.max_conn
        if kind == "weir":
            limit = [] if defaults else ["--max-connections", str(args.max_conn)]
            cmd = [args.weir, "serve", root, "--addr", f"127.0.0.1:{self.port}"] + limit + args.weir_args.split()
            self.proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL,
                                         stderr=subprocess.DEVNULL)
        else:
            conf = os.path.join(work, f"nginx-{self.port}.conf")
            with open(conf, "w") as f:
                f.write(f"""worker_processes {args.nginx_workers};
worker_rlimit_nofile {conns * 2 + 64};
daemon off;
pid {work}/nginx-{self.port}.pid;
error_log {work}/nginx-{self.port}.err;
events {{ worker_connections {conns}; }}
http {{
    access_log off;
    sendfile on;
    types {{ text/plain txt log; application/octet-stream bin; }}
    gzip on;
    gzip_comp_level 6;
    gzip_min_length 256;
    gzip_types text/plain;
    client_body_temp_path {work}/nginx-tmp;
    proxy_temp_path {work}/nginx-tmp;
    fastcgi_temp_path {work}/nginx-tmp;
    uwsgi_temp_path {work}/nginx-tmp;
    scgi_temp_path {work}/nginx-tmp;
    server {{ listen 127.0.0.1:{self.port} backlog=4096; root {root}; }}
}}
""")
            self.proc = subprocess.Popen(["nginx", "-c", conf], stdout=subprocess.DEVNULL,
                                         stderr=subprocess.DEVNULL)
        PROCS.append(self.proc)
        wait_port(self.port, self.proc)
        self.mem_pid = self.proc.pid
        if kind == "nginx":
            end = time.monotonic() + 5
            while not children(self.proc.pid) and time.monotonic() < end:
                time.sleep(0.05)
            kids = children(self.proc.pid)
            self.mem_pid = kids[0] if kids else self.proc.pid

    def rss(self):
        return status_kib(self.mem_pid, "VmRSS")

    def hwm(self):
        return status_kib(self.mem_pid, "VmHWM")

    def close(self):
        stop(self.proc)
        if self.proc in PROCS:
            PROCS.remove(self.proc)


def request(path, gzip=False, close=False):
    head = f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
    if gzip:
        head += "Accept-Encoding: gzip\r\n"
    if close:
        head += "Connection: close\r\n"
    return (head + "\r\n").encode()


def open_clients(port, n, req, rcvbuf, sel):
    """n non-blocking connections sending req; connected in batches so that
    no listen backlog overflows."""
    socks = []
    for i in range(n):
        s = socket.socket()
        if rcvbuf:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        s.settimeout(5)
        try:
            s.connect(("127.0.0.1", port))
            s.sendall(req)
        except OSError:
            s.close()
            continue
        s.setblocking(False)
        socks.append(s)
        if sel is not None:
            sel.register(s, selectors.EVENT_READ, len(socks) - 1)
        if i % 100 == 99:
            time.sleep(0.05)
    return socks


def paced_read(socks, rate, secs, done=None):
    """Reads every socket at about `rate` bytes/s for `secs` (or until the
    event `done` is set); returns the bytes each received and whether each
    answer began with 200."""
    got = [0] * len(socks)
    head = [b""] * len(socks)
    tick = 0.05
    budget = max(1, int(rate * tick))
    end = time.monotonic() + secs
    next_tick = time.monotonic()
    while time.monotonic() < end and not (done is not None and done.is_set()):
        for i, s in enumerate(socks):
            if s is None:
                continue
            try:
                data = s.recv(budget)
            except (BlockingIOError, InterruptedError):
                continue
            except OSError:
                socks[i] = None
                continue
            if not data:
                socks[i] = None
                continue
            got[i] += len(data)
            if len(head[i]) < 12:
                head[i] += data[:12]
        next_tick += tick
        time.sleep(max(0.0, next_tick - time.monotonic()))
    ok = [h.startswith(b"HTTP/1.1 200") for h in head]
    return got, ok


def probe_loop(port, count, first, every, timeout, out, done, deadline=None):
    """In a thread: `count` small requests (none started after `deadline`),
    the first after `first` s, then one every `every` s; results appended
    to `out`; sets `done`."""
    time.sleep(first)
    for _ in range(count):
        if deadline is not None and time.monotonic() >= deadline:
            break
        t0 = time.monotonic()
        out.append(small_get(port, timeout=timeout))
        time.sleep(max(0.0, every - (time.monotonic() - t0)))
    done.set()


def small_get(port, path="/small.txt", timeout=20.0):
    """One request on a new connection: (seconds, status or error)."""
    t0 = time.monotonic()
    try:
        with socket.create_connection(("127.0.0.1", port), timeout) as s:
            s.settimeout(max(0.1, timeout - (time.monotonic() - t0)))
            s.sendall(request(path, close=True))
            data = b""
            while True:
                b = s.recv(65536)
                if not b:
                    break
                data += b
        status = data.split(b" ", 2)[1].decode() if data.startswith(b"HTTP/") else "no answer"
    except socket.timeout:
        status = "timeout"
    except OSError as e:
        status = type(e).__name__
    return time.monotonic() - t0, status


# Scenarios -----------------------------------------------------------------

def scenario_a(args, root, work):
    log(f"\n== a: {args.clients} clients reading /big64.bin at {args.rate} B/s "
        f"(SO_RCVBUF {args.rcvbuf}) for {args.secs} s")
    for kind in args.kinds:
        srv = Server(kind, root, args, work)
        try:
            base = srv.rss()
            socks = open_clients(srv.port, args.clients, request("/big64.bin"), args.rcvbuf, None)
            got, ok = paced_read(socks, args.rate, args.secs)
            hwm = srv.hwm()
            for s in socks:
                if s is not None:
                    s.close()
        finally:
            srv.close()
        n = len(got)
        per = (hwm - base) / max(1, n)
        log(f"{kind:6} connected {n}, answered 200: {sum(ok)}, mean rate "
            f"{sum(got) / max(1, n) / args.secs / 1000:.1f} KB/s; RSS before {base / 1024:.1f} MiB, "
            f"peak (VmHWM) {hwm / 1024:.1f} MiB, {per:.0f} KiB per connection")


def scenario_b(args, root, work):
    log(f"\n== b: curl -o /dev/null of 1 GiB, {args.runs} runs each (alternating), after a warm-up")
    servers = {k: Server(k, root, args, work) for k in args.kinds}
    times = {k: [] for k in args.kinds}
    try:
        for r in range(args.runs + 1):
            for k, srv in servers.items():
                t0 = time.monotonic()
                subprocess.run(["curl", "-sS", "-o", "/dev/null", "--max-time", "60",
                                f"http://127.0.0.1:{srv.port}/big1g.bin"], check=True)
                if r > 0:
                    times[k].append(time.monotonic() - t0)
        hwm = {k: s.hwm() for k, s in servers.items()}
    finally:
        for s in servers.values():
            s.close()
    for k in args.kinds:
        m = statistics.median(times[k])
        log(f"{k:6} median {m:.3f} s ({1073741824 / m / 1e6:.0f} MB/s), runs "
            f"{' '.join(f'{t:.3f}' for t in times[k])}; server VmHWM {hwm[k] / 1024:.1f} MiB")
    if len(args.kinds) == 2:
        ratios = [w / n for w, n in zip(times["weir"], times["nginx"])]
        log(f"weir / nginx wall: median of pairs {statistics.median(ratios):.3f}")


def scenario_c(args, root, work):
    log(f"\n== c: {args.gzip_clients} clients pulling gzip of /log.txt at {args.gzip_rate} B/s each; "
        f"{args.probes} requests of /small.txt (6 B, identity)")
    for kind in args.kinds:
        srv = Server(kind, root, args, work)
        try:
            socks = open_clients(srv.port, args.gzip_clients, request("/log.txt", gzip=True), 0, None)
            probes = []
            done = threading.Event()
            cpu0 = cpu_secs(srv.proc.pid)
            t0 = time.monotonic()
            th = threading.Thread(target=probe_loop, daemon=True, args=(
                srv.port, args.probes, 2.0, 0.5, args.probe_timeout, probes, done))
            th.start()
            got, ok = paced_read(socks, args.gzip_rate, 2.0 + args.probes * (args.probe_timeout + 0.5), done)
            th.join()
            secs = time.monotonic() - t0
            cpu = (cpu_secs(srv.proc.pid) - cpu0) / (time.monotonic() - t0)
            for s in socks:
                if s is not None:
                    s.close()
        finally:
            srv.close()
        lat = [p[0] for p in probes]
        statuses = sorted(set(p[1] for p in probes))
        log(f"{kind:6} small request: median {statistics.median(lat) * 1000:.0f} ms, max "
            f"{max(lat) * 1000:.0f} ms, statuses {statuses}; gzip clients answered 200: {sum(ok)}/"
            f"{len(got)}, {sum(got) / secs / 1e6:.1f} MB/s compressed in all; server CPU "
            f"{cpu:.2f} cores")
        log(f"       latencies ms: {' '.join(f'{t * 1000:.0f}' for t in lat)}")


def scenario_d(args, root, work):
    log(f"\n== d: slowloris, {args.loris} connections dripping a header byte every "
        f"{args.drip} s for {args.loris_secs} s; a normal request of /small.txt every second; "
        f"connection limits: {'each server' + chr(39) + 's default (512)' if args.loris_defaults else args.max_conn}")
    for kind in args.kinds:
        srv = Server(kind, root, args, work, defaults=args.loris_defaults)
        try:
            socks = []
            for i in range(args.loris):
                try:
                    s = socket.create_connection(("127.0.0.1", srv.port), 5)
                    s.sendall(b"GET /small.txt HTTP/1.1\r\nHost: 127.0.0.1\r\n")
                    s.setblocking(False)
                    socks.append(s)
                except OSError:
                    pass
                if i % 100 == 99:
                    time.sleep(0.05)
            opened = len(socks)
            probes = []
            done = threading.Event()
            end = time.monotonic() + args.loris_secs
            th = threading.Thread(target=probe_loop, daemon=True, args=(
                srv.port, int(args.loris_secs), 1.0, 1.0, args.probe_timeout, probes, done, end))
            th.start()
            drip = b"X-Slow-Loris: " + b"a" * 4096
            pos = 0
            while time.monotonic() < end:
                for i, s in enumerate(socks):
                    if s is None:
                        continue
                    try:
                        s.send(drip[pos % len(drip):pos % len(drip) + 1])
                    except OSError:
                        socks[i] = None
                pos += 1
                time.sleep(min(args.drip, max(0.0, end - time.monotonic())))
            th.join()
            alive = 0
            for s in socks:
                if s is None:
                    continue
                try:
                    if s.recv(1) == b"":
                        continue  # closed by the server
                    alive += 1
                except BlockingIOError:
                    alive += 1
                except OSError:
                    pass
                s.close()
        finally:
            srv.close()
        lat = [p[0] for p in probes]
        statuses = {}
        for p in probes:
            statuses[p[1]] = statuses.get(p[1], 0) + 1
        log(f"{kind:6} opened {opened}, still open at the end {alive}; normal requests "
            f"{len(probes)}: statuses {statuses}, latency median {statistics.median(lat) * 1000:.0f} ms, "
            f"max {max(lat) * 1000:.0f} ms")


# Files ----------------------------------------------------------------------

def write_pattern(path, size, block):
    with open(path, "wb") as f:
        left = size
        while left > 0:
            f.write(block[:left])
            left -= len(block)


def log_text(size, seed=7):
    rnd = random.Random(seed)
    paths = ["/", "/index.html", "/api/items", "/static/app.js", "/img/logo.png", "/login"]
    lines = []
    n = 0
    total = 0
    while total < size:
        line = (f"2026-11-30T12:{n // 3600 % 60:02d}:{n // 60 % 60:02d}Z INFO "
                f"{rnd.choice(paths)} status={rnd.choice((200, 200, 200, 304, 404))} "
                f"bytes={rnd.randrange(100, 5000)} id={n:08d}\n")
        lines.append(line)
        total += len(line)
        n += 1
    return "".join(lines).encode()[:size]


def prepare(args, work):
    root = os.path.join(work, "www")
    os.makedirs(root)
    os.chmod(work, 0o755)
    os.chmod(root, 0o755)
    with open(os.path.join(root, "small.txt"), "wb") as f:
        f.write(b"hello\n")
    rnd = os.urandom(4 << 20)
    if "a" in args.scenarios:
        write_pattern(os.path.join(root, "big64.bin"), 64 << 20, rnd)
    if "b" in args.scenarios:
        dst = os.path.join(root, "big1g.bin")
        if args.corpus and os.path.exists(args.corpus):
            try:
                os.link(args.corpus, dst)
            except OSError:
                shutil.copyfile(args.corpus, dst)
        else:
            write_pattern(dst, 1 << 30, rnd)
    if "c" in args.scenarios:
        write_pattern(os.path.join(root, "log.txt"), args.log_size, log_text(8 << 20))
    for dirpath, _, names in os.walk(root):
        for n in names:
            os.chmod(os.path.join(dirpath, n), 0o644)
    return root


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--weir", default="target/release/weir")
    ap.add_argument("--weir-args", default="", help="more options for weir serve, e.g. '--min-block 256KiB'")
    ap.add_argument("--only", choices=["weir", "nginx"])
    ap.add_argument("--nginx-workers", type=int, default=1, help="as in benches/net/compare.sh")
    ap.add_argument("--scenarios", default="a,b,c,d")
    ap.add_argument("--clients", type=int, default=1000)
    ap.add_argument("--rate", type=int, default=20_000, help="bytes/s per slow client (a)")
    ap.add_argument("--rcvbuf", type=int, default=16384, help="SO_RCVBUF of the slow clients (a)")
    ap.add_argument("--secs", type=float, default=20.0, help="how long the slow clients read (a)")
    ap.add_argument("--corpus", default="", help="a 1 GiB file for (b); generated when missing")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--gzip-clients", type=int, default=100)
    ap.add_argument("--gzip-rate", type=int, default=200_000, help="compressed bytes/s per client (c)")
    ap.add_argument("--log-size", type=int, default=256 << 20, help="size of the compressible file (c)")
    ap.add_argument("--probes", type=int, default=10)
    ap.add_argument("--probe-timeout", type=float, default=20.0)
    ap.add_argument("--loris", type=int, default=600)
    ap.add_argument("--drip", type=float, default=1.0, help="seconds between header bytes (d)")
    ap.add_argument("--loris-secs", type=float, default=40.0)
    ap.add_argument("--loris-room", dest="loris_defaults", action="store_false",
                    help="(d) raise both servers' connection limits above --loris "
                         "(default: each server's own limit, 512)")
    ap.add_argument("--quick", action="store_true",
                    help="smaller and shorter: 200 clients for 8 s, 3 runs, 30 gzip clients and "
                         "5 probes of at most 5 s, 10 s of slowloris")
    args = ap.parse_args()
    if args.quick:
        args.clients, args.secs, args.runs = 200, 8.0, 3
        args.gzip_clients, args.log_size, args.loris_secs = 30, 64 << 20, 10.0
        args.probes, args.probe_timeout = 5, 5.0
    args.scenarios = [s.strip() for s in args.scenarios.split(",") if s.strip()]
    args.kinds = [args.only] if args.only else ["weir", "nginx"]
    args.max_conn = max(args.clients, args.gzip_clients, args.loris, 512) + 64
    if not os.access(args.weir, os.X_OK):
        sys.exit(f"no weir binary at {args.weir}: cargo build --release -p weir-cli")
    if "nginx" in args.kinds and not shutil.which("nginx"):
        subprocess.run("apt-get update -qq && apt-get install -y -qq nginx >/dev/null", shell=True, check=True)
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = min(hard, 4 * args.max_conn + 256)
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    work = tempfile.mkdtemp(prefix="weir-attack-")
    try:
        os.makedirs(os.path.join(work, "nginx-tmp"))
        root = prepare(args, work)
        out = subprocess.run([args.weir, "--version"], capture_output=True, text=True).stdout.strip()
        log(f"weir: {args.weir} ({out}); nginx: "
            f"{subprocess.run(['nginx', '-v'], capture_output=True, text=True).stderr.strip()}")
        for sc in args.scenarios:
            {"a": scenario_a, "b": scenario_b, "c": scenario_c, "d": scenario_d}[sc](args, root, work)
    finally:
        stop_all()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
