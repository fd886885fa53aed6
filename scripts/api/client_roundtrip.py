"""Uses the Python client generated from openapi/gateway.json (openapi-python-client) against a
live gateway: create a tenant, issue a key, set Stripe secrets, create an order and read it
back with the tenant's own key; register a notification endpoint (a receiver on loopback), pay
the order with a signed Stripe event and verify the order.paid notification with Python's
`standardwebhooks`; follow the order's status URL; refund part of it; set and read the Connect platform's
secrets (hints only); send a Connect event for an account no tenant has (listed unrouted), then
create the connected tenant and see it routed; hold a card for a restaurant order at (stub)
Stripe, capture it with a tip through the client and see the order paid, tip included, once
Stripe's event arrives. Fails loudly on any unexpected answer.
Usage: python3 client_roundtrip.py BASE_URL OPERATOR_TOKEN STRIPE_STUB_URL (with the generated
package on PYTHONPATH)"""
import hashlib
import hmac
import http.server
import json
import sys
import threading
import time
import urllib.request
import uuid

from standardwebhooks.webhooks import Webhook

from gateway_client import AuthenticatedClient
from gateway_client.api.api_keys import v1_api_keys_create
from gateway_client.api.notifications import (
    v1_notification_endpoints_create, v1_notification_messages_list,
)
from gateway_client.api.orders import (
    v1_order_status_get, v1_orders_capture, v1_orders_create, v1_orders_get, v1_refunds_create,
)
from gateway_client.api.platform import v1_platform_stripe_config_get, v1_platform_stripe_config_put
from gateway_client.api.stripe_config import v1_stripe_config_get, v1_stripe_config_put
from gateway_client.api.platform import v1_unrouted_events_list
from gateway_client.api.tenants import v1_tenants_create
from gateway_client.models import (
    ApiKeyIn, AuthorizationAction, CaptureIn, MessageStatus, NotificationEndpointIn, NotificationType, OrderIn, OrderInMetadataType0,
    OrderStatus, RefundIn, RefundReason, StripeConfigIn, TenantIn, TenantKind, UnroutedState,
)
from gateway_client.types import Response

base, token, stripe_stub = sys.argv[1], sys.argv[2], sys.argv[3]
operator = AuthenticatedClient(base_url=base, token=token, raise_on_unexpected_status=True)
slug = f"py-{uuid.uuid4().hex[:10]}"
STRIPE_SECRET = "whsec_" + "b" * 32
received = []


class Receiver(http.server.BaseHTTPRequestHandler):
    """The restaurant's POS: records each notification, answers 204."""

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        received.append((dict(self.headers.items()), body))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


pos = http.server.HTTPServer(("127.0.0.1", 0), Receiver)
threading.Thread(target=pos.serve_forever, daemon=True).start()


def ok(resp: Response, status: int):
    assert resp.status_code == status, (resp.status_code, resp.content)
    assert resp.parsed is not None, resp.content
    return resp.parsed


tenant = ok(v1_tenants_create.sync_detailed(client=operator, body=TenantIn(slug=slug, name="Py Pizza")), 201)
key = ok(v1_api_keys_create.sync_detailed(tenant.slug, client=operator, body=ApiKeyIn(name="python client")), 201)
assert key.key.startswith("gwk_"), "the new key is answered once"
mine = AuthenticatedClient(base_url=base, token=key.key, raise_on_unexpected_status=True)

config = ok(v1_stripe_config_put.sync_detailed(
    tenant.slug, client=mine,
    body=StripeConfigIn(secret_key="sk_test_" + "a" * 24, webhook_secret=STRIPE_SECRET)), 200)
assert config.mode.value == "test", config
assert "sk_test_" + "a" * 24 not in str(ok(v1_stripe_config_get.sync_detailed(tenant.slug, client=mine), 200).to_dict())

metadata = OrderInMetadataType0.from_dict({"table": "12"})
order = ok(v1_orders_create.sync_detailed(
    tenant.slug, client=mine,
    body=OrderIn(reference="T-12-001", amount=2350, currency="EUR", metadata=metadata)), 201)
