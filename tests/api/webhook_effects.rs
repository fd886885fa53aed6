//! Webhooks: the effect of every handled event type on orders, payments and disputes.
use crate::helpers::TestApp;
use crate::stripe::*;

crate::backend_tests!(
    checkout_session_completed_pays_the_order,
    async_checkout_payment_succeeds_or_fails,
    checkout_session_expired_expires_the_order,
    payment_intent_events,
    charge_events_and_refunds,
    disputes_open_win_and_lose,
    customer_deleted_scrubs_personal_data,
    unknown_types_and_unlinked_payments,
);

async fn checkout_session_completed_pays_the_order(app: TestApp) {
    let secret = app.restaurant("luigis").await;
    let order = app.order("luigis", "T-1", 2500, "EUR").await;
    let cs = checkout_session("cs_test_1", Some("pi_1"), 2500, "eur", &order, "paid");
    let a = app
        .deliver(
            "luigis",
            &secret,
            &event("evt_cs1", "checkout.session.completed", now(), cs),
        )
        .await;
    assert_eq!(a.status, 200, "{a:?}");
    assert_eq!(a.json["status"], "processed");
    let view = app.order_view("luigis", &order).await;
    assert_eq!(view["status"], "PAID");
    assert_eq!(view["currency"], "eur");
    assert_eq!(view["checkout_session_id"], "cs_test_1");
    assert_eq!(view["customer_email"], "jenny@example.com");
    let p = &view["payments"][0];
    assert_eq!(p["stripe_payment_intent_id"], "pi_1");
    assert_eq!(p["amount"], 2500);
    assert_eq!(p["status"], "succeeded");
    assert_eq!(p["order_id"], order.as_str());
    assert_eq!(p["livemode"], false);
    let events = app.events("luigis").await;
    assert_eq!(events.len(), 1);
    assert_eq!(events[0]["status"], "completed");
    assert_eq!(events[0]["type"], "checkout.session.completed");
    assert_eq!(events[0]["attempts"], 1);
}

async fn async_checkout_payment_succeeds_or_fails(app: TestApp) {
    let secret = app.restaurant("bistro").await;
    let ok = app.order("bistro", "ok", 1000, "usd").await;
    let bad = app.order("bistro", "bad", 1000, "usd").await;
    let t = now();
    for (order, pi, n) in [(&ok, "pi_ok", 1), (&bad, "pi_bad", 2)] {
        let cs = checkout_session(&format!("cs_{n}"), Some(pi), 1000, "usd", order, "unpaid");
        app.deliver(
            "bistro",
            &secret,
            &event(&format!("evt_c{n}"), "checkout.session.completed", t, cs),
        )
        .await;
        assert_eq!(app.order_status("bistro", order).await, "PAYMENT_PENDING");
    }
    let cs_ok = checkout_session("cs_1", Some("pi_ok"), 1000, "usd", &ok, "paid");
    app.deliver(
        "bistro",
        &secret,
        &event(
            "evt_a1",
            "checkout.session.async_payment_succeeded",
            t + 5,
            cs_ok,
        ),
    )
    .await;
    let cs_bad = checkout_session("cs_2", Some("pi_bad"), 1000, "usd", &bad, "unpaid");
    app.deliver(
        "bistro",
        &secret,
        &event(
            "evt_a2",
            "checkout.session.async_payment_failed",
            t + 5,
            cs_bad,
        ),
    )
    .await;
    assert_eq!(app.order_status("bistro", &ok).await, "PAID");
    assert_eq!(app.order_status("bistro", &bad).await, "PAYMENT_FAILED");
}

async fn checkout_session_expired_expires_the_order(app: TestApp) {
    let secret = app.restaurant("deli").await;
    let order = app.order("deli", "E-1", 800, "gbp").await;
    let cs = checkout_session("cs_exp", None, 800, "gbp", &order, "unpaid");
    let a = app
        .deliver(
            "deli",
            &secret,
            &event("evt_exp", "checkout.session.expired", now(), cs),
        )
        .await;
    assert_eq!(a.json["status"], "processed");
    assert_eq!(app.order_status("deli", &order).await, "EXPIRED");
}

