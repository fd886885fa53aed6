//! Stripe's API side, against a local mock of Stripe (wiremock): Checkout Sessions, key checks,
//! reconciliation (missed events applied once, PaymentIntents compared, retries, auth failures,
//! one run per tenant at a time) and the schedule.
use crate::helpers::{Backend, TestApp};
use crate::stripe::*;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::time::Duration;
use wiremock::matchers::{header, method, path, query_param, query_param_is_missing};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

crate::backend_tests!(
    checkout_sessions_use_the_tenants_key_and_an_order_idempotency_key,
    validate_checks_the_key_with_stripe_before_storing,
    reconciliation_applies_missed_events_once_and_reports_missing_payments,
    reconciliation_retries_429_and_500,
    reconciliation_with_a_rejected_key_fails_and_changes_nothing,
    one_reconciliation_per_tenant_at_a_time,
    reconciliation_runs_on_a_schedule,
    reconciliation_since_recovers_an_outage_and_the_overlap_is_configurable,
);

fn form(req: &Request) -> HashMap<String, String> {
    form_urlencoded::parse(&req.body).into_owned().collect()
}

fn auth(req: &Request) -> String {
    req.headers
        .get("authorization")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default()
}

fn session_json(id: &str) -> Value {
    let mut s = checkout_session(id, None, 0, "usd", "x", "unpaid");
    s["url"] = json!(format!("https://checkout.stripe.com/c/pay/{id}"));
    s
}

async fn checkout_sessions_use_the_tenants_key_and_an_order_idempotency_key(app: TestApp) {
    let stripe = MockServer::start().await;
    let app = app.with_stripe(&stripe.uri()).await;
    Mock::given(method("POST"))
        .and(path("/v1/checkout/sessions"))
        .and(header("authorization", "Bearer sk_test_potsKey00000"))
        .respond_with(ResponseTemplate::new(200).set_body_json(session_json("cs_test_pots")))
        .mount(&stripe)
        .await;
    Mock::given(method("POST"))
        .and(path("/v1/checkout/sessions"))
        .and(header("authorization", "Bearer sk_test_pansKey00000"))
        .respond_with(ResponseTemplate::new(200).set_body_json(session_json("cs_test_pans")))
        .mount(&stripe)
        .await;
    app.restaurant("pots").await;
    app.restaurant("pans").await;
    let order = app.order("pots", "POT-7", 2500, "EUR").await;
    let other = app.order("pans", "PAN-1", 900, "usd").await;
    let urls = json!({"success_url": "https://pots.example/paid", "cancel_url": "https://pots.example/menu"});
    let path_of = |t: &str, o: &str| format!("/v1/tenants/{t}/orders/{o}/checkout-session");

    let a = app
        .post(&path_of("pots", &order), app.op(), urls.clone())
        .await;
    assert_eq!(a.status, 201, "{a:?}");
    assert_eq!(a.json["session_id"], "cs_test_pots");
    assert_eq!(
        a.json["url"],
        "https://checkout.stripe.com/c/pay/cs_test_pots"
    );
    // The customer's browser follows the order at the status URL (no bearer).
    let status_url = a.json["status_url"].as_str().unwrap();
    assert!(
        status_url.starts_with(&format!("{}/v1/order-status/", app.base)),
        "{a:?}"
    );
    let s = app
        .request(reqwest::Method::GET, status_url, None, None)
        .await;
    assert_eq!(s.status, 200, "{s:?}");
    assert_eq!(s.json["status"], "PAYMENT_PENDING");
    assert_eq!(s.json["amount"], 2500);
    assert_eq!(
        app.order_view("pots", &order).await["checkout_session_id"],
        "cs_test_pots"
    );
    // A retried call sends the same idempotency key (Stripe answers the same session).
    assert_eq!(
        app.post(&path_of("pots", &order), app.op(), urls.clone())
            .await
            .status,
        201
    );
    let b = app
        .post(&path_of("pans", &other), app.op(), urls.clone())
        .await;
    assert_eq!(b.json["session_id"], "cs_test_pans");

    let sent = stripe.received_requests().await.unwrap();
    assert_eq!(sent.len(), 3);
    let f = form(&sent[0]);
    assert_eq!(auth(&sent[0]), "Bearer sk_test_potsKey00000");
    assert_eq!(f["mode"], "payment");
    assert_eq!(f["line_items[0][price_data][unit_amount]"], "2500");
    assert_eq!(f["line_items[0][price_data][currency]"], "eur");
    assert_eq!(
        f["line_items[0][price_data][product_data][name]"],
        "Order POT-7"
    );
    assert_eq!(f["line_items[0][quantity]"], "1");
    assert_eq!(f["client_reference_id"], order);
    assert_eq!(f["metadata[order_id]"], order);
    assert_eq!(f["payment_intent_data[metadata][order_id]"], order);
    assert_eq!(f["success_url"], "https://pots.example/paid");
    assert_eq!(f["cancel_url"], "https://pots.example/menu");
    let key = |r: &Request| {
        r.headers
            .get("idempotency-key")
            .unwrap()
            .to_str()
            .unwrap()
            .to_owned()
    };
    assert_eq!(key(&sent[0]), format!("gateway-checkout-{order}"));
    assert_eq!(key(&sent[1]), key(&sent[0]));
    assert_eq!(auth(&sent[2]), "Bearer sk_test_pansKey00000");
    assert_eq!(
        form(&sent[2])["line_items[0][price_data][unit_amount]"],
        "900"
    );

    // Only a PAYMENT_PENDING order can be paid.
    let secret = "whsec_potsSecret0000";
    app.deliver(
        "pots",
        secret,
        &event(
            "evt_paid",
            "payment_intent.succeeded",
            now(),
            payment_intent("pi_p", 2500, "eur", "succeeded", Some(&order)),
        ),
    )
    .await;
    app.post(&path_of("pots", &order), app.op(), urls.clone())
        .await
        .assert_problem(409, "order_not_payable");
    app.post(
        &path_of("pots", &order),
        app.op(),
        json!({"success_url": "ftp://x", "cancel_url": "https://x.example"}),
    )
    .await
    .assert_problem(422, "validation_failed");
    assert_eq!(
        stripe.received_requests().await.unwrap().len(),
        3,
        "refused calls never reach Stripe"
    );
}

