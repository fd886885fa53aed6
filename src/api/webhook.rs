//! API: `POST /webhooks/stripe/{tenant}` — Stripe's deliveries. A plain poem handler, not an
//! OpenAPI operation: it must see the raw body bytes and answer Stripe, not generated clients.
use crate::error::problem_response;
use crate::state::AppState;
use crate::webhooks::incoming::Outcome;
use crate::webhooks::intake::{self, Intake, Rejection, refuse};
use crate::webhooks::tenants::TenantRuntime;
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
    resp
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
    let limit = state.config.webhook_max_body_bytes;
    let declared = req
        .headers()
        .get(poem::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > limit) {
        return too_large(&intake, &tenant, seen);
    }
    let bytes = match body.into_bytes_limit(limit).await {
        Ok(b) => b,
        Err(poem::error::ReadBodyError::PayloadTooLarge) => {
            return too_large(&intake, &tenant, seen);
        }
        Err(poem::error::ReadBodyError::Io(e)) if e.kind() == std::io::ErrorKind::TimedOut => {
            return closing(refused(seen, Rejection::TooSlow));
        }
        Err(_) => {
            let r = refuse(
                &intake,
                Some(&tenant),
                Rejection::Malformed("body could not be read".into()),
            );
            return refused(seen, r);
        }
    };
    let signature = req
        .headers()
        .get("stripe-signature")
        .and_then(|v| v.to_str().ok());
    match intake::accept(&intake, &tenant, signature, &bytes, &mut seen.event_type).await {
        Ok(outcome) => accepted(seen, outcome),
        Err(r) => refused(seen, r),
    }
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

/// 413, closing the connection.
fn too_large(intake: &Intake, tenant: &TenantRuntime, seen: &mut Seen) -> Response {
    closing(refused(
        seen,
        refuse(intake, Some(tenant), Rejection::TooLarge),
    ))
}

/// Closes the connection after `resp`: the rest of the body was never read, so the connection
/// cannot carry another request.
fn closing(mut resp: Response) -> Response {
    resp.headers_mut().insert(
        poem::http::header::CONNECTION,
        poem::http::HeaderValue::from_static("close"),
    );
    resp
}

fn refused(seen: &mut Seen, r: Rejection) -> Response {
    let refusal = r.refusal();
    seen.outcome = refusal.label;
    let status = StatusCode::from_u16(refusal.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut resp = problem_response(status, refusal.code, refusal.detail);
    if let Some(wait) = refusal.retry_after
        && let Ok(v) = crate::error::retry_after_secs(wait).to_string().parse()
    {
        resp.headers_mut()
            .insert(poem::http::header::RETRY_AFTER, v);
    }
    resp
}
