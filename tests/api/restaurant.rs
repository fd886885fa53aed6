//! Restaurant payments through the HTTP surface, with Stripe's own object shapes: tips declared
//! each way (`amount_details.tip` from a Terminal reader or the API, `metadata.tip_amount` on a
//! PaymentIntent or a Checkout Session, an overcapture's excess), split checks in two and three,
//! a first diner paying, overpaid, a tip over the tenant's limit, a bar tab authorized and
//! captured with the tip, a void, the status URL and notifications carrying the money, and the
//! same history in other orders (with duplicates) converging.
use crate::helpers::TestApp;
use crate::receiver::Receiver;
use crate::stripe::*;
use serde_json::{Value, json};
use std::time::Duration;

crate::backend_tests!(
    tips_declared_each_way_settle_the_order,
    split_checks_settle_when_every_share_is_paid,
    overpaid_and_tips_over_the_limit_need_review,
    a_bar_tab_is_held_then_captured_with_the_tip,
    a_void_releases_the_hold,
    notifications_and_the_status_url_carry_the_money,
    shuffled_and_repeated_histories_converge,
    held_orders_are_listed_soonest_deadline_first,
    reconciliation_finds_a_missed_authorization,
);

/// A succeeded PaymentIntent of `amount` (tip included) declaring `tip` on `amount_details`.
fn tipped_intent(pi: &str, amount: i64, tip: i64, order: &str) -> Value {
    merge(
        payment_intent(pi, amount, "usd", "succeeded", Some(order)),
        json!({"amount_details": {"tip": {"amount": tip}}}),
    )
}

/// A PaymentIntent holding `amount` (`requires_capture`), as
/// `payment_intent.amount_capturable_updated` carries it.
pub(crate) fn held_intent(pi: &str, amount: i64, order: &str) -> Value {
    merge(
        payment_intent(pi, amount, "usd", "requires_capture", Some(order)),
        json!({"amount_capturable": amount, "amount_received": 0, "capture_method": "manual", "created": now()}),
    )
}

/// The charge of an authorization of `authorized`, captured for `captured` (0: not yet), with
/// the card's deadline and what it offers.
pub(crate) fn card_charge(
    pi: &str,
    authorized: i64,
    captured: i64,
    order: &str,
    deadline: i64,
) -> Value {
    let mut c = charge(pi, authorized, "usd", 0, Some(order));
    c["captured"] = json!(captured > 0);
    c["amount_captured"] = json!(captured);
    c["payment_method_details"]["card"]["capture_before"] = json!(deadline);
    c["payment_method_details"]["card"]["amount_authorized"] = json!(authorized);
    c["payment_method_details"]["card"]["overcapture"] =
        json!({"status": "available", "maximum_amount_capturable": authorized * 6 / 5});
    c["payment_method_details"]["card"]["incremental_authorization"] =
        json!({"status": "available"});
    if captured > 0 {
        c["amount"] = json!(captured);
    }
    c
}

pub(crate) async fn send(
    app: &TestApp,
    tenant: &str,
    secret: &str,
    id: &str,
    ty: &str,
    object: Value,
) {
    let a = app
        .deliver(tenant, secret, &event(id, ty, now(), object))
        .await;
    assert_eq!(a.status, 200, "{a:?}");
    assert_ne!(a.json["status"], "ignored", "{a:?}");
}

/// The order's status and money: (status, paid, tip, due, authorized, review_reason).
pub(crate) async fn money(
    app: &TestApp,
    tenant: &str,
    order: &str,
) -> (String, i64, i64, i64, i64, Value) {
    let v = app.order_view(tenant, order).await;
    (
        v["status"].as_str().unwrap().to_owned(),
        v["amount_paid"].as_i64().unwrap(),
        v["tip_amount"].as_i64().unwrap(),
        v["amount_due"].as_i64().unwrap(),
        v["amount_authorized"].as_i64().unwrap(),
        v["review_reason"].clone(),
    )
}

pub(crate) fn paid(paid: i64, tip: i64) -> (String, i64, i64, i64, i64, Value) {
    ("PAID".into(), paid, tip, 0, 0, Value::Null)
}