/// Stripe's `GET /v1/balance` answering test mode for `keys`, and 401 (invalid key) for any other.
pub async fn test_mode_balance_for(stripe: &MockServer, keys: &[&str]) {
    for key in keys {
        Mock::given(method("GET"))
            .and(path("/v1/balance"))
            .and(header("authorization", format!("Bearer {key}").as_str()))
            .respond_with(ResponseTemplate::new(200).set_body_json(
                json!({"object": "balance", "available": [], "pending": [], "livemode": false}),
            ))
            .mount(stripe)
            .await;
    }
    Mock::given(method("GET"))
        .and(path("/v1/balance"))
        .respond_with(ResponseTemplate::new(401).set_body_json(
            json!({"error": {"type": "invalid_request_error", "message": "Invalid API Key provided: sk_test_******0002"}}),
        ))
        .mount(stripe)
        .await;
}

async fn validate_checks_the_key_with_stripe_before_storing(app: TestApp) {
    let stripe = MockServer::start().await;
    let app = app.with_stripe(&stripe.uri()).await;
    // The live-looking key is answered for test mode: the wrong mode.
    test_mode_balance_for(
        &stripe,
        &["sk_test_goodKey000001", "sk_live_claimsLive0001"],
    )
    .await;
    app.create_tenant("checked").await;
    let put = |key: &str| {
        let body = json!({"secret_key": key, "webhook_secret": "whsec_checkedSecret01"});
        let app = &app;
        async move {
            app.put(
                "/v1/tenants/checked/stripe-config?validate=true",
                app.op(),
                body,
            )
            .await
        }
    };
    let ok = put("sk_test_goodKey000001").await;
    assert_eq!(ok.status, 200, "{ok:?}");
    let before = app
        .get("/v1/tenants/checked/stripe-config", app.op())
        .await
        .json;
    let bad = put("sk_test_revokedKey0002").await;
    bad.assert_problem(422, "stripe_key_invalid");
    assert!(
        bad.json["detail"]
            .as_str()
            .unwrap()
            .contains("Invalid API Key")
    );
    assert!(!bad.text.contains("revokedKey"));
    put("sk_live_claimsLive0001")
        .await
        .assert_problem(422, "stripe_key_wrong_mode");
    assert_eq!(
        app.get("/v1/tenants/checked/stripe-config", app.op())
            .await
            .json,
        before,
        "nothing stored"
    );
}

