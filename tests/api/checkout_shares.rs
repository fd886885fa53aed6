//! Checkout for a share: a table of three pays one Checkout Session each — a share of the amount
//! due, a tip as its own "Tip" line declared in metadata, or an authorization to capture later —
//! several sessions open for one order at once, each with its own key; more than is due, or a
//! tip over the tenant's limit, is refused and nothing is sent; the books settle from Stripe's
//! events, and a paid order takes no more sessions.
use crate::helpers::{Answer, TestApp};
use crate::stripe::{checkout_session, event, merge, now};
use serde_json::{Value, json};
use std::collections::HashMap;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

crate::backend_tests!(a_table_pays_in_shares_with_tips);

/// Stripe's answer: a session whose id follows the idempotency key (same key, same session).
fn session(req: &Request) -> ResponseTemplate {
    let key = req.headers["idempotency-key"].to_str().unwrap();
    let id = format!("cs_test_{}", &key[key.len() - 12..]);
    let mut s = checkout_session(&id, None, 0, "usd", "x", "unpaid");
    s["url"] = json!(format!("https://checkout.stripe.com/c/pay/{id}"));
    ResponseTemplate::new(200).set_body_json(s)
}

fn form(req: &Request) -> HashMap<String, String> {
    form_urlencoded::parse(&req.body).into_owned().collect()
}

async fn pay(app: &TestApp, order: &str, key: Option<&str>, share: Value) -> Answer {
    let body = merge(
        json!({"success_url": "https://table.example/ok", "cancel_url": "https://table.example/no"}),
        share,
    );
    let mut req = app
        .client
        .post(format!(
            "{}/v1/tenants/osteria/orders/{order}/checkout-session",
            app.base
        ))
        .bearer_auth(app.op())
        .json(&body);
    if let Some(key) = key {
        req = req.header("Idempotency-Key", key);
    }
    crate::helpers::into_answer(req.send().await.unwrap()).await
}

