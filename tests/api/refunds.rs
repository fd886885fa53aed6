//! Refunds from the API: made at Stripe with the tenant's key (the mock checks the headers and
//! the form body), idempotent by `Idempotency-Key` (or a key derived from the order), refused
//! with 409 when nothing is refundable or the amount exceeds what remains, Stripe's refusal
//! answered 502 with its reason — and the order settles only from Stripe's `charge.refunded`.
use crate::helpers::{Answer, TestApp, into_answer};
use crate::stripe::{charge, event, now, payment_intent};
use serde_json::{Value, json};
use wiremock::matchers::{body_string_contains, header, method, path};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

crate::backend_tests!(
    partial_then_full_refund_settle_from_the_webhook,
    refusals_change_nothing_and_call_stripe_never,
    stripe_refusal_is_answered_with_its_reason,
    two_keyless_refunds_are_two_refunds,
    concurrent_refunds_never_ask_for_more_than_was_paid,
    a_caller_key_is_scoped_to_its_order,
    a_refund_stripe_did_not_answer_stays_counted_and_is_asked_again_with_its_key,
    a_refund_left_pending_is_settled_by_the_retry_job,
    a_split_check_is_refunded_newest_payment_first
);

const PI: &str = "pi_refund0001";

/// A tenant (`trattoria`) with an order of 2,500 paid by `PI`; the order's id.
async fn paid_order(app: &TestApp) -> String {
    let secret = app.restaurant("trattoria").await;
    let order = app.order("trattoria", "T-1", 2500, "eur").await;
    let paid = event(
        "evt_refund_paid",
        "payment_intent.succeeded",
        now(),
        payment_intent(PI, 2500, "eur", "succeeded", Some(&order)),
    );
    assert_eq!(app.deliver("trattoria", &secret, &paid).await.status, 200);
    order
}

async fn refund(app: &TestApp, order: &str, key: Option<&str>, body: Value) -> Answer {
    let mut req = app
        .client
        .post(format!(
            "{}/v1/tenants/trattoria/orders/{order}/refunds",
            app.base
        ))
        .bearer_auth(app.op())
        .json(&body);
    if let Some(key) = key {
        req = req.header("Idempotency-Key", key);
    }
    into_answer(req.send().await.unwrap()).await
}

/// Stripe's answer to `POST /v1/refunds`: a refund of the amount asked, its id taken from the
/// idempotency key (so the same key gets the same refund, as at Stripe).
fn stripe_refund(req: &Request) -> ResponseTemplate {
    let form: std::collections::HashMap<String, String> =
        form_urlencoded::parse(&req.body).into_owned().collect();
    let key = req
        .headers
        .get("idempotency-key")
        .unwrap()
        .to_str()
        .unwrap();
    let id = format!("re_{:x}", md5_like(key));
    ResponseTemplate::new(200).set_body_json(json!({
        "id": id, "object": "refund", "amount": form["amount"].parse::<i64>().unwrap(),
        "currency": "eur", "payment_intent": form["payment_intent"], "status": "succeeded",
    }))
}

fn md5_like(s: &str) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    s.hash(&mut h);
    h.finish()
}