/// Mounts Stripe's event list as two pages and its PaymentIntent list.
pub async fn mount_lists(
    stripe: &MockServer,
    page1: Vec<Value>,
    page2: Vec<Value>,
    intents: Vec<Value>,
) {
    let after = page1
        .last()
        .map(|e| e["id"].as_str().unwrap().to_owned())
        .unwrap_or_default();
    Mock::given(method("GET"))
        .and(path("/v1/events"))
        .and(query_param_is_missing("starting_after"))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            json!({"object": "list", "url": "/v1/events", "has_more": true, "data": page1}),
        ))
        .mount(stripe)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1/events"))
        .and(query_param("starting_after", after.as_str()))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            json!({"object": "list", "url": "/v1/events", "has_more": false, "data": page2}),
        ))
        .mount(stripe)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1/payment_intents"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"object": "list", "url": "/v1/payment_intents", "has_more": false, "data": intents})))
        .mount(stripe)
        .await;
}

/// An RFC 3339 instant of an answer.
fn instant(v: &Value) -> chrono::DateTime<chrono::Utc> {
    v.as_str().unwrap().parse().unwrap()
}

/// The `created[gte]` (window start) of each events list the gateway asked Stripe for.
async fn window_starts_asked(stripe: &MockServer) -> Vec<i64> {
    crate::stripe::requests_to(stripe, "/v1/events")
        .await
        .iter()
        .filter_map(|r| {
            r.url
                .query_pairs()
                .find(|(k, _)| k == "created[gte]")
                .and_then(|(_, v)| v.parse().ok())
        })
        .collect()
}

/// Stripe's event list as Stripe filters it: only events created at or after `created[gte]`.
struct EventsSince(Vec<Value>);

impl wiremock::Respond for EventsSince {
    fn respond(&self, req: &wiremock::Request) -> ResponseTemplate {
        let gte: i64 = req
            .url
            .query_pairs()
            .find(|(k, _)| k == "created[gte]")
            .and_then(|(_, v)| v.parse().ok())
            .unwrap_or(0);
        let data: Vec<&Value> = self
            .0
            .iter()
            .filter(|e| e["created"].as_i64().unwrap() >= gte)
            .collect();
        ResponseTemplate::new(200).set_body_json(
            json!({"object": "list", "url": "/v1/events", "has_more": false, "data": data}),
        )
    }
}

