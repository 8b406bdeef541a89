#!/usr/bin/env bash
# Time to bring up N edge containers: provisioner in batches (BATCH_SIZE, default 10),
# provisioner all at once (--parallel, default 16), and `docker-compose up --scale` for the same
# containers (same image, limits, labels, one network per region).
#
#   bench/provisioner/run.sh              # N = 100 and 300
#   bench/provisioner/run.sh 50 200       # other sizes
#
# Edge containers run the `standin` image (idles until SIGTERM), so the numbers measure docker
# orchestration, not the runner's start-up. The core services are started first and not timed.
# Each run uses its own project and is torn down afterwards (not timed). Needs the standin
# image (`provisioner images --only standin`, done here) and docker-compose.
set -euo pipefail
. "$(dirname "$0")/../lib/results.sh"
bench_record provisioner "BATCH_SIZE PARALLEL" "$@"
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
SIZES=("$@")
[ ${#SIZES[@]} -gt 0 ] || SIZES=(100 300)
BATCH=${BATCH_SIZE:-10}
PARALLEL=${PARALLEL:-16}
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

cargo build --quiet --release -p provisioner
PROV="$ROOT/target/release/provisioner"
"$PROV" images --only standin >/dev/null 2>&1

cat > "$WORK/profile.json" <<'JSON'
{"base": "standin",
 "edge":   {"image": "edge-sensors/standin:local", "command": ["serve", "--role", "edge"]},
 "proxy":  {"image": "edge-sensors/standin:local", "command": ["serve"], "ports": [],
            "health": {"exec": ["/standin", "health"]}},
 "puller": {"image": "edge-sensors/standin:local", "command": ["serve"]}}
JSON

now() { date +%s.%N; }
elapsed() { echo "$2 - $1" | bc; }
split3() { local n=$1; echo "$(( (n + 2) / 3 )) $(( (n + 1) / 3 )) $(( n / 3 ))"; }
ports() { python3 -c 'import socket
for _ in range(3):
    s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1], end=" "); s.close()' | tr ' ' ',' | sed 's/,$//'; }

prov_run() { # mode n
  local mode=$1 n=$2 project="bench-prov-$1-$2-$$"
  read -r us eu as <<<"$(split3 "$n")"
  local common=(--project "$project" --profile "$WORK/profile.json" --proxy-ports "$(ports)")
  "$PROV" up "${common[@]}" --replicas 0 >/dev/null 2>"$WORK/err" \
    || { echo "core up failed for $project:" >&2; tail -5 "$WORK/err" >&2; return 1; }
  local flags=(--batch "$BATCH")
  [ "$mode" = all-at-once ] && flags=(--all-at-once --parallel "$PARALLEL")
  local t0 t1; t0=$(now)
  "$PROV" up "${common[@]}" --us "$us" --eu "$eu" --as "$as" "${flags[@]}" >/dev/null 2>"$WORK/err" \
    || { cat "$WORK/err" >&2; "$PROV" down "${common[@]}" >/dev/null 2>&1; return 1; }
  t1=$(now)
  local running; running=$(docker ps -q --filter "label=edge-sensors.project=$project" --filter label=type=edge | wc -l)
  printf '%-28s %5d edges  %6.1f s  (%d running)\n' "provisioner $mode" "$n" "$(elapsed "$t0" "$t1")" "$running"
  "$PROV" down "${common[@]}" >/dev/null 2>"$WORK/err" \
    || { echo "down failed for $project:" >&2; tail -5 "$WORK/err" >&2; }
}

compose_run() { # n
  local n=$1 project="bench-compose-$1-$$"
  read -r us eu as <<<"$(split3 "$n")"
  {
    echo "version: '2.4'"
    echo "services:"
    for r in us eu as; do
      cat <<YAML
  edge-$r:
    image: edge-sensors/standin:local
    command: ["serve", "--role", "edge"]
    labels: {region: "$r", type: edge}
    environment: {REGION: "$r"}
    cpus: 0.03
    mem_limit: 200m
    ulimits: {nofile: {soft: 4096, hard: 4096}}
    extra_hosts: ["host.docker.internal:host-gateway"]
    volumes: ["$ROOT/target/modules:/app/modules"]
    networks: [$r]
YAML
    done
    echo "networks: {us: {}, eu: {}, as: {}}"
  } > "$WORK/compose.yaml"
  local t0 t1; t0=$(now)
  docker-compose -p "$project" -f "$WORK/compose.yaml" up -d \
    --scale edge-us="$us" --scale edge-eu="$eu" --scale edge-as="$as" >/dev/null 2>"$WORK/err" \
    || { tail -5 "$WORK/err" >&2; }
  t1=$(now)
  local running; running=$(docker ps -q --filter "label=com.docker.compose.project=$project" | wc -l)
  printf '%-28s %5d edges  %6.1f s  (%d running)\n' "docker-compose --scale" "$n" "$(elapsed "$t0" "$t1")" "$running"
  docker-compose -p "$project" -f "$WORK/compose.yaml" down -v >/dev/null 2>"$WORK/err" \
    || { echo "compose down failed for $project:" >&2; tail -5 "$WORK/err" >&2; }
}

echo "# $(date -u +%FT%TZ), $(nproc) cores, docker $(docker version --format '{{.Server.Version}}'), batch $BATCH, parallel $PARALLEL"
for n in "${SIZES[@]}"; do
  prov_run batch "$n" || true
  prov_run all-at-once "$n" || true
  compose_run "$n" || true
done
