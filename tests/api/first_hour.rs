//! What a new user trips on in the first hour (issue 27): orders found by the POS's own
//! reference, a retried create told which order it already made, refusals in the API's words.
use crate::helpers::TestApp;
use reqwest::Method;
use serde_json::json;

crate::backend_tests!(
    orders_are_found_by_their_reference,
    refusals_name_the_field_in_the_apis_words,
    payments_matching_no_order_are_surfaced
);

async fn orders_are_found_by_their_reference(app: TestApp) {
    app.create_tenant("pos").await;
    app.create_tenant("pos-other").await;
    let t12 = app.order("pos", "T-12", 1500, "eur").await;
    let t13 = app.order("pos", "T-13", 900, "eur").await;
    // Another tenant's order with the same reference is not this tenant's.
    let other_t12 = app.order("pos-other", "T-12", 700, "eur").await;
    let odd = app
        .order("pos", "Table 4/seat 2 · ünïcode", 100, "eur")
        .await;

    // Looked up by reference, or by id: the same order.
    let by_ref = app.get("/v1/tenants/pos/orders/T-12", app.op()).await;
    assert_eq!(by_ref.status, 200, "{by_ref:?}");
    assert_eq!(by_ref.json["id"], t12.as_str());
    assert_eq!(by_ref.json["amount"], 1500);
    let by_id = app
        .get(&format!("/v1/tenants/pos/orders/{t12}"), app.op())
        .await;
    assert_eq!(by_id.json["reference"], "T-12");
    // A reference with a slash, spaces and non-ASCII, percent-encoded.
    let encoded = app
        .get(
            "/v1/tenants/pos/orders/Table%204%2Fseat%202%20%C2%B7%20%C3%BCn%C3%AFcode",
            app.op(),
        )
        .await;
    assert_eq!(encoded.status, 200, "{encoded:?}");
    assert_eq!(encoded.json["id"], odd.as_str());
    app.get("/v1/tenants/pos/orders/T-99", app.op())
        .await
        .assert_problem(404, "not_found");
    // Scoped: the other tenant's key finds its own T-12, never this one.
    let key = app.issue_key("pos-other").await;
    let theirs = app.get("/v1/tenants/pos-other/orders/T-12", &key).await;
    assert_eq!(theirs.json["id"], other_t12.as_str());
    app.get("/v1/tenants/pos/orders/T-12", &key)
        .await
        .assert_problem(404, "not_found");

    // The list filters by reference.
    let listed = app
        .get("/v1/tenants/pos/orders?reference=T-13", app.op())
        .await;
    let data = listed.json["data"].as_array().unwrap();
    assert_eq!(data.len(), 1, "{listed:?}");
    assert_eq!(data[0]["id"], t13.as_str());
    let none = app
        .get("/v1/tenants/pos/orders?reference=T-99", app.op())
        .await;
    assert_eq!(none.json["data"].as_array().map(Vec::len), Some(0));
    let all = app.get("/v1/tenants/pos/orders", app.op()).await;
    assert_eq!(all.json["data"].as_array().map(Vec::len), Some(3));

    // A retried create is refused with the order it made the first time.
    let again = app
        .post(
            "/v1/tenants/pos/orders",
            app.op(),
            json!({"reference": "T-12", "amount": 1500, "currency": "eur"}),
        )
        .await;
    again.assert_problem(409, "reference_taken");
    assert_eq!(again.json["existing_id"], t12.as_str(), "{again:?}");
    // Other problems carry no such member.
    assert!(none.json.get("existing_id").is_none());
    let missing = app.get("/v1/tenants/pos/orders/T-99", app.op()).await;
    assert!(missing.json.get("existing_id").is_none(), "{missing:?}");
}