/// Waits for run `id` of `tenant` to end.
async fn finished(app: &TestApp, tenant: &str, id: &str) -> Value {
    for _ in 0..200 {
        let run = app
            .get(
                &format!("/v1/tenants/{tenant}/reconciliations/{id}"),
                app.op(),
            )
            .await
            .json;
        if run["status"] != "running" {
            return run;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("reconciliation did not finish");
}

/// Starts a run through the API and waits for its end.
pub async fn reconcile(app: &TestApp, tenant: &str) -> Value {
    let started = app
        .post(
            &format!("/v1/tenants/{tenant}/reconciliations"),
            app.op(),
            json!({}),
        )
        .await;
    assert_eq!(started.status, 202, "{started:?}");
    assert_eq!(started.json["status"], "running");
    finished(app, tenant, started.json["id"].as_str().unwrap()).await
}

async fn reconciliation_since_recovers_an_outage_and_the_overlap_is_configurable(app: TestApp) {
    let stripe = MockServer::start().await;
    let app = app
        .restart(|c| {
            c.stripe_api_base = format!("{}/", stripe.uri());
            c.reconcile_overlap = Duration::from_secs(300);
        })
        .await;
    app.restaurant("outage").await;
    let order = app.order("outage", "O-1", 1500, "usd").await;
    // Stripe still lists an event from four days ago that never arrived.
    let old = now() - 4 * 86_400;
    let mut pi = payment_intent("pi_outage", 1500, "usd", "succeeded", Some(&order));
    pi["created"] = json!(old);
    let missed = event("evt_outage", "payment_intent.succeeded", old, pi);
    Mock::given(method("GET"))
        .and(path("/v1/events"))
        .respond_with(EventsSince(vec![missed]))
        .mount(&stripe)
        .await;
    mount_lists(&stripe, vec![], vec![], vec![]).await;
    let path = "/v1/tenants/outage/reconciliations";

    // Refused: beyond Stripe's 30 days, in the future, not a date; nothing starts.
    for since in [now() - 31 * 86_400, now() + 3_600] {
        let at = chrono::DateTime::from_timestamp(since, 0)
            .unwrap()
            .to_rfc3339();
        app.post(path, app.op(), json!({"since": at}))
            .await
            .assert_problem(422, "validation_failed");
    }
    app.post(path, app.op(), json!({"since": "last tuesday"}))
        .await
        .assert_problem(400, "malformed_request");
    assert_eq!(app.get(path, app.op()).await.json["data"], json!([]));

    // A run without a body: the first window, 3 days back, misses the 4-day-old event ...
    let plain = app
        .client
        .post(format!("{}{path}", app.base))
        .bearer_auth(app.op())
        .send()
        .await
        .unwrap();
    assert_eq!(plain.status(), 202);
    let plain: Value = plain.json().await.unwrap();
    let first = finished(&app, "outage", plain["id"].as_str().unwrap()).await;
    assert_eq!(first["counts"]["created"], 0, "{first}");
    assert_eq!(app.order_status("outage", &order).await, "PAYMENT_PENDING");

    // ... `since` five days back, after the outage, finds and applies it.
    let since = chrono::DateTime::from_timestamp(now() - 5 * 86_400, 0).unwrap();
    let started = app
        .post(path, app.op(), json!({"since": since.to_rfc3339()}))
        .await;
    assert_eq!(started.status, 202, "{started:?}");
    assert_eq!(instant(&started.json["window_start"]), since);
    let recovered = finished(&app, "outage", started.json["id"].as_str().unwrap()).await;
    assert_eq!(recovered["counts"]["created"], 1, "{recovered}");
    assert_eq!(app.order_status("outage", &order).await, "PAID");

    // The next scheduled-style run overlaps the last by the configured 5 minutes, and asks
    // Stripe for exactly that window start.
    let next = reconcile(&app, "outage").await;
    let expected = instant(&recovered["window_end"]) - chrono::TimeDelta::minutes(5);
    assert_eq!(instant(&next["window_start"]), expected);
    assert_eq!(next["status"], "succeeded", "{next}");
    let asked = window_starts_asked(&stripe).await;
    assert_eq!(
        asked,
        vec![
            instant(&first["window_start"]).timestamp(),
            since.timestamp(),
            expected.timestamp()
        ]
    );
}

async fn reconciliation_applies_missed_events_once_and_reports_missing_payments(app: TestApp) {
    let stripe = MockServer::start().await;
    let app = app.with_stripe(&stripe.uri()).await;
    let secret = app.restaurant("books").await;
    let order = app.order("books", "B-1", 3000, "usd").await;
    let t = now() - 600;
    let delivered = event(
        "evt_seen",
        "checkout.session.completed",
        t,
        checkout_session("cs_b", Some("pi_b"), 3000, "usd", &order, "paid"),
    );
    assert_eq!(
        app.deliver("books", &secret, &delivered).await.json["status"],
        "processed"
    );
    let missed_refund = event(
        "evt_missed_refund",
        "charge.refunded",
        t + 120,
        charge("pi_b", 3000, "usd", 1000, Some(&order)),
    );
    let missed_other = event(
        "evt_missed_pi",
        "payment_intent.succeeded",
        t + 60,
        payment_intent("pi_loose", 700, "usd", "succeeded", None),
    );
    let mut pi_b = payment_intent("pi_b", 3000, "usd", "succeeded", Some(&order));
    pi_b["created"] = json!(t);
    let mut pi_gone = payment_intent("pi_gone", 4200, "usd", "succeeded", None);
    pi_gone["created"] = json!(t);
    let pi_abandoned = payment_intent("pi_abandoned", 100, "usd", "requires_payment_method", None);
    // Taken by Stripe, applied from its missed event, but naming no order: nothing books it.
    let mut pi_loose = payment_intent("pi_loose", 700, "usd", "succeeded", None);
    pi_loose["created"] = json!(t);
    mount_lists(
        &stripe,
        vec![missed_refund, delivered.clone()],
        vec![missed_other],
        vec![pi_b, pi_gone, pi_abandoned, pi_loose],
    )
    .await;

    let run = reconcile(&app, "books").await;
    assert_eq!(run["status"], "succeeded", "{run}");
    assert_eq!(
        run["counts"],
        json!({"created": 2, "updated": 0, "unchanged": 1, "failed": 0})
    );
    let found = run["discrepancies"].as_array().unwrap();
    assert_eq!(found.len(), 2, "{run}");
    assert_eq!(found[0]["kind"], "missing_payment");
    assert_eq!(found[0]["stripe_id"], "pi_gone");
    assert_eq!(found[1]["kind"], "unmatched_payment");
    assert_eq!(found[1]["stripe_id"], "pi_loose");
    assert!(run["error"].is_null() && run["finished_at"].is_string());
    let view = app.order_view("books", &order).await;
    assert_eq!(view["status"], "PARTIALLY_REFUNDED");
    assert_eq!(view["amount_refunded"], 1000);
    let ids: Vec<String> = app
        .events("books")
        .await
        .iter()
        .map(|e| e["stripe_event_id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(ids.len(), 3);
    // Which events were asked for: the handled types, in the window.
    let sent = stripe.received_requests().await.unwrap();
    let q = sent[0].url.query().unwrap_or_default().to_owned();
    assert!(q.contains("types") && q.contains("created"), "{q}");

    // A second run finds nothing new: nothing is applied twice.
    let again = reconcile(&app, "books").await;
    assert_eq!(again["status"], "succeeded");
    assert_eq!(
        again["counts"],
        json!({"created": 0, "updated": 0, "unchanged": 3, "failed": 0})
    );
    assert_eq!(
        instant(&again["window_start"]),
        instant(&run["window_end"]) - chrono::TimeDelta::minutes(10),
        "the next window starts 10 minutes (GATEWAY_RECONCILE_OVERLAP) before the last ended"
    );
    assert_eq!(app.order_view("books", &order).await, view);
    let list = app.get("/v1/tenants/books/reconciliations", app.op()).await;
    assert_eq!(list.json["data"].as_array().unwrap().len(), 2);
}

async fn reconciliation_retries_429_and_500(app: TestApp) {
    let stripe = MockServer::start().await;
    let app = app.with_stripe(&stripe.uri()).await;
    app.restaurant("flaky").await;
    let order = app.order("flaky", "F-1", 1500, "usd").await;
    Mock::given(method("GET"))
        .and(path("/v1/events"))
        .respond_with(
            ResponseTemplate::new(429)
                .insert_header("Retry-After", "1")
                .set_body_json(
                    json!({"error": {"type": "rate_limit_error", "message": "Too many requests"}}),
                ),
        )
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&stripe)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1/events"))
        .respond_with(
            ResponseTemplate::new(500)
                .set_body_json(json!({"error": {"type": "api_error", "message": "boom"}})),
        )
        .up_to_n_times(1)
        .with_priority(2)
        .mount(&stripe)
        .await;
    let missed = event(
        "evt_late",
        "payment_intent.succeeded",
        now() - 60,
        payment_intent("pi_f", 1500, "usd", "succeeded", Some(&order)),
    );
    Mock::given(method("GET"))
        .and(path("/v1/events"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"object": "list", "has_more": false, "data": [missed]})),
        )
        .with_priority(3)
        .mount(&stripe)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1/payment_intents"))
        .respond_with(ResponseTemplate::new(503))
        .up_to_n_times(2)
        .with_priority(1)
        .mount(&stripe)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1/payment_intents"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"object": "list", "has_more": false, "data": []})),
        )
        .with_priority(2)
        .mount(&stripe)
        .await;
    let started = std::time::Instant::now();
    let run = reconcile(&app, "flaky").await;
    assert_eq!(run["status"], "succeeded", "{run}");
    assert_eq!(run["counts"]["created"], 1);
    assert_eq!(app.order_status("flaky", &order).await, "PAID");
    let sent = stripe.received_requests().await.unwrap();
    assert_eq!(
        sent.iter().filter(|r| r.url.path() == "/v1/events").count(),
        3
    );
    assert_eq!(
        sent.iter()
            .filter(|r| r.url.path() == "/v1/payment_intents")
            .count(),
        3
    );
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "Retry-After was honoured"
    );
}