async fn payment_intent_events(app: TestApp) {
    let secret = app.restaurant("noodles").await;
    let paid = app.order("noodles", "p", 1500, "usd").await;
    let failed = app.order("noodles", "f", 1500, "usd").await;
    let canceled = app.order("noodles", "c", 1500, "usd").await;
    let t = now();
    app.deliver(
        "noodles",
        &secret,
        &event(
            "evt_p1",
            "payment_intent.succeeded",
            t,
            payment_intent("pi_p", 1500, "usd", "succeeded", Some(&paid)),
        ),
    )
    .await;
    app.deliver(
        "noodles",
        &secret,
        &event(
            "evt_p2",
            "payment_intent.payment_failed",
            t,
            payment_intent(
                "pi_f",
                1500,
                "usd",
                "requires_payment_method",
                Some(&failed),
            ),
        ),
    )
    .await;
    app.deliver(
        "noodles",
        &secret,
        &event(
            "evt_p3",
            "payment_intent.canceled",
            t,
            payment_intent("pi_c", 1500, "usd", "canceled", Some(&canceled)),
        ),
    )
    .await;
    let view = app.order_view("noodles", &paid).await;
    assert_eq!(view["status"], "PAID");
    assert_eq!(view["payments"][0]["stripe_charge_id"], "ch_p");
    assert_eq!(view["payments"][0]["customer_id"], "cus_Jenny");
    let view = app.order_view("noodles", &failed).await;
    assert_eq!(view["status"], "PAYMENT_FAILED");
    assert_eq!(
        view["payments"][0]["failure_reason"],
        "Your card was declined."
    );
    assert_eq!(app.order_status("noodles", &canceled).await, "EXPIRED");
}

async fn charge_events_and_refunds(app: TestApp) {
    let secret = app.restaurant("grill").await;
    let order = app.order("grill", "G-1", 4000, "usd").await;
    let other = app.order("grill", "G-2", 4000, "usd").await;
    let t = now();
    let a = app
        .deliver(
            "grill",
            &secret,
            &event(
                "evt_ch1",
                "charge.succeeded",
                t,
                charge("pi_g", 4000, "usd", 0, Some(&order)),
            ),
        )
        .await;
    assert_eq!(a.json["status"], "processed", "{a:?}");
    assert_eq!(app.order_status("grill", &order).await, "PAID");
    app.deliver(
        "grill",
        &secret,
        &event(
            "evt_ch2",
            "charge.refunded",
            t + 10,
            charge("pi_g", 4000, "usd", 1500, Some(&order)),
        ),
    )
    .await;
    let view = app.order_view("grill", &order).await;
    assert_eq!(view["status"], "PARTIALLY_REFUNDED");
    assert_eq!(view["amount_refunded"], 1500);
    assert_eq!(view["payments"][0]["amount_refunded"], 1500);
    app.deliver(
        "grill",
        &secret,
        &event(
            "evt_ch3",
            "charge.refunded",
            t + 20,
            charge("pi_g", 4000, "usd", 4000, Some(&order)),
        ),
    )
    .await;
    let view = app.order_view("grill", &order).await;
    assert_eq!(view["status"], "REFUNDED");
    assert_eq!(view["amount_refunded"], 4000);
    // A failed charge fails its order's payment.
    let mut failed = failed_charge("pi_g2", 4000, "usd");
    failed["metadata"] = serde_json::json!({"order_id": other});
    app.deliver(
        "grill",
        &secret,
        &event("evt_ch4", "charge.failed", t, failed),
    )
    .await;
    assert_eq!(app.order_status("grill", &other).await, "PAYMENT_FAILED");
}

async fn disputes_open_win_and_lose(app: TestApp) {
    let secret = app.restaurant("tapas").await;
    let won = app.order("tapas", "won", 3000, "eur").await;
    let lost = app.order("tapas", "lost", 3000, "eur").await;
    let t = now();
    for (order, pi, n) in [(&won, "pi_w", 1), (&lost, "pi_l", 2)] {
        app.deliver(
            "tapas",
            &secret,
            &event(
                &format!("evt_s{n}"),
                "payment_intent.succeeded",
                t,
                payment_intent(pi, 3000, "eur", "succeeded", Some(order)),
            ),
        )
        .await;
        app.deliver(
            "tapas",
            &secret,
            &event(
                &format!("evt_d{n}"),
                "charge.dispute.created",
                t + 10,
                dispute(&format!("du_{n}"), pi, 3000, "eur", "needs_response"),
            ),
        )
        .await;
        assert_eq!(app.order_status("tapas", order).await, "DISPUTED");
    }
    let disputes = app.get("/v1/tenants/tapas/disputes", app.op()).await;
    let list = disputes.json["data"].as_array().unwrap();
    assert_eq!(list.len(), 2);
    assert_eq!(list[0]["status"], "needs_response");
    assert_eq!(list[0]["reason"], "fraudulent");
    assert_eq!(list[0]["amount"], 3000);
    assert!(list[0]["payment_id"].is_string() && list[0]["order_id"].is_string());
    app.deliver(
        "tapas",
        &secret,
        &event(
            "evt_c1",
            "charge.dispute.closed",
            t + 20,
            dispute("du_1", "pi_w", 3000, "eur", "won"),
        ),
    )
    .await;
    app.deliver(
        "tapas",
        &secret,
        &event(
            "evt_c2",
            "charge.dispute.closed",
            t + 20,
            dispute("du_2", "pi_l", 3000, "eur", "lost"),
        ),
    )
    .await;
    assert_eq!(app.order_status("tapas", &won).await, "PAID");
    assert_eq!(app.order_status("tapas", &lost).await, "DISPUTE_LOST");
}