async fn partial_then_full_refund_settle_from_the_webhook(app: TestApp) {
    let stripe = MockServer::start().await;
    let app = app.with_stripe(&stripe.uri()).await;
    let order = paid_order(&app).await;
    Mock::given(method("POST"))
        .and(path("/v1/refunds"))
        .and(header("authorization", "Bearer sk_test_trattoriaKey00000"))
        .and(body_string_contains(
            format!("payment_intent={PI}").as_str(),
        ))
        .respond_with(stripe_refund)
        .mount(&stripe)
        .await;

    // Partial, with the caller's key and a reason; then the same request again.
    let body = json!({"amount": 1000, "reason": "requested_by_customer"});
    let first = refund(&app, &order, Some("pos-refund-1"), body.clone()).await;
    assert_eq!(first.status, 201, "{first:?}");
    assert_eq!(first.json["amount"], 1000);
    assert_eq!(first.json["payment_intent"], PI);
    assert_eq!(first.json["idempotency_key"], "pos-refund-1");
    let again = refund(&app, &order, Some("pos-refund-1"), body).await;
    assert_eq!(again.status, 201, "{again:?}");
    assert_eq!(again.json["id"], first.json["id"], "same key, same refund");
    let sent = stripe.received_requests().await.unwrap();
    assert_eq!(sent.len(), 1, "the repeat is answered from the record");
    for r in &sent {
        let key = r.headers.get("idempotency-key").unwrap().to_str().unwrap();
        assert!(
            key.starts_with("gateway-refund-"),
            "scoped, not the caller's: {key}"
        );
        let body = String::from_utf8_lossy(&r.body);
        assert!(
            body.contains("amount=1000") && body.contains("reason=requested_by_customer"),
            "{body}"
        );
    }
    // The answer alone changes nothing in the books.
    let view = app.order_view("trattoria", &order).await;
    assert_eq!(
        (view["status"].as_str(), view["amount_refunded"].as_i64()),
        (Some("PAID"), Some(0))
    );

    // Stripe's event settles it; then the rest, with a key derived from the order.
    let secret = "whsec_trattoriaSecret0000";
    let refunded = event(
        "evt_refund_partial",
        "charge.refunded",
        now(),
        charge(PI, 2500, "eur", 1000, Some(&order)),
    );
    assert_eq!(
        app.deliver("trattoria", secret, &refunded).await.status,
        200
    );
    let view = app.order_view("trattoria", &order).await;
    assert_eq!(view["amount_refunded"], 1000, "{view}");
    let rest = refund(&app, &order, None, json!({})).await;
    assert_eq!(rest.status, 201, "{rest:?}");
    assert_eq!(rest.json["amount"], 1500, "all that remains");
    assert!(
        rest.json["idempotency_key"]
            .as_str()
            .unwrap()
            .starts_with("gateway-refund-")
    );
    let full = event(
        "evt_refund_full",
        "charge.refunded",
        now(),
        charge(PI, 2500, "eur", 2500, Some(&order)),
    );
    assert_eq!(app.deliver("trattoria", secret, &full).await.status, 200);
    let view = app.order_view("trattoria", &order).await;
    assert_eq!(view["status"], "REFUNDED", "{view}");
    refund(&app, &order, None, json!({}))
        .await
        .assert_problem(409, "nothing_refundable");
}

async fn refusals_change_nothing_and_call_stripe_never(app: TestApp) {
    let stripe = MockServer::start().await;
    let app = app.with_stripe(&stripe.uri()).await;
    let order = paid_order(&app).await;
    let unpaid = app.order("trattoria", "T-2", 900, "eur").await;
    refund(&app, &order, None, json!({"amount": 2501}))
        .await
        .assert_problem(409, "refund_exceeds_payment");
    refund(&app, &unpaid, None, json!({}))
        .await
        .assert_problem(409, "nothing_refundable");
    refund(&app, &order, None, json!({"amount": 0}))
        .await
        .assert_problem(422, "validation_failed");
    refund(&app, &order, None, json!({"amount": null}))
        .await
        .assert_problem(400, "malformed_request");
    refund(&app, &order, None, json!({"reason": "because"}))
        .await
        .assert_problem(400, "malformed_request");
    for bad in ["has space", ""] {
        refund(&app, &order, Some(bad), json!({}))
            .await
            .assert_problem(422, "validation_failed");
    }
    refund(&app, &uuid::Uuid::now_v7().to_string(), None, json!({}))
        .await
        .assert_problem(404, "not_found");
    assert!(
        stripe.received_requests().await.unwrap().is_empty(),
        "Stripe never called"
    );
    let view = app.order_view("trattoria", &order).await;
    assert_eq!(view["amount_refunded"], 0);
}

async fn stripe_refusal_is_answered_with_its_reason(app: TestApp) {
    let stripe = MockServer::start().await;
    let app = app.with_stripe(&stripe.uri()).await;
    let order = paid_order(&app).await;
    Mock::given(method("POST"))
        .and(path("/v1/refunds"))
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({"error": {
            "type": "invalid_request_error", "code": "charge_already_refunded",
            "message": "Charge ch_refund0001 has already been refunded."}})))
        .mount(&stripe)
        .await;
    let refused = refund(&app, &order, None, json!({})).await;
    refused.assert_problem(502, "stripe_error");
    assert!(
        refused.json["detail"]
            .as_str()
            .unwrap()
            .contains("already been refunded"),
        "{refused:?}"
    );
}