async fn reconciliation_with_a_rejected_key_fails_and_changes_nothing(app: TestApp) {
    let stripe = MockServer::start().await;
    let app = app.with_stripe(&stripe.uri()).await;
    app.restaurant("revoked").await;
    let order = app.order("revoked", "R-1", 1000, "usd").await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(401).set_body_json(
            json!({"error": {"type": "invalid_request_error", "message": "Invalid API Key provided: sk_test_revokedKey00000"}}),
        ))
        .mount(&stripe)
        .await;
    let run = reconcile(&app, "revoked").await;
    assert_eq!(run["status"], "failed");
    let error = run["error"].as_str().unwrap();
    assert!(
        error.contains("rejected the tenant's secret key") && error.contains("401"),
        "{error}"
    );
    assert!(
        !error.contains("revokedKey"),
        "the key never appears in an error: {error}"
    );
    assert_eq!(
        run["counts"],
        json!({"created": 0, "updated": 0, "unchanged": 0, "failed": 0})
    );
    assert!(app.events("revoked").await.is_empty());
    assert_eq!(app.order_status("revoked", &order).await, "PAYMENT_PENDING");
    assert_eq!(
        stripe.received_requests().await.unwrap().len(),
        1,
        "a 401 is not retried"
    );
}

/// Stripe listing `missed` as the one event of the period, slowly (700 ms: a run is still going
/// when the next is asked for), and no PaymentIntents.
pub async fn slow_events_listing(stripe: &MockServer, missed: Value) {
    Mock::given(method("GET"))
        .and(path("/v1/events"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_delay(Duration::from_millis(700))
                .set_body_json(json!({"object": "list", "has_more": false, "data": [missed]})),
        )
        .mount(stripe)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1/payment_intents"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"object": "list", "has_more": false, "data": []})),
        )
        .mount(stripe)
        .await;
}