async fn customer_deleted_scrubs_personal_data(app: TestApp) {
    let secret = app.restaurant("cafe").await;
    let order = app.order("cafe", "C-1", 1200, "usd").await;
    let t = now();
    let cs = checkout_session("cs_c", Some("pi_c"), 1200, "usd", &order, "paid");
    app.deliver(
        "cafe",
        &secret,
        &event("evt_1", "checkout.session.completed", t, cs),
    )
    .await;
    app.deliver(
        "cafe",
        &secret,
        &event(
            "evt_2",
            "charge.succeeded",
            t,
            charge("pi_c", 1200, "usd", 0, Some(&order)),
        ),
    )
    .await;
    let before = app.order_view("cafe", &order).await;
    assert_eq!(before["customer_email"], "jenny@example.com");
    assert_eq!(before["payments"][0]["customer_email"], "jenny@example.com");

    let a = app
        .deliver(
            "cafe",
            &secret,
            &event(
                "evt_3",
                "customer.deleted",
                t + 60,
                deleted_customer("cus_Jenny"),
            ),
        )
        .await;
    assert_eq!(a.json["status"], "processed");
    let after = app.order_view("cafe", &order).await;
    assert!(after["customer_email"].is_null());
    let p = &after["payments"][0];
    assert!(p["customer_email"].is_null());
    // Money facts stay.
    assert_eq!(after["status"], "PAID");
    assert_eq!(p["amount"], 1200);
    assert_eq!(p["customer_id"], "cus_Jenny");
    // A late event about that customer does not bring the data back.
    app.deliver(
        "cafe",
        &secret,
        &event(
            "evt_4",
            "charge.refunded",
            t + 30,
            charge("pi_c", 1200, "usd", 200, Some(&order)),
        ),
    )
    .await;
    let late = app.order_view("cafe", &order).await;
    assert!(late["payments"][0]["customer_email"].is_null());
    assert_eq!(late["amount_refunded"], 200);
    let sql = app.sql().await;
    use sea_orm::{ConnectionTrait, Statement};
    let rows = sql
        .query_all_raw(Statement::from_string(
            sql.get_database_backend(),
            "SELECT customer_email, customer_name FROM payments",
        ))
        .await
        .unwrap();
    for row in rows {
        let email: Option<String> = row.try_get("", "customer_email").unwrap();
        let name: Option<String> = row.try_get("", "customer_name").unwrap();
        assert!(email.is_none() && name.is_none());
    }
}

async fn unknown_types_and_unlinked_payments(app: TestApp) {
    let secret = app.restaurant("pub").await;
    let a = app
        .deliver(
            "pub",
            &secret,
            &event(
                "evt_u",
                "invoice.paid",
                now(),
                serde_json::json!({"id": "in_1", "object": "invoice"}),
            ),
        )
        .await;
    assert_eq!(a.status, 200);
    assert_eq!(a.json["status"], "ignored");
    // A payment that names no order is still recorded, with no order.
    let b = app
        .deliver(
            "pub",
            &secret,
            &event(
                "evt_n",
                "payment_intent.succeeded",
                now(),
                payment_intent("pi_n", 999, "usd", "succeeded", None),
            ),
        )
        .await;
    assert_eq!(b.json["status"], "processed");
    let payments = app.get("/v1/tenants/pub/payments", app.op()).await;
    let p = &payments.json["data"][0];
    assert!(p["order_id"].is_null());
    assert_eq!(p["amount"], 999);
    let single = app
        .get(
            &format!("/v1/tenants/pub/payments/{}", p["id"].as_str().unwrap()),
            app.op(),
        )
        .await;
    assert_eq!(single.json, *p);
    let events = app.events("pub").await;
    let ignored = events
        .iter()
        .find(|e| e["stripe_event_id"] == "evt_u")
        .unwrap();
    assert_eq!(ignored["status"], "ignored");
    assert!(
        ignored["last_error"]
            .as_str()
            .unwrap()
            .contains("invoice.paid")
    );
}
