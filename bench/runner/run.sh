#!/usr/bin/env bash
# Runner load benchmark: N simulated sensors (default 10,000), each POSTing one message per
# second to a local sink, in one edge-node process. Reports the runner's CPU and RSS and the
# delivered message rate. Run by hand (numbers are noisy on a shared machine).
#
#   bench/runner/run.sh                         # 10,000 nodes, 30 s measured after 10 s warm-up
#   NODES=2000 DURATION=20 bench/runner/run.sh
#   MODULE=target/modules/publisher.wasm bench/runner/run.sh   # the real sensor module
#   EXTRA="--http-threads 16 --threads 2" bench/runner/run.sh   # extra edge-node flags
#
# Without MODULE it uses a hand-encoded guest (POST {"sequence":N}, sleep 1 s via poll_oneoff).
set -euo pipefail
. "$(dirname "$0")/../lib/results.sh"
bench_record "runner-${NODES:-10000}${MODULE:+-module}" "NODES DURATION WARMUP INTERVAL_MS MODULE EXTRA" "$@"
NODES=${NODES:-10000}
DURATION=${DURATION:-30}
WARMUP=${WARMUP:-10}
INTERVAL_MS=${INTERVAL_MS:-1000}
cd "$(git rev-parse --show-toplevel)"

cargo build --release -q -p edge-node --bins
TMP=$(mktemp -d)
SINK_PID=""; NODE_PID=""
cleanup() {
    [ -n "$NODE_PID" ] && kill -TERM "$NODE_PID" 2>/dev/null || true
    [ -n "$SINK_PID" ] && kill "$SINK_PID" 2>/dev/null || true
    wait 2>/dev/null || true
    rm -rf "$TMP"
}
trap cleanup EXIT

target/release/edge-bench-sink >"$TMP/sink.out" 2>"$TMP/sink.err" &
SINK_PID=$!
for _ in $(seq 50); do grep -q listening "$TMP/sink.out" && break; sleep 0.1; done
ADDR=$(awk '/listening/ {print $2}' "$TMP/sink.out")
[ -n "$ADDR" ] || { echo "sink did not start" >&2; exit 1; }

if [ -n "${MODULE:-}" ]; then
    GUEST=$MODULE
    PARAMS=(--proxy="http://$ADDR" --region=us --interval="$(awk "BEGIN {print $INTERVAL_MS/1000}")" --max-messages=0 --submission-time=1)
else
    GUEST=$TMP/guest.wasm
    EDGE_BENCH_GUEST=$GUEST EDGE_BENCH_URL="http://$ADDR/send" EDGE_BENCH_INTERVAL_MS=$INTERVAL_MS \
        cargo test -q -p edge-node --test runner_bench_guest -- --ignored >/dev/null
    PARAMS=()
fi

ulimit -n 65536 2>/dev/null || true
START=$(date +%s.%N)
# shellcheck disable=SC2086 # EXTRA is a list of flags
target/release/edge-node simulate "$GUEST" --nodes "$NODES" --region us --quiet ${EXTRA:-} \
    --stats-file "$TMP/stats.json" -- "${PARAMS[@]}" >"$TMP/node.out" 2>"$TMP/node.err" &
NODE_PID=$!
for _ in $(seq 600); do grep -q ready "$TMP/node.out" && break; sleep 0.1; done
grep -q ready "$TMP/node.out" || { echo "edge-node did not get ready:" >&2; tail "$TMP/node.err" >&2; exit 1; }
READY=$(date +%s.%N)
sleep "$WARMUP"

ticks() { awk '{print $14 + $15}' "/proc/$NODE_PID/stat"; }
acked() { python3 -c 'import json,sys; print(sum(n["acked"] for n in json.load(open(sys.argv[1]))["nodes"]))' "$TMP/stats.json"; }
HZ=$(getconf CLK_TCK)
T0=$(date +%s.%N); C0=$(ticks); A0=$(acked)
sleep "$DURATION"
T1=$(date +%s.%N); C1=$(ticks); A1=$(acked)
RSS=$(awk '/VmRSS/ {print $2}' "/proc/$NODE_PID/status")
HWM=$(awk '/VmHWM/ {print $2}' "/proc/$NODE_PID/status")
THREADS=$(awk '/Threads/ {print $2}' "/proc/$NODE_PID/status")

awk -v n="$NODES" -v start="$START" -v ready="$READY" -v t0="$T0" -v t1="$T1" -v c0="$C0" -v c1="$C1" \
    -v hz="$HZ" -v iv="$INTERVAL_MS" -v a0="$A0" -v a1="$A1" -v rss="$RSS" -v hwm="$HWM" -v th="$THREADS" -v guest="$GUEST" 'BEGIN {
    dt = t1 - t0
    printf "nodes:              %d (%s)\n", n, guest
    printf "start-up:           %.1f s until all nodes instantiated\n", ready - start
    printf "messages acked:     %.0f /s (target %d /s)\n", (a1 - a0) / dt, n * 1000 / iv
    printf "runner CPU:         %.0f %% of one core (%.1f ms CPU per message)\n", 100 * (c1 - c0) / hz / dt, 1000 * (c1 - c0) / hz / ((a1 - a0) > 0 ? (a1 - a0) : 1)
    printf "runner RSS:         %.0f MiB now, %.0f MiB peak (%.1f KiB per node)\n", rss / 1024, hwm / 1024, rss / n
    printf "runner threads:     %d\n", th
}'
