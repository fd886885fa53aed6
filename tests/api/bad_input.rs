//! Bad input: every malformed or invalid request gets a 4xx problem+json with a stable code and
//! changes nothing.
use crate::helpers::TestApp;
use reqwest::Method;

crate::backend_tests!(
    bad_input_is_refused_and_changes_nothing,
    every_pattern_is_checked_before_the_handler
);

struct Case {
    method: Method,
    path: &'static str,
    body: &'static str,
    status: u16,
    code: &'static str,
}

const fn case(
    method: Method,
    path: &'static str,
    body: &'static str,
    status: u16,
    code: &'static str,
) -> Case {
    Case {
        method,
        path,
        body,
        status,
        code,
    }
}

fn cases() -> Vec<Case> {
    use Method as M;
    let t = "/v1/tenants";
    let cfg = "/v1/tenants/acme/stripe-config";
    let hooks = "/v1/tenants/acme/stripe-config/webhook-secrets";
    vec![
        // Unparseable or mistyped bodies: 400.
        case(M::POST, t, "{", 400, "malformed_request"),
        case(M::POST, t, "not json", 400, "malformed_request"),
        case(M::POST, t, "", 400, "malformed_request"),
        case(
            M::POST,
            t,
            r#"{"slug": "ok-slug"}"#,
            400,
            "malformed_request",
        ),
        case(
            M::POST,
            t,
            r#"{"slug": ["x"], "name": "x"}"#,
            400,
            "malformed_request",
        ),
        case(
            M::POST,
            t,
            r#"{"slug": "ok-slug", "name": "x", "rate_limit_per_second": "fast"}"#,
            400,
            "malformed_request",
        ),
        case(
            M::PATCH,
            "/v1/tenants/acme",
            r#"{"status": "deleted"}"#,
            400,
            "malformed_request",
        ),
        case(
            M::PUT,
            cfg,
            r#"{"secret_key": "sk_test_abcdefgh123"}"#,
            400,
            "malformed_request",
        ),
        case(
            M::DELETE,
            "/v1/tenants/acme/api-keys/not-a-uuid",
            "",
            400,
            "malformed_request",
        ),
        case(
            M::GET,
            "/v1/tenants?limit=ten",
            "",
            400,
            "malformed_request",
        ),
        case(M::GET, "/v1/tenants?cursor=%%%", "", 400, "invalid_cursor"),
        case(M::GET, "/v1/tenants?cursor=AAAA", "", 400, "invalid_cursor"),
        // Values that break a rule: 422.
        case(
            M::POST,
            t,
            r#"{"slug": "A", "name": "x"}"#,
            422,
            "validation_failed",
        ),
        case(
            M::POST,
            t,
            r#"{"slug": "-lead", "name": "x"}"#,
            422,
            "validation_failed",
        ),
        case(
            M::POST,
            t,
            r#"{"slug": "has space", "name": "x"}"#,
            422,
            "validation_failed",
        ),
        case(
            M::POST,
            t,
            r#"{"slug": "0191e0b6-7f1c-7cc0-9a4e-6a7bd3c1d2e3", "name": "x"}"#,
            422,
            "validation_failed",
        ),
        case(
            M::POST,
            t,
            r#"{"slug": "ok-slug", "name": "   "}"#,
            422,
            "validation_failed",
        ),
        case(
            M::POST,
            t,
            r#"{"slug": "ok-slug", "name": "x", "rate_limit_per_second": 0}"#,
            422,
            "validation_failed",
        ),
        case(
            M::POST,
            t,
            r#"{"slug": "ok-slug", "name": "x", "rate_limit_per_second": 100001}"#,
            422,
            "validation_failed",
        ),
        case(
            M::POST,
            t,
            r#"{"slug": "ok-slug", "name": "x", "rate_limit_burst": 1000001}"#,
            422,
            "validation_failed",
        ),
        case(
            M::POST,
            t,
            r#"{"slug": "ok-slug", "name": "x", "stripe_account_id": "cus_123"}"#,
            422,
            "validation_failed",
        ),
        case(
            M::PATCH,
            "/v1/tenants/acme",
            r#"{"rate_limit_burst": 0}"#,
            422,
            "validation_failed",
        ),
        case(
            M::PATCH,
            "/v1/tenants/acme",
            r#"{"name": ""}"#,
            422,
            "validation_failed",
        ),
        case(
            M::PATCH,
            "/v1/tenants/acme",
            r#"{"stripe_account_id": "acct_"}"#,
            422,
            "validation_failed",
        ),
        case(M::GET, "/v1/tenants?limit=0", "", 422, "validation_failed"),
        case(
            M::GET,
            "/v1/tenants?limit=101",
            "",
            422,
            "validation_failed",
        ),
        case(
            M::POST,
            "/v1/tenants/acme/api-keys",
            r#"{"name": ""}"#,
            422,
            "validation_failed",
        ),
        case(
            M::PUT,
            cfg,
            r#"{"secret_key": "pk_test_abcdefgh123", "webhook_secret": "whsec_abcdefgh123"}"#,
            422,
            "validation_failed",
        ),
        case(
            M::PUT,
            cfg,
            r#"{"secret_key": "sk_prod_abcdefgh123", "webhook_secret": "whsec_abcdefgh123"}"#,
            422,
            "validation_failed",
        ),
        case(
            M::PUT,
            cfg,
            r#"{"secret_key": "sk_test_short", "webhook_secret": "whsec_abcdefgh123"}"#,
            422,
            "validation_failed",
        ),
        case(
            M::PUT,
            cfg,
            r#"{"secret_key": "sk_test_abcdefgh123", "webhook_secret": "abcdefgh123456"}"#,
            422,
            "validation_failed",
        ),
        case(
            M::PUT,
            cfg,
            r#"{"secret_key": "sk_test_abcdefgh123", "webhook_secret": "whsec_"}"#,
            422,
            "validation_failed",
        ),
        case(
            M::POST,
            hooks,
            r#"{"secret": "whsec_abcdefgh123", "expire_others_in_seconds": -1}"#,
            422,
            "validation_failed",
        ),
        case(
            M::POST,
            hooks,
            r#"{"secret": "whsec_abcdefgh123", "expire_others_in_seconds": 604801}"#,
            422,
            "validation_failed",
        ),
        case(
            M::POST,
            hooks,
            r#"{"secret": "sk_test_abcdefgh123"}"#,
            422,
            "validation_failed",
        ),
        case(
            M::POST,
            "/v1/tenants/acme/orders",
            r#"{"reference": "r", "amount": 0, "currency": "usd"}"#,
            422,
            "validation_failed",
        ),
        case(
            M::POST,
            "/v1/tenants/acme/orders",
            r#"{"reference": "r", "amount": -100, "currency": "usd"}"#,
            422,
            "validation_failed",
        ),
        case(
            M::POST,
            "/v1/tenants/acme/orders",
            r#"{"reference": "r", "amount": 100, "currency": "EURO"}"#,
            422,
            "validation_failed",
        ),
        case(
            M::POST,
            "/v1/tenants/acme/orders",
            r#"{"reference": "", "amount": 100, "currency": "usd"}"#,
            422,
            "validation_failed",
        ),
        case(
            M::POST,
            "/v1/tenants/acme/orders",
            r#"{"reference": "r", "amount": 100, "currency": "usd", "customer_email": "nope"}"#,
            422,
            "validation_failed",
        ),
        case(
            M::POST,
            "/v1/tenants/acme/orders",
            r#"{"reference": "r", "amount": 10.5, "currency": "usd"}"#,
            400,
            "malformed_request",
        ),
        case(
            M::POST,
            "/v1/tenants/acme/orders",
            r#"{"reference": "r", "amount": 100, "currency": "usd", "metadata": {"k": {"nested": true}}}"#,
            400,
            "malformed_request",
        ),
        case(
            M::POST,
            "/v1/tenants/acme/orders",
            r#"{"reference": "taken", "amount": 100, "currency": "usd"}"#,
            409,
            "reference_taken",
        ),
        case(
            M::GET,
            "/v1/tenants/acme/orders/0191e0b6-7f1c-7cc0-9a4e-6a7bd3c1d2e3",
            "",
            404,
            "not_found",
        ),
        case(
            M::GET,
            "/v1/tenants/acme/payments/not-a-uuid",
            "",
            400,
            "malformed_request",
        ),
        case(
            M::GET,
            "/v1/tenants/acme/webhook-events?status=lost",
            "",
            400,
            "malformed_request",
        ),
        case(
            M::POST,
            "/v1/tenants/acme/webhook-events/evt_none/replay",
            "{}",
            404,
            "not_found",
        ),
        // Unknown things: 404; wrong method: 405.
        case(M::GET, "/v1/tenants/nobody", "", 404, "not_found"),
        case(M::GET, "/v1/nothing-here", "", 404, "not_found"),
        case(
            M::DELETE,
            "/v1/tenants/acme/api-keys/0191e0b6-7f1c-7cc0-9a4e-6a7bd3c1d2e3",
            "",
            404,
            "not_found",
        ),
        case(
            M::DELETE,
            "/v1/tenants/acme/stripe-config/webhook-secrets/0191e0b6-7f1c-7cc0-9a4e-6a7bd3c1d2e3",
            "",
            404,
            "not_found",
        ),
        case(M::PUT, "/v1/tenants", "{}", 405, "method_not_allowed"),
        // Strict JSON: no number or boolean where the schema says string, no null where it does
        // not say nullable.
        case(
            M::POST,
            t,
            r#"{"slug": "ok-slug", "name": false}"#,
            400,
            "malformed_request",
        ),
        case(
            M::POST,
            t,
            r#"{"slug": "ok-slug", "name": 12}"#,
            400,
            "malformed_request",
        ),
        case(
            M::PATCH,
            "/v1/tenants/acme",
            r#"{"status": null}"#,
            400,
            "malformed_request",
        ),
        case(
            M::POST,
            "/v1/tenants/acme/orders",
            r#"{"reference": "r-strict", "amount": 100, "currency": "usd", "metadata": {"a": 1}}"#,
            400,
            "malformed_request",
        ),
        case(
            M::POST,
            "/v1/tenants/acme/orders",
            r#"{"reference": 7, "amount": 100, "currency": "usd"}"#,
            400,
            "malformed_request",
        ),
        case(
            M::POST,
            "/v1/tenants/acme/orders",
            r#"{"reference": "r-strict", "amount": 100, "currency": "usd", "customer_email": true}"#,
            400,
            "malformed_request",
        ),
        case(
            M::PATCH,
            "/v1/tenants/acme",
            r#"{"stripe_account_id": 5}"#,
            400,
            "malformed_request",
        ),
        case(
            M::GET,
            "/v1/tenants?cursor=AAAAAAAAAAAAAAAAAAAAAB",
            "",
            400,
            "invalid_cursor",
        ),
    ]
}

