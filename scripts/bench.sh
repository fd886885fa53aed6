#!/usr/bin/env bash
# Reproducible webhook benchmark on this machine, in the shape users run: the naive PostgreSQL
# baseline (pgbench with ../shared/bench/pg_limit.sql), then the gateway on PostgreSQL over TCP
# (127.0.0.1:5432), 16 tenants, 16 and 32 in flight, with and without 10% duplicate deliveries;
# then SQLite; then, as a footnote, PostgreSQL over its Unix socket. Needs PostgreSQL on
# 127.0.0.1:5432 (trust auth).
#   EVENTS=10000 scripts/bench.sh   (BACKENDS, IN_FLIGHT, DUPLICATES narrow the matrix;
#   SOCKET_ROWS=0 skips the Unix-socket footnote; TENANT_SCALE="1 16 1000 10000" and
#   PAYLOAD_SCALE="2000 3000 4000" add the scaling runs at 32 in flight; SKIP_MATRIX=1 runs only
#   those; GATEWAY_WRITER_SHARDS is passed through; GW=path (and LOAD=path) run binaries built
#   before, without building: to alternate a before and an after build in one sitting;
#   NOTIFY=1 gives every tenant a notification endpoint on a receiver in the load tool and adds
#   the notifications' latency (answer to the paying event → arrival) and rate under each row;
#   RATE=500 paces the events at that many per second instead of as fast as they go;
#   CONNECT=1 makes the tenants connected accounts of a Connect platform and sends every event
#   through POST /webhooks/stripe/connect, signed by the platform, naming its account)
set -euo pipefail
cd "$(dirname "$0")/.."
EVENTS=${EVENTS:-10000}
TENANTS=${TENANTS:-16}
PG=${PG:-postgres://postgres@127.0.0.1:5432}
TCP_DB="$PG/gateway_bench"
SOCKET_DB="postgres://postgres@localhost/gateway_bench?host=/var/run/postgresql"
BENCH_SQL=${BENCH_SQL:-../shared/bench}
if [ -z "${GW:-}" ]; then
  cargo build -q --release --bin gateway --example loadgen
  GW=target/release/gateway LOAD=target/release/examples/loadgen
fi
LOAD=${LOAD:-target/release/examples/loadgen}

echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB; $(psql "$PG/postgres" -Atc 'select version()' | cut -d, -f1)"
if [ -f "$BENCH_SQL/pg_limit.sql" ] && [ -z "${SKIP_BASELINE:-}" ]; then
  psql "$PG/postgres" -qc "DROP DATABASE IF EXISTS pg_limit" -c "CREATE DATABASE pg_limit"
  psql "$PG/pg_limit" -q -v ON_ERROR_STOP=1 -f "$BENCH_SQL/pg_limit_setup.sql" >/dev/null
  psql "$PG/pg_limit" -qc "CHECKPOINT"
  tps=$(pgbench -n -c 16 -j 2 -T 10 -f "$BENCH_SQL/pg_limit.sql" "$PG/pg_limit" 2>/dev/null | awk '/^tps/{print int($3)}')
  echo "baseline pg_limit.sql (naive, 3 statements per event, 16 clients): $tps events/s"
fi

run() { # backend (postgres = over TCP | postgres-socket | sqlite) in_flight duplicates [tenants] [payload bytes]
  local backend=$1 conc=$2 dup=$3 tenants=${4:-$TENANTS} payload=${5:-3000} dir port
  dir=$(mktemp -d); port=$((18100 + RANDOM % 500))
  local env=(GATEWAY_LISTEN=127.0.0.1:$port GATEWAY_DATA_DIR=$dir/data RUST_LOG=warn GATEWAY_RECONCILE_INTERVAL=0)
  [ -n "${GATEWAY_WRITER_SHARDS:-}" ] && env+=("GATEWAY_WRITER_SHARDS=$GATEWAY_WRITER_SHARDS")
  local notify=()
  [ -n "${NOTIFY:-}" ] && { env+=(GATEWAY_OUTBOUND_ALLOW_PRIVATE=true); notify=(--notify); }
  [ -n "${RATE:-}" ] && notify+=(--rate "$RATE")
  [ -n "${CONNECT:-}" ] && notify+=(--connect)
  if [ "$backend" != sqlite ]; then
    psql "$PG/postgres" -qc "DROP DATABASE IF EXISTS gateway_bench" -c "CREATE DATABASE gateway_bench"
    local url=$TCP_DB
    [ "$backend" = postgres-socket ] && url=$SOCKET_DB
    env+=("DATABASE_URL=$url" GATEWAY_MASTER_KEYS=$($GW keys generate --id bench))
  fi
  env "${env[@]}" $GW serve > "$dir/gateway.log" 2>&1 &
  local pid=$!
  for _ in $(seq 1 50); do curl -sf "http://127.0.0.1:$port/ready" >/dev/null && break; sleep 0.2; done
  local out
  out=$($LOAD --base "http://127.0.0.1:$port" --token "$(cat "$dir/data/admin-token")" --tenants "$tenants" \
        --events "$EVENTS" --concurrency "$conc" --duplicates "$dup" --payload-bytes "$payload" --pid "$pid" "${notify[@]}" 2>/dev/null)
  kill -TERM "$pid"; wait "$pid" || true
  local thr lat rss codes cpu
  thr=$(echo "$out" | awk '/^throughput/{print $2}')
  lat=$(echo "$out" | awk '/^latency/{print $4" / "$6" / "$8" / "$10}')
  rss=$(echo "$out" | awk '/peak RSS/{print int($4/1024)}')
  codes=$(echo "$out" | sed -n 's/^statuses //p')
  cpu=$(echo "$out" | awk '/^cpu per event/{print $6" / "$8" / "$10}')
  printf '| %-15s | %2s | %3s%% | %5s | %4s B | %6s | %-28s | %-13s | %3s MB | %s |\n' "$backend" "$conc" "$(awk "BEGIN{print $dup*100}")" \
    "$tenants" "$payload" "$thr" "$lat" "$cpu" "$rss" "$codes"
  [ -n "${NOTIFY:-}" ] && echo "$out" | grep '^notification' | sed 's/^/|   ↳ /'
  rm -rf "$dir"
}

header() {
  echo "| database | in flight | duplicates | tenants | payload | events/s | p50 / p90 / p99 / max ms | CPU µs/event gateway / PostgreSQL / load tool | peak RSS | answers |"
  echo "|---|---|---|---|---|---|---|---|---|---|"
}
echo "PostgreSQL over TCP: $TCP_DB"
header
for backend in ${BACKENDS:-postgres sqlite}; do
  if [ -z "${SKIP_MATRIX:-}" ]; then
    for conc in ${IN_FLIGHT:-16 32}; do
      for dup in ${DUPLICATES:-0 0.1}; do run $backend $conc $dup; done
    done
  fi
  for tenants in ${TENANT_SCALE:-}; do run $backend 32 0 $tenants; done
  for payload in ${PAYLOAD_SCALE:-}; do run $backend 32 0 $TENANTS $payload; done
done
if [ "${SOCKET_ROWS:-1}" != 0 ] && [ -S /var/run/postgresql/.s.PGSQL.5432 ]; then
  echo
  echo "Footnote, PostgreSQL over its Unix socket (same host only): $SOCKET_DB"
  header
  for conc in ${IN_FLIGHT:-16 32}; do run postgres-socket $conc 0; done
fi