/// Mounts Stripe's refunds endpoint answering as [`stripe_refund`].
async fn refunds_answered(stripe: &MockServer) {
    Mock::given(method("POST"))
        .and(path("/v1/refunds"))
        .respond_with(stripe_refund)
        .mount(stripe)
        .await;
}

/// The idempotency keys Stripe was sent, in order.
async fn keys_sent(stripe: &MockServer) -> Vec<String> {
    crate::stripe::requests_to(stripe, "/v1/refunds")
        .await
        .iter()
        .map(|r| r.headers["idempotency-key"].to_str().unwrap().to_owned())
        .collect()
}

async fn two_keyless_refunds_are_two_refunds(app: TestApp) {
    let stripe = MockServer::start().await;
    let app = app.with_stripe(&stripe.uri()).await;
    let order = paid_order(&app).await;
    refunds_answered(&stripe).await;
    let first = refund(&app, &order, None, json!({"amount": 300})).await;
    let second = refund(&app, &order, None, json!({"amount": 300})).await;
    assert_eq!(
        (first.status.as_u16(), second.status.as_u16()),
        (201, 201),
        "{second:?}"
    );
    assert_ne!(first.json["id"], second.json["id"], "two refunds");
    let keys = keys_sent(&stripe).await;
    assert_eq!(keys.len(), 2);
    assert_ne!(keys[0], keys[1]);
    // 600 asked of 2,500: all that remains is 1,900.
    let rest = refund(&app, &order, None, json!({})).await;
    assert_eq!(rest.json["amount"], 1900, "{rest:?}");
    refund(&app, &order, None, json!({"amount": 1}))
        .await
        .assert_problem(409, "nothing_refundable");
}

async fn concurrent_refunds_never_ask_for_more_than_was_paid(app: TestApp) {
    let stripe = MockServer::start().await;
    let app = app.with_stripe(&stripe.uri()).await;
    let order = paid_order(&app).await;
    // Stripe takes its time, so the requests overlap.
    Mock::given(method("POST"))
        .and(path("/v1/refunds"))
        .respond_with(move |req: &Request| {
            stripe_refund(req).set_delay(std::time::Duration::from_millis(200))
        })
        .mount(&stripe)
        .await;
    let asks = (0..3).map(|_| refund(&app, &order, None, json!({"amount": 1500})));
    let answers = futures::future::join_all(asks).await;
    let made = answers.iter().filter(|a| a.status == 201).count();
    assert_eq!(made, 1, "{answers:?}");
    for a in answers.iter().filter(|a| a.status != 201) {
        a.assert_problem(409, "refund_exceeds_payment");
    }
    assert_eq!(
        keys_sent(&stripe).await.len(),
        1,
        "1,500 asked of Stripe, once"
    );
    // 1,000 remain asked of 2,500: with the keys, 1,000 in one go or two of 500.
    let asks = (0..4).map(|n| {
        let key = format!("split-{n}");
        let (app, order) = (&app, order.clone());
        async move { refund(app, &order, Some(&key), json!({"amount": 500})).await }
    });
    let answers = futures::future::join_all(asks).await;
    assert_eq!(
        answers.iter().filter(|a| a.status == 201).count(),
        2,
        "{answers:?}"
    );
    let total: i64 = keys_sent(&stripe).await.len() as i64;
    assert_eq!(total, 3, "1,500 + 500 + 500 = 2,500, never more");
}

