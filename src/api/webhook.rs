//! API: `POST /webhooks/stripe/{tenant}` — Stripe's deliveries to a tenant's own endpoint — and
//! `POST /webhooks/stripe/connect` — the Connect platform's. Plain poem handlers, not OpenAPI
//! operations: they must see the raw body bytes and answer Stripe, not generated clients.
use crate::api::middleware::{closing, declared_length};
use crate::error::problem_response;
use crate::state::AppState;
use crate::webhooks::incoming::Outcome;
use crate::webhooks::intake::connect::{self, Routed};
use crate::webhooks::intake::tenants::TenantRuntime;
use crate::webhooks::intake::{self, Rejection, refuse};
use poem::http::StatusCode;
use poem::web::{Data, Json, Path};
use poem::{Body, IntoResponse, Request, Response, handler};
use serde_json::json;

#[handler]
pub async fn receive(
    req: &Request,
    Path(tenant): Path<String>,
    body: Body,
    state: Data<&AppState>,
) -> Response {
    let started = std::time::Instant::now();
    let mut seen = Seen {
        outcome: "failed",
        event_type: None,
        tenant: None,
    };
    let resp = handle(req, &tenant, body, &state, &mut seen).await;
    observe(&state, &seen, started);
    resp
}

/// `POST /webhooks/stripe/connect`: a Connect platform's delivery, for the tenant its `account`
/// names (or recorded unrouted).
#[handler]
pub async fn receive_connect(req: &Request, body: Body, state: Data<&AppState>) -> Response {
    let started = std::time::Instant::now();
    let mut seen = Seen {
        outcome: "failed",
        event_type: None,
        tenant: None,
    };
    let resp = handle_connect(req, body, &state, &mut seen).await;
    observe(&state, &seen, started);
    resp
}

fn observe(state: &AppState, seen: &Seen, started: std::time::Instant) {
    let tenant_label = seen
        .tenant
        .as_ref()
        .map(|t| t.slug.as_str())
        .filter(|_| state.config.metrics_tenant_label);
    crate::telemetry::webhook(
        seen.outcome,
        seen.event_type,
        tenant_label,
        started.elapsed(),
    );
}

/// What the metrics need to know about a delivery.
struct Seen {
    outcome: &'static str,
    /// The event's `type` label (bounded), once parsed.
    event_type: Option<&'static str>,
    tenant: Option<std::sync::Arc<TenantRuntime>>,
}

async fn handle(
    req: &Request,
    reference: &str,
    body: Body,
    state: &AppState,
    seen: &mut Seen,
) -> Response {
    let intake = state.intake();
    let tenant = match intake::resolve(&intake, reference).await {
        Ok(t) => t,
        Err(r) => return refused(seen, r),
    };
    crate::api::middleware::record_tenant(&tenant.slug);
    seen.tenant = Some(tenant.clone());
    let bytes = match read_body(req, body, state.config.webhook_max_body_bytes).await {
        Ok(b) => b,
        Err(r) => return refused(seen, refuse(&intake, Some(&tenant), r)),
    };
    let signature = req
        .headers()
        .get("stripe-signature")
        .and_then(|v| v.to_str().ok());
    let decided = intake::accept(&intake, &tenant, signature, &bytes).await;
    seen.event_type = decided.event_type;
    match decided.result {
        Ok(outcome) => accepted(seen, outcome),
        Err(r) => refused(seen, r),
    }
}

async fn handle_connect(req: &Request, body: Body, state: &AppState, seen: &mut Seen) -> Response {
    let intake = state.intake();
    let bytes = match read_body(req, body, state.config.webhook_max_body_bytes).await {
        Ok(b) => b,
        Err(r) => return refused(seen, refuse(&intake, None, r)),
    };
    let signature = req
        .headers()
        .get("stripe-signature")
        .and_then(|v| v.to_str().ok());
    let (decided, routed_to) = connect::accept(&intake, signature, &bytes).await;
    seen.event_type = decided.event_type;
    seen.tenant = routed_to;
    let routed = decided.result;
    let (routing, resp) = match routed {
        Ok(Routed::Tenant(outcome)) => ("tenant", accepted(seen, outcome)),
        Ok(Routed::Unrouted { new }) => {
            let status = if new { "unrouted" } else { "duplicate" };
            seen.outcome = status;
            ("unrouted", Json(json!({"status": status})).into_response())
        }
        Ok(Routed::Platform { new }) => {
            seen.outcome = if new { "ignored" } else { "duplicate" };
            let body = if new {
                json!({"status": "ignored", "reason": "platform event (no account)"})
            } else {
                json!({"status": "duplicate"})
            };
            ("platform", Json(body).into_response())
        }
        Err(r) => ("refused", refused(seen, r)),
    };
    crate::telemetry::connect_event(routing);
    resp
}

fn accepted(seen: &mut Seen, outcome: Outcome) -> Response {
    let (label, body) = match outcome {
        Outcome::Processed => ("processed", json!({"status": "processed"})),
        Outcome::Duplicate => ("duplicate", json!({"status": "duplicate"})),
        Outcome::Ignored(reason) => ("ignored", json!({"status": "ignored", "reason": reason})),
        Outcome::Failed(_) => {
            seen.outcome = "failed";
            return problem_response(
                StatusCode::INTERNAL_SERVER_ERROR,
                "processing_failed",
                "the event was recorded as failed; its effects were rolled back and it is processed again when redelivered",
            );
        }
    };
    seen.outcome = label;
    Json(body).into_response()
}

/// The body, at most `limit` bytes, within the body timeout.
async fn read_body(req: &Request, body: Body, limit: usize) -> Result<bytes::Bytes, Rejection> {
    if declared_length(req).is_some_and(|n| n > limit as u64) {
        return Err(Rejection::TooLarge);
    }
    match body.into_bytes_limit(limit).await {
        Ok(b) => Ok(b),
        Err(poem::error::ReadBodyError::PayloadTooLarge) => Err(Rejection::TooLarge),
        Err(poem::error::ReadBodyError::Io(e)) if e.kind() == std::io::ErrorKind::TimedOut => {
            Err(Rejection::TooSlow)
        }
        Err(_) => Err(Rejection::Malformed("body could not be read".into())),
    }
}

fn refused(seen: &mut Seen, r: Rejection) -> Response {
    let refusal = super::webhook_refusal::refusal(&r);
    // The rest of the body was never read: the connection cannot carry another request.
    let close = matches!(r, Rejection::TooLarge | Rejection::TooSlow);
    seen.outcome = refusal.label;
    let status = StatusCode::from_u16(refusal.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut resp = problem_response(status, refusal.code, refusal.detail);
    if let Some(wait) = refusal.retry_after
        && let Ok(v) = crate::error::retry_after_secs(wait).to_string().parse()
    {
        resp.headers_mut()
            .insert(poem::http::header::RETRY_AFTER, v);
    }
    if close { closing(resp) } else { resp }
}
