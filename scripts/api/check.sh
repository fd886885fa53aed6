#!/usr/bin/env bash
# API checks against a live gateway (SQLite in a scratch directory, Stripe replaced by
# stripe_stub.py): schemathesis with every check over the served spec, with the operator token
# (its stateful phase walking the inferred links); again over the operations that read rows only
# webhooks create, after seed.py made them (schemathesis-seeded.toml); then a Python client generated from openapi/gateway.json by openapi-python-client, running
# client_roundtrip.py (which also verifies an order notification with Python's standardwebhooks). Tools are pinned and installed into target/api-tools once.
#   scripts/api/check.sh            (MAX_EXAMPLES=10 by default; SEED=<the seed a failed run
#                                   printed> replays that run)
set -euo pipefail
cd "$(dirname "$0")/../.."
GW=${GATEWAY_BIN:-${CARGO_TARGET_DIR:-target}/debug/gateway}
[ -x "$GW" ] || cargo build -q --bin gateway
VENV=target/api-tools
if [ ! -x "$VENV/bin/schemathesis" ] || [ ! -x "$VENV/bin/openapi-python-client" ] \
  || ! "$VENV/bin/python" -c "import standardwebhooks" 2>/dev/null; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q --disable-pip-version-check schemathesis==4.32.5 openapi-python-client==0.29.1 \
    standardwebhooks==1.1.0
fi
work=$(mktemp -d)
port=$((19100 + RANDOM % 400)); stripe_port=$((port + 500))
python3 scripts/api/stripe_stub.py "$stripe_port" &
stub=$!
# Notifications go to receivers on loopback (plain http): allowed for this check only.
# Schemathesis sends a request with bad credentials for every operation it covers (its ST401 check);
# from one address that trips the failed-authentication limit (tested in the suite), which then
# answers 429 to the operator too, so the check raises that limit out of its way.
GATEWAY_LISTEN=127.0.0.1:$port GATEWAY_DATA_DIR=$work/data GATEWAY_RECONCILE_INTERVAL=0 RUST_LOG=warn \
  GATEWAY_OUTBOUND_ALLOW_PRIVATE=true GATEWAY_AUTH_FAILURES_PER_MINUTE=100000 GATEWAY_AUTH_FAILURES_BURST=100000 \
  GATEWAY_STRIPE_API_BASE=http://127.0.0.1:$stripe_port/ "$GW" serve > "$work/gateway.log" 2>&1 &
gw=$!
trap 'kill $gw $stub 2>/dev/null || true; rm -rf "$work"' EXIT
for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$port/ready" >/dev/null && break; sleep 0.1; done
token=$(cat "$work/data/admin-token")

echo "==> schemathesis (all checks, ${MAX_EXAMPLES:-10} examples per operation)"
"$VENV/bin/schemathesis" --config-file scripts/api/schemathesis.toml run "http://127.0.0.1:$port/openapi.json" \
  ${SEED:+--seed $SEED} --max-examples "${MAX_EXAMPLES:-10}" -H "Authorization: Bearer $token" --no-color \
  > "$work/schemathesis.log" 2>&1 || { cat "$work/schemathesis.log"; tail -20 "$work/gateway.log"; exit 1; }
grep -E "generated|passed|API Links" "$work/schemathesis.log" | tail -3

echo "==> schemathesis on seeded rows (payments, events, runs, key and secret deletes, checkout, refunds)"
eval "$("$VENV/bin/python" scripts/api/seed.py "http://127.0.0.1:$port" "$token")"
export SEED_TENANT SEED_KEY SEED_ORDER SEED_PAID_ORDER SEED_PAYMENT SEED_EVENT SEED_RUN SEED_ENDPOINT SEED_MESSAGE SEED_STATUS_TOKEN
seeded_ops=(v1.payments.list v1.payments.get v1.webhook-events.list v1.webhook-events.get
  v1.webhook-events.replay v1.reconciliations.list v1.reconciliations.get v1.api-keys.list
  v1.api-keys.delete v1.webhook-secrets.create v1.webhook-secrets.delete v1.checkout-sessions.create
  v1.notification-endpoints.get v1.notification-endpoints.update v1.notification-endpoints.rotate-secret
  v1.notification-messages.list v1.notification-messages.retry v1.order-status.get v1.refunds.create)
"$VENV/bin/schemathesis" --config-file scripts/api/schemathesis-seeded.toml run "http://127.0.0.1:$port/openapi.json" \
  ${SEED:+--seed $SEED} --max-examples "${MAX_EXAMPLES:-10}" -H "Authorization: Bearer $token" --no-color \
  "${seeded_ops[@]/#/--include-operation-id=}" > "$work/schemathesis-seeded.log" 2>&1 \
  || { cat "$work/schemathesis-seeded.log"; tail -20 "$work/gateway.log"; exit 1; }
if grep -q "Missing test data" "$work/schemathesis-seeded.log"; then
  cat "$work/schemathesis-seeded.log"; echo "an operation never reached its seeded rows" >&2; exit 1
fi
grep -E "generated|passed|API Links" "$work/schemathesis-seeded.log" | tail -3

echo "==> generated Python client (openapi-python-client)"
"$VENV/bin/openapi-python-client" generate --path openapi/gateway.json --meta none \
  --output-path "$work/gateway_client" --config scripts/api/client_config.yaml > "$work/generate.log" 2>&1 \
  || { cat "$work/generate.log"; exit 1; }
if grep -qi "warning" "$work/generate.log"; then cat "$work/generate.log"; echo "the spec makes the generator warn" >&2; exit 1; fi
PYTHONPATH=$work "$VENV/bin/python" scripts/api/client_roundtrip.py "http://127.0.0.1:$port" "$token" \
  "http://127.0.0.1:$stripe_port"
