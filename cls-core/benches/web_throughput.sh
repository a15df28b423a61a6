#!/usr/bin/env bash
# Loopback throughput of an axum hello route, bare and under `ClsLayer` (and, on request,
# under tower-http's request-id pair): the issue's "layer/bare >= 95%" check.
#
# The server (`examples/web_bench_server.rs`, a current-thread runtime) and the load
# generator (wrk, one thread) are pinned to separate cores with taskset. The modes take
# turns, one wrk run each per round, the order alternating every round, so that the noise
# of a shared machine lands on all of them alike; the report gives each mode's median and
# the median of the per-round ratios to `bare`.
#
# Not part of CI: it needs wrk (`apt-get install wrk`) and two idle cores to mean much.
#
# Usage: cls-core/benches/web_throughput.sh
# Environment (defaults in brackets): ROUNDS [7], DURATION seconds per run [5],
# CONNECTIONS [32], MODES ["bare layer"; add "tower-http" for the peer], SERVER_CPU [0],
# CLIENT_CPU [1].
set -euo pipefail

ROUNDS=${ROUNDS:-7}
DURATION=${DURATION:-5}
CONNECTIONS=${CONNECTIONS:-32}
MODES=${MODES:-"bare layer"}
SERVER_CPU=${SERVER_CPU:-0}
CLIENT_CPU=${CLIENT_CPU:-1}

cd "$(dirname "$0")/../.."
for tool in wrk taskset python3; do
    if ! command -v "$tool" >/dev/null; then
        echo "web_throughput.sh: \`$tool\` is missing (apt-get install wrk util-linux python3)" >&2
        exit 1
    fi
done

echo "==> building the server (release)"
cargo build --release --quiet -p cls-core --features axum --example web_bench_server
target_dir=$(cargo metadata --format-version 1 --no-deps |
    sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')
server="$target_dir/release/examples/web_bench_server"

work=$(mktemp -d)
pids=()
cleanup() {
    for pid in "${pids[@]}"; do
        kill "$pid" 2>/dev/null || true
    done
    for pid in "${pids[@]}"; do
        wait "$pid" 2>/dev/null || true
    done
    rm -rf "$work"
}
trap cleanup EXIT

# One server per mode, all on the server core; only the one under load does any work.
declare -A addr
for mode in $MODES; do
    taskset -c "$SERVER_CPU" "$server" "$mode" 127.0.0.1:0 >"$work/$mode.out" 2>&1 &
    pids+=("$!")
    for _ in $(seq 100); do
        grep -q '^listening on' "$work/$mode.out" && break
        sleep 0.1
    done
    line=$(grep '^listening on' "$work/$mode.out") || {
        echo "the $mode server did not start:" >&2
        cat "$work/$mode.out" >&2
        exit 1
    }
    addr[$mode]=$(echo "$line" | awk '{print $3}')
    echo "    $mode: ${addr[$mode]}"
done

# Requests per second of one wrk run against a mode.
load() {
    local mode=$1 seconds=$2
    taskset -c "$CLIENT_CPU" wrk -t1 -c"$CONNECTIONS" -d"${seconds}s" "http://${addr[$mode]}/" |
        awk '/^Requests\/sec:/ {print $2}'
}

echo "==> warming up"
for mode in $MODES; do
    load "$mode" 2 >/dev/null
done

echo "==> $ROUNDS rounds of ${DURATION}s per mode, $CONNECTIONS connections," \
    "server on cpu $SERVER_CPU, wrk on cpu $CLIENT_CPU"
read -r -a modes <<<"$MODES"
for round in $(seq "$ROUNDS"); do
    order=("${modes[@]}")
    if ((round % 2 == 0)); then
        # Reverse the order every other round: neither mode always goes first.
        order=()
        for ((i = ${#modes[@]} - 1; i >= 0; i--)); do
            order+=("${modes[i]}")
        done
    fi
    line="    round $round:"
    for mode in "${order[@]}"; do
        rps=$(load "$mode" "$DURATION")
        echo "$round $mode $rps" >>"$work/results"
        line+=" $mode $rps"
    done
    echo "$line"
done

echo "==> requests per second (median of $ROUNDS rounds; spread = (max - min) / median)"
python3 - "$work/results" "${modes[0]}" <<'EOF'
import statistics
import sys
from collections import defaultdict

path, base = sys.argv[1], sys.argv[2]
runs = defaultdict(dict)
for line in open(path):
    rnd, mode, rps = line.split()
    runs[mode][int(rnd)] = float(rps)
base_runs = runs[base]
print(f"  {'mode':<12} {'median rps':>11} {'spread':>7} {'vs ' + base + ' (paired)':>22}")
for mode, by_round in runs.items():
    values = list(by_round.values())
    med = statistics.median(values)
    spread = (max(values) - min(values)) / med
    ratios = [by_round[r] / base_runs[r] for r in by_round if r in base_runs]
    ratio = statistics.median(ratios)
    print(f"  {mode:<12} {med:>11.0f} {spread:>6.0%} {ratio:>21.1%}")
EOF
