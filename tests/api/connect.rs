//! Stripe Connect platforms: one Connect endpoint (`/webhooks/stripe/connect`) verified with the
//! platform's secrets and routed by the signed body's `account` to the tenant with that account,
//! then the tenant path (suspension, limits, exactly once); events for an account no tenant has
//! kept unrouted and applied once a tenant takes it; platform events recorded and ignored;
//! connected tenants' Stripe calls made with the platform key and `Stripe-Account`, checkouts
//! with the platform's fee.
use crate::helpers::{Answer, TestApp};
use crate::operations::metric;
use crate::stripe::{charge, event, now, payment_intent, sign};
use serde_json::{Value, json};
use std::time::{Duration, Instant};
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

crate::backend_tests!(
    events_reach_the_named_tenant_and_no_other,
    bodies_not_signed_by_the_platform_are_refused,
    unrouted_events_wait_for_their_tenant_and_apply_once,
    a_suspended_connected_tenant_is_refused_while_others_flow,
    connected_tenants_call_stripe_with_the_platform_key_and_their_account,
    tenant_kinds_are_validated_and_operator_only,
    every_recorded_event_through_the_connect_endpoint
);

pub(crate) const PLATFORM_KEY: &str = "sk_test_51PlatformKeyConnect01";
pub(crate) const PLATFORM_SECRET: &str = "whsec_PlatformConnectSecret01";

pub(crate) async fn platform(app: &TestApp) {
    let put = app
        .put(
            "/v1/platform/stripe-config",
            app.op(),
            json!({"secret_key": PLATFORM_KEY, "webhook_secret": PLATFORM_SECRET}),
        )
        .await;
    assert_eq!(put.status, 200, "{put:?}");
}

/// Creates a connected tenant of `account` with `bps` basis points of fee.
pub(crate) async fn connected(app: &TestApp, slug: &str, account: &str, bps: i32) -> Value {
    let a = app
        .post(
            "/v1/tenants",
            app.op(),
            json!({"slug": slug, "name": slug, "kind": "connected",
                   "stripe_account_id": account, "application_fee_bps": bps}),
        )
        .await;
    assert_eq!(a.status, 201, "{a:?}");
    a.json
}

/// `event` as Stripe sends it to a Connect endpoint: naming `account`.
fn on_account(mut event: Value, account: &str) -> Value {
    event["account"] = json!(account);
    event
}

/// Delivers `event` to the Connect endpoint, signed with `secret`.
async fn deliver_connect(app: &TestApp, secret: &str, event: &Value) -> Answer {
    app.deliver("connect", secret, event).await
}

fn paid(id: &str, pi: &str, amount: i64, order: &str) -> Value {
    event(
        id,
        "payment_intent.succeeded",
        now(),
        payment_intent(pi, amount, "eur", "succeeded", Some(order)),
    )
}

async fn event_ids(app: &TestApp, tenant: &str) -> Vec<String> {
    app.events(tenant)
        .await
        .iter()
        .map(|e| e["stripe_event_id"].as_str().unwrap().to_owned())
        .collect()
}

async fn unrouted(app: &TestApp, query: &str) -> Vec<Value> {
    let a = app
        .get(&format!("/v1/platform/unrouted-events{query}"), app.op())
        .await;
    assert_eq!(a.status, 200, "{a:?}");
    a.json["data"].as_array().unwrap().clone()
}

