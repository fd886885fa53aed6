//! Order notifications across processes: `kill -9` of the gateway with deliveries pending loses
//! none (all delivered after a restart), and two gateway processes on one PostgreSQL database
//! deliver each message once.
use crate::gateway_process::{GatewayProcess, TOKEN};
use crate::helpers::{Backend, TestDb, new_master_key};
use crate::receiver::Receiver;
use crate::stripe::{checkout_session, event, now, sign};
use serde_json::{Value, json};
use std::collections::HashSet;
use std::time::Duration;

crate::backend_db_tests!(
    kill_9_with_deliveries_pending_loses_none,
    blocked_after_a_restart_is_logged
);

const ENV: &[(&str, &str)] = &[
    ("GATEWAY_OUTBOUND_ALLOW_PRIVATE", "true"),
    ("GATEWAY_NOTIFICATION_TIMEOUT", "2s"),
];

async fn call(base: &str, method: reqwest::Method, path: &str, body: Value) -> Value {
    let mut req = reqwest::Client::new()
        .request(method, format!("{base}{path}"))
        .bearer_auth(TOKEN);
    if !body.is_null() {
        req = req.json(&body);
    }
    let resp = req.send().await.unwrap();
    assert!(resp.status().is_success(), "{path}: {}", resp.status());
    resp.json().await.unwrap()
}

struct Setup {
    /// The tenant's Stripe webhook secret.
    secret: String,
    /// Per order, the body of the event that pays it.
    bodies: Vec<String>,
    endpoint: String,
    endpoint_secret: String,
}

/// A tenant with a Stripe config and an endpoint at `url`, and `n` orders.
async fn setup(base: &str, url: &str, n: usize) -> Setup {
    use reqwest::Method as M;
    call(base, M::POST, "/v1/tenants", json!({"slug": "pos", "name": "POS", "rate_limit_per_second": 100000, "rate_limit_burst": 100000})).await;
    let secret = "whsec_posTestSecret0000".to_owned();
    call(
        base,
        M::PUT,
        "/v1/tenants/pos/stripe-config",
        json!({"secret_key": "sk_test_posTestKey0000", "webhook_secret": secret}),
    )
    .await;
    let ep = call(
        base,
        M::POST,
        "/v1/tenants/pos/notification-endpoints",
        json!({"url": url}),
    )
    .await;
    let mut bodies = Vec::new();
    for i in 0..n {
        let order = call(
            base,
            M::POST,
            "/v1/tenants/pos/orders",
            json!({"reference": format!("pos-{i}"), "amount": 2500, "currency": "eur"}),
        )
        .await;
        let order = order["id"].as_str().unwrap();
        let cs = checkout_session(
            &format!("cs_pos{i}"),
            Some(&format!("pi_pos{i}")),
            2500,
            "eur",
            order,
            "paid",
        );
        bodies.push(
            event(
                &format!("evt_pos{i}"),
                "checkout.session.completed",
                now(),
                cs,
            )
            .to_string(),
        );
    }
    Setup {
        secret,
        bodies,
        endpoint: ep["id"].as_str().unwrap().to_owned(),
        endpoint_secret: ep["secret"].as_str().unwrap().to_owned(),
    }
}

async fn deliver(base: &str, secret: &str, body: &str) {
    let resp = reqwest::Client::new()
        .post(format!("{base}/webhooks/stripe/pos"))
        .header("Stripe-Signature", sign(secret, now(), body))
        .header("content-type", "application/json")
        .body(body.to_owned())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
}

fn distinct_ids(rx: &Receiver) -> HashSet<String> {
    rx.received()
        .iter()
        .map(|r| r.header("webhook-id"))
        .collect()
}

