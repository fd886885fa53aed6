//! Acting on authorizations through the HTTP surface, against a local Stripe that keeps each
//! PaymentIntent's state (`stripe_intents`): capture with a tip (`amount_to_capture`,
//! `metadata[tip_amount]`) settling the order from the webhook that follows, overcapture allowed
//! up to Stripe's offer and refused beyond it (nothing sent), tips over the tenant's limit, split
//! authorizations needing a `payment_id`, increment (a bar tab) and void, idempotency (derived
//! and the caller's key), Stripe's refusals answered 502, connected tenants calling with the
//! platform key and `Stripe-Account`, and other tenants seeing nothing.
use crate::helpers::{Answer, TestApp, into_answer};
use crate::restaurant::{card_charge, held_intent, money, paid, send};
use crate::stripe::{now, requests_to};
use crate::stripe_intents::Intents;
use serde_json::{Value, json};
use wiremock::MockServer;

crate::backend_tests!(
    a_capture_with_a_tip_settles_the_order_from_the_webhook,
    overcapture_is_allowed_up_to_the_offer_and_refused_beyond,
    split_authorizations_are_captured_one_share_at_a_time,
    a_bar_tab_is_incremented_then_captured,
    a_void_releases_the_hold_and_stripe_refusals_are_answered,
    caller_keys_replay_and_refuse_reuse,
    connected_tenants_capture_with_the_platform_key,
    other_tenants_and_orders_see_nothing,
);

/// A tenant `slug` over a local Stripe; its webhook secret, the app and the stand-in.
async fn setup(app: TestApp, slug: &str) -> (TestApp, String, MockServer, Intents) {
    let stripe = MockServer::start().await;
    let intents = Intents::mount(&stripe).await;
    let app = app.with_stripe(&stripe.uri()).await;
    let secret = app.restaurant(slug).await;
    (app, secret, stripe, intents)
}

/// Holds `amount` on `pi` for order `o`: at Stripe, and in the gateway's books through the
/// events Stripe sends (with the card's offers when `offers` is set).
#[allow(clippy::too_many_arguments)]
async fn hold(
    app: &TestApp,
    slug: &str,
    secret: &str,
    intents: &Intents,
    pi: &str,
    amount: i64,
    o: &str,
    offers: bool,
) {
    let over = offers.then_some(amount * 6 / 5);
    intents.hold(pi, amount, o, over, offers);
    let held = held_intent(pi, amount, o);
    send(
        app,
        slug,
        secret,
        &format!("evt_{pi}_held"),
        "payment_intent.amount_capturable_updated",
        held,
    )
    .await;
    if offers {
        let c = card_charge(pi, amount, 0, o, now() + 6 * 86_400);
        send(
            app,
            slug,
            secret,
            &format!("evt_{pi}_charge"),
            "charge.succeeded",
            c,
        )
        .await;
    }
}

async fn act(
    app: &TestApp,
    slug: &str,
    path: &str,
    key: Option<&str>,
    body: Option<Value>,
) -> Answer {
    as_caller(
        app,
        app.op(),
        &format!("/v1/tenants/{slug}/orders/{path}"),
        key,
        body,
    )
    .await
}

async fn as_caller(
    app: &TestApp,
    token: &str,
    path: &str,
    key: Option<&str>,
    body: Option<Value>,
) -> Answer {
    let mut req = app
        .client
        .post(format!("{}{path}", app.base))
        .bearer_auth(token);
    if let Some(key) = key {
        req = req.header("Idempotency-Key", key);
    }
    if let Some(body) = body {
        req = req.json(&body);
    }
    into_answer(req.send().await.unwrap()).await
}

async fn capture(app: &TestApp, slug: &str, o: &str, body: Value) -> Answer {
    act(app, slug, &format!("{o}/capture"), None, Some(body)).await
}

/// The form bodies Stripe was sent for `pi`'s `action`.
async fn sent(stripe: &MockServer, pi: &str, action: &str) -> Vec<String> {
    requests_to(stripe, &format!("/v1/payment_intents/{pi}/{action}"))
        .await
        .iter()
        .map(|r| String::from_utf8_lossy(&r.body).into_owned())
        .collect()
}

