//! Trust at the edges: no tenant can make the process hold a large admin body, collect
//! unbounded webhook secrets or notification endpoints, or keep signing its own events once it
//! is a connected account.
use crate::helpers::{TestApp, TestDb, into_answer, start_with};
use crate::stripe::{event, now, payment_intent};
use serde_json::json;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

mod limited {
    crate::backend_db_tests!(
        tenant_api_keys_are_rate_limited_and_the_operator_is_not,
        one_connected_account_cannot_take_the_platform_pace
    );
    use super::*;
}

crate::backend_tests!(
    admin_bodies_over_the_limit_are_refused_and_change_nothing,
    webhook_secrets_and_notification_endpoints_are_capped,
    a_tenant_moved_to_connected_keeps_no_secrets_of_its_own
);

async fn admin_bodies_over_the_limit_are_refused_and_change_nothing(app: TestApp) {
    let created = app.create_tenant("bulky").await;
    let key = app.issue_key("bulky").await;
    let body = json!({"name": "x".repeat(2_000_000)}).to_string();
    let r = app
        .client
        .patch(format!("{}/v1/tenants/bulky", app.base))
        .bearer_auth(&key)
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap();
    let a = into_answer(r).await;
    a.assert_problem(413, "payload_too_large");
    assert!(
        a.json["detail"].as_str().unwrap().contains("65536 bytes"),
        "{a:?}"
    );
    // Nothing changed, and a body within the limit is taken.
    assert_eq!(
        app.get("/v1/tenants/bulky", app.op()).await.json["name"],
        created["name"]
    );
    let ok = app
        .patch("/v1/tenants/bulky", &key, json!({"name": "Bulky"}))
        .await;
    assert_eq!(ok.status, 200, "{ok:?}");
    assert_eq!(ok.json["name"], "Bulky");
}

async fn webhook_secrets_and_notification_endpoints_are_capped(app: TestApp) {
    app.restaurant("capped").await;
    let key = app.issue_key("capped").await;
    let path = "/v1/tenants/capped/stripe-config/webhook-secrets";
    let add = |n: usize, expire: Option<i64>| {
        let mut body = json!({"secret": format!("whsec_cappedRotation{n:04}")});
        if let Some(secs) = expire {
            body["expire_others_in_seconds"] = json!(secs);
        }
        let (app, key) = (&app, key.clone());
        async move { app.post(path, &key, body).await }
    };
    // The config's own secret and four more are live; a sixth is refused, nothing changed.
    for n in 1..5 {
        assert_eq!(add(n, None).await.status, 201);
    }
    add(5, None).await.assert_problem(409, "too_many_secrets");
    let config = app.get("/v1/tenants/capped/stripe-config", &key).await;
    assert_eq!(config.json["webhook_secrets"].as_array().unwrap().len(), 5);
    // Still refused when the others would expire later (they would all be live at once) …
    add(6, Some(3600))
        .await
        .assert_problem(409, "too_many_secrets");
    // … taken when they expire now.
    let rotated = add(7, Some(0)).await;
    assert_eq!(rotated.status, 201, "{rotated:?}");
    assert_eq!(add(8, None).await.status, 201, "room again");

    // The platform's Connect secrets: the same cap.
    crate::connect::platform(&app).await;
    for n in 1..=5 {
        let a = app
            .post(
                "/v1/platform/stripe-config/webhook-secrets",
                app.op(),
                json!({"secret": format!("whsec_CapPlatformRotation{n:04}")}),
            )
            .await;
        if n < 5 {
            assert_eq!(a.status, 201, "{a:?}");
        } else {
            a.assert_problem(409, "too_many_secrets");
        }
    }

    // Notification endpoints: 20 per tenant, 5 live secrets each.
    let endpoints = "/v1/tenants/capped/notification-endpoints";
    let mut first = String::new();
    for n in 0..20 {
        let a = app
            .post(
                endpoints,
                &key,
                json!({"url": format!("https://pos{n}.example.com/hook")}),
            )
            .await;
        assert_eq!(a.status, 201, "{a:?}");
        if n == 0 {
            first = a.json["id"].as_str().unwrap().to_owned();
        }
    }
    app.post(
        endpoints,
        &key,
        json!({"url": "https://pos20.example.com/hook"}),
    )
    .await
    .assert_problem(409, "too_many_endpoints");
    let listed = app.get(&format!("{endpoints}?limit=100"), &key).await;
    assert_eq!(listed.json["data"].as_array().unwrap().len(), 20);
    let rotate = format!("{endpoints}/{first}/secrets");
    for _ in 0..4 {
        let a = app
            .post(&rotate, &key, json!({"expire_previous_in_secs": 3600}))
            .await;
        assert_eq!(a.status, 201, "{a:?}");
    }
    app.post(&rotate, &key, json!({"expire_previous_in_secs": 3600}))
        .await
        .assert_problem(409, "too_many_secrets");
    let now_expired = app
        .post(&rotate, &key, json!({"expire_previous_in_secs": 0}))
        .await;
    assert_eq!(now_expired.status, 201, "{now_expired:?}");
}

