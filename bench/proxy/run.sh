#!/usr/bin/env bash
# Proxy benchmark. Builds release, starts a backend and the proxy, drives POST /send with wrk,
# and reports messages/s, p50/p99 latency, CPU time per message and peak RSS of the proxy.
#
#   bench/proxy/run.sh [sink|tls|localstack|idle|original]   (default: sink)
#
#   sink        the fast SQS stand-in (sqs-standin, AWS JSON 1.0): measures the proxy itself
#   tls         the same load as sink through HTTPS (--tls-cert/--tls-key; a throw-away
#               certificate made with openssl; wrk keeps connections alive, so this measures
#               encryption more than handshakes)
#   localstack  real forwarding into a fresh LocalStack queue (start it: scripts/localstack start)
#   idle        10,000 idle keep-alive connections held open while wrk runs against the sink
#   original    the FastAPI + boto3 original under gunicorn (4 uvicorn workers) on LocalStack;
#               (its pinned venv is installed when missing: bench/proxy/original/setup.sh)
#   compare     localstack, then original, with the same load; prints the throughput ratio
#
# Knobs (env): DURATION=10s CONNECTIONS=64 THREADS=2 WORKERS=2 IDLE=10000
#              FORWARDERS (batches in flight: 4 against the sink, 8 against LocalStack)
set -euo pipefail
. "$(dirname "$0")/../lib/results.sh"
bench_record "proxy-${1:-sink}" "DURATION CONNECTIONS THREADS WORKERS FORWARDERS IDLE LOCALSTACK_ENDPOINT" "$@"
. "$(dirname "$0")/../lib/proc.sh"
cd "$(dirname "$0")/../.."
MODE=${1:-sink}
if [ "$MODE" = compare ]; then
  # Captured, then printed: `tee /dev/stderr` would truncate a redirected log file.
  ours_out=$("$0" localstack); echo "$ours_out"
  theirs_out=$("$0" original); echo "$theirs_out"
  ours=$(echo "$ours_out" | sed -n 's/.*SUMMARY.*(\([0-9]*\) msg\/s.*/\1/p')
  theirs=$(echo "$theirs_out" | sed -n 's/.*SUMMARY.*(\([0-9]*\) msg\/s.*/\1/p')
  awk -v a="$ours" -v b="$theirs" 'BEGIN { printf "RATIO proxy/original = %.1fx (%d vs %d msg/s into LocalStack)\n", (b ? a / b : 0), a, b }'
  exit 0
fi
DURATION=${DURATION:-10s}
CONNECTIONS=${CONNECTIONS:-64}
THREADS=${THREADS:-2}
WORKERS=${WORKERS:-2}
FORWARDERS_SET=${FORWARDERS:-}
IDLE=${IDLE:-10000}
LOCALSTACK=${LOCALSTACK_ENDPOINT:-http://127.0.0.1:4566}

# curl options for the proxy (tls mode adds the test CA).
CURL_TLS=()
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; [ -z "${TLS_DIR:-}" ] || rm -rf "$TLS_DIR"; }
trap cleanup EXIT

echo "note: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg) (other work on the box makes numbers noisy)"
cargo build --release -q -p proxy -p sqs-standin
BIN=target/release
export AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_REGION=us-east-1

create_queue() {
  curl -sf -X POST "$LOCALSTACK/" \
    -d "Action=CreateQueue&QueueName=bench-proxy-$$-$RANDOM&Version=2012-11-05" |
    sed -n 's:.*<QueueUrl>\(.*\)</QueueUrl>.*:\1:p'
}
queue_count() {
  curl -sf -X POST "$LOCALSTACK/" \
    -d "Action=GetQueueAttributes&QueueUrl=$1&AttributeName.1=ApproximateNumberOfMessages&Version=2012-11-05" |
    sed -n 's:.*<Value>\([0-9]*\)</Value>.*:\1:p'
}

PORT=$(free_port)
TARGET_PID=
SCHEME=http
TLS_FLAGS=()
if [ "$MODE" = tls ]; then
  # A throw-away CA and a certificate for 127.0.0.1, as proxy/tests/ingress.rs makes them.
  TLS_DIR=$(mktemp -d)
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 \
    -keyout "$TLS_DIR/ca.key" -out "$TLS_DIR/ca.pem" -subj "/CN=bench CA" \
    -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign 2>/dev/null
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj /CN=127.0.0.1 \
    -keyout "$TLS_DIR/server.key" -out "$TLS_DIR/server.csr" 2>/dev/null
  printf 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n' > "$TLS_DIR/ext.cnf"
  openssl x509 -req -in "$TLS_DIR/server.csr" -CA "$TLS_DIR/ca.pem" -CAkey "$TLS_DIR/ca.key" \
    -CAcreateserial -days 1 -extfile "$TLS_DIR/ext.cnf" -out "$TLS_DIR/server.pem" 2>/dev/null
  SCHEME=https
  TLS_FLAGS=(--tls-cert "$TLS_DIR/server.pem" --tls-key "$TLS_DIR/server.key")
  CURL_TLS=(--cacert "$TLS_DIR/ca.pem")