async fn tips_declared_each_way_settle_the_order(app: TestApp) {
    let s = app.restaurant("osteria").await;
    // Stripe's own field (the API or a Terminal reader set it).
    let a = app.order("osteria", "A", 2000, "usd").await;
    send(
        &app,
        "osteria",
        &s,
        "evt_a",
        "payment_intent.succeeded",
        tipped_intent("pi_tipa", 2300, 300, &a),
    )
    .await;
    assert_eq!(money(&app, "osteria", &a).await, paid(2300, 300));
    let view = app.order_view("osteria", &a).await;
    assert_eq!(view["payments"][0]["tip_amount"], 300, "{view}");
    // Metadata on the PaymentIntent (decimal minor units, as Stripe's metadata holds them).
    let b = app.order("osteria", "B", 2000, "usd").await;
    let mut pi = payment_intent("pi_tipb", 2250, "usd", "succeeded", Some(&b));
    pi["metadata"]["tip_amount"] = json!("250");
    send(&app, "osteria", &s, "evt_b", "payment_intent.succeeded", pi).await;
    assert_eq!(money(&app, "osteria", &b).await, paid(2250, 250));
    // A Terminal payment: card_present charge, the tip collected on the reader.
    let c = app.order("osteria", "C", 2000, "usd").await;
    let mut ch = charge("pi_tipc", 2400, "usd", 0, Some(&c));
    ch["payment_method_details"] = json!({"type": "card_present", "card_present": {
        "brand": "visa", "last4": "4242", "read_method": "contactless_emv", "capture_before": now() + 86_400,
        "amount_authorized": 2400, "overcapture_supported": false, "incremental_authorization_supported": false}});
    send(&app, "osteria", &s, "evt_c1", "charge.succeeded", ch).await;
    // Before the PaymentIntent says which part is the tip, 2,400 for a 2,000 order is too much.
    assert_eq!(money(&app, "osteria", &c).await.5, json!("overpaid"));
    let mut pi = tipped_intent("pi_tipc", 2400, 400, &c);
    pi["payment_method_types"] = json!(["card_present"]);
    send(
        &app,
        "osteria",
        &s,
        "evt_c2",
        "payment_intent.succeeded",
        pi,
    )
    .await;
    assert_eq!(money(&app, "osteria", &c).await, paid(2400, 400));
    // A Checkout Session with a tip line, declared in its metadata.
    let d = app.order("osteria", "D", 2000, "usd").await;
    let mut cs = checkout_session("cs_tipd", Some("pi_tipd"), 2200, "usd", &d, "paid");
    cs["metadata"]["tip_amount"] = json!("200");
    send(
        &app,
        "osteria",
        &s,
        "evt_d",
        "checkout.session.completed",
        cs,
    )
    .await;
    assert_eq!(money(&app, "osteria", &d).await, paid(2200, 200));
}

async fn split_checks_settle_when_every_share_is_paid(app: TestApp) {
    let s = app.restaurant("trattoria").await;
    // A table of three, 1,000 each.
    let o = app.order("trattoria", "T3", 3000, "usd").await;
    let pay = |i: usize, amount: i64, tip: i64, order: String| {
        tipped_intent(&format!("pi_split{i}"), amount, tip, &order)
    };
    send(
        &app,
        "trattoria",
        &s,
        "evt_s1",
        "payment_intent.succeeded",
        pay(1, 1000, 0, o.clone()),
    )
    .await;
    assert_eq!(
        money(&app, "trattoria", &o).await,
        ("PARTIALLY_PAID".into(), 1000, 0, 2000, 0, Value::Null),
        "the first diner paid"
    );
    send(
        &app,
        "trattoria",
        &s,
        "evt_s2",
        "payment_intent.succeeded",
        pay(2, 1150, 150, o.clone()),
    )
    .await;
    assert_eq!(money(&app, "trattoria", &o).await.3, 1000);
    send(
        &app,
        "trattoria",
        &s,
        "evt_s3",
        "payment_intent.succeeded",
        pay(3, 1000, 0, o.clone()),
    )
    .await;
    assert_eq!(money(&app, "trattoria", &o).await, paid(3150, 150));
    let view = app.order_view("trattoria", &o).await;
    assert_eq!(view["payments"].as_array().unwrap().len(), 3);
    // A table of two: one with a tip, one without.
    let o2 = app.order("trattoria", "T2", 3000, "usd").await;
    send(
        &app,
        "trattoria",
        &s,
        "evt_s4",
        "payment_intent.succeeded",
        pay(4, 1800, 300, o2.clone()),
    )
    .await;
    send(
        &app,
        "trattoria",
        &s,
        "evt_s5",
        "payment_intent.succeeded",
        pay(5, 1500, 0, o2.clone()),
    )
    .await;
    assert_eq!(money(&app, "trattoria", &o2).await, paid(3300, 300));
}

