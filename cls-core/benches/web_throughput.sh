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
# Requests per second depend on whatever else the two cores run. The report also gives the
# server's CPU time per request (from /proc/PID/schedstat, the time its one thread spent
# on a CPU, over the requests wrk completed): preemption does not inflate it, so on a
# busy machine it is the steadier measure of what the layer costs a served request.
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
declare -A addr pid_of
for mode in $MODES; do
    taskset -c "$SERVER_CPU" "$server" "$mode" 127.0.0.1:0 >"$work/$mode.out" 2>&1 &
    pids+=("$!")
    pid_of[$mode]=$!
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

# The ns the server of a mode has spent on a CPU so far (a current-thread runtime: the
# main thread does all the work).
cpu_ns() {
    awk '{print $1}' "/proc/${pid_of[$1]}/schedstat"
}

# One wrk run against a mode: "requests/s server-CPU-ns-per-request".
load() {
    local mode=$1 seconds=$2 before after
    before=$(cpu_ns "$mode")
    taskset -c "$CLIENT_CPU" wrk -t1 -c"$CONNECTIONS" -d"${seconds}s" "http://${addr[$mode]}/" \
        >"$work/wrk.out"
    after=$(cpu_ns "$mode")
    awk -v cpu=$((after - before)) '
        / requests in / {requests = $1}
        /^Requests\/sec:/ {rps = $2}
        END {printf "%s %.0f\n", rps, cpu / requests}' "$work/wrk.out"
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
        read -r rps cpu < <(load "$mode" "$DURATION")
        echo "$round $mode $rps $cpu" >>"$work/results"
        line+=" $mode ${rps} rps ${cpu} ns;"
    done
    echo "$line"
done

echo "==> medians of $ROUNDS rounds; spread = (max - min) / median; paired = median of the" \
    "per-round ratios to ${MODES%% *}"
python3 - "$work/results" "${modes[0]}" <<'EOF'
import statistics
import sys
from collections import defaultdict

path, base = sys.argv[1], sys.argv[2]
runs = defaultdict(dict)
for line in open(path):
    rnd, mode, rps, cpu = line.split()
    runs[mode][int(rnd)] = (float(rps), float(cpu))


def summary(mode, field):
    by_round = {r: v[field] for r, v in runs[mode].items()}
    base_runs = {r: v[field] for r, v in runs[base].items()}
    values = list(by_round.values())
    med = statistics.median(values)
    spread = (max(values) - min(values)) / med
    ratio = statistics.median(by_round[r] / base_runs[r] for r in by_round if r in base_runs)
    return med, spread, ratio


print(f"  {'mode':<12} {'rps':>9} {'spread':>7} {'paired':>7}"
      f"   {'server CPU ns/req':>17} {'spread':>7} {'paired':>7} {base + '/mode':>10}")
for mode in runs:
    rps, rps_spread, rps_ratio = summary(mode, 0)
    cpu, cpu_spread, cpu_ratio = summary(mode, 1)
    print(f"  {mode:<12} {rps:>9.0f} {rps_spread:>6.0%} {rps_ratio:>7.1%}"
          f"   {cpu:>17.0f} {cpu_spread:>6.0%} {cpu_ratio:>7.1%} {1 / cpu_ratio:>10.1%}")
print(f"  (`{base}/mode` of server CPU per request: the throughput ratio of a server that had"
      " its core to itself)")
EOF
