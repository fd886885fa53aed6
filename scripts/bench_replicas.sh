#!/usr/bin/env bash
# Replicas benchmark, in the shape users deploy: N gateway processes on one PostgreSQL database
# over TCP (127.0.0.1:5432) sharing one Redis (127.0.0.1:6379), the load spread evenly over them.
# For each N: aggregate throughput (16 tenants, unlimited, 32 in flight) and limit accuracy
# (4 tenants limited to 100/s each, 800 events/s offered for 5 s: admitted vs. the allowance of
# burst + rate × time, for the replicas together); the same with 10 % duplicate deliveries (the
# copies land on other replicas than the originals: each connection is bound to one replica).
# Also one replica without Redis, for what the shared limit costs, and three without Redis, for
# what a limit per replica lets through. Each row ends with the write transactions run again
# after losing to another replica's (gateway_writer_retries_total, all replicas). Needs PostgreSQL (trust auth) and Redis.
#   REPLICAS="1 2 3" EVENTS=20000 scripts/bench_replicas.sh   (GW=… LOAD=… to skip the build)
set -euo pipefail
cd "$(dirname "$0")/.."
EVENTS=${EVENTS:-20000}
PG=${PG:-postgres://postgres@127.0.0.1:5432}
REDIS=${REDIS:-redis://127.0.0.1:6379}
if [ -z "${GW:-}" ]; then
  cargo build -q --release --bin gateway --example loadgen
  GW=target/release/gateway LOAD=target/release/examples/loadgen
fi
LOAD=${LOAD:-target/release/examples/loadgen}
TOKEN=bench-replicas-operator-token-0123456789

start() { # replicas redis(on|off) → BASES, PIDS
  local n=$1 redis=$2 keys dir port
  psql "$PG/postgres" -qc "DROP DATABASE IF EXISTS gateway_bench" -c "CREATE DATABASE gateway_bench"
  redis-cli -u "$REDIS" --scan --pattern 'gateway:rate:*' | xargs -r redis-cli -u "$REDIS" del >/dev/null
  keys=$($GW keys generate --id bench)
  BASES=""; PIDS=""; DIRS=""
  for i in $(seq 1 "$n"); do
    dir=$(mktemp -d); port=$((18600 + RANDOM % 400))
    local env=(GATEWAY_LISTEN=127.0.0.1:$port GATEWAY_DATA_DIR=$dir/data RUST_LOG=warn
      GATEWAY_RECONCILE_INTERVAL=0 DATABASE_URL=$PG/gateway_bench GATEWAY_MASTER_KEYS=$keys
      GATEWAY_ADMIN_TOKEN=$TOKEN GATEWAY_REPLICAS_HINT=$n)
    [ "$redis" = on ] && env+=("GATEWAY_REDIS_URL=$REDIS")
    env "${env[@]}" $GW serve > "$dir/gateway.log" 2>&1 &
    PIDS="$PIDS${PIDS:+,}$!"; BASES="$BASES${BASES:+,}http://127.0.0.1:$port"; DIRS="$DIRS $dir"
    for _ in $(seq 1 50); do curl -sf "http://127.0.0.1:$port/ready" >/dev/null && break; sleep 0.2; done
  done
}

stop() {
  kill -TERM ${PIDS//,/ }; wait || true
  rm -rf $DIRS
}

row() { # replicas redis label loadgen-args…
  local n=$1 redis=$2 label=$3; shift 3
  start "$n" "$redis"
  local out
  out=$($LOAD --base "$BASES" --token "$TOKEN" --pid "$PIDS" "$@" 2>/dev/null)
  # Write transactions run again after losing to another replica's (deadlock, key inserted first).
  local retries=0 b
  for b in ${BASES//,/ }; do
    retries=$((retries + $(curl -s "$b/metrics" | awk '/^gateway_writer_retries_total/{s+=$2} END{print s+0}')))
  done
  stop
  local thr lat cpu codes lim
  thr=$(echo "$out" | awk '/^throughput/{print $2}')
  lat=$(echo "$out" | awk '/^latency/{print $4" / "$6" / "$8" / "$10}')
  cpu=$(echo "$out" | awk '/^cpu per event/{print $6" / "$8}')
  codes=$(echo "$out" | sed -n 's/^statuses //p')
  lim=$(echo "$out" | awk '/^limit/{print $3" of "$5" ("$7")"}')
  printf '| %s | %-5s | %-22s | %6s | %-28s | %-9s | %-22s | %3s | %s |\n' "$n" "$redis" "$label" "$thr" "$lat" "$cpu" "${lim:--}" "$retries" "$codes"
}

echo "machine: $(nproc) cores; $(psql "$PG/postgres" -Atc 'select version()' | cut -d, -f1); $(redis-server --version | cut -d' ' -f1-3)"
echo "| replicas | Redis | load | events/s (all replicas) | p50 / p90 / p99 / max ms | CPU µs/event gateways / PostgreSQL | admitted of allowance (ratio) | writer retries | answers |"
echo "|---|---|---|---|---|---|---|---|---|"
row 1 off "16 tenants, 32 in flight" --tenants 16 --events "$EVENTS" --concurrency 32
for n in ${REPLICAS:-1 2 3}; do
  row "$n" on "16 tenants, 32 in flight" --tenants 16 --events "$EVENTS" --concurrency 32
done
for n in ${REPLICAS:-1 2 3}; do
  row "$n" on "same, 10 % duplicates" --tenants 16 --events "$EVENTS" --concurrency 32 --duplicates 0.1
done
for n in ${REPLICAS:-1 2 3}; do
  row "$n" on "4 × 100/s, 800/s offered" --tenants 4 --events 4000 --concurrency 32 --rate 800 --limit 100
done
row 3 off "4 × 100/s, 800/s offered" --tenants 4 --events 4000 --concurrency 32 --rate 800 --limit 100