async fn overpaid_and_tips_over_the_limit_need_review(app: TestApp) {
    let s = app.restaurant("bistro").await;
    let key = app.issue_key("bistro").await;
    // Charged twice: a double charge to refund.
    let o = app.order("bistro", "D", 2000, "usd").await;
    for (evt, pi) in [("evt_d1", "pi_dbl1"), ("evt_d2", "pi_dbl2")] {
        send(
            &app,
            "bistro",
            &s,
            evt,
            "payment_intent.succeeded",
            payment_intent(pi, 2000, "usd", "succeeded", Some(&o)),
        )
        .await;
    }
    assert_eq!(
        money(&app, "bistro", &o).await,
        ("NEEDS_REVIEW".into(), 4000, 0, 0, 0, json!("overpaid"))
    );
    // The restaurant takes tips up to 15 % (its own policy: its key sets it).
    let before = app.order("bistro", "before", 2000, "usd").await;
    let a = app
        .patch("/v1/tenants/bistro", &key, json!({"max_tip_bps": 1500}))
        .await;
    assert_eq!(
        (a.status.as_u16(), &a.json["max_tip_bps"]),
        (200, &json!(1500)),
        "{a:?}"
    );
    let bad = app
        .patch("/v1/tenants/bistro", &key, json!({"max_tip_bps": 100_001}))
        .await;
    bad.assert_problem(422, "validation_failed");
    let over = app.order("bistro", "over", 2000, "usd").await;
    let within = app.order("bistro", "within", 2000, "usd").await;
    send(
        &app,
        "bistro",
        &s,
        "evt_t1",
        "payment_intent.succeeded",
        tipped_intent("pi_over", 2400, 400, &over),
    )
    .await;
    send(
        &app,
        "bistro",
        &s,
        "evt_t2",
        "payment_intent.succeeded",
        tipped_intent("pi_within", 2300, 300, &within),
    )
    .await;
    send(
        &app,
        "bistro",
        &s,
        "evt_t3",
        "payment_intent.succeeded",
        tipped_intent("pi_before", 2400, 400, &before),
    )
    .await;
    assert_eq!(
        money(&app, "bistro", &over).await,
        (
            "NEEDS_REVIEW".into(),
            2400,
            400,
            0,
            0,
            json!("tip_over_limit")
        )
    );
    assert_eq!(money(&app, "bistro", &within).await, paid(2300, 300));
    assert_eq!(
        money(&app, "bistro", &before).await,
        paid(2400, 400),
        "an order keeps the limit it was made under"
    );
}

