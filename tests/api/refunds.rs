//! Refunds from the API: made at Stripe with the tenant's key (the mock checks the headers and
//! the form body), idempotent by `Idempotency-Key` (or a key derived from the order), refused
//! with 409 when nothing is refundable or the amount exceeds what remains, Stripe's refusal
//! answered 502 with its reason — and the order settles only from Stripe's `charge.refunded`.
use crate::helpers::{Answer, TestApp, into_answer};
use crate::stripe::{charge, event, now, payment_intent};
use serde_json::{Value, json};
use wiremock::matchers::{body_string_contains, header, method, path};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

crate::backend_tests!(
    partial_then_full_refund_settle_from_the_webhook,
    refusals_change_nothing_and_call_stripe_never,
    stripe_refusal_is_answered_with_its_reason
);

const PI: &str = "pi_refund0001";

/// A tenant (`trattoria`) with an order of 2,500 paid by `PI`; the order's id.
async fn paid_order(app: &TestApp) -> String {
    let secret = app.restaurant("trattoria").await;
    let order = app.order("trattoria", "T-1", 2500, "eur").await;
    let paid = event(
        "evt_refund_paid",
        "payment_intent.succeeded",
        now(),
        payment_intent(PI, 2500, "eur", "succeeded", Some(&order)),
    );
    assert_eq!(app.deliver("trattoria", &secret, &paid).await.status, 200);
    order
}

async fn refund(app: &TestApp, order: &str, key: Option<&str>, body: Value) -> Answer {
    let mut req = app
        .client
        .post(format!(
            "{}/v1/tenants/trattoria/orders/{order}/refunds",
            app.base
        ))
        .bearer_auth(app.op())
        .json(&body);
    if let Some(key) = key {
        req = req.header("Idempotency-Key", key);
    }
    into_answer(req.send().await.unwrap()).await
}

/// Stripe's answer to `POST /v1/refunds`: a refund of the amount asked, its id taken from the
/// idempotency key (so the same key gets the same refund, as at Stripe).
fn stripe_refund(req: &Request) -> ResponseTemplate {
    let form: std::collections::HashMap<String, String> =
        form_urlencoded::parse(&req.body).into_owned().collect();
    let key = req
        .headers
        .get("idempotency-key")
        .unwrap()
        .to_str()
        .unwrap();
    let id = format!("re_{:x}", md5_like(key));
    ResponseTemplate::new(200).set_body_json(json!({
        "id": id, "object": "refund", "amount": form["amount"].parse::<i64>().unwrap(),
        "currency": "eur", "payment_intent": form["payment_intent"], "status": "succeeded",
    }))
}

fn md5_like(s: &str) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    s.hash(&mut h);
    h.finish()
}