async fn one_reconciliation_per_tenant_at_a_time(app: TestApp) {
    let stripe = MockServer::start().await;
    let app = app.with_stripe(&stripe.uri()).await;
    app.restaurant("busy").await;
    let order = app.order("busy", "U-1", 1000, "usd").await;
    let missed = event(
        "evt_once",
        "payment_intent.succeeded",
        now() - 60,
        payment_intent("pi_u", 1000, "usd", "succeeded", Some(&order)),
    );
    slow_events_listing(&stripe, missed).await;
    let first = app
        .post("/v1/tenants/busy/reconciliations", app.op(), json!({}))
        .await;
    assert_eq!(first.status, 202);
    app.post("/v1/tenants/busy/reconciliations", app.op(), json!({}))
        .await
        .assert_problem(409, "reconciliation_running");
    if app.db.backend == Backend::Postgres {
        // A second replica on the same database is refused by the advisory lock.
        let other = gateway::startup::prepare(app.db.config(app.master_keys.clone()))
            .await
            .unwrap()
            .state;
        let tenant =
            gateway::app::scope::in_scope(&other, gateway::app::Principal::Operator, "busy")
                .await
                .unwrap();
        assert!(matches!(
            gateway::app::reconciliations::start(&other, &tenant, None).await,
            Err(gateway::app::Error::Conflict {
                code: "reconciliation_running",
                ..
            })
        ));
    }
    let run = finished(&app, "busy", first.json["id"].as_str().unwrap()).await;
    assert_eq!(run["counts"]["created"], 1, "{run}");
    // Once it ended, the next may start; it applies nothing twice.
    let next = reconcile(&app, "busy").await;
    assert_eq!(next["counts"]["created"], 0);
    assert_eq!(app.events("busy").await.len(), 1);
}

async fn reconciliation_runs_on_a_schedule(app: TestApp) {
    let stripe = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"object": "list", "has_more": false, "data": []})),
        )
        .mount(&stripe)
        .await;
    app.restaurant("nightly").await;
    let app = app
        .restart(|c| {
            c.stripe_api_base = format!("{}/", stripe.uri());
            c.reconcile_interval = Duration::from_secs(1);
        })
        .await;
    let mut runs = Vec::new();
    for _ in 0..60 {
        runs = app
            .get("/v1/tenants/nightly/reconciliations", app.op())
            .await
            .json["data"]
            .as_array()
            .unwrap()
            .clone();
        if runs.iter().any(|r| r["status"] == "succeeded") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(runs.iter().any(|r| r["status"] == "succeeded"), "{runs:?}");
}

mod cli {
    use super::*;
    crate::backend_tests!(cli_check_config_and_reconcile);
    async fn cli_check_config_and_reconcile(app: TestApp) {
        super::cli_check_config_and_reconcile(app).await;
    }
}

