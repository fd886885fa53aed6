//! Tenant isolation: a tenant key reaches its own tenant only; every other tenant's path answers
//! exactly like a tenant that does not exist (404), and operator-only actions answer 403.
use crate::helpers::TestApp;
use reqwest::Method;
use serde_json::{Value, json};

crate::backend_tests!(
    tenant_key_sees_only_its_tenant,
    operator_only_actions_refuse_tenant_keys
);

/// A valid body for each tenant-scoped operation that takes one (by operation id), so that what
/// answers is the tenant check, not the body's validation.
fn body_for(operation: &str) -> Option<Value> {
    Some(match operation {
        "v1.tenants.update" => json!({"name": "hijacked"}),
        "v1.api-keys.create" => json!({"name": "x"}),
        "v1.stripe-config.put" => {
            json!({"secret_key": "sk_test_hijackHIJACK99", "webhook_secret": "whsec_hijackHIJACK99"})
        }
        "v1.webhook-secrets.create" => json!({"secret": "whsec_hijackHIJACK99"}),
        "v1.orders.create" => json!({"reference": "x", "amount": 1, "currency": "usd"}),
        "v1.checkout-sessions.create" => {
            json!({"success_url": "https://x.example/ok", "cancel_url": "https://x.example/no"})
        }
        "v1.reconciliations.create" => json!({}),
        "v1.refunds.create" => json!({"amount": 1}),
        "v1.orders.capture" => json!({"tip_amount": 0}),
        "v1.authorizations.increment" => json!({"amount": 5000}),
        "v1.notification-endpoints.create" => json!({"url": "https://pos.example/hook"}),
        "v1.notification-endpoints.update" => json!({"enabled": false}),
        "v1.notification-endpoints.rotate-secret" => json!({}),
        _ => return None,
    })
}

/// Every tenant-scoped operation of the API, read from its OpenAPI description (so a route added
/// later is covered without editing this test): `{t}` stands for the tenant, every other path
/// parameter takes its value from `ids`, and an operation with a body gets a valid one.
fn scoped_routes(ids: &[(&str, &str)]) -> Vec<(Method, String, Option<Value>)> {
    let spec: Value = serde_json::from_str(&gateway::spec_json()).unwrap();
    let mut routes = Vec::new();
    for (template, operations) in spec["paths"].as_object().unwrap() {
        if !template.contains("{tenant}") {
            continue;
        }
        let mut path = template.replace("{tenant}", "{t}");
        for (name, value) in ids {
            path = path.replace(&format!("{{{name}}}"), value);
        }
        let unfilled = path.replace("{t}", "");
        assert!(
            !unfilled.contains('{'),
            "no value for a parameter of {template}: add it to ids"
        );
        for (method, op) in operations.as_object().unwrap() {
            let id = op["operationId"].as_str().unwrap();
            let body = op.get("requestBody").map(|_| {
                body_for(id)
                    .unwrap_or_else(|| panic!("{id} takes a body: add a valid one to body_for"))
            });
            let method = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            routes.push((method, path.clone(), body));
        }
    }
    routes
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
    let rx = crate::receiver::Receiver::start().await;
    let (endpoint_b, _) = crate::notifications::endpoint(&app, "bravo", &rx.url, json!([])).await;
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
    rx.wait_for(1, std::time::Duration::from_secs(10)).await;
    let messages_path = format!("/v1/tenants/bravo/notification-endpoints/{endpoint_b}/messages");
    let message_b = app.get(&messages_path, app.op()).await.json["data"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let endpoint_before = app
        .get(
            &format!("/v1/tenants/bravo/notification-endpoints/{endpoint_b}"),
            app.op(),
        )
        .await
        .json;
    let before = app.get("/v1/tenants/bravo", app.op()).await.json;

    let b_id = b["id"].as_str().unwrap();
    let ghost = uuid::Uuid::now_v7().to_string();
    let ids = [
        ("key_id", key_b_id.as_str()),
        ("secret_id", secret_b_id.as_str()),
        ("order_id", order_b.as_str()),
        ("payment_id", payment_b.as_str()),
        ("event_id", "evt_b"),
        ("run_id", order_b.as_str()),
        ("endpoint_id", endpoint_b.as_str()),
        ("message_id", message_b.as_str()),
    ];
    let routes = scoped_routes(&ids);
    for expected in ["DELETE /v1/tenants/{t}", "POST /v1/tenants/{t}/orders"] {
        assert!(
            routes
                .iter()
                .any(|(m, p, _)| format!("{m} {p}") == expected),
            "the spec's routes include {expected}"
        );
    }
    for (method, path, body) in routes {
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
    // Nothing of bravo's changed, and its key, secrets and endpoint are intact.
    assert_eq!(app.get("/v1/tenants/bravo", app.op()).await.json, before);
    assert_eq!(
        app.get(
            &format!("/v1/tenants/bravo/notification-endpoints/{endpoint_b}"),
            app.op()
        )
        .await
        .json,
        endpoint_before
    );
    assert_eq!(
        rx.received().len(),
        1,
        "no retry of bravo's message was made"
    );
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
        // Claiming a Stripe account (with Connect routing, another restaurant's events).
        (
            Method::PATCH,
            "/v1/tenants/charlie".into(),
            Some(json!({"stripe_account_id": "acct_1Other"})),
        ),
        (
            Method::PATCH,
            "/v1/tenants/charlie".into(),
            Some(json!({"name": "Charlie", "stripe_account_id": null})),
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
