//! Real recorded Stripe events (`tests/fixtures/stripe_recorded/`: 175 events of 88 types and
//! many API versions, exactly as their sources recorded them) delivered byte for byte, signed
//! as Stripe signs: every one is answered as the rules say and recorded once; and the legacy
//! Charges-API shape (a charge with no PaymentIntent) pays and refunds an order.
use crate::helpers::TestApp;
use crate::stripe::{now, sign};
use gateway::webhooks::rules::HANDLED_TYPES;
use serde_json::{Value, json};

crate::backend_tests!(
    every_recorded_event_is_answered_and_recorded_once,
    legacy_charges_pay_refund_and_authorize,
);

const RECORDED: &str = include_str!("../fixtures/stripe_recorded/events.jsonl");

pub fn recorded() -> Vec<(&'static str, Value)> {
    RECORDED
        .lines()
        .map(|line| (line, serde_json::from_str(line).unwrap()))
        .collect()
}

/// The recorded event with this id, as JSON.
fn recorded_event(id: &str) -> Value {
    recorded()
        .into_iter()
        .find(|(_, e)| e["id"] == id)
        .unwrap_or_else(|| panic!("no recorded event {id}"))
        .1
}

/// What the gateway must answer for a recorded event delivered to a test-mode tenant.
fn expected(e: &Value) -> &'static str {
    let ty = e["type"].as_str().unwrap();
    let object = &e["data"]["object"];
    // A checkout session without a PaymentIntent (subscription, setup) has no payment to apply.
    let sessionless = ty.starts_with("checkout.session.")
        && ty != "checkout.session.expired"
        && object["payment_intent"].is_null();
    let live = e["livemode"] == true;
    if live || sessionless || !HANDLED_TYPES.contains(&ty) {
        "ignored"
    } else {
        "processed"
    }
}

/// A test-mode tenant whose limits take a whole file at once.
async fn tenant(app: &TestApp, slug: &str) -> String {
    let secret = app.restaurant(slug).await;
    let a = app
        .patch(
            &format!("/v1/tenants/{slug}"),
            app.op(),
            json!({"rate_limit_per_second": 10000, "rate_limit_burst": 10000}),
        )
        .await;
    assert_eq!(a.status, 200, "{a:?}");
    secret
}

async fn deliver_raw(app: &TestApp, slug: &str, secret: &str, body: &str) -> (u16, String) {
    let a = app
        .post_webhook(slug, Some(&sign(secret, now(), body)), body)
        .await;
    let word = a.json["status"].as_str().unwrap_or("").to_owned();
    (a.status.as_u16(), word)
}

async fn every_recorded_event_is_answered_and_recorded_once(app: TestApp) {
    let secret = tenant(&app, "recorded").await;
    let events = recorded();
    assert_eq!(events.len(), 175);
    let mut wrong = Vec::new();
    for (line, e) in &events {
        let (status, word) = deliver_raw(&app, "recorded", &secret, line).await;
        let want = expected(e);
        if status != 200 || word != want {
            wrong.push(format!(
                "{} {}: {status} {word}, expected 200 {want}",
                e["id"], e["type"]
            ));
        }
    }
    assert!(
        wrong.is_empty(),
        "{} answered otherwise:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
    // Stripe redelivers: every copy is a duplicate.
    for (line, e) in &events {
        let (status, word) = deliver_raw(&app, "recorded", &secret, line).await;
        assert_eq!((status, word.as_str()), (200, "duplicate"), "{}", e["id"]);
    }
    // One event row each, finished.
    let mut rows = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/v1/tenants/recorded/webhook-events?limit=100&cursor={c}"),
            None => "/v1/tenants/recorded/webhook-events?limit=100".to_owned(),
        };
        let page = app.get(&path, app.op()).await.json;
        rows.extend(page["data"].as_array().unwrap().iter().cloned());
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
    }
    assert_eq!(rows.len(), events.len());
    assert!(
        rows.iter()
            .all(|r| r["attempts"] == 1 && r["status"] != "processing" && r["status"] != "failed"),
        "{rows:?}"
    );
}