async fn a_bar_tab_is_held_then_captured_with_the_tip(app: TestApp) {
    let s = app.restaurant("pub").await;
    let o = app.order("pub", "tab-7", 2000, "usd").await;
    let deadline = now() + 6 * 86_400;
    send(
        &app,
        "pub",
        &s,
        "evt_h1",
        "payment_intent.amount_capturable_updated",
        held_intent("pi_tab7", 2000, &o),
    )
    .await;
    send(
        &app,
        "pub",
        &s,
        "evt_h2",
        "charge.succeeded",
        card_charge("pi_tab7", 2000, 0, &o, deadline),
    )
    .await;
    assert_eq!(
        money(&app, "pub", &o).await,
        ("AUTHORIZED".into(), 0, 0, 2000, 2000, Value::Null)
    );
    let view = app.order_view("pub", &o).await;
    let p = &view["payments"][0];
    assert_eq!(
        (
            &p["status"],
            &p["amount_capturable"],
            &p["capture_method"],
            &p["overcapture_max"],
            &p["increment_supported"]
        ),
        (
            &json!("authorized"),
            &json!(2000),
            &json!("manual"),
            &json!(2400),
            &json!(true)
        ),
        "{view}"
    );
    let at =
        chrono::DateTime::parse_from_rfc3339(view["capture_before"].as_str().unwrap()).unwrap();
    assert_eq!(at.timestamp(), deadline, "the card's own deadline: {view}");
    // Captured with a 400 tip written on the receipt (overcapture): the excess is the tip.
    send(
        &app,
        "pub",
        &s,
        "evt_h3",
        "charge.captured",
        card_charge("pi_tab7", 2000, 2400, &o, deadline),
    )
    .await;
    assert_eq!(money(&app, "pub", &o).await, paid(2400, 400));
    let mut pi = payment_intent("pi_tab7", 2400, "usd", "succeeded", Some(&o));
    pi["capture_method"] = json!("manual");
    send(&app, "pub", &s, "evt_h4", "payment_intent.succeeded", pi).await;
    assert_eq!(money(&app, "pub", &o).await, paid(2400, 400));
    let view = app.order_view("pub", &o).await;
    assert_eq!(
        view["capture_before"],
        Value::Null,
        "nothing is held any more"
    );
    assert_eq!(view["payments"][0]["amount_capturable"], 0);
}

async fn a_void_releases_the_hold(app: TestApp) {
    let s = app.restaurant("bar").await;
    let o = app.order("bar", "tab-1", 2000, "usd").await;
    send(
        &app,
        "bar",
        &s,
        "evt_v1",
        "payment_intent.amount_capturable_updated",
        held_intent("pi_void", 2000, &o),
    )
    .await;
    assert_eq!(money(&app, "bar", &o).await.0, "AUTHORIZED");
    let canceled = merge(
        payment_intent("pi_void", 2000, "usd", "canceled", Some(&o)),
        json!({"cancellation_reason": "requested_by_customer", "amount_capturable": 0}),
    );
    send(
        &app,
        "bar",
        &s,
        "evt_v2",
        "payment_intent.canceled",
        canceled,
    )
    .await;
    assert_eq!(
        money(&app, "bar", &o).await,
        ("EXPIRED".into(), 0, 0, 2000, 0, Value::Null)
    );
    // The authorization event again, late: a void is final.
    let late = event(
        "evt_v1",
        "payment_intent.amount_capturable_updated",
        now(),
        held_intent("pi_void", 2000, &o),
    );
    assert_eq!(
        app.deliver("bar", &s, &late).await.json["status"],
        "duplicate"
    );
    assert_eq!(money(&app, "bar", &o).await.0, "EXPIRED");
}

async fn notifications_and_the_status_url_carry_the_money(app: TestApp) {
    let s = app.restaurant("diner").await;
    let rx = Receiver::start().await;
    crate::notifications::endpoint(&app, "diner", &rx.url, json!([])).await;
    let created = app
        .post(
            "/v1/tenants/diner/orders",
            app.op(),
            json!({"reference": "N-1", "amount": 3000, "currency": "usd"}),
        )
        .await;
    let o = created.json["id"].as_str().unwrap().to_owned();
    let url = created.json["status_url"].as_str().unwrap().to_owned();
    send(
        &app,
        "diner",
        &s,
        "evt_n1",
        "payment_intent.succeeded",
        tipped_intent("pi_n1", 1700, 200, &o),
    )
    .await;
    let got = rx.wait_for(1, Duration::from_secs(10)).await;
    let body = got[0].json();
    assert_eq!(body["type"], "order.partially_paid", "{body}");
    assert_eq!(
        (
            &body["data"]["amount_paid"],
            &body["data"]["tip_amount"],
            &body["data"]["amount_due"]
        ),
        (&json!(1700), &json!(200), &json!(1500)),
        "{body}"
    );
    // The second diner: the order is paid, and announced so.
    send(
        &app,
        "diner",
        &s,
        "evt_n2",
        "payment_intent.succeeded",
        tipped_intent("pi_n2", 1500, 0, &o),
    )
    .await;
    let got = rx.wait_for(2, Duration::from_secs(10)).await;
    let body = got
        .iter()
        .map(|n| n.json())
        .find(|b| b["type"] == "order.paid")
        .unwrap();
    assert_eq!(
        (&body["data"]["amount_paid"], &body["data"]["amount_due"]),
        (&json!(3200), &json!(0))
    );
    let status = app.request(reqwest::Method::GET, &url, None, None).await;
    assert_eq!(
        (
            &status.json["status"],
            &status.json["amount_paid"],
            &status.json["tip_amount"],
            &status.json["amount_due"]
        ),
        (&json!("PAID"), &json!(3200), &json!(200), &json!(0)),
        "{status:?}"
    );
}

