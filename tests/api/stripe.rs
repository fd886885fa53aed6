//! Realistic Stripe events for the tests: objects start from Stripe's own API fixtures
//! (`tests/fixtures/stripe_objects.json`), are filled per test, wrapped in an event envelope and
//! signed the way Stripe signs (computed here, independently of the gateway's verifier).
#![allow(dead_code)]

use crate::helpers::{Answer, TestApp};
use hmac::{Hmac, KeyInit, Mac};
use serde_json::{Value, json};
use std::sync::OnceLock;

pub const API_NEW: &str = "2024-06-20";
pub const API_OLD: &str = "2020-08-27";

fn fixtures() -> &'static Value {
    static F: OnceLock<Value> = OnceLock::new();
    F.get_or_init(|| {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/stripe_objects.json"
        );
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
    })
}

fn fixture(kind: &str) -> Value {
    fixtures()[kind].clone()
}

/// `base` with the top-level fields of `patch` set.
pub fn merge(mut base: Value, patch: Value) -> Value {
    if let (Some(b), Some(p)) = (base.as_object_mut(), patch.as_object()) {
        for (k, v) in p {
            b.insert(k.clone(), v.clone());
        }
    }
    base
}

pub fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

/// A PaymentIntent (new API shape: `latest_charge`).
pub fn payment_intent(
    pi: &str,
    amount: i64,
    currency: &str,
    status: &str,
    order_id: Option<&str>,
) -> Value {
    let received = if status == "succeeded" { amount } else { 0 };
    merge(
        fixture("payment_intent"),
        json!({
            "id": pi, "amount": amount, "amount_received": received, "currency": currency, "status": status,
            "metadata": order_id.map_or(json!({}), |o| json!({"order_id": o})),
            "latest_charge": format!("ch_{}", &pi[3..]), "customer": "cus_Jenny", "receipt_email": "jenny@example.com",
            "last_payment_error": if status == "requires_payment_method" { json!({"type": "card_error", "code": "card_declined", "message": "Your card was declined."}) } else { Value::Null },
        }),
    )
}

/// The same PaymentIntent as API version 2020-08-27 shows it: charges listed inline, no
/// `latest_charge`.
pub fn payment_intent_old(pi: &str, amount: i64, currency: &str, order_id: &str) -> Value {
    let mut v = payment_intent(pi, amount, currency, "succeeded", Some(order_id));
    let obj = v.as_object_mut().unwrap();
    obj.remove("latest_charge");
    obj.remove("amount_details");
    obj.insert(
        "charges".into(),
        json!({"object": "list", "data": [{"id": format!("ch_{}", &pi[3..]), "object": "charge", "amount": amount}], "has_more": false, "url": "/v1/charges"}),
    );
    v
}

pub fn charge(
    pi: &str,
    amount: i64,
    currency: &str,
    refunded: i64,
    order_id: Option<&str>,
) -> Value {
    merge(
        fixture("charge"),
        json!({
            "id": format!("ch_{}", &pi[3..]), "payment_intent": pi, "amount": amount, "amount_captured": amount,
            "amount_refunded": refunded, "refunded": refunded >= amount, "currency": currency, "captured": true,
            "paid": true, "status": "succeeded", "customer": "cus_Jenny",
            "billing_details": {"email": "jenny@example.com", "name": "Jenny Rosen", "address": null, "phone": null},
            "metadata": order_id.map_or(json!({}), |o| json!({"order_id": o})),
        }),
    )
}

pub fn failed_charge(pi: &str, amount: i64, currency: &str) -> Value {
    merge(
        charge(pi, amount, currency, 0, None),
        json!({"paid": false, "status": "failed", "captured": false, "failure_code": "card_declined", "failure_message": "Your card was declined."}),
    )
}

pub fn checkout_session(
    cs: &str,
    pi: Option<&str>,
    amount: i64,
    currency: &str,
    order_id: &str,
    payment_status: &str,
) -> Value {
    merge(
        fixture("checkout.session"),
        json!({
            "id": cs, "payment_intent": pi, "amount_total": amount, "amount_subtotal": amount, "currency": currency,
            "client_reference_id": order_id, "metadata": {"order_id": order_id}, "mode": "payment",
            "payment_status": payment_status, "status": if payment_status == "paid" { "complete" } else { "open" },
            "customer": "cus_Jenny",
            "customer_details": {"email": "jenny@example.com", "name": "Jenny Rosen", "address": null, "phone": null, "tax_exempt": "none", "tax_ids": []},
        }),
    )
}