async fn partial_then_full_refund_settle_from_the_webhook(app: TestApp) {
    let stripe = MockServer::start().await;
    let app = app.with_stripe(&stripe.uri()).await;
    let order = paid_order(&app).await;
    Mock::given(method("POST"))
        .and(path("/v1/refunds"))
        .and(header("authorization", "Bearer sk_test_trattoriaKey00000"))
        .and(body_string_contains(
            format!("payment_intent={PI}").as_str(),
        ))
        .respond_with(stripe_refund)
        .mount(&stripe)
        .await;

    // Partial, with the caller's key and a reason; then the same request again.
    let body = json!({"amount": 1000, "reason": "requested_by_customer"});
    let first = refund(&app, &order, Some("pos-refund-1"), body.clone()).await;
    assert_eq!(first.status, 201, "{first:?}");
    assert_eq!(first.json["amount"], 1000);
    assert_eq!(first.json["payment_intent"], PI);
    assert_eq!(first.json["idempotency_key"], "pos-refund-1");
    let again = refund(&app, &order, Some("pos-refund-1"), body).await;
    assert_eq!(again.json["id"], first.json["id"], "same key, same refund");
    let sent = stripe.received_requests().await.unwrap();
    assert_eq!(sent.len(), 2);
    for r in &sent {
        assert_eq!(r.headers.get("idempotency-key").unwrap(), "pos-refund-1");
        let body = String::from_utf8_lossy(&r.body);
        assert!(
            body.contains("amount=1000") && body.contains("reason=requested_by_customer"),
            "{body}"
        );
    }
    // The answer alone changes nothing in the books.
    let view = app.order_view("trattoria", &order).await;
    assert_eq!(
        (view["status"].as_str(), view["amount_refunded"].as_i64()),
        (Some("PAID"), Some(0))
    );

    // Stripe's event settles it; then the rest, with a key derived from the order.
    let secret = "whsec_trattoriaSecret0000";
    let refunded = event(
        "evt_refund_partial",
        "charge.refunded",
        now(),
        charge(PI, 2500, "eur", 1000, Some(&order)),
    );
    assert_eq!(
        app.deliver("trattoria", secret, &refunded).await.status,
        200
    );
    let view = app.order_view("trattoria", &order).await;
    assert_eq!(view["amount_refunded"], 1000, "{view}");
    let rest = refund(&app, &order, None, json!({})).await;
    assert_eq!(rest.status, 201, "{rest:?}");
    assert_eq!(rest.json["amount"], 1500, "all that remains");
    assert_eq!(
        rest.json["idempotency_key"],
        format!("gateway-refund-{order}-1500-1000")
    );
    let full = event(
        "evt_refund_full",
        "charge.refunded",
        now(),
        charge(PI, 2500, "eur", 2500, Some(&order)),
    );
    assert_eq!(app.deliver("trattoria", secret, &full).await.status, 200);
    let view = app.order_view("trattoria", &order).await;
    assert_eq!(view["status"], "REFUNDED", "{view}");
    refund(&app, &order, None, json!({}))
        .await
        .assert_problem(409, "nothing_refundable");
}

async fn refusals_change_nothing_and_call_stripe_never(app: TestApp) {
    let stripe = MockServer::start().await;
    let app = app.with_stripe(&stripe.uri()).await;
    let order = paid_order(&app).await;
    let unpaid = app.order("trattoria", "T-2", 900, "eur").await;
    refund(&app, &order, None, json!({"amount": 2501}))
        .await
        .assert_problem(409, "refund_exceeds_payment");
    refund(&app, &unpaid, None, json!({}))
        .await
        .assert_problem(409, "nothing_refundable");
    refund(&app, &order, None, json!({"amount": 0}))
        .await
        .assert_problem(422, "validation_failed");
    refund(&app, &order, None, json!({"amount": null}))
        .await
        .assert_problem(400, "malformed_request");
    refund(&app, &order, None, json!({"reason": "because"}))
        .await
        .assert_problem(400, "malformed_request");
    for bad in ["has space", ""] {
        refund(&app, &order, Some(bad), json!({}))
            .await
            .assert_problem(422, "validation_failed");
    }
    refund(&app, &uuid::Uuid::now_v7().to_string(), None, json!({}))
        .await
        .assert_problem(404, "not_found");
    assert!(
        stripe.received_requests().await.unwrap().is_empty(),
        "Stripe never called"
    );
    let view = app.order_view("trattoria", &order).await;
    assert_eq!(view["amount_refunded"], 0);
}

async fn stripe_refusal_is_answered_with_its_reason(app: TestApp) {
    let stripe = MockServer::start().await;
    let app = app.with_stripe(&stripe.uri()).await;
    let order = paid_order(&app).await;
    Mock::given(method("POST"))
        .and(path("/v1/refunds"))
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({"error": {
            "type": "invalid_request_error", "code": "charge_already_refunded",
            "message": "Charge ch_refund0001 has already been refunded."}})))
        .mount(&stripe)
        .await;
    let refused = refund(&app, &order, None, json!({})).await;
    refused.assert_problem(502, "stripe_error");
    assert!(
        refused.json["detail"]
            .as_str()
            .unwrap()
            .contains("already been refunded"),
        "{refused:?}"
    );
}