async fn events_reach_the_named_tenant_and_no_other(app: TestApp) {
    // Before the platform has a config, the endpoint cannot verify anything.
    let early = on_account(paid("evt_c_early", "pi_c0", 100, "x"), "acct_1Alpha");
    deliver_connect(&app, PLATFORM_SECRET, &early)
        .await
        .assert_problem(409, "no_platform_config");
    platform(&app).await;
    let routed = [r#"routing="tenant""#];
    let routed_before = metric(&app, "gateway_connect_events_total", &routed).await;
    connected(&app, "alpha", "acct_1Alpha", 0).await;
    connected(&app, "beta", "acct_1Beta", 0).await;
    let order_a = app.order("alpha", "A-1", 1200, "eur").await;
    let order_b = app.order("beta", "B-1", 800, "eur").await;

    let to_a = on_account(paid("evt_c_a1", "pi_ca1", 1200, &order_a), "acct_1Alpha");
    let a = deliver_connect(&app, PLATFORM_SECRET, &to_a).await;
    assert_eq!(
        (a.status.as_u16(), &a.json["status"]),
        (200, &json!("processed")),
        "{a:?}"
    );
    assert_eq!(app.order_status("alpha", &order_a).await, "PAID");
    assert_eq!(app.order_status("beta", &order_b).await, "PAYMENT_PENDING");
    let again = deliver_connect(&app, PLATFORM_SECRET, &to_a).await;
    assert_eq!(again.json["status"], "duplicate");

    let to_b = on_account(paid("evt_c_b1", "pi_cb1", 800, &order_b), "acct_1Beta");
    assert_eq!(
        deliver_connect(&app, PLATFORM_SECRET, &to_b).await.json["status"],
        "processed"
    );
    assert_eq!(app.order_status("beta", &order_b).await, "PAID");
    assert_eq!(event_ids(&app, "alpha").await, ["evt_c_a1"]);
    assert_eq!(event_ids(&app, "beta").await, ["evt_c_b1"]);

    // An event on beta's account naming alpha's order lands in beta's books, where that order
    // does not exist: alpha's books do not move.
    let cross = on_account(
        paid("evt_c_cross", "pi_cross", 5000, &order_a),
        "acct_1Beta",
    );
    assert_eq!(
        deliver_connect(&app, PLATFORM_SECRET, &cross).await.status,
        200
    );
    let view = app.order_view("alpha", &order_a).await;
    assert_eq!(view["payments"].as_array().map(Vec::len), Some(1), "{view}");
    assert_eq!(event_ids(&app, "alpha").await, ["evt_c_a1"]);
    assert!(
        event_ids(&app, "beta")
            .await
            .contains(&"evt_c_cross".to_owned())
    );

    // A connected tenant has no endpoint secret of its own.
    let own_url = app.deliver("alpha", PLATFORM_SECRET, &to_a).await;
    own_url.assert_problem(409, "connected_tenant");
    assert!(
        own_url.json["detail"]
            .as_str()
            .unwrap()
            .contains("POST /webhooks/stripe/connect"),
        "the refusal says where its events go: {own_url:?}"
    );
    // Metrics are process-wide (tests run in parallel): at least these four.
    assert!(metric(&app, "gateway_connect_events_total", &routed).await >= routed_before + 4.0);
}

async fn bodies_not_signed_by_the_platform_are_refused(app: TestApp) {
    platform(&app).await;
    connected(&app, "gamma", "acct_1Gamma", 0).await;
    let own_secret = app.restaurant("delta").await;
    let order = app.order("gamma", "G-1", 700, "eur").await;
    let e = on_account(
        paid("evt_c_forged", "pi_forged", 700, &order),
        "acct_1Gamma",
    );
    // Signed with a tenant's own endpoint secret: not the platform's.
    deliver_connect(&app, &own_secret, &e)
        .await
        .assert_problem(400, "bad_signature");
    // Signed by the platform, then the account changed: the signature no longer matches.
    let body = on_account(paid("evt_c_moved", "pi_moved", 700, &order), "acct_1Other").to_string();
    let signature = sign(PLATFORM_SECRET, now(), &body);
    let moved = body.replace("acct_1Other", "acct_1Gamma");
    app.post_webhook("connect", Some(&signature), &moved)
        .await
        .assert_problem(400, "bad_signature");
    app.post_webhook("connect", None, &moved)
        .await
        .assert_problem(400, "missing_signature");
    assert!(app.events("gamma").await.is_empty());
    assert!(unrouted(&app, "?state=waiting").await.is_empty());
    assert_eq!(app.order_status("gamma", &order).await, "PAYMENT_PENDING");
}

/// Waits until `check` holds (background routing), for at most 10 s.
async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + Duration::from_secs(10);
    while !check().await {
        assert!(
            Instant::now() < deadline,
            "{what} did not happen within 10 s"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn unrouted_events_wait_for_their_tenant_and_apply_once(app: TestApp) {
    platform(&app).await;
    // The restaurant exists with an order, but nobody has told the gateway its account yet.
    app.create_tenant("epsilon").await;
    let order = app.order("epsilon", "E-1", 1500, "eur").await;
    let early = on_account(paid("evt_c_wait1", "pi_wait", 1500, &order), "acct_1Eps");
    let a = deliver_connect(&app, PLATFORM_SECRET, &early).await;
    assert_eq!(
        (a.status.as_u16(), &a.json["status"]),
        (200, &json!("unrouted")),
        "{a:?}"
    );
    let again = deliver_connect(&app, PLATFORM_SECRET, &early).await;
    assert_eq!(again.json["status"], "duplicate");
    // An event for an account no tenant will have soon, and a platform event (no account).
    let stranger = on_account(paid("evt_c_stranger", "pi_str", 10, "x"), "acct_1Nobody");
    assert_eq!(
        deliver_connect(&app, PLATFORM_SECRET, &stranger).await.json["status"],
        "unrouted"
    );
    let platform_event = event(
        "evt_c_platform",
        "account.updated",
        now(),
        json!({"id": "acct_1Eps", "object": "account"}),
    );
    let p = deliver_connect(&app, PLATFORM_SECRET, &platform_event).await;
    assert_eq!(p.json["status"], "ignored", "{p:?}");

    let waiting = unrouted(&app, "").await;
    let waiting_ids: Vec<&str> = waiting
        .iter()
        .map(|e| e["stripe_event_id"].as_str().unwrap())
        .collect();
    assert_eq!(waiting_ids, ["evt_c_wait1", "evt_c_stranger"]);
    assert_eq!(waiting[0]["account"], "acct_1Eps");
    assert_eq!(waiting[0]["type"], "payment_intent.succeeded");
    assert_eq!(unrouted(&app, "?account=acct_1Eps").await.len(), 1);
    let platform_only = unrouted(&app, "?state=platform").await;
    assert_eq!(platform_only.len(), 1);
    assert!(platform_only[0]["account"].is_null());
    let key = app.issue_key("epsilon").await;
    app.get("/v1/platform/unrouted-events", &key)
        .await
        .assert_problem(403, "operator_only");
    assert!(app.events("epsilon").await.is_empty());

    // The operator gives epsilon the account: the waiting event is applied, once.
    let patched = app
        .patch(
            "/v1/tenants/epsilon",
            app.op(),
            json!({"kind": "connected", "stripe_account_id": "acct_1Eps"}),
        )
        .await;
    assert_eq!(patched.status, 200, "{patched:?}");
    assert_eq!(patched.json["kind"], "connected");
    eventually("routing to epsilon", || async {
        app.order_status("epsilon", &order).await == "PAID"
    })
    .await;
    let routed = unrouted(&app, "?state=routed").await;
    assert_eq!(routed.len(), 1);
    assert_eq!(routed[0]["routed_tenant_id"], patched.json["id"]);
    assert_eq!(
        unrouted(&app, "").await.len(),
        1,
        "the stranger still waits"
    );
    // Stripe's retry of the same event now reaches the tenant and is a duplicate.
    assert_eq!(
        deliver_connect(&app, PLATFORM_SECRET, &early).await.json["status"],
        "duplicate"
    );
    assert_eq!(event_ids(&app, "epsilon").await, ["evt_c_wait1"]);
    assert_eq!(
        app.order_view("epsilon", &order).await["payments"]
            .as_array()
            .map(Vec::len),
        Some(1)
    );

    // A tenant created with the stranger's account receives its event.
    connected(&app, "zeta", "acct_1Nobody", 0).await;
    eventually("routing to zeta", || async {
        event_ids(&app, "zeta").await == ["evt_c_stranger"]
    })
    .await;
    assert!(unrouted(&app, "").await.is_empty());
    assert_eq!(unrouted(&app, "?state=routed").await.len(), 2);
}

async fn a_suspended_connected_tenant_is_refused_while_others_flow(app: TestApp) {
    platform(&app).await;
    connected(&app, "eta", "acct_1Eta", 0).await;
    connected(&app, "theta", "acct_1Theta", 0).await;
    let order_eta = app.order("eta", "H-1", 900, "eur").await;
    let order_theta = app.order("theta", "T-1", 900, "eur").await;
    let suspend = app
        .patch("/v1/tenants/eta", app.op(), json!({"status": "suspended"}))
        .await;
    assert_eq!(suspend.status, 200);
    let to_eta = on_account(paid("evt_c_eta", "pi_eta", 900, &order_eta), "acct_1Eta");
    deliver_connect(&app, PLATFORM_SECRET, &to_eta)
        .await
        .assert_problem(423, "tenant_suspended");
    let to_theta = on_account(
        paid("evt_c_theta", "pi_theta", 900, &order_theta),
        "acct_1Theta",
    );
    assert_eq!(
        deliver_connect(&app, PLATFORM_SECRET, &to_theta).await.json["status"],
        "processed"
    );
    assert!(app.events("eta").await.is_empty());
    assert!(
        unrouted(&app, "").await.is_empty(),
        "a suspended tenant's events are not unrouted"
    );
    // Reactivated: Stripe's retry goes through.
    app.patch("/v1/tenants/eta", app.op(), json!({"status": "active"}))
        .await;
    assert_eq!(
        deliver_connect(&app, PLATFORM_SECRET, &to_eta).await.json["status"],
        "processed"
    );
    assert_eq!(app.order_status("eta", &order_eta).await, "PAID");
}

/// Stripe's Checkout Session answer, echoing the fee asked for.
fn session(req: &Request) -> ResponseTemplate {
    let account = req.headers.get("stripe-account").unwrap().to_str().unwrap();
    ResponseTemplate::new(200).set_body_json(json!({
        "id": format!("cs_test_{account}"), "object": "checkout.session",
        "url": format!("https://checkout.stripe.com/c/pay/{account}"),
    }))
}

async fn connected_tenants_call_stripe_with_the_platform_key_and_their_account(app: TestApp) {
    let stripe = MockServer::start().await;
    let app = app.with_stripe(&stripe.uri()).await;
    // Only the platform's key is accepted, and only with a Stripe-Account header.
    let platform_auth = format!("Bearer {PLATFORM_KEY}");
    Mock::given(method("POST"))
        .and(path("/v1/checkout/sessions"))
        .and(header("authorization", platform_auth.as_str()))
        .respond_with(session)
        .mount(&stripe)
        .await;
    platform(&app).await;
    let fees = [
        ("iota", "acct_1Iota", 0),
        ("kappa", "acct_1Kappa", 250),
        ("lambda", "acct_1Lambda", 10_000),
    ];
    let mut sent_fee = Vec::new();
    for (slug, account, bps) in fees {
        connected(&app, slug, account, bps).await;
        let order = app.order(slug, "CK-1", 1999, "eur").await;
        let a = app
            .post(
                &format!("/v1/tenants/{slug}/orders/{order}/checkout-session"),
                app.op(),
                json!({"success_url": "https://r.example/ok", "cancel_url": "https://r.example/no"}),
            )
            .await;
        assert_eq!(a.status, 201, "{a:?}");
        let requests = stripe.received_requests().await.unwrap();
        let last = requests.last().unwrap();
        assert_eq!(last.headers.get("stripe-account").unwrap(), account);
        let form: std::collections::HashMap<String, String> =
            form_urlencoded::parse(&last.body).into_owned().collect();
        sent_fee.push(
            form.get("payment_intent_data[application_fee_amount]")
                .cloned(),
        );
    }
    // 0 bps sends no fee; 250 bps of 19.99 is 0.49975, rounded down; 10,000 bps is all of it.
    assert_eq!(
        sent_fee,
        [None, Some("49".to_owned()), Some("1999".to_owned())]
    );

    // Reconciliation lists the connected account's events with the platform key.
    let order = app.order("kappa", "CK-2", 3000, "eur").await;
    let missed = event(
        "evt_c_missed",
        "payment_intent.succeeded",
        now() - 60,
        payment_intent("pi_missed", 3000, "eur", "succeeded", Some(&order)),
    );
    Mock::given(method("GET"))
        .and(path("/v1/events"))
        .and(header("authorization", platform_auth.as_str()))
        .and(header("stripe-account", "acct_1Kappa"))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            json!({"object": "list", "url": "/v1/events", "has_more": false, "data": [missed]}),
        ))
        .mount(&stripe)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1/payment_intents"))
        .and(header("stripe-account", "acct_1Kappa"))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            json!({"object": "list", "url": "/v1/payment_intents", "has_more": false, "data": []}),
        ))
        .mount(&stripe)
        .await;
    let run = crate::stripe_api::reconcile(&app, "kappa").await;
    assert_eq!(run["status"], "succeeded", "{run}");
    assert_eq!(app.order_status("kappa", &order).await, "PAID");

    // A refund goes to the connected account too.
    Mock::given(method("POST"))
        .and(path("/v1/refunds"))
        .and(header("authorization", platform_auth.as_str()))
        .and(header("stripe-account", "acct_1Kappa"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "id": "re_connected", "object": "refund", "amount": 1000, "currency": "eur",
            "payment_intent": "pi_missed", "status": "succeeded",
        })))
        .mount(&stripe)
        .await;
    let refund = app
        .post(
            &format!("/v1/tenants/kappa/orders/{order}/refunds"),
            app.op(),
            json!({"amount": 1000}),
        )
        .await;
    assert_eq!(refund.status, 201, "{refund:?}");
    assert_eq!(refund.json["id"], "re_connected");
    // Settled by the connected account's charge.refunded through the Connect endpoint.
    let refunded = on_account(
        event(
            "evt_c_refunded",
            "charge.refunded",
            now(),
            charge("pi_missed", 3000, "eur", 1000, Some(&order)),
        ),
        "acct_1Kappa",
    );
    assert_eq!(
        deliver_connect(&app, PLATFORM_SECRET, &refunded)
            .await
            .status,
        200
    );
    assert_eq!(
        app.order_view("kappa", &order).await["amount_refunded"],
        1000
    );

    // Every request carried the platform key and a connected account; none a tenant's key.
    for r in stripe.received_requests().await.unwrap() {
        assert_eq!(
            r.headers.get("authorization").unwrap(),
            platform_auth.as_str()
        );
        assert!(r.headers.get("stripe-account").is_some(), "{r:?}");
    }
}