async fn wait_distinct(rx: &Receiver, n: usize, timeout: Duration) {
    let deadline = std::time::Instant::now() + timeout;
    while distinct_ids(rx).len() < n {
        assert!(
            std::time::Instant::now() < deadline,
            "{} of {n} notifications delivered",
            distinct_ids(rx).len()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn kill_9_with_deliveries_pending_loses_none(db: TestDb) {
    const ORDERS: usize = 24;
    let master = new_master_key("notify");
    let rx = Receiver::start().await;
    // A slow receiver: four at a time, 600 ms each, so most are still owed at the kill.
    rx.delay(Duration::from_millis(600));
    let mut gw = GatewayProcess::start(&db, &master, ENV);
    let s = setup(&gw.base, &rx.url, ORDERS).await;
    for body in &s.bodies {
        deliver(&gw.base, &s.secret, body).await;
    }
    rx.wait_for(2, Duration::from_secs(10)).await;
    gw.kill_9();
    let before = distinct_ids(&rx).len();
    assert!(
        before < ORDERS,
        "the kill must land with deliveries pending ({before} done)"
    );
    rx.delay(Duration::ZERO);
    let gw = GatewayProcess::start(&db, &master, ENV);
    // Owed messages go at once; those cut off mid-attempt when their lease (timeout + 5 s) lapses.
    wait_distinct(&rx, ORDERS, Duration::from_secs(30)).await;
    for r in rx.received() {
        assert!(r.verifies_with(&s.endpoint_secret));
    }
    // And the log says so: every message delivered, the cut-off ones after their lease lapsed.
    let path = format!(
        "/v1/tenants/pos/notification-endpoints/{}/messages?limit=100",
        s.endpoint
    );
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let log = call(&gw.base, reqwest::Method::GET, &path, json!(null)).await;
        let data = log["data"].as_array().unwrap();
        assert_eq!(data.len(), ORDERS, "one message per change");
        if data.iter().all(|m| m["status"] == "delivered") {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "not all delivered: {log}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// An endpoint on a private network, made while `GATEWAY_OUTBOUND_ALLOW_PRIVATE` was on, after a
/// restart without it: its deliveries are blocked, and the log says so and why (it said nothing).
async fn blocked_after_a_restart_is_logged(db: TestDb) {
    let master = new_master_key("blocked");
    let rx = Receiver::start().await;
    let mut gw = GatewayProcess::start(&db, &master, ENV);
    let s = setup(&gw.base, &rx.url, 1).await;
    gw.kill_9();
    let gw = GatewayProcess::start(&db, &master, &[("GATEWAY_OUTBOUND_ALLOW_PRIVATE", "false")]);
    deliver(&gw.base, &s.secret, &s.bodies[0]).await;
    assert!(
        gw.wait_log(
            "GATEWAY_OUTBOUND_ALLOW_PRIVATE is off",
            Duration::from_secs(15)
        ),
        "a blocked delivery is logged with its reason"
    );
    assert!(gw.log_contains(&s.endpoint), "the log names the endpoint");
    assert!(
        rx.received().is_empty(),
        "nothing reached the private receiver"
    );
}

/// Two processes share the work through PostgreSQL: every message is sent once (no timeouts
/// here, so at-least-once never needs a second send).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_processes_deliver_each_message_once() {
    const ORDERS: usize = 60;
    let Some(db) = TestDb::new(Backend::Postgres).await else {
        return;
    };
    let master = new_master_key("pair");
    let rx = Receiver::start().await;
    let a = GatewayProcess::start(&db, &master, ENV);
    let b = GatewayProcess::start(&db, &master, ENV);
    let s = setup(&a.base, &rx.url, ORDERS).await;
    let mut sends = Vec::new();
    for (i, body) in s.bodies.into_iter().enumerate() {
        let base = if i % 2 == 0 {
            a.base.clone()
        } else {
            b.base.clone()
        };
        let secret = s.secret.clone();
        sends.push(tokio::spawn(
            async move { deliver(&base, &secret, &body).await },
        ));
    }
    for s in sends {
        s.await.unwrap();
    }
    wait_distinct(&rx, ORDERS, Duration::from_secs(30)).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let got = rx.received();
    assert_eq!(
        got.len(),
        ORDERS,
        "each message sent once by one of the two"
    );
    assert!(got.iter().all(|r| r.verifies_with(&s.endpoint_secret)));
}
