#!/usr/bin/env bash
# Does the dashboard cost the drain anything? Drains COUNT canned messages from sqs-standin
# (bench/sqs-standin; spread over SENSORS sensor instances, so the page's snapshot is a
# fleet-sized one) with `puller --dashboard`, first with no viewer, then with VIEWERS
# viewers polling /api/fleet once a second as the page does, and prints both drain rates,
# their ratio, the puller's own CPU per message in each run (the viewers' load generator
# shares the same cores, so the drain rate alone mixes its cost in), and what the viewers got
# (requests, failures, snapshot size).
# Run by hand; numbers are noisy on a shared machine.
#
#   bench/puller/dashboard.sh
#   COUNT=300000 SENSORS=10000 VIEWERS=100 bench/puller/dashboard.sh
set -euo pipefail
. "$(dirname "$0")/../lib/results.sh"
bench_record puller-dashboard "COUNT SENSORS VIEWERS CONCURRENCY" "$@"
. "$(dirname "$0")/../lib/proc.sh"
COUNT=${COUNT:-300000}
SENSORS=${SENSORS:-10000}
VIEWERS=${VIEWERS:-100}
CONCURRENCY=${CONCURRENCY:-8}
cd "$(git rev-parse --show-toplevel)"
export AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_REGION=us-east-1
cargo build --release -q -p puller -p sqs-standin
TMP=$(mktemp -d)
PIDS=()
trap 'for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$TMP"' EXIT

# drain VIEWERS: prints the drain rate (messages/s over the busy time).
drain() {
    local viewers=$1 sqs_port port
    sqs_port=$(free_port)
    target/release/sqs-standin --port "$sqs_port" --prefill "$COUNT" --instances "$SENSORS" \
        >/dev/null &
    PIDS+=($!)
    wait_http "http://127.0.0.1:$sqs_port/stats"
    port=$(free_port)
    # cpu_of: runs the puller and writes its CPU seconds (user + system) to a file, so the
    # dashboard's own cost per message is seen apart from the viewers' load generator, which
    # shares the machine's cores.
    python3 bench/lib/cpu_of.py "$TMP/cpu-$viewers" \
        target/release/puller --queue-url "http://127.0.0.1:$sqs_port/000000000000/q" \
        --concurrency "$CONCURRENCY" --exit-when-idle 1 --wait-seconds 1 --summary-interval 0 \
        --sink "jsonl:/dev/null" --dashboard "127.0.0.1:$port" \
        --report-json "$TMP/report-$viewers.json" 2>"$TMP/puller.err" &
    local puller=$!
    PIDS+=($puller)
    if [ "$viewers" -gt 0 ]; then
        python3 bench/puller/dashboard_viewers.py "127.0.0.1:$port" "$viewers" "$puller" \
            >"$TMP/viewers.out" &
        PIDS+=($!)
    fi
    wait "$puller" || { cat "$TMP/puller.err" >&2; exit 1; }
    [ "$viewers" -gt 0 ] && { wait "${PIDS[-1]}" || true; cat "$TMP/viewers.out"; }
    kill "${PIDS[0]}" 2>/dev/null || true
    PIDS=()
    python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); cpu=float(open(sys.argv[2]).read().split()[0]); print(round(r["messages_per_second"]), r["messages"], round(cpu * 1e6 / max(r["messages"], 1), 1))' \
        "$TMP/report-$viewers.json" "$TMP/cpu-$viewers"
}

echo "== puller --dashboard, $COUNT messages from $SENSORS sensors, no viewer"
read -r RATE0 N0 CPU0 < <(drain 0)
echo "drained $N0 messages at $RATE0 msg/s, puller CPU $CPU0 µs per message"
echo "== the same with $VIEWERS viewers polling /api/fleet once a second"
OUT=$(drain "$VIEWERS")
echo "$OUT" | head -n -1
read -r RATE1 N1 CPU1 < <(echo "$OUT" | tail -n 1)
echo "drained $N1 messages at $RATE1 msg/s, puller CPU $CPU1 µs per message"
awk -v a="$RATE1" -v b="$RATE0" -v c="$CPU1" -v d="$CPU0" -v v="$VIEWERS" 'BEGIN {
    if (b > 0) printf "with %d viewers / without: drain rate %.2f, puller CPU per message %.2f\n", v, a / b, c / d }'
