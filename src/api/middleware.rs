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
        path = %logged_path(req.uri().path()),
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

/// The path as logged: a status URL's token is a capability (whoever has it follows the
/// order), so the route is logged, never the token.
fn logged_path(path: &str) -> &str {
    match path.strip_prefix(crate::app::orders::STATUS_PATH) {
        Some(token) if !token.is_empty() => "/v1/order-status/{token}",
        _ => path,
    }
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

/// The length a request declares (`Content-Length`), if it declares one.
pub(crate) fn declared_length(req: &Request) -> Option<u64> {
    req.headers()
        .get(poem::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
}

/// Closes the connection after `resp`: the rest of the body was never read, so the connection
/// cannot carry another request.
pub(crate) fn closing(mut resp: Response) -> Response {
    resp.headers_mut().insert(
        poem::http::header::CONNECTION,
        HeaderValue::from_static("close"),
    );
    resp
}

/// The admin API's bodies are small JSON documents: one larger than `api_max_body_bytes` is
/// answered 413 problem+json before it is read (declared length) or as soon as the limit is
/// passed (chunked), so no caller can make the process hold more than the limit per request.
/// The body read here is put back for the handler.
pub async fn limit_api_body<E: Endpoint>(next: E, mut req: Request) -> poem::Result<Response> {
    if !req.uri().path().starts_with("/v1/") {
        return next.call(req).await.map(IntoResponse::into_response);
    }
    let Some(limit) = req
        .data::<crate::state::AppState>()
        .map(|s| s.config.api_max_body_bytes)
    else {
        return Ok(crate::error::ApiError::internal().into_response());
    };
    let too_large = || {
        Ok(closing(crate::error::problem_response(
            poem::http::StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            format!("the request body is larger than {limit} bytes"),
        )))
    };
    let declared = declared_length(&req);
    if declared.is_some_and(|n| n > limit as u64) {
        return too_large();
    }
    if declared.is_none()
        && req
            .headers()
            .contains_key(poem::http::header::TRANSFER_ENCODING)
    {
        match req.take_body().into_bytes_limit(limit).await {
            Ok(bytes) => req.set_body(bytes),
            Err(poem::error::ReadBodyError::PayloadTooLarge) => return too_large(),
            Err(e) => return Err(e.into()),
        }
    }
    next.call(req).await.map(IntoResponse::into_response)
}
