//! Order notifications: endpoints, signed delivery to real receivers on loopback, retries, the
//! messages log, the SSRF guard. Both backends.
use crate::helpers::TestApp;
use crate::receiver::Receiver;
use crate::stripe::*;
use serde_json::{Value, json};
use std::time::Duration;

crate::backend_tests!(
    a_paid_order_is_announced_signed_and_once,
    a_failed_attempt_is_retried_with_the_same_id,
    endpoints_are_managed_and_secrets_rotate_with_overlap,
    bad_endpoints_are_refused_and_change_nothing,
    filters_and_disabled_endpoints_choose_what_is_sent,
    an_endpoint_failing_for_five_days_is_disabled,
    the_message_log_reads_newest_first_when_asked,
);

/// Registers an endpoint for `tenant` at `url`; returns (id, secret).
pub async fn endpoint(app: &TestApp, tenant: &str, url: &str, events: Value) -> (String, String) {
    let a = app
        .post(
            &format!("/v1/tenants/{tenant}/notification-endpoints"),
            app.op(),
            json!({"url": url, "events": events, "description": "POS"}),
        )
        .await;
    assert_eq!(a.status, 201, "{a:?}");
    (
        a.json["id"].as_str().unwrap().to_owned(),
        a.json["secret"].as_str().unwrap().to_owned(),
    )
}

/// Pays `order` of `tenant` with a completed Checkout Session (event `evt`).
pub async fn pay(app: &TestApp, tenant: &str, secret: &str, order: &str, evt: &str) -> Value {
    let cs = checkout_session(
        &format!("cs_{evt}"),
        Some(&format!("pi_{evt}")),
        2500,
        "eur",
        order,
        "paid",
    );
    let a = app
        .deliver(
            tenant,
            secret,
            &event(evt, "checkout.session.completed", now(), cs),
        )
        .await;
    assert_eq!(a.status, 200, "{a:?}");
    a.json
}

async fn messages(app: &TestApp, tenant: &str, endpoint: &str) -> Vec<Value> {
    let a = app
        .get(
            &format!("/v1/tenants/{tenant}/notification-endpoints/{endpoint}/messages?limit=100"),
            app.op(),
        )
        .await;
    assert_eq!(a.status, 200, "{a:?}");
    a.json["data"].as_array().unwrap().clone()
}

