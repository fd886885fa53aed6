//! Tenant isolation: a tenant key reaches its own tenant only; every other tenant's path answers
//! exactly like a tenant that does not exist (404), and operator-only actions answer 403.
use crate::helpers::TestApp;
use reqwest::Method;
use serde_json::{Value, json};

crate::backend_tests!(
    tenant_key_sees_only_its_tenant,
    operator_only_actions_refuse_tenant_keys
);

/// Every tenant-scoped route with a valid body, `{t}` standing for the tenant.
fn scoped_routes(
    key_id: &str,
    secret_id: &str,
    order_id: &str,
    payment_id: &str,
) -> Vec<(Method, String, Option<Value>)> {
    vec![
        (
            Method::POST,
            "/v1/tenants/{t}/orders".into(),
            Some(json!({"reference": "x", "amount": 1, "currency": "usd"})),
        ),
        (Method::GET, "/v1/tenants/{t}/orders".into(), None),
        (
            Method::GET,
            format!("/v1/tenants/{{t}}/orders/{order_id}"),
            None,
        ),
        (Method::GET, "/v1/tenants/{t}/payments".into(), None),
        (
            Method::GET,
            format!("/v1/tenants/{{t}}/payments/{payment_id}"),
            None,
        ),
        (Method::GET, "/v1/tenants/{t}/disputes".into(), None),
        (Method::GET, "/v1/tenants/{t}/webhook-events".into(), None),
        (
            Method::GET,
            "/v1/tenants/{t}/webhook-events/evt_b".into(),
            None,
        ),
        (
            Method::POST,
            "/v1/tenants/{t}/webhook-events/evt_b/replay".into(),
            Some(json!({})),
        ),
        (Method::GET, "/v1/tenants/{t}/webhook-health".into(), None),
        (
            Method::POST,
            format!("/v1/tenants/{{t}}/orders/{order_id}/checkout-session"),
            Some(
                json!({"success_url": "https://x.example/ok", "cancel_url": "https://x.example/no"}),
            ),
        ),
        (
            Method::POST,
            "/v1/tenants/{t}/reconciliations".into(),
            Some(json!({})),
        ),
        (Method::GET, "/v1/tenants/{t}/reconciliations".into(), None),
        (
            Method::GET,
            format!("/v1/tenants/{{t}}/reconciliations/{order_id}"),
            None,
        ),
        (Method::GET, "/v1/tenants/{t}".into(), None),
        (
            Method::PATCH,
            "/v1/tenants/{t}".into(),
            Some(json!({"name": "hijacked"})),
        ),
        (Method::DELETE, "/v1/tenants/{t}".into(), None),
        (
            Method::POST,
            "/v1/tenants/{t}/api-keys".into(),
            Some(json!({"name": "x"})),
        ),
        (Method::GET, "/v1/tenants/{t}/api-keys".into(), None),
        (
            Method::DELETE,
            format!("/v1/tenants/{{t}}/api-keys/{key_id}"),
            None,
        ),
        (
            Method::PUT,
            "/v1/tenants/{t}/stripe-config".into(),
            Some(
                json!({"secret_key": "sk_test_hijackHIJACK99", "webhook_secret": "whsec_hijackHIJACK99"}),
            ),
        ),
        (Method::GET, "/v1/tenants/{t}/stripe-config".into(), None),
        (
            Method::POST,
            "/v1/tenants/{t}/stripe-config/webhook-secrets".into(),
            Some(json!({"secret": "whsec_hijackHIJACK99"})),
        ),
        (
            Method::DELETE,
            format!("/v1/tenants/{{t}}/stripe-config/webhook-secrets/{secret_id}"),
            None,
        ),
    ]
}