/// The events of a table of three: one tipped on the reader, one bar-tab share held and
/// captured with a tip, one paid by Checkout, one partial refund.
fn table_history(o: &str) -> Vec<(String, &'static str, Value)> {
    let deadline = 2_000_000_000;
    let mut cs = checkout_session("cs_h3", Some("pi_h3"), 1000, "usd", o, "paid");
    cs["metadata"]["tip_amount"] = json!("0");
    let mut refunded = charge("pi_h1", 1300, "usd", 500, Some(o));
    refunded["refunded"] = json!(false);
    vec![
        (
            "evt_h1".into(),
            "payment_intent.succeeded",
            tipped_intent("pi_h1", 1300, 300, o),
        ),
        (
            "evt_h1c".into(),
            "charge.succeeded",
            charge("pi_h1", 1300, "usd", 0, Some(o)),
        ),
        (
            "evt_h2a".into(),
            "payment_intent.amount_capturable_updated",
            held_intent("pi_h2", 1000, o),
        ),
        (
            "evt_h2b".into(),
            "charge.succeeded",
            card_charge("pi_h2", 1000, 0, o, deadline),
        ),
        (
            "evt_h2c".into(),
            "charge.captured",
            card_charge("pi_h2", 1000, 1150, o, deadline),
        ),
        ("evt_h3".into(), "checkout.session.completed", cs),
        ("evt_h4".into(), "charge.refunded", refunded),
    ]
}

async fn shuffled_and_repeated_histories_converge(app: TestApp) {
    let s = app.restaurant("cafe").await;
    let orders: Vec<String> = futures::future::join_all((0..3).map(|i| {
        let app = &app;
        async move { app.order("cafe", &format!("H-{i}"), 3000, "usd").await }
    }))
    .await;
    let mut finals = Vec::new();
    for (i, o) in orders.iter().enumerate() {
        let mut history = table_history(o);
        // Each order has its own objects; the histories differ only in delivery order.
        for (id, _, obj) in &mut history {
            *id = format!("{id}_{i}");
            for field in ["id", "payment_intent", "latest_charge"] {
                if let Some(v) = obj[field].as_str() {
                    obj[field] = json!(format!("{v}{i}"));
                }
            }
        }
        match i {
            0 => {}
            1 => history.reverse(),
            _ => {
                history.rotate_left(3);
                let again = history[1].clone();
                history.push(again);
                let again = history[4].clone();
                history.insert(0, again);
            }
        }
        for (id, ty, obj) in history {
            let a = app.deliver("cafe", &s, &event(&id, ty, now(), obj)).await;
            assert_eq!(a.status, 200, "{a:?}");
        }
        let v = app.order_view("cafe", o).await;
        finals.push(json!([
            v["status"],
            v["amount_paid"],
            v["tip_amount"],
            v["amount_due"],
            v["amount_authorized"],
            v["amount_refunded"]
        ]));
    }
    assert_eq!(
        finals[0],
        json!(["PARTIALLY_REFUNDED", 3450, 450, 0, 0, 500])
    );
    assert_eq!(finals[0], finals[1]);
    assert_eq!(finals[0], finals[2]);
}