async fn tenant_kinds_are_validated_and_operator_only(app: TestApp) {
    // A connected tenant needs its account; the fee is 0–10,000 bps.
    let no_account = app
        .post(
            "/v1/tenants",
            app.op(),
            json!({"slug": "mu", "name": "mu", "kind": "connected"}),
        )
        .await;
    no_account.assert_problem(422, "validation_failed");
    let too_much = app
        .post(
            "/v1/tenants",
            app.op(),
            json!({"slug": "mu", "name": "mu", "application_fee_bps": 10_001}),
        )
        .await;
    too_much.assert_problem(422, "validation_failed");
    app.post(
        "/v1/tenants",
        app.op(),
        json!({"slug": "connect", "name": "reserved"}),
    )
    .await
    .assert_problem(422, "validation_failed");
    let own = app.create_tenant("nu").await;
    assert_eq!(
        (&own["kind"], &own["application_fee_bps"]),
        (&json!("own_account"), &json!(0))
    );
    let xi = connected(&app, "xi", "acct_1Xi", 300).await;
    assert_eq!(
        (&xi["kind"], &xi["application_fee_bps"]),
        (&json!("connected"), &json!(300))
    );
    // Its account cannot be cleared while it is connected; nor can it hold keys of its own.
    app.patch(
        "/v1/tenants/xi",
        app.op(),
        json!({"stripe_account_id": null}),
    )
    .await
    .assert_problem(422, "validation_failed");
    app.put(
        "/v1/tenants/xi/stripe-config",
        app.op(),
        json!({"secret_key": "sk_test_51XiOwnKey000000", "webhook_secret": "whsec_XiOwnSecret000"}),
    )
    .await
    .assert_problem(409, "connected_tenant");
    // The tenant's own key may not change its kind or the platform's fee.
    let key = app.issue_key("xi").await;
    for body in [
        json!({"application_fee_bps": 0}),
        json!({"kind": "own_account"}),
    ] {
        app.patch("/v1/tenants/xi", &key, body)
            .await
            .assert_problem(403, "operator_only");
    }
    let unchanged = app.get("/v1/tenants/xi", app.op()).await.json;
    assert_eq!(
        (&unchanged["kind"], &unchanged["application_fee_bps"]),
        (&json!("connected"), &json!(300))
    );
    // The operator may.
    let changed = app
        .patch(
            "/v1/tenants/xi",
            app.op(),
            json!({"application_fee_bps": 125, "kind": "own_account"}),
        )
        .await;
    assert_eq!(changed.status, 200, "{changed:?}");
    assert_eq!(
        (&changed.json["kind"], &changed.json["application_fee_bps"]),
        (&json!("own_account"), &json!(125))
    );
}