async fn a_capture_with_a_tip_settles_the_order_from_the_webhook(app: TestApp) {
    let (app, s, stripe, intents) = setup(app, "bistro").await;
    let o = app.order("bistro", "T-4", 2000, "usd").await;
    hold(&app, "bistro", &s, &intents, "pi_cap1", 2000, &o, true).await;
    let a = capture(&app, "bistro", &o, json!({"tip_amount": 300})).await;
    assert_eq!(a.status.as_u16(), 200, "{a:?}");
    assert_eq!(
        (
            &a.json["action"],
            &a.json["amount"],
            &a.json["tip_amount"],
            &a.json["stripe_status"]
        ),
        (
            &json!("capture"),
            &json!(2300),
            &json!(300),
            &json!("succeeded")
        )
    );
    let form = sent(&stripe, "pi_cap1", "capture").await;
    assert_eq!(form.len(), 1);
    assert!(form[0].contains("amount_to_capture=2300"), "{form:?}");
    assert!(
        form[0].contains("metadata[tip_amount]=300")
            || form[0].contains("metadata%5Btip_amount%5D=300"),
        "{form:?}"
    );
    let r = &requests_to(&stripe, "/v1/payment_intents/pi_cap1/capture").await[0];
    assert_eq!(
        r.headers.get("authorization").unwrap(),
        "Bearer sk_test_bistroKey00000"
    );
    // The answer moves nothing: the books wait for Stripe's event.
    assert_eq!(money(&app, "bistro", &o).await.0, "AUTHORIZED");
    // Asked again before the event: the same capture, the same key at Stripe, no second one.
    let again = capture(&app, "bistro", &o, json!({"tip_amount": 300})).await;
    assert_eq!(
        (again.status.as_u16(), &again.json["amount"]),
        (200, &json!(2300)),
        "{again:?}"
    );
    assert_eq!(again.json["idempotency_key"], a.json["idempotency_key"]);
    // Stripe's event settles it, the tip declared by the capture's metadata.
    send(
        &app,
        "bistro",
        &s,
        "evt_cap1_ok",
        "payment_intent.succeeded",
        intents.object("pi_cap1"),
    )
    .await;
    assert_eq!(money(&app, "bistro", &o).await, paid(2300, 300));
    let view = app.order_view("bistro", &o).await;
    assert_eq!(view["payments"][0]["tip_amount"], 300, "{view}");
    // Nothing is held any more: a capture now is refused before Stripe is called.
    let late = capture(&app, "bistro", &o, json!({"tip_amount": 0})).await;
    late.assert_problem(409, "nothing_authorized");
    assert_eq!(sent(&stripe, "pi_cap1", "capture").await.len(), 2);
}

async fn overcapture_is_allowed_up_to_the_offer_and_refused_beyond(app: TestApp) {
    let (app, s, stripe, intents) = setup(app, "tavern").await;
    // Offered up to 2,400 on 2,000.
    let o = app.order("tavern", "T-1", 2000, "usd").await;
    hold(&app, "tavern", &s, &intents, "pi_over1", 2000, &o, true).await;
    let refused = capture(&app, "tavern", &o, json!({"tip_amount": 401})).await;
    refused.assert_problem(409, "tip_exceeds_authorization");
    let detail = refused.json["detail"].as_str().unwrap();
    assert!(
        detail.contains("at most 2400") && detail.contains("at most 400"),
        "{detail}"
    );
    assert!(
        sent(&stripe, "pi_over1", "capture").await.is_empty(),
        "nothing sent"
    );
    let ok = capture(&app, "tavern", &o, json!({"tip_amount": 400})).await;
    assert_eq!(
        (ok.status.as_u16(), &ok.json["amount"]),
        (200, &json!(2400)),
        "{ok:?}"
    );
    send(
        &app,
        "tavern",
        &s,
        "evt_over1_ok",
        "payment_intent.succeeded",
        intents.object("pi_over1"),
    )
    .await;
    assert_eq!(money(&app, "tavern", &o).await, paid(2400, 400));

    // No overcapture offered: the hold is all there is.
    let o2 = app.order("tavern", "T-2", 2000, "usd").await;
    hold(&app, "tavern", &s, &intents, "pi_over2", 2000, &o2, false).await;
    let refused = capture(&app, "tavern", &o2, json!({"tip_amount": 1})).await;
    refused.assert_problem(409, "tip_exceeds_authorization");
    assert!(
        refused.json["detail"]
            .as_str()
            .unwrap()
            .contains("at most 2000"),
        "{refused:?}"
    );

    // A tip over the tenant's limit (10 %) would not be taken as a tip: refused, nothing sent.
    let patch = app
        .patch("/v1/tenants/tavern", app.op(), json!({"max_tip_bps": 1000}))
        .await;
    assert_eq!(patch.status.as_u16(), 200, "{patch:?}");
    let o3 = app.order("tavern", "T-3", 2000, "usd").await;
    hold(&app, "tavern", &s, &intents, "pi_over3", 2000, &o3, true).await;
    let refused = capture(&app, "tavern", &o3, json!({"tip_amount": 201})).await;
    refused.assert_problem(409, "tip_over_limit");
    assert!(
        refused.json["detail"]
            .as_str()
            .unwrap()
            .contains("at most 200"),
        "{refused:?}"
    );
    assert!(sent(&stripe, "pi_over3", "capture").await.is_empty());
    // Bad input is refused and changes nothing.
    for body in [
        json!({"tip_amount": -1}),
        json!({}),
        json!({"tip_amount": "3"}),
        json!({"tip_amount": 1, "payment_id": "nope"}),
    ] {
        let a = capture(&app, "tavern", &o3, body.clone()).await;
        assert!(matches!(a.status.as_u16(), 400 | 422), "{body}: {a:?}");
    }
    assert_eq!(money(&app, "tavern", &o3).await.0, "AUTHORIZED");
}