async fn a_caller_key_is_scoped_to_its_order(app: TestApp) {
    let stripe = MockServer::start().await;
    let app = app.with_stripe(&stripe.uri()).await;
    let first_order = paid_order(&app).await;
    let second_order = app.order("trattoria", "T-9", 1200, "eur").await;
    let paid = event(
        "evt_refund_paid_second",
        "payment_intent.succeeded",
        now(),
        payment_intent(
            "pi_refund0002",
            1200,
            "eur",
            "succeeded",
            Some(&second_order),
        ),
    );
    let secret = "whsec_trattoriaSecret0000";
    assert_eq!(app.deliver("trattoria", secret, &paid).await.status, 200);
    refunds_answered(&stripe).await;
    let a = refund(&app, &first_order, Some("pos-42"), json!({"amount": 100})).await;
    let b = refund(&app, &second_order, Some("pos-42"), json!({"amount": 100})).await;
    assert_eq!((a.status.as_u16(), b.status.as_u16()), (201, 201), "{b:?}");
    assert_ne!(a.json["id"], b.json["id"], "two refunds");
    assert_eq!(b.json["payment_intent"], "pi_refund0002");
    let keys = keys_sent(&stripe).await;
    assert_eq!(keys.len(), 2);
    assert_ne!(keys[0], keys[1], "the caller's key is not what Stripe sees");
    // The same key on the same order for another amount is the caller's mistake.
    refund(&app, &first_order, Some("pos-42"), json!({"amount": 200}))
        .await
        .assert_problem(409, "idempotency_key_reused");
    assert_eq!(keys_sent(&stripe).await.len(), 2);
}

async fn a_refund_stripe_did_not_answer_stays_counted_and_is_asked_again_with_its_key(
    app: TestApp,
) {
    let stripe = MockServer::start().await;
    let app = app.with_stripe(&stripe.uri()).await;
    let order = paid_order(&app).await;
    Mock::given(method("POST"))
        .and(path("/v1/refunds"))
        .respond_with(ResponseTemplate::new(503))
        .up_to_n_times(4)
        .with_priority(1)
        .mount(&stripe)
        .await;
    refunds_answered(&stripe).await;
    let lost = refund(&app, &order, Some("pos-lost"), json!({"amount": 2000})).await;
    lost.assert_problem(503, "stripe_unavailable");
    // Still counted: only 500 can be asked for meanwhile.
    refund(&app, &order, None, json!({"amount": 501}))
        .await
        .assert_problem(409, "refund_exceeds_payment");
    // The caller retries with its key: Stripe is asked again with the same key, and answers.
    let again = refund(&app, &order, Some("pos-lost"), json!({"amount": 2000})).await;
    assert_eq!(again.status, 201, "{again:?}");
    let keys = keys_sent(&stripe).await;
    assert_eq!(keys.len(), 5, "four tries, then the retry");
    assert!(keys.iter().all(|k| *k == keys[0]), "one key: {keys:?}");
    // A third ask with that key is answered from the record.
    let third = refund(&app, &order, Some("pos-lost"), json!({})).await;
    assert_eq!(third.json["id"], again.json["id"]);
    assert_eq!(keys_sent(&stripe).await.len(), 5);
}

