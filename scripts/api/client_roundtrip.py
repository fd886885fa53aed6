"""Uses the Python client generated from openapi/gateway.json (openapi-python-client) against a
live gateway: create a tenant, issue a key, set Stripe secrets, create an order and read it
back with the tenant's own key. Fails loudly on any unexpected answer.
Usage: python3 client_roundtrip.py BASE_URL OPERATOR_TOKEN (with the generated package on PYTHONPATH)"""
import sys
import uuid

from gateway_client import AuthenticatedClient
from gateway_client.api.api_keys import v1_api_keys_create
from gateway_client.api.orders import v1_orders_create, v1_orders_get
from gateway_client.api.stripe_config import v1_stripe_config_get, v1_stripe_config_put
from gateway_client.api.tenants import v1_tenants_create
from gateway_client.models import (
    ApiKeyIn, OrderIn, OrderInMetadataType0, OrderStatus, StripeConfigIn, TenantIn,
)
from gateway_client.types import Response

base, token = sys.argv[1], sys.argv[2]
operator = AuthenticatedClient(base_url=base, token=token, raise_on_unexpected_status=True)
slug = f"py-{uuid.uuid4().hex[:10]}"


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
    body=StripeConfigIn(secret_key="sk_test_" + "a" * 24, webhook_secret="whsec_" + "b" * 32)), 200)
assert config.mode.value == "test", config
assert "sk_test_" + "a" * 24 not in str(ok(v1_stripe_config_get.sync_detailed(tenant.slug, client=mine), 200).to_dict())

metadata = OrderInMetadataType0.from_dict({"table": "12"})
order = ok(v1_orders_create.sync_detailed(
    tenant.slug, client=mine,
    body=OrderIn(reference="T-12-001", amount=2350, currency="EUR", metadata=metadata)), 201)
again = ok(v1_orders_get.sync_detailed(tenant.slug, order.id, client=mine), 200)
assert again.id == order.id and again.amount == 2350 and again.currency == "eur", again
assert again.status == OrderStatus.PAYMENT_PENDING, again.status
print(f"generated client: tenant {tenant.slug}, key {key.prefix}…, order {again.id} {again.status.value} — ok")