async fn snapshot(app: &TestApp) -> Vec<String> {
    let mut out = Vec::new();
    for p in [
        "/v1/tenants",
        "/v1/tenants/acme",
        "/v1/tenants/acme/stripe-config",
        "/v1/tenants/acme/api-keys",
    ] {
        out.push(app.get(p, app.op()).await.text);
    }
    out
}

async fn bad_input_is_refused_and_changes_nothing(app: TestApp) {
    app.create_tenant("acme").await;
    app.issue_key("acme").await;
    app.set_stripe_config(
        "acme",
        "sk_test_acmeSecretKey000",
        "whsec_acmeHookSecret000",
    )
    .await;
    app.order("acme", "taken", 100, "usd").await;
    let before = snapshot(&app).await;
    for c in cases() {
        let ans = app
            .raw(
                c.method.clone(),
                c.path,
                Some(app.op()),
                "application/json",
                c.body,
            )
            .await;
        assert_eq!(
            ans.status.as_u16(),
            c.status,
            "{} {} {}: {ans:?}",
            c.method,
            c.path,
            c.body
        );
        ans.assert_problem(c.status, c.code);
        assert!(
            !ans.text.contains("sk_test_abcdefgh123") && !ans.text.contains("whsec_abcdefgh123"),
            "an error echoes a secret: {}",
            ans.text
        );
    }
    // A 405 says which methods the path has (RFC 9110).
    let resp = reqwest::Client::new()
        .request(
            Method::TRACE,
            format!("{}/v1/tenants/acme/orders", app.base),
        )
        .bearer_auth(app.op())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 405);
    assert_eq!(resp.headers()["allow"], "GET, POST");
    // A body that is not JSON at all is refused too.
    let ans = app
        .raw(
            Method::POST,
            "/v1/tenants",
            Some(app.op()),
            "text/plain",
            "slug=x",
        )
        .await;
    assert!(
        ans.status.is_client_error() && ans.content_type.starts_with("application/problem+json"),
        "{ans:?}"
    );
    assert_eq!(
        snapshot(&app).await,
        before,
        "a refused request changed state"
    );
}

