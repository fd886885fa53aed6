//! Webhooks: exactly once, whatever Stripe does — out-of-order pairs, sequential and concurrent
//! duplicates, mismatched amounts and double charges, order ids of other tenants.
use crate::helpers::TestApp;
use crate::stripe::*;
use serde_json::{Value, json};

crate::backend_tests!(
    refund_before_success,
    failure_after_success,
    expired_after_completed,
    dispute_before_charge,
    every_delivery_order_converges,
    sequential_duplicates_have_no_effect,
    concurrent_duplicates_apply_once,
    many_writer_shards_apply_each_tenants_events_once,
    amount_or_currency_mismatch_needs_review,
    second_successful_payment_needs_review,
    conflicting_amounts_for_one_payment_need_review_in_any_order,
    another_tenants_order_is_never_touched,
);

async fn refund_before_success(app: TestApp) {
    let secret = app.restaurant("r1").await;
    let order = app.order("r1", "o", 5000, "usd").await;
    let t = now();
    app.deliver(
        "r1",
        &secret,
        &event(
            "evt_ref",
            "charge.refunded",
            t + 30,
            charge("pi_r", 5000, "usd", 2000, Some(&order)),
        ),
    )
    .await;
    assert_eq!(app.order_status("r1", &order).await, "PARTIALLY_REFUNDED");
    app.deliver(
        "r1",
        &secret,
        &event(
            "evt_ok",
            "payment_intent.succeeded",
            t,
            payment_intent("pi_r", 5000, "usd", "succeeded", Some(&order)),
        ),
    )
    .await;
    let view = app.order_view("r1", &order).await;
    assert_eq!(
        view["status"], "PARTIALLY_REFUNDED",
        "a late success does not undo the refund"
    );
    assert_eq!(view["amount_refunded"], 2000);
}

async fn failure_after_success(app: TestApp) {
    let secret = app.restaurant("r2").await;
    let order = app.order("r2", "o", 5000, "usd").await;
    let t = now();
    app.deliver(
        "r2",
        &secret,
        &event(
            "evt_ok",
            "payment_intent.succeeded",
            t + 10,
            payment_intent("pi_x", 5000, "usd", "succeeded", Some(&order)),
        ),
    )
    .await;
    let late = app
        .deliver(
            "r2",
            &secret,
            &event(
                "evt_fail",
                "payment_intent.payment_failed",
                t,
                payment_intent("pi_x", 5000, "usd", "requires_payment_method", Some(&order)),
            ),
        )
        .await;
    assert_eq!(
        late.json["status"], "processed",
        "the late event is recorded"
    );
    let view = app.order_view("r2", &order).await;
    assert_eq!(view["status"], "PAID");
    assert_eq!(view["payments"][0]["status"], "succeeded");
    assert_eq!(app.events("r2").await.len(), 2);
}

async fn expired_after_completed(app: TestApp) {
    let secret = app.restaurant("r3").await;
    let order = app.order("r3", "o", 900, "usd").await;
    let t = now();
    let done = checkout_session("cs_1", Some("pi_e"), 900, "usd", &order, "paid");
    app.deliver(
        "r3",
        &secret,
        &event("evt_done", "checkout.session.completed", t, done),
    )
    .await;
    let expired = checkout_session("cs_1", None, 900, "usd", &order, "unpaid");
    app.deliver(
        "r3",
        &secret,
        &event("evt_exp", "checkout.session.expired", t + 3600, expired),
    )
    .await;
    assert_eq!(app.order_status("r3", &order).await, "PAID");
}

async fn dispute_before_charge(app: TestApp) {
    let secret = app.restaurant("r4").await;
    let order = app.order("r4", "o", 7000, "eur").await;
    let t = now();
    let d = app
        .deliver(
            "r4",
            &secret,
            &event(
                "evt_du",
                "charge.dispute.created",
                t + 100,
                dispute("du_1", "pi_d", 7000, "eur", "needs_response"),
            ),
        )
        .await;
    assert_eq!(d.json["status"], "processed");
    assert_eq!(app.order_status("r4", &order).await, "PAYMENT_PENDING");
    app.deliver(
        "r4",
        &secret,
        &event(
            "evt_ch",
            "charge.succeeded",
            t,
            charge("pi_d", 7000, "eur", 0, Some(&order)),
        ),
    )
    .await;
    assert_eq!(app.order_status("r4", &order).await, "DISPUTED");
    let disputes = app.get("/v1/tenants/r4/disputes", app.op()).await;
    assert_eq!(disputes.json["data"][0]["order_id"], order.as_str());
}