again = ok(v1_orders_get.sync_detailed(tenant.slug, order.id, client=mine), 200)
assert again.id == order.id and again.amount == 2350 and again.currency == "eur", again
assert again.status == OrderStatus.PAYMENT_PENDING, again.status

endpoint = ok(v1_notification_endpoints_create.sync_detailed(
    tenant.slug, client=mine,
    body=NotificationEndpointIn(url=f"http://127.0.0.1:{pos.server_port}/pos",
                                events=[NotificationType.ORDER_PAID], description="POS")), 201)
assert endpoint.secret.startswith("whsec_") and endpoint.events == [NotificationType.ORDER_PAID]
token = order.status_url.rsplit("/", 1)[1]
status = ok(v1_order_status_get.sync_detailed(token, client=operator), 200)
assert status.status == OrderStatus.PAYMENT_PENDING and status.amount == 2350, status

# Stripe says the order was paid (a signed event, as Stripe signs it).
pi = {"id": "pi_py", "object": "payment_intent", "amount": 2350, "amount_received": 2350, "currency": "eur",
      "status": "succeeded", "livemode": False, "latest_charge": "ch_py", "metadata": {"order_id": str(order.id)}}
event = json.dumps({"id": "evt_py_paid", "object": "event", "type": "payment_intent.succeeded",
                    "api_version": "2024-06-20", "created": int(time.time()), "livemode": False,
                    "data": {"object": pi}}).encode()


def deliver(path: str, secret: str, body: bytes) -> dict:
    """Posts `body` to the gateway's `path`, signed with `secret` as Stripe signs."""
    t = int(time.time())
    sig = hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    req = urllib.request.Request(f"{base}{path}", data=body, method="POST",
                                 headers={"Content-Type": "application/json", "Stripe-Signature": f"t={t},v1={sig}"})
    with urllib.request.urlopen(req) as resp:
        return json.loads(resp.read())


assert deliver(f"/webhooks/stripe/{tenant.slug}", STRIPE_SECRET, event)["status"] == "processed"
for _ in range(200):
    if received:
        break
    time.sleep(0.05)
assert len(received) == 1, received
headers, body = received[0]
payload = Webhook(endpoint.secret).verify(body, headers)
assert payload["type"] == "order.paid" and payload["data"]["id"] == str(order.id), payload
assert payload["data"]["status"] == "PAID" and payload["data"]["amount"] == 2350, payload
for _ in range(100):
    log = ok(v1_notification_messages_list.sync_detailed(tenant.slug, endpoint.id, client=mine), 200)
    if log.data and log.data[0].status == MessageStatus.DELIVERED:
        break
    time.sleep(0.05)
assert log.data[0].status == MessageStatus.DELIVERED and log.data[0].last_response_code == 204, log
assert ok(v1_order_status_get.sync_detailed(token, client=operator), 200).status == OrderStatus.PAID

# A partial refund with the tenant's own key, made at (stub) Stripe; the order settles only
# when Stripe's charge.refunded arrives, so it is still PAID here.
made = ok(v1_refunds_create.sync_detailed(
    tenant.slug, order.id, client=mine, idempotency_key="py-refund-1",
    body=RefundIn(amount=350, reason=RefundReason.REQUESTED_BY_CUSTOMER)), 201)
assert made.amount == 350 and made.idempotency_key == "py-refund-1" and made.payment_intent == "pi_py", made
assert ok(v1_orders_get.sync_detailed(tenant.slug, order.id, client=mine), 200).status == OrderStatus.PAID

# The Connect platform's own secrets, operator only: stored, answered as hints only.
PLATFORM_KEY = "sk_test_" + "p" * 20 + "4242"
platform = ok(v1_platform_stripe_config_put.sync_detailed(
    client=operator, body=StripeConfigIn(secret_key=PLATFORM_KEY, webhook_secret="whsec_" + "c" * 32)), 200)