async fn every_recorded_event_through_the_connect_endpoint(app: TestApp) {
    platform(&app).await;
    // Real recorded events, byte for byte: the ten that name a connected account wait for its
    // tenant; the others are the platform's own.
    let events = crate::recorded::recorded();
    let mut accounts = std::collections::BTreeSet::new();
    for (line, e) in &events {
        let a = app
            .post_webhook("connect", Some(&sign(PLATFORM_SECRET, now(), line)), line)
            .await;
        let want = match e["account"].as_str() {
            Some(account) => {
                accounts.insert(account.to_owned());
                "unrouted"
            }
            None => "ignored",
        };
        assert_eq!(
            (a.status.as_u16(), a.json["status"].as_str()),
            (200, Some(want)),
            "{}: {a:?}",
            e["id"]
        );
    }
    assert_eq!(accounts.len(), 3);
    let all = "&limit=100";
    assert_eq!(
        unrouted(&app, &format!("?state=waiting{all}")).await.len(),
        10
    );
    // Each account's tenant arrives: its events are routed to it, once.
    for (n, account) in accounts.iter().enumerate() {
        connected(&app, &format!("recorded-{n}"), account, 0).await;
    }
    eventually("routing every recorded Connect event", || async {
        unrouted(&app, &format!("?state=routed{all}")).await.len() == 10
    })
    .await;
    let mut logged = 0;
    for n in 0..accounts.len() {
        logged += app.events(&format!("recorded-{n}")).await.len();
    }
    assert_eq!(logged, 10);
    for (line, e) in events.iter().filter(|(_, e)| e["account"].is_string()) {
        let a = app
            .post_webhook("connect", Some(&sign(PLATFORM_SECRET, now(), line)), line)
            .await;
        assert_eq!(a.json["status"], "duplicate", "{}: {a:?}", e["id"]);
    }
    assert!(
        unrouted(&app, &format!("?state=waiting{all}"))
            .await
            .is_empty()
    );
}