/// The same five events in several delivery orders end in the same state.
async fn every_delivery_order_converges(app: TestApp) {
    let t = now();
    let orders: [&[usize]; 4] = [
        &[0, 1, 2, 3, 4],
        &[4, 3, 2, 1, 0],
        &[2, 4, 0, 3, 1],
        &[3, 0, 4, 1, 2],
    ];
    let mut finals: Vec<(Value, Value)> = Vec::new();
    for (n, perm) in orders.iter().enumerate() {
        let slug = format!("conv-{n}");
        let secret = app.restaurant(&slug).await;
        let order = app.order(&slug, "o", 6000, "usd").await;
        let pi = format!("pi_conv{n}");
        let events = [
            event(
                "evt_1",
                "checkout.session.completed",
                t,
                checkout_session("cs", Some(&pi), 6000, "usd", &order, "paid"),
            ),
            event(
                "evt_2",
                "payment_intent.payment_failed",
                t - 5,
                payment_intent(&pi, 6000, "usd", "requires_payment_method", Some(&order)),
            ),
            event(
                "evt_3",
                "charge.refunded",
                t + 10,
                charge(&pi, 6000, "usd", 1000, Some(&order)),
            ),
            event(
                "evt_4",
                "charge.refunded",
                t + 20,
                charge(&pi, 6000, "usd", 2500, Some(&order)),
            ),
            event(
                "evt_5",
                "charge.dispute.created",
                t + 30,
                dispute("du_c", &pi, 6000, "usd", "needs_response"),
            ),
        ];
        for i in perm.iter() {
            let a = app.deliver(&slug, &secret, &events[*i]).await;
            assert_eq!(a.status, 200, "{a:?}");
        }
        let view = app.order_view(&slug, &order).await;
        let p = &view["payments"][0];
        finals.push((
            serde_json::json!([view["status"], view["amount_refunded"]]),
            serde_json::json!([
                p["status"],
                p["amount"],
                p["amount_refunded"],
                p["stripe_charge_id"] == format!("ch_conv{n}").as_str()
            ]),
        ));
    }
    assert_eq!(finals[0].0, serde_json::json!(["DISPUTED", 2500]));
    assert!(finals.iter().all(|f| *f == finals[0]), "{finals:?}");
}

async fn sequential_duplicates_have_no_effect(app: TestApp) {
    let secret = app.restaurant("dup").await;
    let order = app.order("dup", "o", 2000, "usd").await;
    let e = event(
        "evt_same",
        "charge.refunded",
        now(),
        charge("pi_dup", 2000, "usd", 500, Some(&order)),
    );
    assert_eq!(
        app.deliver("dup", &secret, &e).await.json["status"],
        "processed"
    );
    let once = app.order_view("dup", &order).await;
    for _ in 0..3 {
        let again = app.deliver("dup", &secret, &e).await;
        assert_eq!(again.status, 200);
        assert_eq!(again.json["status"], "duplicate");
    }
    let after = app.order_view("dup", &order).await;
    assert_eq!(after, once, "a duplicate changes nothing");
    let events = app.events("dup").await;
    assert_eq!(events.len(), 1);
    assert_eq!(events[0]["attempts"], 1);
}

async fn concurrent_duplicates_apply_once(app: TestApp) {
    let secret = app.restaurant("storm").await;
    let order = app.order("storm", "o", 3100, "usd").await;
    let e = event(
        "evt_storm",
        "payment_intent.succeeded",
        now(),
        payment_intent("pi_storm", 3100, "usd", "succeeded", Some(&order)),
    );
    let body = e.to_string();
    let sig = sign(&secret, now(), &body);
    let mut tasks = Vec::new();
    for _ in 0..24 {
        let (client, url, body, sig) = (
            app.client.clone(),
            format!("{}/webhooks/stripe/storm", app.base),
            body.clone(),
            sig.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let r = client
                .post(url)
                .header("Stripe-Signature", sig)
                .body(body)
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 200);
            r.json::<Value>().await.unwrap()["status"]
                .as_str()
                .unwrap()
                .to_owned()
        }));
    }
    let mut statuses = Vec::new();
    for t in tasks {
        statuses.push(t.await.unwrap());
    }
    assert_eq!(
        statuses.iter().filter(|s| *s == "processed").count(),
        1,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| *s == "duplicate").count(),
        23,
        "{statuses:?}"
    );
    let view = app.order_view("storm", &order).await;
    assert_eq!(view["status"], "PAID");
    assert_eq!(view["payments"].as_array().unwrap().len(), 1);
    let events = app.events("storm").await;
    assert_eq!(events.len(), 1);
    assert_eq!(events[0]["attempts"], 1);
}