async fn a_tenant_moved_to_connected_keeps_no_secrets_of_its_own(app: TestApp) {
    let secret = app.restaurant("mover").await;
    let key = app.issue_key("mover").await;
    let order = app.order("mover", "M-1", 1500, "eur").await;
    let moved = app
        .patch(
            "/v1/tenants/mover",
            app.op(),
            json!({"kind": "connected", "stripe_account_id": "acct_1MoverAccount"}),
        )
        .await;
    assert_eq!(moved.status, 200, "{moved:?}");
    // Its own config is retired with the change of kind.
    app.get("/v1/tenants/mover/stripe-config", &key)
        .await
        .assert_problem(404, "not_found");
    // Its key can neither add nor delete webhook secrets, nor set a config.
    app.post(
        "/v1/tenants/mover/stripe-config/webhook-secrets",
        &key,
        json!({"secret": "whsec_moverSelfSigned0000"}),
    )
    .await
    .assert_problem(409, "connected_tenant");
    app.delete(
        &format!(
            "/v1/tenants/mover/stripe-config/webhook-secrets/{}",
            uuid::Uuid::now_v7()
        ),
        &key,
    )
    .await
    .assert_problem(409, "connected_tenant");
    app.put(
        "/v1/tenants/mover/stripe-config",
        &key,
        json!({"secret_key": "sk_test_51MoverOwnKey00000", "webhook_secret": "whsec_moverOwn000000"}),
    )
    .await
    .assert_problem(409, "connected_tenant");
    // An event it signs itself on its own endpoint changes nothing.
    let paid = event(
        "evt_mover_self",
        "payment_intent.succeeded",
        now(),
        payment_intent("pi_mover", 1500, "eur", "succeeded", Some(&order)),
    );
    app.deliver("mover", &secret, &paid)
        .await
        .assert_problem(409, "connected_tenant");
    let view = app.order_view("mover", &order).await;
    assert_eq!(view["status"], "PAYMENT_PENDING", "{view}");
    assert!(app.events("mover").await.is_empty());
}

async fn start(db: TestDb, tweak: impl FnOnce(&mut gateway::config::Config)) -> TestApp {
    let keys = db
        .url
        .as_ref()
        .map(|_| crate::helpers::new_master_key("k1"));
    start_with(db, keys, tweak).await.unwrap()
}

async fn tenant_api_keys_are_rate_limited_and_the_operator_is_not(db: TestDb) {
    let app = start(db, |c| c.api_key_requests_per_second = 2).await;
    app.create_tenant("chatty").await;
    app.create_tenant("calm").await;
    let chatty = app.issue_key("chatty").await;
    let calm = app.issue_key("calm").await;
    // Two per second, four at once: a burst of ten is cut off.
    let mut limited = None;
    for _ in 0..10 {
        let a = app.get("/v1/tenants/chatty/orders", &chatty).await;
        if a.status == 429 {
            limited = Some(a);
            break;
        }
        assert_eq!(a.status, 200, "{a:?}");
    }
    let limited = limited.expect("the key was limited");
    limited.assert_problem(429, "rate_limited");
    let r = app
        .client
        .get(format!("{}/v1/tenants/chatty/orders", app.base))
        .bearer_auth(&chatty)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 429);
    assert!(r.headers().contains_key("retry-after"));
    // Another tenant's key, and the operator, are not.
    for _ in 0..4 {
        assert_eq!(app.get("/v1/tenants/calm/orders", &calm).await.status, 200);
    }
    for _ in 0..20 {
        assert_eq!(
            app.get("/v1/tenants/chatty/orders", app.op()).await.status,
            200
        );
    }
    // The budget refills.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(
        app.get("/v1/tenants/chatty/orders", &chatty).await.status,
        200
    );
}