assert platform.secret_key_hint == "sk_test_…4242" and len(platform.webhook_secrets) == 1, platform
shown = ok(v1_platform_stripe_config_get.sync_detailed(client=operator), 200)
assert PLATFORM_KEY not in str(shown.to_dict()) and shown.secret_key_hint == platform.secret_key_hint, shown
# A Connect event for an account no tenant has yet: kept unrouted, then routed to the connected
# tenant created with that account.
account = "acct_1Py" + uuid.uuid4().hex[:10]
connect_event = json.dumps({"id": f"evt_py_{account}", "object": "event", "type": "payment_intent.created",
                            "api_version": "2024-06-20", "created": int(time.time()), "livemode": False,
                            "account": account, "data": {"object": dict(pi, status="requires_payment_method")}}).encode()
assert deliver("/webhooks/stripe/connect", "whsec_" + "c" * 32, connect_event)["status"] == "unrouted"
waiting = ok(v1_unrouted_events_list.sync_detailed(client=operator, account=account), 200)
assert [e.stripe_event_id for e in waiting.data] == [f"evt_py_{account}"], waiting
linked = ok(v1_tenants_create.sync_detailed(client=operator, body=TenantIn(
    slug=f"{slug}-c", name="Py Connected", kind=TenantKind.CONNECTED, stripe_account_id=account,
    application_fee_bps=250)), 201)
assert linked.kind == TenantKind.CONNECTED and linked.application_fee_bps == 250, linked
for _ in range(200):
    routed = ok(v1_unrouted_events_list.sync_detailed(client=operator, account=account, state=UnroutedState.ROUTED), 200)
    if routed.data:
        break
    time.sleep(0.05)
assert routed.data and routed.data[0].routed_tenant_id == linked.id, routed

# A table's card held at (stub) Stripe for 4,000 with room for a tip (as a reader authorizes),
# then captured with a 450 tip through the client: the gateway sends amount_to_capture 4,450 with
# metadata[tip_amount]; the order is paid, tip included, once Stripe's event says so.
table = ok(v1_orders_create.sync_detailed(
    tenant.slug, client=mine, body=OrderIn(reference="T-7-dinner", amount=4000, currency="eur")), 201)
form = f"amount=4800&currency=eur&capture_method=manual&confirm=true&metadata[order_id]={table.id}"
with urllib.request.urlopen(urllib.request.Request(f"{stripe_stub}/v1/payment_intents", data=form.encode())) as r:
    held = json.loads(r.read())
assert held["status"] == "requires_capture", held


def stripe_event(event_id: str, kind: str, obj: dict) -> bytes:
    return json.dumps({"id": event_id, "object": "event", "type": kind, "api_version": "2024-06-20",
                       "created": int(time.time()), "livemode": False, "data": {"object": obj}}).encode()


hook = f"/webhooks/stripe/{tenant.slug}"
assert deliver(hook, STRIPE_SECRET, stripe_event("evt_py_held", "payment_intent.amount_capturable_updated", held))["status"] == "processed"
assert ok(v1_orders_get.sync_detailed(tenant.slug, table.id, client=mine), 200).status == OrderStatus.AUTHORIZED
captured = ok(v1_orders_capture.sync_detailed(tenant.slug, table.id, client=mine, body=CaptureIn(tip_amount=450)), 200)
assert captured.action == AuthorizationAction.CAPTURE and captured.amount == 4450 and captured.tip_amount == 450, captured
with urllib.request.urlopen(f"{stripe_stub}/v1/payment_intents/{held['id']}") as r:
    after = json.loads(r.read())
assert after["status"] == "succeeded" and after["metadata"]["tip_amount"] == "450", after
assert deliver(hook, STRIPE_SECRET, stripe_event("evt_py_captured", "payment_intent.succeeded", after))["status"] == "processed"
settled = ok(v1_orders_get.sync_detailed(tenant.slug, table.id, client=mine), 200)
assert settled.status == OrderStatus.PAID and settled.amount_paid == 4450 and settled.tip_amount == 450, settled
assert settled.amount_due == 0 and settled.amount_authorized == 0, settled

print(f"generated client: tenant {tenant.slug}, key {key.prefix}…, order {again.id} paid, "
      f"notification {headers.get('webhook-id') or headers.get('Webhook-Id')} verified with standardwebhooks, "
      f"refund {made.id} of {made.amount}, platform config {shown.secret_key_hint}, "
      f"Connect event routed to {linked.slug}, order {settled.id} captured with a tip of {settled.tip_amount} — ok")