async fn a_table_pays_in_shares_with_tips(app: TestApp) {
    let stripe = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/checkout/sessions"))
        .respond_with(session)
        .mount(&stripe)
        .await;
    let app = app.with_stripe(&stripe.uri()).await;
    let secret = app.restaurant("osteria").await;
    let order = app.order("osteria", "T-3", 6000, "usd").await;

    // Seat 1: a third and a 300 tip. Seat 2: a third, its own key. Seat 3: authorize a third.
    let one = pay(
        &app,
        &order,
        Some("seat-1"),
        json!({"amount": 2000, "tip_amount": 300}),
    )
    .await;
    assert_eq!(one.status, 201, "{one:?}");
    assert_eq!(
        (&one.json["amount"], &one.json["tip_amount"]),
        (&json!(2000), &json!(300))
    );
    let two = pay(&app, &order, Some("seat-2"), json!({"amount": 2000})).await;
    let three = pay(
        &app,
        &order,
        Some("seat-3"),
        json!({"amount": 2000, "capture_method": "manual"}),
    )
    .await;
    assert_eq!((two.status.as_u16(), three.status.as_u16()), (201, 201));
    assert_eq!(three.json["capture_method"], "manual");
    let ids = [&one, &two, &three].map(|a| a.json["session_id"].as_str().unwrap().to_owned());
    assert!(
        ids[0] != ids[1] && ids[1] != ids[2],
        "three sessions open: {ids:?}"
    );
    // A retry of seat 1 is seat 1's session.
    let again = pay(
        &app,
        &order,
        Some("seat-1"),
        json!({"amount": 2000, "tip_amount": 300}),
    )
    .await;
    assert_eq!(again.json["session_id"], one.json["session_id"]);

    let sent = stripe.received_requests().await.unwrap();
    let f = form(&sent[0]);
    assert_eq!(f["line_items[0][price_data][unit_amount]"], "2000");
    assert_eq!(
        f["line_items[0][price_data][product_data][name]"],
        "Order T-3 (share)"
    );
    assert_eq!(f["line_items[1][price_data][unit_amount]"], "300");
    assert_eq!(f["line_items[1][price_data][product_data][name]"], "Tip");
    assert_eq!(f["metadata[tip_amount]"], "300");
    assert_eq!(f["payment_intent_data[metadata][tip_amount]"], "300");
    assert_eq!(f["metadata[order_id]"], order);
    assert!(!f.contains_key("payment_intent_data[capture_method]"));
    let f2 = form(&sent[1]);
    assert!(
        !f2.contains_key("line_items[1][price_data][unit_amount]"),
        "no tip, no Tip line"
    );
    assert_eq!(
        form(&sent[2])["payment_intent_data[capture_method]"],
        "manual"
    );
    let keys: Vec<&str> = sent
        .iter()
        .map(|r| r.headers["idempotency-key"].to_str().unwrap())
        .collect();
    assert!(
        keys.iter().all(|k| !k.contains("seat-")),
        "callers' keys are hashed: {keys:?}"
    );

    // Refused, nothing sent: more than is due, a tip over the limit (10 % once patched).
    pay(&app, &order, None, json!({"amount": 6001}))
        .await
        .assert_problem(409, "amount_exceeds_due");
    let patch = app
        .patch(
            "/v1/tenants/osteria",
            app.op(),
            json!({"max_tip_bps": 1000}),
        )
        .await;
    assert_eq!(patch.status, 200);
    let order2 = app.order("osteria", "T-4", 6000, "usd").await;
    pay(&app, &order2, None, json!({"tip_amount": 601}))
        .await
        .assert_problem(409, "tip_over_limit");
    for bad in [
        json!({"amount": 0}),
        json!({"amount": "5"}),
        json!({"capture_method": "later"}),
        json!({"tip_amount": -1}),
    ] {
        let a = pay(&app, &order2, None, bad.clone()).await;
        assert!(matches!(a.status.as_u16(), 400 | 422), "{bad}: {a:?}");
    }
    assert_eq!(stripe.received_requests().await.unwrap().len(), 4);

    // Seat 1 pays: the books take the share and the tip; the rest is due.
    let mut paid = checkout_session(&ids[0], Some("pi_seat1"), 2300, "usd", &order, "paid");
    paid["metadata"]["tip_amount"] = json!("300");
    let e = event("evt_seat1", "checkout.session.completed", now(), paid);
    assert_eq!(app.deliver("osteria", &secret, &e).await.status, 200);
    let view = app.order_view("osteria", &order).await;
    assert_eq!(
        (
            &view["status"],
            &view["amount_paid"],
            &view["tip_amount"],
            &view["amount_due"]
        ),
        (
            &json!("PARTIALLY_PAID"),
            &json!(2300),
            &json!(300),
            &json!(4000)
        ),
        "{view}"
    );
    // Without an amount, a session asks for what is due now.
    let rest = pay(&app, &order, None, json!({})).await;
    assert_eq!(
        (rest.status.as_u16(), &rest.json["amount"]),
        (201, &json!(4000)),
        "{rest:?}"
    );
    pay(&app, &order, None, json!({"amount": 4001}))
        .await
        .assert_problem(409, "amount_exceeds_due");
    // The others pay; a paid order takes no more sessions.
    for (cs, pi) in [(&ids[1], "pi_seat2"), (&ids[2], "pi_seat2b")] {
        let s = checkout_session(cs, Some(pi), 2000, "usd", &order, "paid");
        let e = event(&format!("evt_{pi}"), "checkout.session.completed", now(), s);
        assert_eq!(app.deliver("osteria", &secret, &e).await.status, 200);
    }
    assert_eq!(app.order_status("osteria", &order).await, "PAID");
    pay(&app, &order, None, json!({}))
        .await
        .assert_problem(409, "order_not_payable");
}