/// Delivers `body` and asserts it was processed.
async fn deliver_processed(app: &TestApp, slug: &str, secret: &str, body: &str) {
    let (status, word) = deliver_raw(app, slug, secret, body).await;
    assert_eq!((status, word.as_str()), (200, "processed"), "{body}");
}

/// A recorded event made to link to `order` (`metadata.order_id`), under a fresh id.
fn linked(id: &str, new_id: &str, order: &str) -> String {
    let mut e = recorded_event(id);
    e["id"] = json!(new_id);
    e["data"]["object"]["metadata"] = json!({"order_id": order});
    e.to_string()
}

async fn legacy_charges_pay_refund_and_authorize(app: TestApp) {
    let secret = tenant(&app, "legacy").await;
    // Recorded: a Charges-API charge captured (100 usd, no payment_intent) and then refunded.
    let captured = "evt_000000000000000000000000_dup2";
    let refunded = "evt_000000000000000000000000_dup6";
    let order = app.order("legacy", "L-1", 100, "usd").await;
    deliver_processed(
        &app,
        "legacy",
        &secret,
        &linked(captured, "evt_l_cap", &order),
    )
    .await;
    let view = app.order_view("legacy", &order).await;
    assert_eq!(view["status"], "PAID", "{view}");
    let payment = &view["payments"][0];
    assert_eq!(
        payment["stripe_charge_id"], "ch_000000000000000000000000",
        "{view}"
    );
    assert!(payment["stripe_payment_intent_id"].is_null(), "{view}");
    assert_eq!(payment["amount"], 100);
    deliver_processed(
        &app,
        "legacy",
        &secret,
        &linked(refunded, "evt_l_ref", &order),
    )
    .await;
    let view = app.order_view("legacy", &order).await;
    assert_eq!(view["status"], "REFUNDED", "{view}");
    assert_eq!(view["amount_refunded"], 100);
    assert_eq!(
        view["payments"].as_array().unwrap().len(),
        1,
        "one payment, keyed by its charge"
    );

    // The same two events the other way round (a refund seen before its capture) converge.
    let order2 = app.order("legacy", "L-2", 100, "usd").await;
    for (id, new_id) in [(refunded, "evt_l2_ref"), (captured, "evt_l2_cap")] {
        let mut e: Value = serde_json::from_str(&linked(id, new_id, &order2)).unwrap();
        e["data"]["object"]["id"] = json!("ch_legacy_two");
        let (s, _) = deliver_raw(&app, "legacy", &secret, &e.to_string()).await;
        assert_eq!(s, 200);
    }
    let view2 = app.order_view("legacy", &order2).await;
    assert_eq!(
        (view2["status"].as_str(), view2["amount_refunded"].as_i64()),
        (Some("REFUNDED"), Some(100)),
        "{view2}"
    );

    // Recorded: a Charges-API charge that only authorized (captured: false). Held, not paid.
    let order3 = app.order("legacy", "L-3", 100, "eur").await;
    let auth = linked("evt_1LCflrDu4p87RxPw3rxrRLSc", "evt_l3_auth", &order3);
    deliver_processed(&app, "legacy", &secret, &auth).await;
    let view3 = app.order_view("legacy", &order3).await;
    assert_eq!(view3["status"], "AUTHORIZED", "{view3}");
    assert_eq!(
        (&view3["amount_authorized"], &view3["amount_paid"]),
        (&json!(100), &json!(0)),
        "{view3}"
    );
    assert_eq!(view3["payments"][0]["status"], "authorized", "{view3}");
    assert_eq!(view3["payments"][0]["capture_method"], "manual", "{view3}");
    // Its capture pays the order.
    let mut capture: Value = serde_json::from_str(&auth).unwrap();
    capture["id"] = json!("evt_l3_capture");
    capture["type"] = json!("charge.captured");
    capture["created"] = json!(capture["created"].as_i64().unwrap() + 60);
    capture["data"]["object"]["captured"] = json!(true);
    capture["data"]["object"]["amount_captured"] = json!(100);
    deliver_processed(&app, "legacy", &secret, &capture.to_string()).await;
    assert_eq!(app.order_status("legacy", &order3).await, "PAID");
}