/// Refusals name the field in the API's words and say what it must be — never the framework's
/// type names (`integer_int64`, `OrderIn`, `param1`) — and an enum refusal lists what is allowed.
async fn refusals_name_the_field_in_the_apis_words(app: TestApp) {
    app.create_tenant("words").await;
    let op = app.op();
    let json = "application/json";
    let post =
        |path: &'static str, body: &'static str| app.raw(Method::POST, path, Some(op), json, body);
    let orders = "/v1/tenants/words/orders";
    let cases = [
        (
            post(orders, r#"{"reference": "r", "amount": "x", "currency": "usd"}"#).await,
            "amount: must be an integer",
        ),
        (
            post(orders, r#"{"reference": "r", "amount": 10.5, "currency": "usd"}"#).await,
            "amount: must be an integer",
        ),
        (
            post(orders, r#"{"amount": 100, "currency": "usd"}"#).await,
            "reference: is required",
        ),
        (
            post(orders, r#"{"reference": "r", "amount": 1, "currency": "usd", "metadata": {"k": {"n": 1}}}"#).await,
            "metadata.k: must be a string",
        ),
        (post(orders, "[1]").await, "the body: must be an object"),
        (post(orders, "{").await, "the body is not valid JSON"),
        (
            post(
                "/v1/tenants/words/notification-endpoints",
                r#"{"url": "https://example.com/h", "events": ["order.nope"]}"#,
            )
            .await,
            "events[0]: must be one of order.payment_pending, order.paid,",
        ),
        (
            app.get("/v1/tenants/words/orders?status=BOGUS", op).await,
            "status: must be one of PAYMENT_PENDING, PAID,",
        ),
        (
            app.get("/v1/tenants/words/orders?limit=ten", op).await,
            "limit: must be an integer",
        ),
        (
            app.get("/v1/tenants/words/payments/not-a-uuid", op).await,
            "payment_id: must be a UUID",
        ),
    ];
    for (answer, detail) in &cases {
        answer.assert_problem(400, "malformed_request");
        let said = answer.json["detail"].as_str().unwrap();
        assert!(said.starts_with(detail), "{said:?} should start {detail:?}");
        for word in [
            "integer_int64",
            "OrderIn",
            "param1",
            "string_uuid",
            "occurred while",
        ] {
            assert!(
                !said.contains(word),
                "{said:?} speaks the framework's words"
            );
        }
    }
    // Broken rules say the rule as the API does.
    let over = app.get("/v1/tenants?limit=101", op).await;
    over.assert_problem(422, "validation_failed");
    assert_eq!(over.json["detail"], "limit: must be at most 100");
    let patch = app
        .raw(
            Method::PATCH,
            "/v1/tenants/words",
            Some(op),
            json,
            r#"{"status": "frozen"}"#,
        )
        .await;
    patch.assert_problem(400, "malformed_request");
    assert_eq!(
        patch.json["detail"],
        "status: must be one of active, suspended"
    );
    // Nothing was changed by any of them.
    let listed = app.get("/v1/tenants/words/orders", op).await;
    assert_eq!(listed.json["data"].as_array().map(Vec::len), Some(0));
    let tenant = app.get("/v1/tenants/words", op).await;
    assert_eq!(tenant.json["status"], "active");
    // A body that is not JSON at all is refused by its content type.
    let text = app
        .raw(Method::POST, orders, Some(op), "text/plain", "x")
        .await;
    text.assert_problem(415, "unsupported_media_type");
    assert!(
        text.json["detail"]
            .as_str()
            .unwrap()
            .contains("application/json")
    );
}

/// A payment whose event names no order of the tenant (no `metadata.order_id`, or an unknown
/// one) is not lost from sight: webhook health counts it and the payments list shows it.
async fn payments_matching_no_order_are_surfaced(app: TestApp) {
    use crate::stripe::{event, now, payment_intent};
    let secret = app.restaurant("lost").await;
    let order = app.order("lost", "L-1", 1200, "usd").await;
    let unknown = uuid::Uuid::now_v7().to_string();
    let counted = || crate::operations::metric(&app, "gateway_unmatched_payments_total", &[]);
    let before = counted().await;
    let paid = [
        (
            "evt_u1",
            payment_intent("pi_matched", 1200, "usd", "succeeded", Some(&order)),
        ),
        (
            "evt_u2",
            payment_intent("pi_no_meta", 800, "usd", "succeeded", None),
        ),
        (
            "evt_u3",
            payment_intent("pi_unknown", 500, "usd", "succeeded", Some(&unknown)),
        ),
        // Failed: took no money, so it is nothing to book.
        (
            "evt_u4",
            payment_intent("pi_failed", 300, "usd", "requires_payment_method", None),
        ),
    ];
    for (id, pi) in paid {
        let ty = if pi["status"] == "succeeded" {
            "payment_intent.succeeded"
        } else {
            "payment_intent.payment_failed"
        };
        let a = app
            .deliver("lost", &secret, &event(id, ty, now(), pi))
            .await;
        assert_eq!(a.json["status"], "processed", "{a:?}");
    }
    let health = app.get("/v1/tenants/lost/webhook-health", app.op()).await;
    assert_eq!(health.json["unmatched_payments"], 2, "{health:?}");
    // Metrics are process-wide (tests run in parallel): at least these two.
    assert!(counted().await >= before + 2.0);
    let intents = |page: &serde_json::Value| -> Vec<String> {
        let mut v: Vec<String> = page["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["stripe_payment_intent_id"].as_str().unwrap().to_owned())
            .collect();
        v.sort();
        v
    };
    let none = app
        .get("/v1/tenants/lost/payments?order=none", app.op())
        .await;
    assert_eq!(
        intents(&none.json),
        ["pi_no_meta", "pi_unknown"],
        "{none:?}"
    );
    let of_order = app
        .get(
            &format!("/v1/tenants/lost/payments?order={order}"),
            app.op(),
        )
        .await;
    assert_eq!(intents(&of_order.json), ["pi_matched"]);
    let all = app.get("/v1/tenants/lost/payments", app.op()).await;
    assert_eq!(all.json["data"].as_array().map(Vec::len), Some(4));
    let bad = app
        .get("/v1/tenants/lost/payments?order=T-1", app.op())
        .await;
    bad.assert_problem(422, "validation_failed");
    let detail = bad.json["detail"].as_str().unwrap();
    assert!(detail.starts_with("order: must match ^(none|"), "{detail}");
}
