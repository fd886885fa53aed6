//! Telemetry: Prometheus metrics (names from the design) and the one place that records them.
//! Labels are bounded: event types outside the handled set are `other`, and the per-tenant label
//! exists only when `GATEWAY_METRICS_TENANT_LABEL=true`.
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use std::sync::OnceLock;
use std::time::Duration;

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

const DURATION_BUCKETS: &[f64] = &[
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
];

/// Commit → receiver's 2xx: from milliseconds (a prompt first attempt) to hours (retries).
const DELIVERY_BUCKETS: &[f64] = &[
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 3600.0,
    36000.0,
];

/// Installs the process-wide recorder once and returns its handle.
pub fn install() -> PrometheusHandle {
    HANDLE
        .get_or_init(|| {
            let builder = PrometheusBuilder::new()
                .set_buckets_for_metric(
                    Matcher::Full("gateway_webhook_duration_seconds".into()),
                    DURATION_BUCKETS,
                )
                .and_then(|b| {
                    b.set_buckets_for_metric(
                        Matcher::Full("gateway_notification_delivery_seconds".into()),
                        DELIVERY_BUCKETS,
                    )
                })
                .unwrap_or_else(|_| PrometheusBuilder::new());
            let recorder = builder.build_recorder();
            let handle = recorder.handle();
            // Another recorder may already be installed (a test harness): then ours only renders.
            if metrics::set_global_recorder(recorder).is_ok() {
                describe();
            }
            handle
        })
        .clone()
}

