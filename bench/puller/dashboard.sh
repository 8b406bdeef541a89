#!/usr/bin/env bash
# Does the dashboard cost the drain anything? Drains COUNT canned messages from sqs-standin
# (bench/sqs-standin; spread over SENSORS sensor instances, so the page's snapshot is a
# fleet-sized one) with `puller --dashboard`, ROUNDS times with no viewer and ROUNDS times
# with VIEWERS viewers polling /api/fleet once a second as the page does, alternating, and
# prints the median (and range) of the drain rate and of the puller's own CPU per message for
# each, their ratios, what the viewers got (requests, failures, snapshot size), and the CPU
# the puller's dashboard threads used: the viewers' cost to the puller measured directly,
# which the run-to-run noise of a shared 2-core box does not blur the way it blurs the
# drain rate (the viewers' load generator shares the same cores).
#
#   bench/puller/dashboard.sh
#   COUNT=300000 SENSORS=10000 VIEWERS=100 ROUNDS=3 bench/puller/dashboard.sh
set -euo pipefail
. "$(dirname "$0")/../lib/results.sh"
bench_record puller-dashboard "COUNT SENSORS VIEWERS CONCURRENCY ROUNDS" "$@"
. "$(dirname "$0")/../lib/proc.sh"
COUNT=${COUNT:-300000}
SENSORS=${SENSORS:-10000}
VIEWERS=${VIEWERS:-100}
ROUNDS=${ROUNDS:-3}
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

# median FILE COLUMN, median_range FILE COLUMN ("median (min-max)"): of a column of numbers.
median() {
    sort -n -k"$2" "$1" | awk -v c="$2" '{ v[NR] = $c } END { print v[int((NR + 1) / 2)] }'
}
median_range() {
    sort -n -k"$2" "$1" | awk -v c="$2" '{ v[NR] = $c } END {
        printf "%s (%s-%s)", v[int((NR + 1) / 2)], v[1], v[NR] }'
}

echo "== puller --dashboard, $COUNT messages from $SENSORS sensors; $ROUNDS rounds of: no viewer, then $VIEWERS viewers polling /api/fleet once a second"
: >"$TMP/without"; : >"$TMP/with"; DASH_CPU=0; PULLER_CPU=0
for round in $(seq "$ROUNDS"); do
    read -r rate n cpu < <(drain 0)
    echo "round $round, no viewer: $n messages at $rate msg/s, puller CPU $cpu µs per message"
    echo "$rate $cpu" >>"$TMP/without"
    OUT=$(drain "$VIEWERS")
    echo "$OUT" | head -n -1 | sed "s/^/round $round, /"
    read -r rate n cpu < <(echo "$OUT" | tail -n 1)
    echo "round $round, $VIEWERS viewers: $n messages at $rate msg/s, puller CPU $cpu µs per message"
    echo "$rate $cpu" >>"$TMP/with"
    dash=$(echo "$OUT" | sed -n 's/^dashboard threads CPU: \([0-9.]*\) s$/\1/p')
    DASH_CPU=$(awk -v a="$DASH_CPU" -v b="${dash:-0}" 'BEGIN { print a + b }')
    PULLER_CPU=$(awk -v a="$PULLER_CPU" -v c="$cpu" -v m="$n" 'BEGIN { print a + c * m / 1e6 }')
done
echo "no viewer:        drain $(median_range "$TMP/without" 1) msg/s, puller CPU $(median_range "$TMP/without" 2) µs per message"
echo "$VIEWERS viewers:      drain $(median_range "$TMP/with" 1) msg/s, puller CPU $(median_range "$TMP/with" 2) µs per message"
awk -v v="$VIEWERS" -v d="$DASH_CPU" -v p="$PULLER_CPU" \
    -v r0="$(median "$TMP/without" 1)" -v r1="$(median "$TMP/with" 1)" \
    -v c0="$(median "$TMP/without" 2)" -v c1="$(median "$TMP/with" 2)" 'BEGIN {
    printf "with %d viewers / without (medians): drain rate %.2f, puller CPU per message %.2f\n", v, r1 / r0, c1 / c0
    printf "dashboard threads (serving the %d viewers, rendering the snapshot): %.2f s CPU of the puller'"'"'s %.2f s in the viewer runs = %.1f %%\n", v, d, p, (p > 0 ? 100 * d / p : 0) }'