async fn one_connected_account_cannot_take_the_platform_pace(db: TestDb) {
    let stripe = MockServer::start().await;
    let app = start(db, |_| {}).await.with_stripe(&stripe.uri()).await;
    let arrivals: Arc<Mutex<Vec<(String, Instant)>>> = Arc::default();
    let seen = arrivals.clone();
    Mock::given(method("POST"))
        .and(path("/v1/checkout/sessions"))
        .respond_with(move |req: &Request| {
            let account = req.headers["stripe-account"].to_str().unwrap().to_owned();
            seen.lock().unwrap().push((account.clone(), Instant::now()));
            ResponseTemplate::new(200).set_body_json(json!({
                "id": format!("cs_test_{}", uuid::Uuid::now_v7().simple()),
                "object": "checkout.session",
                "url": format!("https://checkout.stripe.com/c/pay/{account}"),
            }))
        })
        .mount(&stripe)
        .await;
    crate::connect::platform(&app).await;
    for (slug, account) in [("busy", "acct_1BusyPace"), ("other", "acct_1OtherPace")] {
        crate::connect::connected(&app, slug, account, 0).await;
    }
    let checkout = |slug: &'static str, order: String| {
        let app = &app;
        async move {
            let started = Instant::now();
            let a = app
                .post(
                    &format!("/v1/tenants/{slug}/orders/{order}/checkout-session"),
                    app.op(),
                    json!({"success_url": "https://r.example/ok", "cancel_url": "https://r.example/no"}),
                )
                .await;
            assert_eq!(a.status, 201, "{a:?}");
            started.elapsed()
        }
    };
    let mut orders = Vec::new();
    for n in 0..20 {
        orders.push(app.order("busy", &format!("P-{n}"), 1000, "eur").await);
    }
    let other_order = app.order("other", "O-1", 1000, "eur").await;
    // The busy account asks for 20 checkouts at once; the other, one, while they wait.
    let started = Instant::now();
    let flood = futures::future::join_all(orders.into_iter().map(|o| checkout("busy", o)));
    let other = async {
        tokio::time::sleep(Duration::from_millis(300)).await;
        checkout("other", other_order).await
    };
    let (busy, other) = tokio::join!(flood, other);
    let mut busy: Vec<Duration> = busy;
    busy.sort();
    eprintln!(
        "pacing: other account's checkout {other:?}; busy account's median {:?}, slowest {:?}",
        busy[busy.len() / 2],
        busy[busy.len() - 1]
    );
    // The busy account got at most its share (a quarter of the platform's 20/s: a burst of 5,
    // then 5 a second) in the first second; the other account was not queued behind it.
    let arrivals = arrivals.lock().unwrap().clone();
    let busy_first_second = arrivals
        .iter()
        .filter(|(a, at)| {
            a == "acct_1BusyPace" && at.duration_since(started) < Duration::from_secs(1)
        })
        .count();
    assert!(
        busy_first_second <= 11,
        "{busy_first_second} of the busy account's calls in its first second"
    );
    assert_eq!(
        arrivals
            .iter()
            .filter(|(a, _)| a == "acct_1BusyPace")
            .count(),
        20
    );
    let other_at = arrivals
        .iter()
        .find(|(a, _)| a == "acct_1OtherPace")
        .map(|(_, at)| *at)
        .unwrap();
    let busy_after_other = arrivals
        .iter()
        .filter(|(a, at)| a == "acct_1BusyPace" && *at > other_at)
        .count();
    assert!(
        busy_after_other > 0,
        "the other account's call went out while the busy account still waited"
    );
}
