//! Authorizations about to lapse: `order.authorization_expiring` is sent once per authorization
//! whose `capture_before` falls within `GATEWAY_AUTHORIZATION_WARNING` (not for one further
//! out, not again on later scans, not for one captured), carrying the payment and its deadline;
//! the gauge counts those lapsing; and three replicas scanning one PostgreSQL database announce
//! each of many authorizations exactly once.
use crate::helpers::TestApp;
use crate::receiver::Receiver;
use crate::replicas::{Cluster, SECRET, SLUG};
use crate::restaurant::{card_charge, held_intent, send};
use crate::stripe::{event, now, payment_intent};
use reqwest::Method;
use serde_json::json;
use std::collections::HashSet;
use std::time::Duration;

crate::backend_tests!(an_authorization_about_to_lapse_is_announced_once);

const SCAN: Duration = Duration::from_millis(100);

/// A hold of 2,000 on `pi` for order `o` whose card says Stripe cancels it at `deadline`.
async fn hold(app: &TestApp, s: &str, pi: &str, o: &str, deadline: i64) {
    let held = held_intent(pi, 2000, o);
    send(
        app,
        "late",
        s,
        &format!("evt_{pi}_h"),
        "payment_intent.amount_capturable_updated",
        held,
    )
    .await;
    let c = card_charge(pi, 2000, 0, o, deadline);
    send(
        app,
        "late",
        s,
        &format!("evt_{pi}_c"),
        "charge.succeeded",
        c,
    )
    .await;
}

async fn an_authorization_about_to_lapse_is_announced_once(app: TestApp) {
    let app = app
        .restart(|c| {
            c.authorization_scan_interval = SCAN;
            c.authorization_warning = Duration::from_secs(6 * 3600);
        })
        .await;
    let s = app.restaurant("late").await;
    let rx = Receiver::start().await;
    let types = json!(["order.authorization_expiring", "order.paid"]);
    let (endpoint, secret) = crate::notifications::endpoint(&app, "late", &rx.url, types).await;
    let shown = app
        .get(
            &format!("/v1/tenants/late/notification-endpoints/{endpoint}"),
            app.op(),
        )
        .await;
    assert_eq!(
        shown.json["events"],
        json!(["order.authorization_expiring", "order.paid"]),
        "{shown:?}"
    );
    let soon = now() + 2 * 3600;
    let (o1, o2, o3) = (
        app.order("late", "L-1", 2000, "usd").await,
        app.order("late", "L-2", 2000, "usd").await,
        app.order("late", "L-3", 2000, "usd").await,
    );
    hold(&app, &s, "pi_soon", &o1, soon).await;
    hold(&app, &s, "pi_later", &o2, now() + 3 * 86_400).await;
    // Captured before any scan can see it as a hold (its hold events arrive after the capture,
    // as Stripe may deliver them): nothing to warn about.
    let paid = payment_intent("pi_done", 2000, "usd", "succeeded", Some(&o3));
    send(
        &app,
        "late",
        &s,
        "evt_pi_done_ok",
        "payment_intent.succeeded",
        paid,
    )
    .await;
    hold(&app, &s, "pi_done", &o3, soon).await;

    rx.wait_for(2, Duration::from_secs(10)).await;
    tokio::time::sleep(SCAN * 8).await;
    let got = rx.received();
    let warnings: Vec<_> = got
        .iter()
        .map(|r| r.json())
        .filter(|j| j["type"] == "order.authorization_expiring")
        .collect();
    assert_eq!(
        warnings.len(),
        1,
        "once, for the one lapsing within the window: {warnings:?}"
    );
    let w = &warnings[0]["data"];
    let payment = &app.order_view("late", &o1).await["payments"][0];
    assert_eq!(
        (&w["id"], &w["payment_id"]),
        (&json!(o1), &payment["id"]),
        "{w}"
    );
    let at = chrono::DateTime::parse_from_rfc3339(w["capture_before"].as_str().unwrap()).unwrap();
    assert_eq!(at.timestamp(), soon);
    assert_eq!(
        (&w["status"], &w["amount_authorized"]),
        (&json!("AUTHORIZED"), &json!(2000))
    );
    assert!(
        w["stripe_event_id"].is_null(),
        "raised by the gateway, not by an event: {w}"
    );
    assert!(got.iter().all(|r| r.verifies_with(&secret)));
    assert_eq!(
        got.len(),
        2,
        "the warning and order.paid for L-3, nothing else"
    );
    // The gauge counts what lapses within the window.
    let metrics = app.get("/metrics", app.op()).await.text;
    assert!(
        metrics.contains("gateway_authorizations_lapsing 1"),
        "{metrics}"
    );
}

/// Three replicas scan one database every second: each of 30 authorizations lapsing within the
/// window is announced exactly once.
#[tokio::test]
async fn replicas_announce_each_lapsing_authorization_exactly_once() {
    let env = [
        ("GATEWAY_AUTHORIZATION_SCAN_INTERVAL", "1s"),
        ("GATEWAY_OUTBOUND_ALLOW_PRIVATE", "true"),
    ];
    let Some(cluster) = Cluster::start(3, &env).await else {
        return;
    };
    cluster.tenant((100_000, 100_000)).await;
    let rx = Receiver::start().await;
    let types = json!({"url": rx.url, "events": ["order.authorization_expiring"]});
    cluster
        .ok(
            0,
            Method::POST,
            &format!("/v1/tenants/{SLUG}/notification-endpoints"),
            types,
        )
        .await;
    let n = 30;
    let mut orders = HashSet::new();
    for i in 0..n {
        let o = cluster
            .ok(
                i % 3,
                Method::POST,
                &format!("/v1/tenants/{SLUG}/orders"),
                json!({"reference": format!("R-{i}"), "amount": 2000, "currency": "usd"}),
            )
            .await;
        let o = o["id"].as_str().unwrap().to_owned();
        let c = card_charge(&format!("pi_rep{i}"), 2000, 0, &o, now() + 3600);
        let body = event(&format!("evt_rep{i}"), "charge.succeeded", now(), c).to_string();
        assert_eq!(cluster.deliver(i % 3, SECRET, &body).await.0, 200);
        orders.insert(o);
    }
    rx.wait_for(n, Duration::from_secs(20)).await;
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let got: Vec<String> = rx
        .received()
        .iter()
        .map(|r| r.json()["data"]["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(got.len(), n, "exactly once each");
    assert_eq!(got.into_iter().collect::<HashSet<_>>(), orders);
}