async fn split_authorizations_are_captured_one_share_at_a_time(app: TestApp) {
    let (app, s, stripe, intents) = setup(app, "trio").await;
    let o = app.order("trio", "T-3", 6000, "usd").await;
    hold(&app, "trio", &s, &intents, "pi_sa", 3000, &o, true).await;
    hold(&app, "trio", &s, &intents, "pi_sb", 3000, &o, true).await;
    assert_eq!(
        money(&app, "trio", &o).await,
        ("AUTHORIZED".into(), 0, 0, 6000, 6000, Value::Null)
    );
    let ids: Vec<String> = app.order_view("trio", &o).await["payments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].as_str().unwrap().to_owned())
        .collect();
    let refused = capture(&app, "trio", &o, json!({"tip_amount": 300})).await;
    refused.assert_problem(409, "ambiguous_payment");
    let detail = refused.json["detail"].as_str().unwrap();
    assert!(
        ids.iter().all(|id| detail.contains(id.as_str())),
        "{detail}"
    );
    // The first diner: their share and their tip.
    let first = capture(
        &app,
        "trio",
        &o,
        json!({"tip_amount": 300, "payment_id": ids[0]}),
    )
    .await;
    assert_eq!(
        (first.status.as_u16(), &first.json["amount"]),
        (200, &json!(3300)),
        "{first:?}"
    );
    let pi = first.json["payment_intent"].as_str().unwrap().to_owned();
    send(
        &app,
        "trio",
        &s,
        "evt_sa_ok",
        "payment_intent.succeeded",
        intents.object(&pi),
    )
    .await;
    assert_eq!(
        money(&app, "trio", &o).await,
        ("AUTHORIZED".into(), 3300, 300, 3000, 3000, Value::Null)
    );
    // The second: the only one left, no id needed.
    let second = capture(&app, "trio", &o, json!({"tip_amount": 450})).await;
    assert_eq!(
        (second.status.as_u16(), &second.json["amount"]),
        (200, &json!(3450)),
        "{second:?}"
    );
    assert_ne!(second.json["payment_intent"], first.json["payment_intent"]);
    let pi2 = second.json["payment_intent"].as_str().unwrap().to_owned();
    send(
        &app,
        "trio",
        &s,
        "evt_sb_ok",
        "payment_intent.succeeded",
        intents.object(&pi2),
    )
    .await;
    assert_eq!(money(&app, "trio", &o).await, paid(6750, 750));
    assert_eq!(
        sent(&stripe, &pi, "capture").await.len() + sent(&stripe, &pi2, "capture").await.len(),
        2
    );
}

async fn a_bar_tab_is_incremented_then_captured(app: TestApp) {
    let (app, s, stripe, intents) = setup(app, "pub").await;
    let o = app.order("pub", "tab-9", 4500, "usd").await;
    hold(&app, "pub", &s, &intents, "pi_tab9", 2000, &o, true).await;
    assert_eq!(money(&app, "pub", &o).await.0, "PARTIALLY_PAID");
    let pid = app.order_view("pub", &o).await["payments"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let up = |amount: i64| json!({"amount": amount});
    let path = format!("{o}/authorizations/{pid}/increment");
    act(&app, "pub", &path, None, Some(up(2000)))
        .await
        .assert_problem(409, "not_an_increase");
    let a = act(&app, "pub", &path, None, Some(up(5000))).await;
    assert_eq!(
        (a.status.as_u16(), &a.json["action"], &a.json["amount"]),
        (200, &json!("increment"), &json!(5000)),
        "{a:?}"
    );
    assert_eq!(a.json["stripe_status"], "requires_capture");
    assert_eq!(
        sent(&stripe, "pi_tab9", "increment_authorization").await,
        vec!["amount=5000".to_owned()]
    );
    send(
        &app,
        "pub",
        &s,
        "evt_tab9_up",
        "payment_intent.amount_capturable_updated",
        intents.object("pi_tab9"),
    )
    .await;
    assert_eq!(
        money(&app, "pub", &o).await,
        ("AUTHORIZED".into(), 0, 0, 4500, 5000, Value::Null)
    );
    // Closing the tab: 4,500 and a 500 tip, inside the new hold.
    let c = capture(&app, "pub", &o, json!({"tip_amount": 500})).await;
    assert_eq!(
        (c.status.as_u16(), &c.json["amount"]),
        (200, &json!(5000)),
        "{c:?}"
    );
    send(
        &app,
        "pub",
        &s,
        "evt_tab9_ok",
        "payment_intent.succeeded",
        intents.object("pi_tab9"),
    )
    .await;
    assert_eq!(money(&app, "pub", &o).await, paid(5000, 500));

    // A hold whose card offered no increment.
    let o2 = app.order("pub", "tab-10", 4500, "usd").await;
    hold(&app, "pub", &s, &intents, "pi_tab10", 2000, &o2, false).await;
    let pid2 = app.order_view("pub", &o2).await["payments"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let path2 = format!("{o2}/authorizations/{pid2}/increment");
    act(&app, "pub", &path2, None, Some(up(5000)))
        .await
        .assert_problem(409, "increment_not_supported");
    assert!(
        sent(&stripe, "pi_tab10", "increment_authorization")
            .await
            .is_empty()
    );
}

async fn a_void_releases_the_hold_and_stripe_refusals_are_answered(app: TestApp) {
    let (app, s, stripe, intents) = setup(app, "diner").await;
    let o = app.order("diner", "T-8", 2000, "usd").await;
    hold(&app, "diner", &s, &intents, "pi_void", 2000, &o, false).await;
    let pid = app.order_view("diner", &o).await["payments"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let path = format!("{o}/authorizations/{pid}/cancel");
    let a = act(&app, "diner", &path, None, None).await;
    assert_eq!(
        (
            a.status.as_u16(),
            &a.json["action"],
            &a.json["amount"],
            &a.json["stripe_status"]
        ),
        (200, &json!("cancel"), &json!(2000), &json!("canceled")),
        "{a:?}"
    );
    let again = act(&app, "diner", &path, None, None).await;
    assert_eq!(
        again.status.as_u16(),
        200,
        "a retry before the event answers the same: {again:?}"
    );
    send(
        &app,
        "diner",
        &s,
        "evt_void_ok",
        "payment_intent.canceled",
        intents.object("pi_void"),
    )
    .await;
    let (status, paid_, _, due, authorized, _) = money(&app, "diner", &o).await;
    assert_eq!(
        (status.as_str(), paid_, due, authorized),
        ("EXPIRED", 0, 2000, 0)
    );
    act(&app, "diner", &path, None, None)
        .await
        .assert_problem(409, "nothing_authorized");
    assert_eq!(sent(&stripe, "pi_void", "cancel").await.len(), 2);

    // Captured in Stripe's Dashboard before the books heard of it: Stripe's refusal, its reason.
    let o2 = app.order("diner", "T-9", 2000, "usd").await;
    hold(&app, "diner", &s, &intents, "pi_dash", 2000, &o2, false).await;
    intents.captured_elsewhere("pi_dash");
    let refused = capture(&app, "diner", &o2, json!({"tip_amount": 0})).await;
    refused.assert_problem(502, "stripe_error");
    assert!(
        refused.json["detail"]
            .as_str()
            .unwrap()
            .contains("status of succeeded"),
        "{refused:?}"
    );
    assert_eq!(
        money(&app, "diner", &o2).await.0,
        "AUTHORIZED",
        "nothing changed"
    );
}

async fn caller_keys_replay_and_refuse_reuse(app: TestApp) {
    let (app, s, stripe, intents) = setup(app, "grill").await;
    let o = app.order("grill", "T-5", 2000, "usd").await;
    hold(&app, "grill", &s, &intents, "pi_key", 2000, &o, true).await;
    let path = format!("{o}/capture");
    let first = act(
        &app,
        "grill",
        &path,
        Some("pos-close-5"),
        Some(json!({"tip_amount": 100})),
    )
    .await;
    assert_eq!(
        (first.status.as_u16(), &first.json["idempotency_key"]),
        (200, &json!("pos-close-5")),
        "{first:?}"
    );
    let again = act(
        &app,
        "grill",
        &path,
        Some("pos-close-5"),
        Some(json!({"tip_amount": 100})),
    )
    .await;
    assert_eq!(
        (again.status.as_u16(), &again.json["amount"]),
        (200, &json!(2100)),
        "{again:?}"
    );
    let other = act(
        &app,
        "grill",
        &path,
        Some("pos-close-5"),
        Some(json!({"tip_amount": 200})),
    )
    .await;
    other.assert_problem(409, "idempotency_key_reused");
    for r in requests_to(&stripe, "/v1/payment_intents/pi_key/capture").await {
        let key = r.headers.get("idempotency-key").unwrap().to_str().unwrap();
        assert!(
            key.starts_with("gateway-capture-") && !key.contains("pos-close-5"),
            "{key}"
        );
    }
    let empty = act(
        &app,
        "grill",
        &path,
        Some(""),
        Some(json!({"tip_amount": 100})),
    )
    .await;
    assert!(matches!(empty.status.as_u16(), 400 | 422), "{empty:?}");
}

async fn connected_tenants_capture_with_the_platform_key(app: TestApp) {
    let stripe = MockServer::start().await;
    let intents = Intents::mount(&stripe).await;
    let app = app.with_stripe(&stripe.uri()).await;
    crate::connect::platform(&app).await;
    crate::connect::connected(&app, "omega", "acct_1Omega", 0).await;
    let o = app.order("omega", "C-1", 2000, "usd").await;
    intents.hold("pi_conn", 2000, &o, None, false);
    let mut held = crate::stripe::event(
        "evt_conn_held",
        "payment_intent.amount_capturable_updated",
        now(),
        held_intent("pi_conn", 2000, &o),
    );
    held["account"] = json!("acct_1Omega");
    let a = app
        .deliver("connect", crate::connect::PLATFORM_SECRET, &held)
        .await;
    assert_eq!(a.status.as_u16(), 200, "{a:?}");
    let c = capture(&app, "omega", &o, json!({"tip_amount": 0})).await;
    assert_eq!(c.status.as_u16(), 200, "{c:?}");
    let r = &requests_to(&stripe, "/v1/payment_intents/pi_conn/capture").await[0];
    assert_eq!(r.headers.get("stripe-account").unwrap(), "acct_1Omega");
    let platform = format!("Bearer {}", crate::connect::PLATFORM_KEY);
    assert_eq!(r.headers.get("authorization").unwrap(), platform.as_str());
}

async fn other_tenants_and_orders_see_nothing(app: TestApp) {
    let (app, s, stripe, intents) = setup(app, "alpha").await;
    app.restaurant("beta").await;
    let o = app.order("alpha", "A-1", 2000, "usd").await;
    hold(&app, "alpha", &s, &intents, "pi_iso", 2000, &o, true).await;
    let pid = app.order_view("alpha", &o).await["payments"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let beta_key = app.issue_key("beta").await;
    let alpha_key = app.issue_key("alpha").await;
    let body = json!({"tip_amount": 0});
    for slug in ["alpha", "beta"] {
        let path = format!("/v1/tenants/{slug}/orders/{o}/capture");
        as_caller(&app, &beta_key, &path, None, Some(body.clone()))
            .await
            .assert_problem(404, "not_found");
    }
    let other = app.order("alpha", "A-2", 2000, "usd").await;
    act(
        &app,
        "alpha",
        &format!("{other}/authorizations/{pid}/cancel"),
        None,
        None,
    )
    .await
    .assert_problem(404, "not_found");
    act(
        &app,
        "alpha",
        &format!("{}/capture", uuid::Uuid::now_v7()),
        None,
        Some(json!({"tip_amount": 0})),
    )
    .await
    .assert_problem(404, "not_found");
    assert!(
        stripe.received_requests().await.unwrap().is_empty(),
        "nothing sent"
    );
    // Its own key may.
    let a = as_caller(
        &app,
        &alpha_key,
        &format!("/v1/tenants/alpha/orders/{o}/capture"),
        None,
        Some(body),
    )
    .await;
    assert_eq!(a.status.as_u16(), 200, "{a:?}");
}
