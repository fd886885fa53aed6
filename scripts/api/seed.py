"""Seeds a live gateway with data only Stripe's webhooks can create, so that schemathesis's
stateful phase reaches the routes that read it: a tenant with Stripe secrets (two webhook
secrets), an API key, an order paid by a signed `payment_intent.succeeded`, a dispute, and a
reconciliation run (against the Stripe stub), a notification endpoint with a message owed, and
an order's status token. Prints `export SEED_…=…` lines for the identifiers;
scripts/api/schemathesis.toml reads them.
Usage: python3 seed.py BASE_URL OPERATOR_TOKEN"""
import hashlib
import hmac
import json
import sys
import time
import urllib.request

base, token = sys.argv[1], sys.argv[2]
slug = "seeded"
secret = "whsec_seededSecretForTheApiChecks"


def call(method, path, body=None, headers=None, auth=True):
    data = None if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode())
    req = urllib.request.Request(base + path, data=data, method=method)
    req.add_header("Content-Type", "application/json")
    if auth:
        req.add_header("Authorization", f"Bearer {token}")
    for k, v in (headers or {}).items():
        req.add_header(k, v)
    with urllib.request.urlopen(req) as resp:
        return json.loads(resp.read() or b"null")


def deliver(event):
    body = json.dumps(event).encode()
    t = int(time.time())
    sig = hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    answer = call("POST", f"/webhooks/stripe/{slug}", body, {"Stripe-Signature": f"t={t},v1={sig}"}, auth=False)
    assert answer["status"] == "processed", answer


call("POST", "/v1/tenants", {"slug": slug, "name": "Seeded Trattoria"})
key = call("POST", f"/v1/tenants/{slug}/api-keys", {"name": "seed"})
call("PUT", f"/v1/tenants/{slug}/stripe-config",
     {"secret_key": "sk_test_seededKeyForTheApiChecks", "webhook_secret": secret})
call("POST", f"/v1/tenants/{slug}/stripe-config/webhook-secrets",
     {"secret": "whsec_seededSecondSecretForChecks"})
# An endpoint nobody listens at (the port is closed): its messages stay owed, retried later.
endpoint = call("POST", f"/v1/tenants/{slug}/notification-endpoints",
                {"url": "http://127.0.0.1:9/hook", "description": "seeded"})
order = call("POST", f"/v1/tenants/{slug}/orders", {"reference": "SEED-1", "amount": 2500, "currency": "usd"})
pending = call("POST", f"/v1/tenants/{slug}/orders", {"reference": "SEED-2", "amount": 900, "currency": "usd"})
now = int(time.time())
pi = {"id": "pi_seeded", "object": "payment_intent", "amount": 2500, "amount_received": 2500,
      "currency": "usd", "status": "succeeded", "livemode": False, "latest_charge": "ch_seeded",
      "metadata": {"order_id": order["id"]}}
deliver({"id": "evt_seeded_paid", "object": "event", "type": "payment_intent.succeeded",
         "api_version": "2024-06-20", "created": now, "livemode": False, "data": {"object": pi}})
dispute = {"id": "dp_seeded", "object": "dispute", "amount": 2500, "currency": "usd", "charge": "ch_seeded",
           "payment_intent": "pi_seeded", "reason": "fraudulent", "status": "needs_response",
           "created": now, "livemode": False}
deliver({"id": "evt_seeded_dispute", "object": "event", "type": "charge.dispute.created",
         "api_version": "2024-06-20", "created": now + 1, "livemode": False, "data": {"object": dispute}})
payment = call("GET", f"/v1/tenants/{slug}/payments")["data"][0]
for _ in range(100):
    messages = call("GET", f"/v1/tenants/{slug}/notification-endpoints/{endpoint['id']}/messages")["data"]
    if messages:
        break
    time.sleep(0.05)
assert messages, "the paid order owes the endpoint a message"
run = call("POST", f"/v1/tenants/{slug}/reconciliations", {})
for name, value in {
    "SEED_TENANT": slug,
    "SEED_KEY": key["id"],
    "SEED_ORDER": pending["id"],
    "SEED_PAID_ORDER": order["id"],
    "SEED_PAYMENT": payment["id"],
    "SEED_EVENT": "evt_seeded_paid",
    "SEED_RUN": run["id"],
    "SEED_ENDPOINT": endpoint["id"],
    "SEED_MESSAGE": messages[0]["id"],
    "SEED_STATUS_TOKEN": order["status_url"].rsplit("/", 1)[1],
}.items():
    print(f"export {name}={value}")