async fn held_orders_are_listed_soonest_deadline_first(app: TestApp) {
    let s = app.restaurant("taverna").await;
    let base = now() + 86_400;
    // Made in this order; their deadlines in another.
    let mut held = Vec::new();
    for (i, days) in [3, 1, 5, 2].into_iter().enumerate() {
        let o = app.order("taverna", &format!("tab-{i}"), 2000, "usd").await;
        let pi = format!("pi_list{i}");
        send(
            &app,
            "taverna",
            &s,
            &format!("evt_l{i}"),
            "charge.succeeded",
            card_charge(&pi, 2000, 0, &o, base + days * 86_400),
        )
        .await;
        held.push((days, o));
    }
    let paid_order = app.order("taverna", "paid", 2000, "usd").await;
    send(
        &app,
        "taverna",
        &s,
        "evt_lp",
        "payment_intent.succeeded",
        payment_intent("pi_lp", 2000, "usd", "succeeded", Some(&paid_order)),
    )
    .await;
    held.sort();
    let mut seen = Vec::new();
    let mut cursor = String::new();
    loop {
        let a = app
            .get(
                &format!("/v1/tenants/taverna/orders?status=AUTHORIZED&limit=3{cursor}"),
                app.op(),
            )
            .await;
        assert_eq!(a.status, 200, "{a:?}");
        seen.extend(
            a.json["data"]
                .as_array()
                .unwrap()
                .iter()
                .map(|o| o["id"].as_str().unwrap().to_owned()),
        );
        match a.json["next_cursor"].as_str() {
            Some(c) => cursor = format!("&cursor={c}"),
            None => break,
        }
    }
    let expected: Vec<String> = held.iter().map(|(_, o)| o.clone()).collect();
    assert_eq!(seen, expected, "soonest deadline first, across pages");
    // Oldest first when asked, and a filter by another status.
    let a = app
        .get(
            "/v1/tenants/taverna/orders?status=AUTHORIZED&sort=created",
            app.op(),
        )
        .await;
    let ids: Vec<&str> = a.json["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["id"].as_str().unwrap())
        .collect();
    let mut made = expected.clone();
    made.sort();
    assert_eq!(ids, made);
    let a = app
        .get("/v1/tenants/taverna/orders?status=PAID", app.op())
        .await;
    assert_eq!(a.json["data"].as_array().unwrap().len(), 1);
    assert_eq!(a.json["data"][0]["id"], paid_order.as_str());
    let bad = app
        .get("/v1/tenants/taverna/orders?status=LOST", app.op())
        .await;
    assert_eq!(bad.status, 400, "{bad:?}");
}

async fn reconciliation_finds_a_missed_authorization(app: TestApp) {
    let stripe = wiremock::MockServer::start().await;
    let app = app.with_stripe(&stripe.uri()).await;
    app.restaurant("grill").await;
    let o = app.order("grill", "tab-9", 2000, "usd").await;
    let t = now() - 600;
    let missed = event(
        "evt_missed_hold",
        "payment_intent.amount_capturable_updated",
        t,
        held_intent("pi_missed", 2000, &o),
    );
    let mut listed = held_intent("pi_missed", 2000, &o);
    listed["created"] = json!(t);
    crate::stripe_api::mount_lists(&stripe, vec![missed], vec![], vec![listed]).await;
    let run = crate::stripe_api::reconcile(&app, "grill").await;
    assert_eq!(run["status"], "succeeded", "{run}");
    assert_eq!(run["counts"]["created"], 1, "{run}");
    assert_eq!(
        run["discrepancies"],
        json!([]),
        "an authorization held in both: {run}"
    );
    assert_eq!(
        money(&app, "grill", &o).await,
        ("AUTHORIZED".into(), 0, 0, 2000, 2000, Value::Null)
    );
    let asked = crate::stripe::requests_to(&stripe, "/v1/events").await;
    let q = asked[0].url.query().unwrap_or_default().to_owned();
    assert!(
        q.contains("payment_intent.amount_capturable_updated"),
        "{q}"
    );
}