fi
case "$MODE" in
  sink|idle|tls)
    SINK_PORT=$(free_port)
    "$BIN/sqs-standin" --port "$SINK_PORT" >/dev/null & PIDS+=($!)
    wait_http "http://127.0.0.1:$SINK_PORT/count"
    "$BIN/proxy" --bind 127.0.0.1 --port "$PORT" --workers "$WORKERS" --forwarders "${FORWARDERS_SET:-4}" \
      --queue-url "http://127.0.0.1:$SINK_PORT/000000000000/bench" \
      --endpoint-url "http://127.0.0.1:$SINK_PORT" "${TLS_FLAGS[@]}" & PIDS+=($!)
    TARGET_PID=$!
    forwarded() { curl -sf "http://127.0.0.1:$SINK_PORT/count"; }
    ;;
  localstack)
    QUEUE=$(create_queue)
    "$BIN/proxy" --bind 127.0.0.1 --port "$PORT" --workers "$WORKERS" --forwarders "${FORWARDERS_SET:-8}" \
      --queue-url "$QUEUE" --endpoint-url "$LOCALSTACK" & PIDS+=($!)
    TARGET_PID=$!
    forwarded() { queue_count "$QUEUE"; }
    ;;
  original)
    VENV=.tools/bench-proxy-venv
    bench/proxy/original/setup.sh
    QUEUE=$(create_queue)
    SQS_QUEUE_URL="$QUEUE" AWS_ENDPOINT_URL="$LOCALSTACK" \
      "$VENV/bin/gunicorn" -w 4 -k uvicorn.workers.UvicornWorker -b "127.0.0.1:$PORT" \
      --chdir bench/proxy/original app:app 2>/dev/null & PIDS+=($!)
    TARGET_PID=$!
    forwarded() { queue_count "$QUEUE"; }
    ;;
  *) echo "unknown mode $MODE" >&2; exit 2 ;;
esac
wait_http "$SCHEME://127.0.0.1:$PORT/health" "${CURL_TLS[@]}"

# All processes of the target (gunicorn has a master and workers).
sum_ticks() { tree_ticks "$TARGET_PID"; }

if [ "$MODE" = idle ]; then
  python3 - "$PORT" "$IDLE" <<'PY' & PIDS+=($!)
import resource, socket, sys, time
port, n = int(sys.argv[1]), int(sys.argv[2])
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
conns = []
for i in range(n):
    s = socket.create_connection(("127.0.0.1", port))
    conns.append(s)
print(f"idle: {len(conns)} connections open", flush=True)
time.sleep(3600)
PY
  for _ in $(seq 600); do
    open=$(curl -sf "${CURL_TLS[@]}" "$SCHEME://127.0.0.1:$PORT/metrics" | awk '/^proxy_open_connections/ {print $2}')
    [ "${open:-0}" -ge "$IDLE" ] && break
    sleep 0.1
  done
  echo "idle connections open: $open, proxy RSS $(( $(rss_kib "$TARGET_PID") / 1024 )) MiB"
fi

before_msgs=$(forwarded)
before_ticks=$(sum_ticks)
OUT=$(wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --timeout 10s -s bench/proxy/send.lua "$SCHEME://127.0.0.1:$PORT")
sleep 1 # let the last batches land before counting
after_ticks=$(sum_ticks)
after_msgs=$(forwarded)
echo "$OUT" | grep -E "Requests/sec|Non-2xx|Socket errors" || true
RESULT=$(echo "$OUT" | grep '^RESULT')
msgs=$((after_msgs - before_msgs))
hz=$(getconf CLK_TCK)
hwm=$(tree_hwm_kib "$TARGET_PID")
echo "$RESULT"
if [ "$MODE" != original ]; then
  curl -sf "${CURL_TLS[@]}" "$SCHEME://127.0.0.1:$PORT/metrics" | awk '
    /^proxy_batch_size_sum/ {s=$2} /^proxy_batch_size_count/ {c=$2}
    /^proxy_sqs_retries_total/ {r=$2} /^proxy_sqs_errors_total/ {e=$2}
    END {printf "proxy: %d batches, %.2f messages per batch, %d sqs errors, %d retries\n", c, (c ? s/c : 0), e, r}'
fi
awk -v m="$msgs" -v t=$((after_ticks - before_ticks)) -v hz="$hz" -v hwm="$hwm" -v mode="$MODE" -v d="$DURATION" 'BEGIN {
  printf "SUMMARY mode=%s forwarded=%d (%.0f msg/s over %s) cpu_per_msg_us=%.1f peak_rss_mib=%.1f\n",
    mode, m, m / (d + 0), d, (m > 0 ? t / hz / m * 1e6 : 0), hwm / 1024 }'