/// `GATEWAY_WRITER_SHARDS=4` (more shards than cores, PostgreSQL; SQLite keeps one writer):
/// tenants spread over the shards, each event and each of its duplicates, sent at once, is
/// answered after its commit and applied once.
async fn many_writer_shards_apply_each_tenants_events_once(app: TestApp) {
    let app = app.restart(|c| c.writer_shards = Some(4)).await;
    let expected = match app.db.backend {
        crate::helpers::Backend::Postgres => 4,
        crate::helpers::Backend::Sqlite => 1,
    };
    assert_eq!(app.writer_shards, expected);
    let app = &app;
    let mut sends = Vec::new();
    let mut orders = Vec::new();
    for n in 0..6 {
        let slug = format!("shard-{n}");
        let secret = app.restaurant(&slug).await;
        let order = app.order(&slug, "o", 1000 + n, "usd").await;
        let e = event(
            &format!("evt_shard_{n}"),
            "payment_intent.succeeded",
            now(),
            payment_intent(
                &format!("pi_shard_{n}"),
                1000 + n,
                "usd",
                "succeeded",
                Some(&order),
            ),
        );
        for _ in 0..3 {
            sends.push((slug.clone(), secret.clone(), e.clone()));
        }
        orders.push((slug, order));
    }
    let answers = futures::future::join_all(
        sends
            .iter()
            .map(|(slug, secret, e)| app.deliver(slug, secret, e)),
    )
    .await;
    assert!(answers.iter().all(|a| a.status == 200), "{answers:?}");
    let processed = answers
        .iter()
        .filter(|a| a.json["status"] == "processed")
        .count();
    assert_eq!(processed, 6, "{answers:?}");
    for (slug, order) in &orders {
        let view = app.order_view(slug, order).await;
        assert_eq!(view["status"], "PAID", "{slug}");
        assert_eq!(view["payments"].as_array().unwrap().len(), 1, "{slug}");
        let events = app.events(slug).await;
        assert_eq!(events.len(), 1, "{slug}");
        assert_eq!(events[0]["attempts"], 1, "{slug}");
    }
}

async fn amount_or_currency_mismatch_needs_review(app: TestApp) {
    let secret = app.restaurant("mm").await;
    let short = app.order("mm", "short", 5000, "usd").await;
    let wrong_cur = app.order("mm", "cur", 5000, "usd").await;
    let t = now();
    app.deliver(
        "mm",
        &secret,
        &event(
            "evt_1",
            "payment_intent.succeeded",
            t,
            payment_intent("pi_s", 4999, "usd", "succeeded", Some(&short)),
        ),
    )
    .await;
    app.deliver(
        "mm",
        &secret,
        &event(
            "evt_2",
            "payment_intent.succeeded",
            t,
            payment_intent("pi_c", 5000, "eur", "succeeded", Some(&wrong_cur)),
        ),
    )
    .await;
    // Less than the amount is a share paid; another currency needs a person.
    let view = app.order_view("mm", &short).await;
    assert_eq!(
        (&view["status"], &view["amount_paid"], &view["amount_due"]),
        (&json!("PARTIALLY_PAID"), &json!(4999), &json!(1)),
        "{view}"
    );
    let view = app.order_view("mm", &wrong_cur).await;
    assert_eq!(
        (&view["status"], &view["review_reason"]),
        (&json!("NEEDS_REVIEW"), &json!("currency_mismatch")),
        "{view}"
    );
    // The same payment seen again does not pay the rest.
    app.deliver(
        "mm",
        &secret,
        &event(
            "evt_3",
            "charge.succeeded",
            t + 5,
            charge("pi_s", 4999, "usd", 0, Some(&short)),
        ),
    )
    .await;
    assert_eq!(app.order_status("mm", &short).await, "PARTIALLY_PAID");
}

