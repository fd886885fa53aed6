//! API: CORS on the status routes only. A restaurant's ordering page, on its own origin,
//! follows its order with `new EventSource(order.status_url)` or `fetch`: the answers (JSON and
//! the stream) carry `Access-Control-Allow-Origin`, and a preflight is answered. Origins come
//! from `GATEWAY_STATUS_CORS_ORIGINS` (`*`: any, the default: a status URL shows no personal
//! data and its token is the capability). No other route is readable from another origin.
use crate::state::AppState;
use poem::http::Method;
use poem::middleware::Cors;
use poem::{Endpoint, IntoResponse, Middleware, Request, Response};

pub async fn status_cors<E: Endpoint>(next: E, req: Request) -> poem::Result<Response> {
    if !req.uri().path().starts_with(super::order_status::PREFIX) {
        return next.call(req).await.map(IntoResponse::into_response);
    }
    let Some(state) = req.data::<AppState>() else {
        return Ok(crate::error::ApiError::internal().into_response());
    };
    let mut cors = Cors::new()
        .allow_methods([Method::GET])
        // Sent by `EventSource` when it reconnects.
        .allow_header("last-event-id")
        .max_age(86_400);
    let origins = &state.config.status_cors_origins;
    if !origins.iter().any(|o| o == "*") {
        // Checked at start (`config::parse_origin`): each is a valid header value.
        cors = cors.allow_origins(origins.iter().map(String::as_str));
    }
    cors.transform(&next)
        .call(req)
        .await
        .map(IntoResponse::into_response)
}