/// Every metric's `# HELP` line, and the series that read 0 before their first event (so that
/// `max(gateway_db_breaker_open) == 1` or `rate(gateway_auth_failures_total[5m])` see a 0, not
/// nothing, from the start).
fn describe() {
    use metrics::{
        describe_counter as counter, describe_gauge as gauge, describe_histogram as histogram,
    };
    counter!(
        "gateway_webhooks_total",
        "Stripe webhook deliveries, by outcome and event type."
    );
    histogram!(
        "gateway_webhook_duration_seconds",
        "Time from a delivery's arrival to its answer."
    );
    counter!(
        "gateway_connect_events_total",
        "Connect deliveries, by where they went: tenant, unrouted, platform, refused."
    );
    counter!(
        "gateway_auth_failures_total",
        "Bearer tokens that are neither the operator's nor a live API key."
    );
    counter!(
        "gateway_rate_limited_total",
        "Requests refused by a rate limiter: tenant, lookup, auth."
    );
    counter!(
        "gateway_reconciliation_runs_total",
        "Finished reconciliation runs, by status."
    );
    counter!(
        "gateway_reconciliation_discrepancies_total",
        "Discrepancies reconciliation found, by kind."
    );
    counter!(
        "gateway_stripe_api_requests_total",
        "HTTP attempts against Stripe's API, by status code, error or timeout."
    );
    gauge!(
        "gateway_db_connections",
        "Database pool connections, in use and idle (sampled at each scrape)."
    );
    counter!(
        "gateway_writer_batches_total",
        "Committed writer batches, by path: batched or per_event."
    );
    counter!(
        "gateway_writer_events_total",
        "Events in committed writer batches, by path."
    );
    counter!(
        "gateway_rate_limiter_fallback_total",
        "Deliveries limited locally because Redis gave no verdict."
    );
    counter!(
        "gateway_change_notices_total",
        "Admin-change notices between replicas: sent, not_sent, received, listener_lost."
    );
    counter!(
        "gateway_writer_retries_total",
        "Write transactions run again after contending with another's, by path."
    );
    counter!(
        "gateway_unmatched_payments_total",
        "Paying events committed that matched no order of their tenant (GET …/payments?order=none)."
    );
    counter!(
        "gateway_order_changes_total",
        "Committed order changes, by status before and after."
    );
    gauge!(
        "gateway_db_breaker_open",
        "1 while the database breaker is open, else 0."
    );
    counter!(
        "gateway_db_breaker_opened_total",
        "Times the database breaker opened."
    );
    gauge!("gateway_http_connections", "HTTP connections open now.");
    counter!(
        "gateway_accept_errors_total",
        "Failed accepts of new connections (out of file descriptors, most likely)."
    );
    counter!(
        "gateway_notifications_total",
        "Notification attempts, by outcome: delivered, retrying, failed, blocked, endpoint_disabled."
    );
    histogram!(
        "gateway_notification_delivery_seconds",
        "Time from an order change's commit to its receiver's 2xx."
    );
    gauge!(
        "gateway_notification_backlog",
        "Notification work owed: messages pending, changes not yet fanned out."
    );
    gauge!(
        "gateway_order_status_streams",
        "Order status streams open in this process."
    );
    gauge!(
        "gateway_authorizations_lapsing",
        "Live authorizations whose capture deadline falls within the warning window."
    );

    // (name, label, its values): a series for each value, or one unlabelled series.
    let at_zero: [(&'static str, &'static str, &[&'static str]); 9] = [
        ("gateway_auth_failures_total", "", &[]),
        ("gateway_rate_limiter_fallback_total", "", &[]),
        ("gateway_db_breaker_opened_total", "", &[]),
        ("gateway_accept_errors_total", "", &[]),
        ("gateway_unmatched_payments_total", "", &[]),
        (
            "gateway_rate_limited_total",
            "scope",
            &["tenant", "lookup", "auth"],
        ),
        (
            "gateway_notifications_total",
            "outcome",
            &[
                "delivered",
                "retrying",
                "failed",
                "blocked",
                "endpoint_disabled",
            ],
        ),
        (
            "gateway_writer_retries_total",
            "path",
            &["batched", "per_event"],
        ),
        (
            "gateway_change_notices_total",
            "what",
            &["sent", "not_sent", "received", "listener_lost"],
        ),
    ];
    for (name, label, values) in at_zero {
        if values.is_empty() {
            metrics::counter!(name).increment(0);
        }
        for value in values {
            metrics::counter!(name, label => *value).increment(0);
        }
    }
    for gauge in [
        "gateway_db_breaker_open",
        "gateway_http_connections",
        "gateway_order_status_streams",
        "gateway_authorizations_lapsing",
    ] {
        metrics::gauge!(gauge).set(0.0);
    }
}

/// One webhook delivery's outcome and how long it took; `tenant` only when the tenant label is on.
pub fn webhook(
    outcome: &'static str,
    event_type: Option<&'static str>,
    tenant: Option<&str>,
    took: Duration,
) {
    let ty = event_type.unwrap_or("unknown");
    if let Some(tenant) = tenant {
        let tenant = tenant.to_owned();
        metrics::counter!("gateway_webhooks_total", "outcome" => outcome, "type" => ty, "tenant" => tenant.clone()).increment(1);
        metrics::histogram!("gateway_webhook_duration_seconds", "tenant" => tenant)
            .record(took.as_secs_f64());
    } else {
        metrics::counter!("gateway_webhooks_total", "outcome" => outcome, "type" => ty)
            .increment(1);
        metrics::histogram!("gateway_webhook_duration_seconds").record(took.as_secs_f64());
    }
}

/// A Connect delivery, by where it went: `tenant`, `unrouted` (no tenant has its account yet),
/// `platform` (no account), `refused`.
pub fn connect_event(routing: &'static str) {
    metrics::counter!("gateway_connect_events_total", "routing" => routing).increment(1);
}

/// A bearer token that is neither the operator's nor a live API key.
pub fn auth_failure() {
    metrics::counter!("gateway_auth_failures_total").increment(1);
}

/// A request refused by a rate limiter (`tenant`: a tenant's bucket; `lookup`: the shared
/// budget for tenant lookups that miss the cache; `auth`: a client address that spent its
/// budget of failed authentications).
pub fn rate_limited(scope: &'static str) {
    metrics::counter!("gateway_rate_limited_total", "scope" => scope).increment(1);
}

/// A finished reconciliation run and its discrepancies by kind.
pub fn reconciliation(status: &str, discrepancies: &[&'static str]) {
    metrics::counter!("gateway_reconciliation_runs_total", "status" => status.to_owned())
        .increment(1);
    for kind in discrepancies {
        metrics::counter!("gateway_reconciliation_discrepancies_total", "kind" => *kind)
            .increment(1);
    }
}

/// One HTTP attempt against Stripe's API: its status code, `error` or `timeout`.
pub fn stripe_request(status: &str) {
    metrics::counter!("gateway_stripe_api_requests_total", "status" => status.to_owned())
        .increment(1);
}

/// The pool's connections, sampled when metrics are scraped.
pub fn db_connections(db: &sea_orm::DatabaseConnection) {
    let (size, idle) = match sea_orm::ConnectionTrait::get_database_backend(db) {
        sea_orm::DbBackend::Postgres => {
            let p = db.get_postgres_connection_pool();
            (p.size(), p.num_idle())
        }
        _ => {
            let p = db.get_sqlite_connection_pool();
            (p.size(), p.num_idle())
        }
    };
    let idle = u32::try_from(idle).unwrap_or(u32::MAX);
    metrics::gauge!("gateway_db_connections", "state" => "in_use")
        .set(f64::from(size.saturating_sub(idle)));
    metrics::gauge!("gateway_db_connections", "state" => "idle").set(f64::from(idle));
}

/// A committed writer batch: `batched` (bulk statements) or `per_event` (the fallback path).
pub fn writer_batch(path: &'static str, events: usize) {
    metrics::counter!("gateway_writer_batches_total", "path" => path).increment(1);
    metrics::counter!("gateway_writer_events_total", "path" => path).increment(events as u64);
}

/// A delivery limited locally because Redis gave no verdict.
pub fn rate_limiter_fallback() {
    metrics::counter!("gateway_rate_limiter_fallback_total").increment(1);
}

/// Change notices between replicas: `sent`, `not_sent`, `received`, `listener_lost`.
pub fn change_notice(what: &'static str) {
    metrics::counter!("gateway_change_notices_total", "what" => what).increment(1);
}

/// A write transaction run again because another transaction (another replica's) contended
/// with it (`path`: `batched` or `per_event`).
pub fn writer_retry(path: &'static str) {
    metrics::counter!("gateway_writer_retries_total", "path" => path).increment(1);
}

/// A committed order change, by status before and after (a refund that keeps the status counts
/// with `from` = `to`). Statuses are a closed set: bounded labels.
pub fn order_change(from: &'static str, to: &'static str) {
    metrics::counter!("gateway_order_changes_total", "from" => from, "to" => to).increment(1);
}

/// Paying events committed that matched no order of their tenant (their payments are listed by
/// `GET …/payments?order=none`).
pub fn unmatched_payments(events: u64) {
    if events > 0 {
        metrics::counter!("gateway_unmatched_payments_total").increment(events);
    }
}

/// The database breaker opened (`true`) or closed.
pub fn db_breaker(open: bool) {
    metrics::gauge!("gateway_db_breaker_open").set(if open { 1.0 } else { 0.0 });
    if open {
        metrics::counter!("gateway_db_breaker_opened_total").increment(1);
    }
}

/// Connections open now (sampled as they open and close).
pub fn http_connections(open: usize) {
    metrics::gauge!("gateway_http_connections").set(open as f64);
}

/// An `accept` that failed (out of file descriptors, most likely).
pub fn accept_error() {
    metrics::counter!("gateway_accept_errors_total").increment(1);
}

/// One notification attempt's outcome: `delivered`, `retrying` (non-2xx, timeout or connection
/// error, another attempt scheduled), `failed` (the schedule is spent), `blocked` (the address is
/// private: SSRF guard), `endpoint_disabled`.
pub fn notification(outcome: &'static str) {
    metrics::counter!("gateway_notifications_total", "outcome" => outcome).increment(1);
}

/// Time from a change's commit to its receiver's 2xx.
pub fn notification_delivered(since_commit: Duration) {
    metrics::histogram!("gateway_notification_delivery_seconds").record(since_commit.as_secs_f64());
}

/// Work owed: messages pending or being delivered, and changes not yet fanned out.
pub fn notification_backlog(messages: u64, changes: u64) {
    metrics::gauge!("gateway_notification_backlog", "kind" => "messages").set(messages as f64);
    metrics::gauge!("gateway_notification_backlog", "kind" => "changes").set(changes as f64);
}

/// Order status streams open in this process.
pub fn status_streams(open: usize) {
    metrics::gauge!("gateway_order_status_streams").set(open as f64);
}

/// Live authorizations whose deadline falls within the warning window (`capture_before`
/// within `GATEWAY_AUTHORIZATION_WARNING`): captured or voided soon, or lost.
pub fn authorizations_lapsing(count: u64) {
    metrics::gauge!("gateway_authorizations_lapsing").set(count as f64);
}