async fn second_successful_payment_needs_review(app: TestApp) {
    let secret = app.restaurant("dbl").await;
    let order = app.order("dbl", "o", 1000, "usd").await;
    let t = now();
    app.deliver(
        "dbl",
        &secret,
        &event(
            "evt_1",
            "payment_intent.succeeded",
            t,
            payment_intent("pi_a", 1000, "usd", "succeeded", Some(&order)),
        ),
    )
    .await;
    assert_eq!(app.order_status("dbl", &order).await, "PAID");
    app.deliver(
        "dbl",
        &secret,
        &event(
            "evt_2",
            "payment_intent.succeeded",
            t + 1,
            payment_intent("pi_b", 1000, "usd", "succeeded", Some(&order)),
        ),
    )
    .await;
    let view = app.order_view("dbl", &order).await;
    assert_eq!(view["status"], "NEEDS_REVIEW");
    assert_eq!(view["payments"].as_array().unwrap().len(), 2);
}

async fn another_tenants_order_is_never_touched(app: TestApp) {
    let secret_a = app.restaurant("ten-a").await;
    let secret_b = app.restaurant("ten-b").await;
    let order_a = app.order("ten-a", "o", 1000, "usd").await;
    let before = app.order_view("ten-a", &order_a).await;
    // Tenant B's Stripe account sends events naming A's order id.
    let t = now();
    let cs = checkout_session("cs_b", Some("pi_b"), 1000, "usd", &order_a, "paid");
    assert_eq!(
        app.deliver(
            "ten-b",
            &secret_b,
            &event("evt_b1", "checkout.session.completed", t, cs)
        )
        .await
        .json["status"],
        "processed"
    );
    app.deliver(
        "ten-b",
        &secret_b,
        &event(
            "evt_b2",
            "checkout.session.expired",
            t,
            checkout_session("cs_b2", None, 1000, "usd", &order_a, "unpaid"),
        ),
    )
    .await;
    assert_eq!(app.order_view("ten-a", &order_a).await, before);
    let b_payments = app.get("/v1/tenants/ten-b/payments", app.op()).await;
    assert!(b_payments.json["data"][0]["order_id"].is_null());
    assert!(
        app.get("/v1/tenants/ten-a/payments", app.op()).await.json["data"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    // A's own secret cannot deliver to B, and B's cannot deliver to A.
    let e = event(
        "evt_x",
        "payment_intent.succeeded",
        t,
        payment_intent("pi_z", 1000, "usd", "succeeded", Some(&order_a)),
    );
    app.deliver("ten-a", &secret_b, &e)
        .await
        .assert_problem(400, "bad_signature");
    app.deliver("ten-b", &secret_a, &e)
        .await
        .assert_problem(400, "bad_signature");
    assert_eq!(app.order_view("ten-a", &order_a).await, before);
}

/// Two successful observations of one PaymentIntent that disagree on the amount: the order needs
/// review whichever arrives first (found by the property tests of the apply rules).
async fn conflicting_amounts_for_one_payment_need_review_in_any_order(app: TestApp) {
    let secret = app.restaurant("conflict").await;
    let t = now();
    for (n, first_matches) in [(1, true), (2, false)] {
        let order = app.order("conflict", &format!("o{n}"), 5000, "usd").await;
        let pi = format!("pi_conflict{n}");
        let matching = event(
            &format!("evt_{n}a"),
            "payment_intent.succeeded",
            t,
            payment_intent(&pi, 5000, "usd", "succeeded", Some(&order)),
        );
        let short = event(
            &format!("evt_{n}b"),
            "charge.succeeded",
            t + 1,
            charge(&pi, 4000, "usd", 0, Some(&order)),
        );
        let (a, b) = if first_matches {
            (&matching, &short)
        } else {
            (&short, &matching)
        };
        app.deliver("conflict", &secret, a).await;
        app.deliver("conflict", &secret, b).await;
        assert_eq!(
            app.order_status("conflict", &order).await,
            "NEEDS_REVIEW",
            "first matches: {first_matches}"
        );
    }
}