async fn tenant_key_sees_only_its_tenant(app: TestApp) {
    let a = app.create_tenant("alpha").await;
    let b = app.create_tenant("bravo").await;
    let key_a = app.issue_key("alpha").await;
    app.issue_key("bravo").await;
    let cfg_b = app
        .set_stripe_config("bravo", "sk_test_bravoBRAVO1234", "whsec_bravoBRAVO5678")
        .await;
    let order_b = app.order("bravo", "b-1", 1000, "usd").await;
    let e = crate::stripe::event(
        "evt_b",
        "payment_intent.succeeded",
        crate::stripe::now(),
        crate::stripe::payment_intent("pi_b", 1000, "usd", "succeeded", Some(&order_b)),
    );
    assert_eq!(
        app.deliver("bravo", "whsec_bravoBRAVO5678", &e)
            .await
            .status,
        200
    );
    let payment_b = app.order_view("bravo", &order_b).await["payments"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let orders_b = app.get("/v1/tenants/bravo/orders", app.op()).await.json;
    let events_b = app
        .get("/v1/tenants/bravo/webhook-events", app.op())
        .await
        .json;
    let keys_b = app.get("/v1/tenants/bravo/api-keys", app.op()).await;
    let key_b_id = keys_b.json["data"][0]["id"].as_str().unwrap().to_owned();
    let secret_b_id = cfg_b["webhook_secrets"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let before = app.get("/v1/tenants/bravo", app.op()).await.json;

    let b_id = b["id"].as_str().unwrap();
    let ghost = uuid::Uuid::now_v7().to_string();
    for (method, path, body) in scoped_routes(&key_b_id, &secret_b_id, &order_b, &payment_b) {
        for target in ["bravo", b_id, "ghost-tenant", &ghost] {
            let p = path.replace("{t}", target);
            let ans = app
                .request(method.clone(), &p, Some(&key_a), body.clone())
                .await;
            ans.assert_problem(404, "not_found");
            assert_eq!(
                ans.json["detail"], "tenant not found",
                "{method} {p} must not reveal existence"
            );
        }
    }
    // Nothing of bravo's changed, and its key and secret are intact.
    assert_eq!(app.get("/v1/tenants/bravo", app.op()).await.json, before);
    assert_eq!(
        app.get("/v1/tenants/bravo/stripe-config", app.op())
            .await
            .json,
        cfg_b
    );
    assert!(
        app.get("/v1/tenants/bravo/api-keys", app.op()).await.json["data"][0]["revoked_at"]
            .is_null()
    );
    assert_eq!(
        app.get("/v1/tenants/bravo/orders", app.op()).await.json,
        orders_b
    );
    assert_eq!(
        app.get("/v1/tenants/bravo/webhook-events", app.op())
            .await
            .json,
        events_b
    );
    // Alpha's own paths cannot reach bravo's rows either.
    app.get(&format!("/v1/tenants/alpha/orders/{order_b}"), &key_a)
        .await
        .assert_problem(404, "not_found");
    app.get(&format!("/v1/tenants/alpha/payments/{payment_b}"), &key_a)
        .await
        .assert_problem(404, "not_found");
    app.get("/v1/tenants/alpha/webhook-events/evt_b", &key_a)
        .await
        .assert_problem(404, "not_found");

    // Its own tenant, by slug or id, works; the list shows only it.
    assert_eq!(app.get("/v1/tenants/alpha", &key_a).await.status, 200);
    assert_eq!(
        app.get(
            &format!("/v1/tenants/{}", a["id"].as_str().unwrap()),
            &key_a
        )
        .await
        .status,
        200
    );
    let list = app.get("/v1/tenants", &key_a).await;
    let slugs: Vec<&str> = list.json["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["slug"].as_str().unwrap())
        .collect();
    assert_eq!(slugs, ["alpha"]);
    let renamed = app
        .patch("/v1/tenants/alpha", &key_a, json!({"name": "Alpha Bistro"}))
        .await;
    assert_eq!(renamed.json["name"], "Alpha Bistro");
    let cfg = app
        .put("/v1/tenants/alpha/stripe-config", &key_a, json!({"secret_key": "rk_live_alphaALPHA1234", "webhook_secret": "whsec_alphaALPHA5678"}))
        .await;
    assert_eq!(cfg.status, 200, "{cfg:?}");
    assert_eq!(cfg.json["mode"], "live");
}

async fn operator_only_actions_refuse_tenant_keys(app: TestApp) {
    app.create_tenant("charlie").await;
    let key = app.issue_key("charlie").await;
    let keys = app.get("/v1/tenants/charlie/api-keys", app.op()).await;
    let key_id = keys.json["data"][0]["id"].as_str().unwrap().to_owned();
    let cases: Vec<(Method, String, Option<Value>)> = vec![
        (
            Method::POST,
            "/v1/tenants".into(),
            Some(json!({"slug": "delta", "name": "d"})),
        ),
        (Method::DELETE, "/v1/tenants/charlie".into(), None),
        (
            Method::PATCH,
            "/v1/tenants/charlie".into(),
            Some(json!({"status": "suspended"})),
        ),
        (
            Method::PATCH,
            "/v1/tenants/charlie".into(),
            Some(json!({"rate_limit_per_second": 100000})),
        ),
        (
            Method::PATCH,
            "/v1/tenants/charlie".into(),
            Some(json!({"rate_limit_burst": 1000000})),
        ),
        (
            Method::POST,
            "/v1/tenants/charlie/api-keys".into(),
            Some(json!({"name": "more"})),
        ),
        (
            Method::DELETE,
            format!("/v1/tenants/charlie/api-keys/{key_id}"),
            None,
        ),
    ];
    let before = app.get("/v1/tenants/charlie", app.op()).await.json;
    for (method, path, body) in cases {
        app.request(method, &path, Some(&key), body)
            .await
            .assert_problem(403, "operator_only");
    }
    assert_eq!(app.get("/v1/tenants/charlie", app.op()).await.json, before);
    assert_eq!(
        app.get("/v1/tenants", app.op()).await.json["data"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    assert_eq!(
        app.get("/v1/tenants/charlie/api-keys", app.op()).await.json["data"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
}