/// Each request field with a `pattern` in the spec is checked against it before the handler runs
/// (the domain parsers behind it answer 422 too, in their own words, so this tells them apart): a
/// value the pattern refuses is a 422 whose detail names the field and the pattern.
async fn every_pattern_is_checked_before_the_handler(app: TestApp) {
    use Method as M;
    app.create_tenant("acme").await;
    let cfg = "/v1/tenants/acme/stripe-config";
    let orders = "/v1/tenants/acme/orders";
    let checkout = "/v1/tenants/acme/orders/0191e0b6-7f1c-7cc0-9a4e-6a7bd3c1d2e3/checkout-session";
    let cases = [
        (
            M::POST,
            "/v1/tenants",
            r#"{"slug": "has space", "name": "x"}"#,
            "slug",
        ),
        (
            M::POST,
            "/v1/tenants",
            r#"{"slug": "ok-slug", "name": "   "}"#,
            "name",
        ),
        (
            M::POST,
            "/v1/tenants",
            r#"{"slug": "ok-slug", "name": "x", "stripe_account_id": "cus_123"}"#,
            "stripe_account_id",
        ),
        (M::PATCH, "/v1/tenants/acme", r#"{"name": "   "}"#, "name"),
        (
            M::PATCH,
            "/v1/tenants/acme",
            r#"{"stripe_account_id": "cus_123"}"#,
            "stripe_account_id",
        ),
        (
            M::POST,
            "/v1/tenants/acme/api-keys",
            r#"{"name": "   "}"#,
            "name",
        ),
        (
            M::PUT,
            cfg,
            r#"{"secret_key": "pk_test_abcdefgh123", "webhook_secret": "whsec_abcdefgh123"}"#,
            "secret_key",
        ),
        (
            M::PUT,
            cfg,
            r#"{"secret_key": "sk_test_abcdefgh123", "webhook_secret": "abcdefgh123456"}"#,
            "webhook_secret",
        ),
        (
            M::POST,
            "/v1/tenants/acme/stripe-config/webhook-secrets",
            r#"{"secret": "sk_test_abcdefgh123"}"#,
            "secret",
        ),
        (
            M::POST,
            orders,
            r#"{"reference": " r", "amount": 100, "currency": "usd"}"#,
            "reference",
        ),
        (
            M::POST,
            orders,
            r#"{"reference": "r", "amount": 100, "currency": "EURO"}"#,
            "currency",
        ),
        (
            M::POST,
            orders,
            r#"{"reference": "r", "amount": 100, "currency": "usd", "customer_email": "nope"}"#,
            "customer_email",
        ),
        (
            M::POST,
            checkout,
            r#"{"success_url": "ftp://x", "cancel_url": "https://x.example"}"#,
            "success_url",
        ),
        (
            M::POST,
            checkout,
            r#"{"success_url": "https://x.example", "cancel_url": "ftp://x"}"#,
            "cancel_url",
        ),
    ];
    for (method, path, body, field) in cases {
        let ans = app
            .raw(
                method.clone(),
                path,
                Some(app.op()),
                "application/json",
                body,
            )
            .await;
        ans.assert_problem(422, "validation_failed");
        let detail = ans.json["detail"].as_str().unwrap_or_default();
        assert!(
            detail.starts_with(&format!("{field}: must match ^")),
            "{method} {path} {body}: {ans:?}"
        );
    }
    assert_eq!(
        app.get(orders, app.op()).await.json["data"],
        serde_json::json!([])
    );
}
