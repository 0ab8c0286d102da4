#!/usr/bin/env bash
# Whole-process network comparisons for docs/benchmarks.md ("Network"):
#   1. `curl -o /dev/null` of a 1 GiB file from `weir serve`, from a Node.js
#      server (pipeline(createReadStream, res)) and from nginx (the ceiling);
#   2. `weir send` into `weir recv`, against plain Tokio (tcp_copy_baseline).
# Each command runs RUNS times (after one warm-up); prints every wall time
# and the median. Needs curl, node and nginx (installed with apt-get when
# missing and run as root). Run from the repository root:
#   bash benches/net/compare.sh [CORPUS] [RUNS]
set -euo pipefail
CORPUS=${1:-/tmp/corpus_1g.log}
RUNS=${2:-5}
DIR=$(mktemp -d)
trap 'kill ${PIDS:-} 2>/dev/null || true; rm -rf "$DIR"' EXIT
PIDS=""

[ -f "$CORPUS" ] || python3 ../shared/anchors/gen_corpus.py "$CORPUS" 1G
if ! command -v nginx >/dev/null; then
    apt-get update -qq && apt-get install -y -qq nginx >/dev/null
fi
cargo build --release -q -p weir-cli -p weir-io --example tcp_copy_baseline
WEIR=target/release/weir
BASE=target/release/examples/tcp_copy_baseline
mkdir -p "$DIR/www"
chmod 755 "$DIR" "$DIR/www"
ln "$CORPUS" "$DIR/www/big.bin" 2>/dev/null || cp "$CORPUS" "$DIR/www/big.bin"

median() { sort -n | awk '{a[NR]=$1} END {m=(NR%2)?a[(NR+1)/2]:(a[NR/2]+a[NR/2+1])/2; print m}'; }
timeit() { # NAME CMD...: warm-up, then RUNS timed runs
    local name=$1; shift
    "$@" >/dev/null 2>&1 || true
    local times=()
    for _ in $(seq "$RUNS"); do
        local t0 t1
        t0=$(date +%s.%N); "$@" >/dev/null 2>&1; t1=$(date +%s.%N)
        times+=("$(echo "$t1 - $t0" | bc)")
    done
    local m; m=$(printf '%s\n' "${times[@]}" | median)
    printf '%-28s median %6.3f s  %7.0f MB/s   runs: %s\n' "$name" "$m" \
        "$(echo "1073741824 / $m / 1000000" | bc -l)" "${times[*]}"
}

# Servers.
$WEIR serve "$DIR/www" --addr 127.0.0.1:18081 2>/dev/null & PIDS="$PIDS $!"
node benches/net/node_serve_file.mjs "$DIR/www" 18082 2>/dev/null & PIDS="$PIDS $!"
cat > "$DIR/nginx.conf" <<CONF
worker_processes 1;
daemon off;
pid $DIR/nginx.pid;
error_log $DIR/nginx.err;
events { worker_connections 64; }
http {
    access_log off;
    sendfile on;
    server { listen 127.0.0.1:18083; root $DIR/www; }
}
CONF
nginx -c "$DIR/nginx.conf" & PIDS="$PIDS $!"
sleep 1

echo "== HTTP: curl -o /dev/null of 1 GiB over loopback"
timeit "weir serve" curl -sS -o /dev/null http://127.0.0.1:18081/big.bin
timeit "node pipeline" curl -sS -o /dev/null http://127.0.0.1:18082/big.bin
timeit "nginx (sendfile)" curl -sS -o /dev/null http://127.0.0.1:18083/big.bin

echo "== TCP: 1 GiB over loopback, sender and receiver processes"
pair() { # RECV_CMD SEND_CMD (the sender retries until the receiver listens)
    sh -c "$1 & until $2 2>/dev/null; do sleep 0.005; done; wait"
}
timeit "weir send -> weir recv" pair "$WEIR recv --listen 127.0.0.1:18090 -o /dev/null" \
    "$WEIR send 127.0.0.1:18090 $CORPUS"
timeit "tokio io::copy pair" pair "$BASE recv 127.0.0.1:18091" "$BASE send 127.0.0.1:18091 $CORPUS"