pub async fn cli_check_config_and_reconcile(app: TestApp) {
    let stripe = MockServer::start().await;
    // A connected tenant's key check: the platform's key, on its account.
    Mock::given(method("GET"))
        .and(path("/v1/balance"))
        .and(header("authorization", "Bearer sk_test_51PlatformCli0042"))
        .and(header("stripe-account", "acct_1CliLinked"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"object": "balance", "livemode": false})),
        )
        .mount(&stripe)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1/balance"))
        .and(header("authorization", "Bearer sk_test_cliKey00000"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"object": "balance", "livemode": false})),
        )
        .mount(&stripe)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1/balance"))
        .respond_with(ResponseTemplate::new(401).set_body_json(
            json!({"error": {"message": "Invalid API Key provided: sk_test_****0000"}}),
        ))
        .mount(&stripe)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1/events"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"object": "list", "has_more": false, "data": []})),
        )
        .mount(&stripe)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1/payment_intents"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"object": "list", "has_more": false, "data": []})),
        )
        .mount(&stripe)
        .await;
    app.restaurant("cli").await;
    app.restaurant("cli-bad").await;
    let linked = json!({"slug": "cli-linked", "name": "Linked", "kind": "connected", "stripe_account_id": "acct_1CliLinked"});
    assert_eq!(app.post("/v1/tenants", app.op(), linked).await.status, 201);
    let (url, dir, base) = (
        app.db.url(),
        app.db.data_dir(),
        format!("{}/", stripe.uri()),
    );
    let mut env: Vec<(&str, &str)> = vec![
        ("DATABASE_URL", &url),
        ("GATEWAY_DATA_DIR", dir.to_str().unwrap()),
        ("GATEWAY_STRIPE_API_BASE", &base),
    ];
    let keys = app.master_keys.clone().unwrap_or_default();
    if !keys.is_empty() {
        env.push(("GATEWAY_MASTER_KEYS", &keys));
    }
    let run = |args: &[&str]| {
        let out = crate::keys::gateway(args, &env);
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned()
                + &String::from_utf8_lossy(&out.stderr),
        )
    };
    let (ok, text) = run(&["check-config", "--tenant", "cli"]);
    assert!(ok, "{text}");
    assert!(
        text.contains("cli: ok — key sk_test_…0000 works (test mode)"),
        "{text}"
    );
    assert!(!text.contains("sk_test_cliKey00000"), "{text}");
    let (ok, text) = run(&["check-config", "--tenant", "cli-bad"]);
    assert!(!ok && text.contains("invalid key sk_test_…0000"), "{text}");
    assert!(!text.contains("cliBadKey"), "{text}");
    let (ok, text) = run(&["check-config", "--tenant", "cli-linked"]);
    assert!(
        !ok && text.contains("cli-linked (connected): no Stripe config for the platform"),
        "{text}"
    );
    let platform = json!({"secret_key": "sk_test_51PlatformCli0042", "webhook_secret": "whsec_PlatformCli0042"});
    assert_eq!(
        app.put("/v1/platform/stripe-config", app.op(), platform)
            .await
            .status,
        200
    );
    let (ok, text) = run(&["check-config", "--tenant", "cli-linked"]);
    assert!(ok, "{text}");
    assert!(
        text.contains("cli-linked: ok — key sk_test_…0042 (the platform's, for connected account acct_1CliLinked) works (test mode)"),
        "{text}"
    );

    let (ok, text) = run(&["reconcile", "--tenant", "cli"]);
    assert!(ok, "{text}");
    assert!(text.contains("cli: events: 0 on this page"), "{text}");
    assert!(
        text.contains(
            "cli: succeeded — created 0, updated 0, unchanged 0, failed 0; 0 discrepancies"
        ),
        "{text}"
    );
    let runs = app.get("/v1/tenants/cli/reconciliations", app.op()).await;
    assert_eq!(runs.json["data"][0]["status"], "succeeded");

    // After an outage: a window of one's own; more than 30 days back is refused.
    let since = chrono::DateTime::from_timestamp(now() - 7 * 86_400, 0).unwrap();
    let (ok, text) = run(&[
        "reconcile",
        "--tenant",
        "cli",
        "--since",
        &since.to_rfc3339(),
    ]);
    assert!(ok, "{text}");
    let runs = app.get("/v1/tenants/cli/reconciliations", app.op()).await;
    assert_eq!(
        runs.json["data"][1]["window_start"]
            .as_str()
            .unwrap()
            .parse::<chrono::DateTime<chrono::Utc>>()
            .unwrap(),
        since
    );
    let long_ago = (chrono::Utc::now() - chrono::TimeDelta::days(40)).to_rfc3339();
    let (ok, text) = run(&["reconcile", "--tenant", "cli", "--since", &long_ago]);
    assert!(!ok && text.contains("within the last 30 days"), "{text}");
}