/// A dispute, shaped as Stripe's API returns it (no fixture ships for it).
pub fn dispute(du: &str, pi: &str, amount: i64, currency: &str, status: &str) -> Value {
    json!({
        "id": du, "object": "dispute", "amount": amount, "currency": currency, "charge": format!("ch_{}", &pi[3..]),
        "payment_intent": pi, "reason": "fraudulent", "status": status, "created": now(), "livemode": false,
        "is_charge_refundable": false, "balance_transactions": [], "metadata": {},
        "evidence_details": {"due_by": now() + 86400 * 7, "has_evidence": false, "past_due": false, "submission_count": 0},
    })
}

pub fn deleted_customer(cus: &str) -> Value {
    json!({"id": cus, "object": "customer", "deleted": true, "email": "jenny@example.com", "name": "Jenny Rosen", "livemode": false})
}

/// An event envelope around `object`.
pub fn event(id: &str, event_type: &str, created: i64, object: Value) -> Value {
    event_v(id, event_type, created, object, API_NEW, false)
}

pub fn event_v(
    id: &str,
    event_type: &str,
    created: i64,
    object: Value,
    api_version: &str,
    livemode: bool,
) -> Value {
    json!({
        "id": id, "object": "event", "api_version": api_version, "created": created, "livemode": livemode,
        "pending_webhooks": 1, "request": {"id": "req_123", "idempotency_key": null}, "type": event_type,
        "data": {"object": object},
    })
}

/// `Stripe-Signature` for `body` at `t` with `secret`.
pub fn sign(secret: &str, t: i64, body: &str) -> String {
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(format!("{t}.{body}").as_bytes());
    format!("t={t},v1={}", hex::encode(mac.finalize().into_bytes()))
}

impl TestApp {
    /// Posts a raw body with an optional signature header to the tenant's webhook URL.
    pub async fn post_webhook(&self, tenant: &str, signature: Option<&str>, body: &str) -> Answer {
        let mut req = self
            .client
            .post(format!("{}/webhooks/stripe/{tenant}", self.base))
            .header("content-type", "application/json")
            .body(body.to_owned());
        if let Some(s) = signature {
            req = req.header("Stripe-Signature", s);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status();
        let retry_after = resp
            .headers()
            .get("retry-after")
            .map(|v| v.to_str().unwrap().to_owned());
        let content_type = resp
            .headers()
            .get("content-type")
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default();
        let text = resp.text().await.unwrap();
        let json = serde_json::from_str(&text).unwrap_or(Value::Null);
        let mut a = Answer {
            status,
            content_type,
            text,
            json,
        };
        if let Some(r) = retry_after {
            a.json["__retry_after"] = json!(r);
        }
        a
    }

    /// Signs `event` with `secret` now and delivers it.
    pub async fn deliver(&self, tenant: &str, secret: &str, event: &Value) -> Answer {
        let body = event.to_string();
        self.post_webhook(tenant, Some(&sign(secret, now(), &body)), &body)
            .await
    }

    /// Creates a tenant with a Stripe config (test mode) and returns its webhook secret.
    pub async fn restaurant(&self, slug: &str) -> String {
        self.create_tenant(slug).await;
        let secret = format!("whsec_{}Secret0000", slug.replace('-', ""));
        self.set_stripe_config(
            slug,
            &format!("sk_test_{}Key00000", slug.replace('-', "")),
            &secret,
        )
        .await;
        secret
    }

    /// Creates an order and returns its id.
    pub async fn order(
        &self,
        tenant: &str,
        reference: &str,
        amount: i64,
        currency: &str,
    ) -> String {
        let a = self
            .post(
                &format!("/v1/tenants/{tenant}/orders"),
                self.op(),
                json!({"reference": reference, "amount": amount, "currency": currency}),
            )
            .await;
        assert_eq!(a.status, 201, "{a:?}");
        a.json["id"].as_str().unwrap().to_owned()
    }

    /// The order with its payments.
    pub async fn order_view(&self, tenant: &str, order_id: &str) -> Value {
        let a = self
            .get(
                &format!("/v1/tenants/{tenant}/orders/{order_id}"),
                self.op(),
            )
            .await;
        assert_eq!(a.status, 200, "{a:?}");
        a.json
    }

    pub async fn order_status(&self, tenant: &str, order_id: &str) -> String {
        self.order_view(tenant, order_id).await["status"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    /// All of the tenant's recorded events (first page of 100).
    pub async fn events(&self, tenant: &str) -> Vec<Value> {
        let a = self
            .get(
                &format!("/v1/tenants/{tenant}/webhook-events?limit=100"),
                self.op(),
            )
            .await;
        a.json["data"].as_array().unwrap().clone()
    }
}

/// The requests the gateway sent the mock Stripe at `path`, in order.
pub async fn requests_to(stripe: &wiremock::MockServer, path: &str) -> Vec<wiremock::Request> {
    stripe
        .received_requests()
        .await
        .unwrap()
        .into_iter()
        .filter(|r| r.url.path() == path)
        .collect()
}