/// Polls the messages log until `pred` holds for the first message.
async fn wait_message(
    app: &TestApp,
    tenant: &str,
    endpoint: &str,
    pred: impl Fn(&Value) -> bool,
) -> Value {
    for _ in 0..200 {
        let got = messages(app, tenant, endpoint).await;
        if let Some(m) = got.first()
            && pred(m)
        {
            return m.clone();
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!(
        "message never reached the expected state: {:?}",
        messages(app, tenant, endpoint).await
    );
}

async fn a_paid_order_is_announced_signed_and_once(app: TestApp) {
    let secret = app.restaurant("trattoria").await;
    let rx = Receiver::start().await;
    let (ep, ep_secret) = endpoint(&app, "trattoria", &rx.url, json!([])).await;
    assert!(ep_secret.starts_with("whsec_"));
    let order = app.order("trattoria", "T-7", 2500, "EUR").await;
    assert_eq!(
        pay(&app, "trattoria", &secret, &order, "evt_pay1").await["status"],
        "processed"
    );
    // Stripe delivers the same event again: it changes nothing, so nothing more is announced.
    assert_eq!(
        pay(&app, "trattoria", &secret, &order, "evt_pay1").await["status"],
        "duplicate"
    );
    let got = rx.wait_for(1, Duration::from_secs(10)).await;
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(rx.received().len(), 1, "announced once");
    let n = &got[0];
    assert!(
        n.verifies_with(&ep_secret),
        "signature verifies with the crate's verifier"
    );
    assert!(!n.verifies_with("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"));
    let body = n.json();
    assert_eq!(body["type"], "order.paid");
    assert_eq!(body["data"]["id"], order.as_str());
    assert_eq!(body["data"]["reference"], "T-7");
    assert_eq!(body["data"]["status"], "PAID");
    assert_eq!(body["data"]["previous_status"], "PAYMENT_PENDING");
    assert_eq!(body["data"]["amount"], 2500);
    assert_eq!(body["data"]["currency"], "eur");
    assert_eq!(body["data"]["stripe_event_id"], "evt_pay1");
    assert!(
        body["data"].get("customer_email").is_none(),
        "no personal data: {body}"
    );
    assert!(n.header("webhook-id").starts_with("msg_"));
    let ts: i64 = n.header("webhook-timestamp").parse().unwrap();
    assert!((ts - now()).abs() < 30);
    let m = wait_message(&app, "trattoria", &ep, |m| m["status"] == "delivered").await;
    let metrics = app
        .request(reqwest::Method::GET, "/metrics", None, None)
        .await
        .text;
    for name in [
        "gateway_notifications_total{outcome=\"delivered\"}",
        "gateway_notification_delivery_seconds_count",
        "gateway_notification_backlog{kind=\"messages\"}",
    ] {
        assert!(metrics.contains(name), "{name} in /metrics");
    }
    assert_eq!(m["attempts"], 1);
    assert_eq!(m["last_response_code"], 200);
    assert_eq!(m["webhook_id"], n.header("webhook-id").as_str());
    assert_eq!(m["order_id"], order.as_str());
    assert_eq!(m["event_type"], "order.paid");
    assert!(m["next_attempt_at"].is_null() && m["delivered_at"].is_string());
    // A manual retry sends it again, same id.
    let a = app
        .post(
            &format!(
                "/v1/tenants/trattoria/notification-endpoints/{ep}/messages/{}/retry",
                m["id"].as_str().unwrap()
            ),
            app.op(),
            json!({}),
        )
        .await;
    assert_eq!(a.status, 202, "{a:?}");
    let again = rx.wait_for(2, Duration::from_secs(10)).await;
    assert_eq!(again[1].header("webhook-id"), n.header("webhook-id"));
    assert_eq!(again[1].body, n.body);
    let m = wait_message(&app, "trattoria", &ep, |m| {
        m["status"] == "delivered" && m["attempts"] == 2
    })
    .await;
    assert_eq!(m["last_response_code"], 200);
}

async fn a_failed_attempt_is_retried_with_the_same_id(app: TestApp) {
    let secret = app.restaurant("osteria").await;
    let rx = Receiver::start().await;
    // A redirect is a failed attempt: never followed, tried again later at the same URL.
    rx.script(&[307]);
    let (ep, ep_secret) = endpoint(&app, "osteria", &rx.url, json!(["order.paid"])).await;
    let order = app.order("osteria", "O-1", 2500, "EUR").await;
    pay(&app, "osteria", &secret, &order, "evt_retry").await;
    rx.wait_for(1, Duration::from_secs(10)).await;
    let m = wait_message(&app, "osteria", &ep, |m| {
        m["attempts"] == 1 && m["status"] == "pending"
    })
    .await;
    assert_eq!(m["last_response_code"], 307);
    assert!(m["last_error"].as_str().unwrap().contains("307"), "{m}");
    assert!(m["next_attempt_at"].is_string());
    // The schedule's second attempt comes 5 s (±10 %) later.
    let got = rx.wait_for(2, Duration::from_secs(15)).await;
    let gap = got[1].at - got[0].at;
    assert!(gap >= Duration::from_millis(4400), "retried after {gap:?}");
    assert_eq!(got[0].header("webhook-id"), got[1].header("webhook-id"));
    assert_eq!(got[0].body, got[1].body);
    assert!(
        got.iter().all(|r| r.path == "/hook"),
        "the redirect was not followed"
    );
    assert!(got[1].verifies_with(&ep_secret));
    let m = wait_message(&app, "osteria", &ep, |m| m["status"] == "delivered").await;
    assert_eq!(m["attempts"], 2);
    assert_eq!(m["last_response_code"], 200);
}

async fn endpoints_are_managed_and_secrets_rotate_with_overlap(app: TestApp) {
    let secret = app.restaurant("cantina").await;
    app.create_tenant("other").await;
    let rx = Receiver::start().await;
    let (ep, first) = endpoint(
        &app,
        "cantina",
        &rx.url,
        json!(["order.paid", "order.refunded", "order.paid"]),
    )
    .await;
    let path = format!("/v1/tenants/cantina/notification-endpoints/{ep}");
    let a = app.get(&path, app.op()).await;
    assert_eq!(a.status, 200);
    assert!(!a.text.contains(&first), "the secret is shown once only");
    assert_eq!(a.json["events"], json!(["order.paid", "order.refunded"]));
    assert_eq!(a.json["enabled"], true);
    assert_eq!(a.json["secrets"].as_array().unwrap().len(), 1);
    assert!(
        a.json["secrets"][0]["hint"]
            .as_str()
            .unwrap()
            .starts_with("whsec_…")
    );
    // The tenant's own key manages its endpoints; another tenant's key sees nothing.
    let key = app.issue_key("cantina").await;
    assert_eq!(app.get(&path, &key).await.status, 200);
    let other = app.issue_key("other").await;
    app.get(&path, &other)
        .await
        .assert_problem(404, "not_found");
    app.get(
        &format!("/v1/tenants/other/notification-endpoints/{ep}"),
        app.op(),
    )
    .await
    .assert_problem(404, "not_found");
    let a = app
        .patch(
            &path,
            &key,
            json!({"description": "Kitchen display", "events": []}),
        )
        .await;
    assert_eq!(a.status, 200, "{a:?}");
    assert_eq!(a.json["description"], "Kitchen display");
    assert_eq!(a.json["events"], json!([]));
    // Rotate: the new secret signs, the old one keeps signing until it expires.
    let a = app
        .post(
            &format!("{path}/secrets"),
            &key,
            json!({"expire_previous_in_secs": 3600}),
        )
        .await;
    assert_eq!(a.status, 201, "{a:?}");
    let second = a.json["secret"].as_str().unwrap().to_owned();
    assert_ne!(second, first);
    let a = app.get(&path, app.op()).await;
    let secrets = a.json["secrets"].as_array().unwrap();
    assert_eq!(secrets.len(), 2);
    assert!(
        secrets
            .iter()
            .filter(|s| s["expires_at"].is_string())
            .count()
            == 1
    );
    let order = app.order("cantina", "C-1", 2500, "EUR").await;
    pay(&app, "cantina", &secret, &order, "evt_rot").await;
    let got = rx.wait_for(1, Duration::from_secs(10)).await;
    assert!(got[0].verifies_with(&first) && got[0].verifies_with(&second));
    // Rotating with no overlap retires the others at once.
    let a = app
        .post(
            &format!("{path}/secrets"),
            app.op(),
            json!({"expire_previous_in_secs": 0}),
        )
        .await;
    let third = a.json["secret"].as_str().unwrap().to_owned();
    let order = app.order("cantina", "C-2", 2500, "EUR").await;
    pay(&app, "cantina", &secret, &order, "evt_rot2").await;
    let got = rx.wait_for(2, Duration::from_secs(10)).await;
    assert!(got[1].verifies_with(&third));
    assert!(!got[1].verifies_with(&first) && !got[1].verifies_with(&second));
    let list = app
        .get("/v1/tenants/cantina/notification-endpoints", app.op())
        .await;
    assert_eq!(list.json["data"].as_array().unwrap().len(), 1);
    assert_eq!(app.delete(&path, &key).await.status, 204);
    app.get(&path, app.op())
        .await
        .assert_problem(404, "not_found");
    app.delete(&path, app.op())
        .await
        .assert_problem(404, "not_found");
}

async fn bad_endpoints_are_refused_and_change_nothing(app: TestApp) {
    app.create_tenant("taverna").await;
    let path = "/v1/tenants/taverna/notification-endpoints";
    for (body, status) in [
        (json!({"url": "ftp://example.com/"}), 422),
        (json!({"url": "https://example.com/\u{1}x"}), 422),
        (
            json!({"url": "https://example.com/", "events": ["order.eaten"]}),
            400,
        ),
        (
            json!({"url": "https://example.com/", "description": "x".repeat(501)}),
            422,
        ),
        (
            json!({"url": format!("https://example.com/{}", "a".repeat(2048))}),
            422,
        ),
        (json!({"events": ["order.paid"]}), 400),
        (json!({"url": "https://example.com/", "enabled": null}), 400),
        (json!({"url": "https://example.com/", "events": null}), 400),
        (
            json!({"url": "https://example.com/", "description": 5}),
            400,
        ),
        (
            json!({"url": "https://example.com/", "description": "a\u{7}b"}),
            422,
        ),
    ] {
        let a = app.post(path, app.op(), body.clone()).await;
        assert_eq!(a.status, status, "{body}: {a:?}");
        assert!(a.content_type.starts_with("application/problem+json"));
    }
    let a = app.get(path, app.op()).await;
    assert_eq!(a.json["data"], json!([]), "nothing was created");
    let a = app
        .post(
            &format!("{path}/{}/secrets", uuid::Uuid::now_v7()),
            app.op(),
            json!({}),
        )
        .await;
    a.assert_problem(404, "not_found");
    let a = app
        .post(
            &format!("{path}/{}/secrets", uuid::Uuid::now_v7()),
            app.op(),
            json!({"expire_previous_in_secs": 604801}),
        )
        .await;
    a.assert_problem(422, "validation_failed");
    let (ep, _) = endpoint(&app, "taverna", "https://example.com/hook", json!([])).await;
    let a = app
        .raw(
            reqwest::Method::POST,
            &format!("{path}/{ep}/secrets"),
            Some(app.op()),
            "application/json",
            "null",
        )
        .await;
    assert_eq!(a.status, 400, "{a:?}");
    let a = app.get(&format!("{path}/{ep}"), app.op()).await;
    assert_eq!(
        a.json["secrets"].as_array().unwrap().len(),
        1,
        "no rotation"
    );
}

async fn filters_and_disabled_endpoints_choose_what_is_sent(app: TestApp) {
    let secret = app.restaurant("bistrot").await;
    let paid_only = Receiver::start().await;
    let refunds_only = Receiver::start().await;
    let off = Receiver::start().await;
    endpoint(&app, "bistrot", &paid_only.url, json!(["order.paid"])).await;
    endpoint(
        &app,
        "bistrot",
        &refunds_only.url,
        json!(["order.refunded"]),
    )
    .await;
    let (off_id, _) = endpoint(&app, "bistrot", &off.url, json!([])).await;
    let a = app
        .patch(
            &format!("/v1/tenants/bistrot/notification-endpoints/{off_id}"),
            app.op(),
            json!({"enabled": false}),
        )
        .await;
    assert_eq!(a.json["enabled"], false);
    let order = app.order("bistrot", "B-1", 2500, "EUR").await;
    pay(&app, "bistrot", &secret, &order, "evt_f1").await;
    paid_only.wait_for(1, Duration::from_secs(10)).await;
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(refunds_only.received().len(), 0);
    assert_eq!(off.received().len(), 0);
}

async fn an_endpoint_failing_for_five_days_is_disabled(app: TestApp) {
    use sea_orm::ConnectionTrait;
    let secret = app.restaurant("diner").await;
    let rx = Receiver::start().await;
    rx.answer(503);
    let (ep, _) = endpoint(&app, "diner", &rx.url, json!([])).await;
    let order = app.order("diner", "D-1", 2500, "EUR").await;
    pay(&app, "diner", &secret, &order, "evt_dead").await;
    rx.wait_for(1, Duration::from_secs(10)).await;
    let m = wait_message(&app, "diner", &ep, |m| {
        m["attempts"] == 1 && m["status"] == "pending"
    })
    .await;
    assert_eq!(m["last_response_code"], 503);
    let health = app.get("/v1/tenants/diner/webhook-health", app.op()).await;
    let unhealthy = health.json["notification_endpoints_unhealthy"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(unhealthy.len(), 1, "{health:?}");
    assert_eq!(unhealthy[0]["enabled"], true);
    assert!(unhealthy[0]["failing_since"].is_string());
    // Its failing run began six days ago; the next failure disables it.
    let sql = app.sql().await;
    let six_days_ago = (chrono::Utc::now() - chrono::Duration::days(6)).to_rfc3339();
    let stmt = sea_orm::Statement::from_sql_and_values(
        sql.get_database_backend(),
        match sql.get_database_backend() {
            sea_orm::DbBackend::Postgres => {
                "UPDATE notification_endpoints SET failing_since = $1::timestamptz"
            }
            _ => "UPDATE notification_endpoints SET failing_since = ?",
        },
        [six_days_ago.into()],
    );
    sql.execute_raw(stmt).await.unwrap();
    let retry = format!(
        "/v1/tenants/diner/notification-endpoints/{ep}/messages/{}/retry",
        m["id"].as_str().unwrap()
    );
    assert_eq!(app.post(&retry, app.op(), json!({})).await.status, 202);
    rx.wait_for(2, Duration::from_secs(10)).await;
    let mut disabled = Value::Null;
    for _ in 0..100 {
        let a = app
            .get(
                &format!("/v1/tenants/diner/notification-endpoints/{ep}"),
                app.op(),
            )
            .await;
        if a.json["enabled"] == false {
            disabled = a.json;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(disabled["disabled_reason"], "failing", "{disabled}");
    let health = app.get("/v1/tenants/diner/webhook-health", app.op()).await;
    assert_eq!(
        health.json["notification_endpoints_unhealthy"][0]["disabled_reason"],
        "failing"
    );
    // Enabled again by the tenant: the failing run is forgotten.
    rx.answer(200);
    let a = app
        .patch(
            &format!("/v1/tenants/diner/notification-endpoints/{ep}"),
            app.op(),
            json!({"enabled": true}),
        )
        .await;
    assert_eq!(a.json["enabled"], true);
    assert!(a.json["disabled_reason"].is_null() && a.json["failing_since"].is_null());
}

/// The message log is oldest first by default; `sort=newest` reverses it, page by page.
async fn the_message_log_reads_newest_first_when_asked(app: TestApp) {
    let secret = app.restaurant("latest").await;
    let rx = Receiver::start().await;
    let (ep, _) = endpoint(&app, "latest", &rx.url, json!([])).await;
    for i in 0..3 {
        let order = app.order("latest", &format!("L-{i}"), 1000, "EUR").await;
        pay(&app, "latest", &secret, &order, &format!("evt_l{i}")).await;
    }
    rx.wait_for(3, Duration::from_secs(10)).await;
    let ids = |page: &Value| -> Vec<String> {
        page["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["id"].as_str().unwrap().to_owned())
            .collect()
    };
    let path = format!("/v1/tenants/latest/notification-endpoints/{ep}/messages");
    let oldest = ids(&app.get(&path, app.op()).await.json);
    assert_eq!(oldest.len(), 3);
    let mut sorted = oldest.clone();
    sorted.sort();
    assert_eq!(oldest, sorted, "oldest first by default");
    let first = app
        .get(&format!("{path}?sort=newest&limit=2"), app.op())
        .await
        .json;
    let cursor = first["next_cursor"].as_str().unwrap().to_owned();
    let second = app
        .get(
            &format!("{path}?sort=newest&limit=2&cursor={cursor}"),
            app.op(),
        )
        .await
        .json;
    assert!(second["next_cursor"].is_null());
    let newest: Vec<String> = ids(&first).into_iter().chain(ids(&second)).collect();
    let reversed: Vec<String> = oldest.into_iter().rev().collect();
    assert_eq!(
        newest, reversed,
        "newest first, and the cursor leads to older ones"
    );
    app.get(&format!("{path}?sort=sideways"), app.op())
        .await
        .assert_problem(400, "malformed_request");
}
