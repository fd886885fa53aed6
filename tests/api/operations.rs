//! Operations: metrics move with traffic, request ids, readiness with the database down,
//! retention of payloads and counters.
use crate::helpers::{Backend, TestApp};
use crate::stripe::*;
use serde_json::json;
use std::time::Duration;

crate::backend_tests!(
    metrics_move_after_events,
    deliveries_take_the_batched_path_and_replays_the_per_event_one,
    order_changes_are_counted,
    refusals_counted_just_before_shutdown_are_kept,
    request_ids_are_echoed_or_generated,
    retention_removes_old_payloads_and_counters,
);

/// Only PostgreSQL can be taken down under a running gateway (SQLite is a file in the process).
mod postgres_only {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn ready_fails_while_the_database_is_down() {
        if let Some(app) = crate::helpers::spawn(crate::helpers::Backend::Postgres).await {
            super::ready_fails_while_the_database_is_down(app).await;
        }
    }
}

/// The sum of every sample of `name` whose labels contain all of `labels`.
pub async fn metric(app: &TestApp, name: &str, labels: &[&str]) -> f64 {
    let text = app
        .request(reqwest::Method::GET, "/metrics", None, None)
        .await
        .text;
    text.lines()
        .filter(|l| {
            l.starts_with(name)
                && (l.as_bytes().get(name.len()) == Some(&b'{')
                    || l.as_bytes().get(name.len()) == Some(&b' '))
        })
        .filter(|l| labels.iter().all(|want| l.contains(want)))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

async fn metrics_move_after_events(app: TestApp) {
    // Metrics are process-wide: a slug of its own keeps parallel tests apart.
    let slug = format!(
        "metered-{}",
        &uuid::Uuid::new_v4().simple().to_string()[..8]
    );
    let slug = slug.as_str();
    let label = format!("tenant=\"{slug}\"");
    let secret = app.restaurant(slug).await;
    let processed = &[
        r#"outcome="processed""#,
        r#"type="payment_intent.succeeded""#,
    ];
    let bad = &[r#"outcome="bad_signature""#];
    let (p0, b0) = (
        metric(&app, "gateway_webhooks_total", processed).await,
        metric(&app, "gateway_webhooks_total", bad).await,
    );
    let h0 = metric(&app, "gateway_webhook_duration_seconds_count", &[]).await;
    let e = event(
        "evt_m1",
        "payment_intent.succeeded",
        now(),
        payment_intent("pi_m", 100, "usd", "succeeded", None),
    );
    assert_eq!(app.deliver(slug, &secret, &e).await.status, 200);
    app.deliver(slug, "whsec_wrongWrongWrong1", &e)
        .await
        .assert_problem(400, "bad_signature");
    assert!(metric(&app, "gateway_webhooks_total", processed).await >= p0 + 1.0);
    assert!(metric(&app, "gateway_webhooks_total", bad).await >= b0 + 1.0);
    assert!(metric(&app, "gateway_webhook_duration_seconds_count", &[]).await >= h0 + 2.0);
    let text = app
        .request(reqwest::Method::GET, "/metrics", None, None)
        .await;
    assert!(text.content_type.starts_with("text/plain"));
    assert!(
        text.text
            .contains("gateway_webhook_duration_seconds_bucket"),
        "a histogram, with buckets"
    );
    assert!(
        text.text
            .contains(r#"gateway_db_connections{state="idle"}"#)
    );
    assert!(!text.text.contains("whsec_") && !text.text.contains("sk_test_"));
    // A made-up event type is counted as `other`, so a tenant cannot explode the label set.
    let odd = event("evt_m2", "made.up.type", now(), json!({"id": "x"}));
    app.deliver(slug, &secret, &odd).await;
    assert!(
        !app.request(reqwest::Method::GET, "/metrics", None, None)
            .await
            .text
            .contains("made.up.type")
    );
    // The tenant label appears only when asked for.
    assert!(!text.text.contains(&label));
    let app = app.restart(|c| c.metrics_tenant_label = true).await;
    app.deliver(
        slug,
        &secret,
        &event("evt_m3", "invoice.paid", now(), json!({"id": "in_1"})),
    )
    .await;
    assert!(
        metric(
            &app,
            "gateway_webhooks_total",
            &[&label, r#"outcome="ignored""#]
        )
        .await
            >= 1.0
    );
}

async fn request_ids_are_echoed_or_generated(app: TestApp) {
    let r = app
        .client
        .get(format!("{}/health", app.base))
        .header("X-Request-Id", "req-abc.123")
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["x-request-id"], "req-abc.123");
    let r = app
        .client
        .get(format!("{}/v1/tenants", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let generated = r.headers()["x-request-id"].to_str().unwrap().to_owned();
    assert!(uuid::Uuid::parse_str(&generated).is_ok(), "{generated}");
    let r = app
        .client
        .get(format!("{}/health", app.base))
        .header("X-Request-Id", "bad id with spaces")
        .send()
        .await
        .unwrap();
    assert_ne!(r.headers()["x-request-id"], "bad id with spaces");
}

async fn retention_removes_old_payloads_and_counters(app: TestApp) {
    let secret = app.restaurant("keeper").await;
    let order = app.order("keeper", "K-1", 500, "usd").await;
    for (id, pi) in [("evt_old", "pi_old"), ("evt_new", "pi_new")] {
        let e = event(
            id,
            "payment_intent.succeeded",
            now(),
            payment_intent(pi, 500, "usd", "succeeded", Some(&order)),
        );
        app.deliver("keeper", &secret, &e).await;
    }
    app.post_webhook("keeper", Some("t=1,v1=00"), "{}").await;
    app.get("/v1/tenants/keeper/webhook-health", app.op()).await; // flushes the counter
    use sea_orm::{ConnectionTrait, Statement};
    let sql = app.sql().await;
    let backend = sql.get_database_backend();
    let old = chrono::Utc::now() - chrono::TimeDelta::days(100);
    sql.execute_raw(Statement::from_sql_and_values(
        backend,
        sql_of(
            backend,
            "UPDATE webhook_events SET received_at = $1 WHERE stripe_event_id = 'evt_old'",
        ),
        [old.into()],
    ))
    .await
    .unwrap();
    sql.execute_raw(Statement::from_sql_and_values(
        backend,
        sql_of(backend, "UPDATE delivery_failures SET hour = $1"),
        [old.into()],
    ))
    .await
    .unwrap();
    // The order change evt_old made, fanned out long ago (no endpoint: it owes nothing).
    let aged = sql
        .execute_raw(Statement::from_sql_and_values(
            backend,
            sql_of(
                backend,
                "UPDATE order_changes SET created_at = $1, dispatched_at = $1 WHERE cause = 'evt_old'",
            ),
            [old.into()],
        ))
        .await
        .unwrap();
    assert_eq!(aged.rows_affected(), 1, "the payment made one order change");
    let app = app.restart(|c| c.event_payload_retention_days = 90).await;
    // One retention pass runs at start-up: payloads first, then counters. Wait for both.
    let count_counters = || async {
        let row = sql
            .query_one_raw(Statement::from_string(
                backend,
                "SELECT COUNT(*) AS n FROM delivery_failures",
            ))
            .await
            .unwrap()
            .unwrap();
        row.try_get::<i64>("", "n").unwrap()
    };
    let count_changes = || async {
        let row = sql
            .query_one_raw(Statement::from_string(
                backend,
                "SELECT COUNT(*) AS n FROM order_changes WHERE cause = 'evt_old'",
            ))
            .await
            .unwrap()
            .unwrap();
        row.try_get::<i64>("", "n").unwrap()
    };
    let mut purged = false;
    let mut last = (0, 0, 0);
    // Bounded by time, not by tries: with the whole suite running, a try can take 100 ms.
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while std::time::Instant::now() < deadline {
        let replay = app
            .post(
                "/v1/tenants/keeper/webhook-events/evt_old/replay",
                app.op(),
                json!({}),
            )
            .await;
        last = (
            replay.status.as_u16(),
            count_counters().await,
            count_changes().await,
        );
        if last == (409, 0, 0) {
            replay.assert_problem(409, "payload_purged");
            purged = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        purged,
        "the old payload, the old order change and the old counters were removed: last seen (replay status, counters, order changes of evt_old) = {last:?}"
    );
    let kept = app
        .get("/v1/tenants/keeper/webhook-events/evt_old", app.op())
        .await;
    assert_eq!(kept.json["status"], "completed", "the summary row stays");
    let fresh = app
        .post(
            "/v1/tenants/keeper/webhook-events/evt_new/replay",
            app.op(),
            json!({}),
        )
        .await;
    assert_eq!(fresh.status, 200, "recent payloads stay");
}

fn sql_of(backend: sea_orm::DbBackend, sql: &str) -> String {
    if backend == sea_orm::DbBackend::Sqlite {
        // `?1`, not `?`: a parameter named twice binds one value (a bare `?` takes the next
        // value, and SQLite binds a missing one as NULL).
        sql.replace('$', "?")
    } else {
        sql.to_owned()
    }
}

/// A TCP proxy to PostgreSQL that can black-hole the database, as a network partition does:
/// while down, bytes already sent and new connections are held (nothing answers, nothing is
/// refused) and delivered once it is up again.
struct Proxy {
    addr: std::net::SocketAddr,
    up: tokio::sync::watch::Sender<bool>,
}

impl Proxy {
    async fn start(upstream: String) -> Proxy {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (up, rx) = tokio::sync::watch::channel(true);
        tokio::spawn(async move {
            while let Ok((inbound, _)) = listener.accept().await {
                let (upstream, mut rx) = (upstream.clone(), rx.clone());
                tokio::spawn(async move {
                    let _ = rx.wait_for(|up| *up).await;
                    let Ok(outbound) = tokio::net::TcpStream::connect(&upstream).await else {
                        return;
                    };
                    let (ri, wi) = inbound.into_split();
                    let (ro, wo) = outbound.into_split();
                    tokio::join!(pump(ri, wo, rx.clone()), pump(ro, wi, rx));
                });
            }
        });
        Proxy { addr, up }
    }
}

/// Copies `from` to `to`, holding whatever it reads while the proxy is down.
async fn pump(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    mut rx: tokio::sync::watch::Receiver<bool>,
) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = match from.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        if rx.wait_for(|up| *up).await.is_err() || to.write_all(&buf[..n]).await.is_err() {
            break;
        }
    }
    let _ = to.shutdown().await;
}

/// The longest of `n` answers to `call`, each asserted to be `status`.
async fn slowest<F, Fut>(n: usize, status: u16, call: F) -> Duration
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = crate::helpers::Answer>,
{
    let mut slowest = Duration::ZERO;
    for _ in 0..n {
        let started = std::time::Instant::now();
        let answer = call().await;
        slowest = slowest.max(started.elapsed());
        assert_eq!(answer.status, status, "{answer:?}");
    }
    slowest
}

async fn ready_fails_while_the_database_is_down(app: TestApp) {
    assert_eq!(app.db.backend, Backend::Postgres);
    let url = app.db.url();
    let hostport = url
        .split('@')
        .nth(1)
        .unwrap()
        .split('/')
        .next()
        .unwrap()
        .to_owned();
    let proxy = Proxy::start(hostport.clone()).await;
    let proxied = url.replacen(&hostport, &proxy.addr.to_string(), 1);
    let app = app.restart(|c| c.database_url = Some(proxied)).await;
    let secret = app.restaurant("outage").await;
    let ready = || app.request(reqwest::Method::GET, "/ready", None, None);
    assert_eq!(ready().await.status, 200);
    assert_eq!(metric(&app, "gateway_db_breaker_open", &[]).await, 0.0);

    // The database stops answering. The first delivery waits out its 2 s and gets 503.
    proxy.up.send_replace(false);
    let e = event("evt_down", "invoice.paid", now(), json!({"id": "in_d"}));
    let started = std::time::Instant::now();
    let first = app.deliver("outage", &secret, &e).await;
    assert_eq!(first.status, 503, "{first:?}");
    assert!(
        started.elapsed() < Duration::from_millis(2500),
        "503 within 2 s: {:?}",
        started.elapsed()
    );
    // From then on the breaker is open: webhooks, the admin API and /ready answer 503 within
    // 250 ms, holding no connection; /health still 200.
    let webhooks = slowest(5, 503, || app.deliver("outage", &secret, &e)).await;
    let first_again = app.deliver("outage", &secret, &e).await;
    first_again.assert_problem(503, "database_unavailable");
    let admin = slowest(3, 503, || app.get("/v1/tenants/outage/orders", app.op())).await;
    let readiness = slowest(3, 503, ready).await;
    for (what, took) in [
        ("webhook", webhooks),
        ("admin", admin),
        ("ready", readiness),
    ] {
        assert!(
            took < Duration::from_millis(250),
            "{what} answered in {took:?} with the breaker open"
        );
    }
    assert_eq!(
        app.request(reqwest::Method::GET, "/health", None, None)
            .await
            .status,
        200,
        "alive all the same"
    );
    assert_eq!(metric(&app, "gateway_db_breaker_open", &[]).await, 1.0);
    assert!(
        metric(
            &app,
            "gateway_webhooks_total",
            &[r#"outcome="unavailable""#]
        )
        .await
            >= 6.0
    );

    // The database answers again: the probe closes the breaker by itself.
    proxy.up.send_replace(true);
    let mut back = false;
    for _ in 0..100 {
        if ready().await.status == 200 {
            back = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(back, "ready again once the database returns");
    assert_eq!(metric(&app, "gateway_db_breaker_open", &[]).await, 0.0);
    assert_eq!(
        app.deliver("outage", &secret, &e).await.json["status"],
        "ignored",
        "processing resumes by itself"
    );
    assert_eq!(
        app.get("/v1/tenants/outage/orders", app.op()).await.status,
        200
    );
}

async fn deliveries_take_the_batched_path_and_replays_the_per_event_one(app: TestApp) {
    let secret = app.restaurant("paths").await;
    let batched = &[r#"path="batched""#];
    let per_event = &[r#"path="per_event""#];
    let (b0, p0) = (
        metric(&app, "gateway_writer_events_total", batched).await,
        metric(&app, "gateway_writer_events_total", per_event).await,
    );
    let e = event(
        "evt_path",
        "payment_intent.succeeded",
        now(),
        payment_intent("pi_path", 100, "usd", "succeeded", None),
    );
    assert_eq!(
        app.deliver("paths", &secret, &e).await.json["status"],
        "processed"
    );
    assert!(metric(&app, "gateway_writer_events_total", batched).await >= b0 + 1.0);
    let replay = app
        .post(
            "/v1/tenants/paths/webhook-events/evt_path/replay",
            app.op(),
            json!({}),
        )
        .await;
    assert_eq!(replay.json["attempts"], 2);
    assert!(metric(&app, "gateway_writer_events_total", per_event).await >= p0 + 1.0);
    // The per-event path applies with the same loads and merges: a dispute replayed is the same
    // dispute, linked to its payment, and the payment is unchanged.
    let d = event(
        "evt_path_dispute",
        "charge.dispute.created",
        now(),
        dispute("du_path", "pi_path", 100, "usd", "needs_response"),
    );
    assert_eq!(
        app.deliver("paths", &secret, &d).await.json["status"],
        "processed"
    );
    let before = app.get("/v1/tenants/paths/disputes", app.op()).await.json;
    let replay = app
        .post(
            "/v1/tenants/paths/webhook-events/evt_path_dispute/replay",
            app.op(),
            json!({}),
        )
        .await;
    assert_eq!(replay.json["status"], "completed", "{}", replay.json);
    let after = app.get("/v1/tenants/paths/disputes", app.op()).await.json;
    assert_eq!(after["data"].as_array().unwrap().len(), 1);
    assert_eq!(before, after);
    assert!(after["data"][0]["payment_id"].is_string(), "{after}");
    let payments = app.get("/v1/tenants/paths/payments", app.op()).await.json;
    assert_eq!(payments["data"][0]["status"], "succeeded", "{payments}");
    assert_eq!(payments["data"][0]["amount"], 100);
}

/// The write path says what changed: each order status move is counted by its statuses.
async fn order_changes_are_counted(app: TestApp) {
    let secret = app.restaurant("changes").await;
    let order = app.order("changes", "C-1", 900, "usd").await;
    let paid = &[r#"from="PAYMENT_PENDING""#, r#"to="PAID""#];
    let refunded = &[r#"from="PAID""#, r#"to="PARTIALLY_REFUNDED""#];
    let (p0, r0) = (
        metric(&app, "gateway_order_changes_total", paid).await,
        metric(&app, "gateway_order_changes_total", refunded).await,
    );
    let pay = event(
        "evt_changes_pay",
        "payment_intent.succeeded",
        now(),
        payment_intent("pi_changes", 900, "usd", "succeeded", Some(&order)),
    );
    assert_eq!(
        app.deliver("changes", &secret, &pay).await.json["status"],
        "processed"
    );
    assert!(metric(&app, "gateway_order_changes_total", paid).await >= p0 + 1.0);
    let refund = event(
        "evt_changes_refund",
        "charge.refunded",
        now(),
        charge("pi_changes", 900, "usd", 300, Some(&order)),
    );
    assert_eq!(
        app.deliver("changes", &secret, &refund).await.json["status"],
        "processed"
    );
    assert_eq!(
        app.order_status("changes", &order).await,
        "PARTIALLY_REFUNDED"
    );
    assert!(metric(&app, "gateway_order_changes_total", refunded).await >= r0 + 1.0);
}

/// Shutdown stops the background tasks through their owner and then flushes what the refused-
/// delivery counter holds: a refusal counted a moment before shutdown (the flusher runs every 2 s)
/// is in webhook-health after a restart.
async fn refusals_counted_just_before_shutdown_are_kept(app: TestApp) {
    app.restaurant("last-words").await;
    let e = event(
        "evt_last",
        "payment_intent.succeeded",
        now(),
        payment_intent("pi_last", 100, "usd", "succeeded", None),
    );
    app.deliver("last-words", "whsec_notTheRightOne1", &e)
        .await
        .assert_problem(400, "bad_signature");
    let app = app.restart(|_| {}).await;
    let health = app
        .get("/v1/tenants/last-words/webhook-health", app.op())
        .await;
    assert_eq!(
        health.json["recent_failures"]["bad_signature"], 1,
        "{health:?}"
    );
}