async fn a_refund_left_pending_is_settled_by_the_retry_job(app: TestApp) {
    use sea_orm::{ConnectionTrait, DbBackend, Statement};
    let stripe = MockServer::start().await;
    let app = app.with_stripe(&stripe.uri()).await;
    let order = paid_order(&app).await;
    Mock::given(method("POST"))
        .and(path("/v1/refunds"))
        .respond_with(ResponseTemplate::new(503))
        .up_to_n_times(4)
        .with_priority(1)
        .mount(&stripe)
        .await;
    refunds_answered(&stripe).await;
    // No key: the caller cannot ask again for this one; the job must.
    refund(&app, &order, None, json!({"amount": 700}))
        .await
        .assert_problem(503, "stripe_unavailable");
    let sql = app.sql().await;
    let backend = sql.get_database_backend();
    let aged = chrono::Utc::now() - chrono::TimeDelta::minutes(10);
    let update = "UPDATE refund_requests SET created_at = $1";
    let update = if backend == DbBackend::Sqlite {
        update.replace("$1", "?")
    } else {
        update.to_owned()
    };
    sql.execute_raw(Statement::from_sql_and_values(
        backend,
        update,
        [aged.into()],
    ))
    .await
    .unwrap();
    // The job's pass at start-up asks Stripe again, with the key first sent.
    let base = stripe.uri();
    let app = app
        .restart(|c| c.stripe_api_base = format!("{base}/"))
        .await;
    let state = || async {
        let row = sql
            .query_one_raw(Statement::from_string(
                backend,
                "SELECT state FROM refund_requests",
            ))
            .await
            .unwrap()
            .unwrap();
        row.try_get::<String>("", "state").unwrap()
    };
    let mut settled = false;
    for _ in 0..200 {
        if state().await == "made" {
            settled = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(settled, "the pending refund was settled by the job");
    let keys = keys_sent(&stripe).await;
    assert_eq!(keys.len(), 5, "four tries, then the job's");
    assert!(keys.iter().all(|k| *k == keys[0]), "one key: {keys:?}");
    // Made, it still counts: 1,800 remain of 2,500.
    refund(&app, &order, None, json!({"amount": 1801}))
        .await
        .assert_problem(409, "refund_exceeds_payment");
}

/// A table of three paid 2,000, 3,000 and 1,500: 4,000 back takes the last diner's 1,500 and
/// 2,500 of the second's, one Stripe refund each (each with its own key); the same key answers
/// the same list; the rest takes the second's 500 and the first's 2,000; the books settle from
/// the charges' `charge.refunded`.
async fn a_split_check_is_refunded_newest_payment_first(app: TestApp) {
    let stripe = MockServer::start().await;
    let app = app.with_stripe(&stripe.uri()).await;
    refunds_answered(&stripe).await;
    let secret = app.restaurant("trattoria").await;
    let order = app.order("trattoria", "T-3", 6500, "eur").await;
    let shares = [
        ("pi_split_a", 2000),
        ("pi_split_b", 3000),
        ("pi_split_c", 1500),
    ];
    for (pi, amount) in shares {
        let e = event(
            &format!("evt_{pi}"),
            "payment_intent.succeeded",
            now(),
            payment_intent(pi, amount, "eur", "succeeded", Some(&order)),
        );
        assert_eq!(app.deliver("trattoria", &secret, &e).await.status, 200);
    }
    assert_eq!(app.order_status("trattoria", &order).await, "PAID");
    let taken = |a: &Answer| -> Vec<(String, i64)> {
        a.json["refunds"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                (
                    r["payment_intent"].as_str().unwrap().to_owned(),
                    r["amount"].as_i64().unwrap(),
                )
            })
            .collect()
    };
    let first = refund(&app, &order, Some("table-3-back"), json!({"amount": 4000})).await;
    assert_eq!(first.status, 201, "{first:?}");
    assert_eq!(first.json["amount"], 4000);
    assert_eq!(
        taken(&first),
        [
            ("pi_split_c".to_owned(), 1500),
            ("pi_split_b".to_owned(), 2500)
        ]
    );
    let keys = keys_sent(&stripe).await;
    assert_eq!(keys.len(), 2);
    assert_ne!(keys[0], keys[1], "each refund its own key at Stripe");
    let again = refund(&app, &order, Some("table-3-back"), json!({"amount": 4000})).await;
    assert_eq!((again.status.as_u16(), taken(&again)), (201, taken(&first)));
    assert_eq!(
        keys_sent(&stripe).await.len(),
        2,
        "answered from the record"
    );
    refund(&app, &order, Some("table-3-back"), json!({"amount": 100}))
        .await
        .assert_problem(409, "idempotency_key_reused");
    refund(&app, &order, None, json!({"amount": 2501}))
        .await
        .assert_problem(409, "refund_exceeds_payment");
    let rest = refund(&app, &order, None, json!({})).await;
    assert_eq!(
        taken(&rest),
        [
            ("pi_split_b".to_owned(), 500),
            ("pi_split_a".to_owned(), 2000)
        ]
    );
    // Stripe's events settle the books: everything paid is refunded.
    for (pi, amount) in shares {
        let e = event(
            &format!("evt_{pi}_refunded"),
            "charge.refunded",
            now(),
            charge(pi, amount, "eur", amount, Some(&order)),
        );
        assert_eq!(app.deliver("trattoria", &secret, &e).await.status, 200);
    }
    let view = app.order_view("trattoria", &order).await;
    assert_eq!(
        (&view["status"], &view["amount_refunded"]),
        (&json!("REFUNDED"), &json!(6500)),
        "{view}"
    );
}
