//! API: request tracing. Every request runs in a span with its request id (the caller's
//! `X-Request-Id` if sane, else a new UUID, echoed back), method and path; handlers add the
//! tenant and, for webhooks, the Stripe event. One log line per request when it ends. Headers
//! and bodies are never logged.
use poem::http::HeaderValue;
use poem::{Endpoint, IntoResponse, Request, Response};
use std::time::Instant;
use tracing::Instrument;

fn sane(id: &str) -> bool {
    (1..=128).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':'))
}

pub async fn trace_request<E: Endpoint>(next: E, req: Request) -> poem::Result<Response> {
    let id = req
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .filter(|v| sane(v))
        .map_or_else(|| uuid::Uuid::new_v4().to_string(), str::to_owned);
    let span = tracing::info_span!(
        "request",
        request_id = %id,
        method = %req.method(),
        path = %req.uri().path(),
        tenant = tracing::field::Empty,
        event_id = tracing::field::Empty,
        event_type = tracing::field::Empty,
    );
    let started = Instant::now();
    // Kept for the `Allow` header of a 405 (a `Uri` clone shares its bytes).
    let uri = req.uri().clone();
    let mut resp = async {
        next.call(req)
            .await
            .map(IntoResponse::into_response)
            .unwrap_or_else(|e| e.into_response())
    }
    .instrument(span.clone())
    .await;
    let status = resp.status().as_u16();
    span.in_scope(|| {
        let ms = started.elapsed().as_secs_f64() * 1000.0;
        if status >= 500 {
            tracing::warn!(status, latency_ms = ms, "request finished");
        } else {
            tracing::info!(status, latency_ms = ms, "request finished");
        }
    });
    if status == 405
        && let Some(v) =
            super::allow::allowed(uri.path()).and_then(|m| HeaderValue::from_str(m).ok())
    {
        resp.headers_mut().insert("allow", v);
    }
    if let Ok(v) = HeaderValue::from_str(&id) {
        resp.headers_mut().insert("x-request-id", v);
    }
    // No answer is to be sniffed into another type or shown inside another site's frame (the
    // Swagger UI at /docs included).
    let headers = resp.headers_mut();
    headers.insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    headers.insert("x-frame-options", HeaderValue::from_static("DENY"));
    headers.insert(
        "content-security-policy",
        HeaderValue::from_static("frame-ancestors 'none'"),
    );
    Ok(resp)
}

/// Names the tenant on the current request's span.
pub fn record_tenant(slug: &str) {
    tracing::Span::current().record("tenant", slug);
}

/// While the database breaker is open, the admin API answers 503 at once instead of letting
/// each request wait for a connection (webhooks and `/ready` check the breaker themselves).
pub async fn refuse_while_database_down<E: Endpoint>(
    next: E,
    req: Request,
) -> poem::Result<Response> {
    let down = req.uri().path().starts_with("/v1/")
        && req
            .data::<crate::state::AppState>()
            .is_some_and(|s| s.breaker.is_open());
    if down {
        return Ok(crate::error::database_down_response());
    }
    next.call(req).await.map(IntoResponse::into_response)
}
