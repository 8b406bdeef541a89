#!/usr/bin/env bash
# Puller drain benchmark: fill a LocalStack queue with COUNT sensor messages (default 20,000,
# sent with SendMessageBatch by the puller crate's `filler` example), drain it with
# `puller --exit-when-idle`, and report messages/s; then do the same with a minimal boto3
# equivalent of the original puller (receive 10, delete one at a time) and report the ratio.
# In between it drains COUNT canned messages from sqs-standin (bench/sqs-standin): the
# puller's own ceiling with LocalStack's per-request cost out of the picture.
# Run by hand; numbers are noisy on a shared machine.
#
#   bench/puller/run.sh
#   COUNT=5000 CONCURRENCY=8 bench/puller/run.sh
#   ORIGINAL_COUNT=5000 bench/puller/run.sh     # fewer messages for the slow original
#   SKIP_ORIGINAL=1 bench/puller/run.sh
#   PULLER_ARGS="--wait-seconds 0" bench/puller/run.sh   # extra puller flags
set -euo pipefail
. "$(dirname "$0")/../lib/results.sh"
bench_record puller "COUNT ORIGINAL_COUNT CONCURRENCY SKIP_ORIGINAL PULLER_ARGS LOCALSTACK_ENDPOINT" "$@"
. "$(dirname "$0")/../lib/proc.sh"
COUNT=${COUNT:-20000}
ORIGINAL_COUNT=${ORIGINAL_COUNT:-$COUNT}
CONCURRENCY=${CONCURRENCY:-8}
ENDPOINT=${LOCALSTACK_ENDPOINT:-http://127.0.0.1:4566}
cd "$(git rev-parse --show-toplevel)"
export AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_REGION=us-east-1

scripts/localstack status >/dev/null || { echo "LocalStack is not running: scripts/localstack start" >&2; exit 1; }
cargo build --release -q -p puller -p sqs-standin --bin puller --bin sqs-standin --example filler
TMP=$(mktemp -d)
FAKE_PID=""
trap '[ -n "$FAKE_PID" ] && kill "$FAKE_PID" 2>/dev/null; rm -rf "$TMP"' EXIT

# A fresh queue on LocalStack; prints its URL with the endpoint's host (LocalStack's own
# hostname does not resolve here). LocalStack does not check signatures, so curl suffices.
new_queue() {
    local name="puller-bench-$1-$$-$RANDOM"
    curl -sf -X POST "$ENDPOINT/" -d "Action=CreateQueue&QueueName=$name&Version=2012-11-05" >/dev/null
    echo "$ENDPOINT/000000000000/$name"
}

fill() {
    target/release/examples/filler --queue-url "$1" --endpoint-url "$ENDPOINT" --count "$2"
}

echo "== puller: $COUNT messages, --concurrency $CONCURRENCY"
Q=$(new_queue rust)
fill "$Q" "$COUNT"
target/release/puller --queue-url "$Q" --endpoint-url "$ENDPOINT" --concurrency "$CONCURRENCY" \
    --exit-when-idle 2 --wait-seconds 2 --summary-interval 0 --sink "jsonl:$TMP/out.jsonl" \
    --report-json "$TMP/report.json" ${PULLER_ARGS:-} 2>"$TMP/puller.err" || { cat "$TMP/puller.err" >&2; exit 1; }
read -r MSGS BUSY RATE GAPS DUPS BATCH < <(scripts/localstack python -c '
import json, sys
r = json.load(open(sys.argv[1]))
print(r["messages"], round(r["busy_seconds"], 2), round(r["messages_per_second"]), r["gaps"], r["duplicates"], round(r["received"] / max(r["receive_calls"], 1), 1))
' "$TMP/report.json")
echo "puller: $MSGS messages in ${BUSY}s = $RATE msgs/s (gaps $GAPS, duplicates $DUPS, $BATCH messages per receive)"
[ "$MSGS" -eq "$COUNT" ] || echo "WARNING: expected $COUNT messages" >&2

# The puller's own ceiling: the same drain against sqs-standin's canned messages, so
# LocalStack's per-request cost is out of the picture.
echo "== puller against sqs-standin (ceiling without LocalStack): $COUNT messages"
FAKE_PORT=$(free_port)
target/release/sqs-standin --port "$FAKE_PORT" --prefill "$COUNT" >/dev/null &
FAKE_PID=$!
wait_http "http://127.0.0.1:$FAKE_PORT/stats"
target/release/puller --queue-url "http://127.0.0.1:$FAKE_PORT/000000000000/q" --concurrency "$CONCURRENCY" \
    --exit-when-idle 1 --wait-seconds 1 --summary-interval 0 --sink "jsonl:$TMP/fake.jsonl" \
    ${PULLER_ARGS:-} 2>&1 | grep 'stopped' || true
kill "$FAKE_PID" 2>/dev/null || true
FAKE_PID=""

if [ -n "${SKIP_ORIGINAL:-}" ]; then exit 0; fi
echo "== original (boto3, delete one at a time): $ORIGINAL_COUNT messages"
Q2=$(new_queue boto3)
fill "$Q2" "$ORIGINAL_COUNT"
ORIG_LINE=$(scripts/localstack python bench/puller/original_puller.py "$Q2" "$ENDPOINT" 2)
echo "$ORIG_LINE"
ORIG_RATE=$(echo "$ORIG_LINE" | sed -E 's/.*\(([0-9]+)\/s\).*/\1/')
awk -v a="$RATE" -v b="$ORIG_RATE" 'BEGIN { if (b > 0) printf "ratio: puller / original = %.1fx\n", a / b }'
