//! API: an order's public status URL, `/v1/order-status/{token}`, for the customer's browser.
//! The token is a capability for that one order (`crypto::capability`: the order's id and a MAC,
//! checked without a lookup), so no bearer is needed and a token shows nothing of another
//! order; the answer holds status and amounts only, no personal data. `Accept:
//! text/event-stream` turns it into Server-Sent Events: the current status at once, then each
//! change as it commits (on any replica, within a second), with keep-alive comments.
//! poem-openapi cannot describe two content types for one answer, so the stream is served by
//! [`stream_when_asked`] in front of the API and documented on the JSON operation.
use super::ApiTags;
use super::orders::OrderStatus;
use crate::error::{ApiError, problem_response};
use crate::notify::streams::{Holder, Refused, StatusView};
use crate::state::AppState;
use chrono::{DateTime, Utc};
use futures_util::StreamExt;
use poem::http::StatusCode;
use poem::web::Data;
use poem::web::sse::{Event, SSE};
use poem::{Endpoint, IntoResponse, Request, Response};
use poem_openapi::param::Path;
use poem_openapi::payload::Json;
use poem_openapi::{Object, OpenApi};
use std::time::Duration;
use uuid::Uuid;

pub(super) use crate::app::orders::STATUS_PATH as PREFIX;
/// A comment line every this long keeps proxies from closing an idle stream.
const KEEP_ALIVE: Duration = Duration::from_secs(15);

/// What a customer's browser sees of an order.
#[derive(Object)]
pub struct OrderStatusOut {
    pub status: OrderStatus,
    /// In minor units.
    pub amount: i64,
    /// Refunded so far, in minor units.
    pub amount_refunded: i64,
    /// Paid so far, tips included.
    pub amount_paid: i64,
    /// The tips in what was paid.
    pub tip_amount: i64,
    /// Still to pay (tips aside).
    pub amount_due: i64,
    /// Held by authorizations, to be captured.
    pub amount_authorized: i64,
    pub currency: String,
    pub updated_at: DateTime<Utc>,
}

impl From<StatusView> for OrderStatusOut {
    fn from(v: StatusView) -> Self {
        Self {
            status: v.status.into(),
            amount: v.amount,
            amount_refunded: v.amount_refunded,
            amount_paid: v.amount_paid,
            tip_amount: v.tip_amount,
            amount_due: v.amount_due,
            amount_authorized: v.amount_authorized,
            currency: v.currency,
            updated_at: v.updated_at,
        }
    }
}

/// The order a token grants (its id and tenant), and its view now.
async fn lookup(state: &AppState, token: &str) -> Result<(Uuid, Uuid, StatusView), ApiError> {
    let order = crate::app::orders::by_status_token(state, token).await?;
    Ok((order.id, order.tenant_id, StatusView::from(&order)))
}

pub struct OrderStatusApi;

#[OpenApi(tag = "ApiTags::Orders")]
impl OrderStatusApi {
    /// Follow one order's status (no bearer)
    ///
    /// The `status_url` of an order's creation or checkout session. JSON by default; with
    /// `Accept: text/event-stream`, Server-Sent Events: an event named after the status
    /// (`order.payment_pending`, `order.paid`, …) whose data is this JSON object, first for the
    /// status now and then for each change, with keep-alive comments. A stream ends after
    /// `GATEWAY_STATUS_STREAM_LIFETIME` (5 min; browsers reconnect) and at shutdown. At most 5
    /// streams per token and `GATEWAY_STATUS_STREAMS_PER_ADDRESS` per client address (429
    /// beyond); a tenant's orders hold at most a quarter of the process's streams (503).
    #[oai(
        path = "/v1/order-status/:token",
        method = "get",
        operation_id = "v1.order-status.get"
    )]
    async fn get(
        &self,
        state: Data<&AppState>,
        /// The token of the order's `status_url`.
        #[oai(validator(max_length = 64))]
        token: Path<String>,
    ) -> Result<Json<OrderStatusOut>, ApiError> {
        let (_, _, view) = lookup(&state, &token.0).await?;
        Ok(Json(view.into()))
    }
}

fn event(view: StatusView) -> Event {
    let name = view.status.event_type();
    let data = poem_openapi::types::ToJSON::to_json_string(&OrderStatusOut::from(view));
    Event::message(data).event_type(name)
}

/// Serves `GET /v1/order-status/{token}` as Server-Sent Events when the client asks for them;
/// everything else goes on to `next`.
pub async fn stream_when_asked<E: Endpoint>(next: E, req: Request) -> poem::Result<Response> {
    let wants_stream = req.method() == poem::http::Method::GET
        && req.uri().path().starts_with(PREFIX)
        && req
            .header(poem::http::header::ACCEPT)
            .is_some_and(|a| a.contains("text/event-stream"));
    if !wants_stream {
        return next.call(req).await.map(IntoResponse::into_response);
    }
    let Some(state) = req.data::<AppState>().cloned() else {
        return Ok(ApiError::internal().into_response());
    };
    let token = &req.uri().path()[PREFIX.len()..];
    let (order_id, tenant_id, view) = match lookup(&state, token).await {
        Ok(found) => found,
        Err(e) => return Ok(e.into_response()),
    };
    let holder = Holder {
        tenant_id,
        address: super::auth::client_of(&req, &state),
    };
    let sub = match state.status_streams.open(order_id, holder, view.clone()) {
        Ok(sub) => sub,
        Err(refused) => return Ok(refusal(refused, &state)),
    };
    let first = futures_util::stream::once(async move { event(view) });
    let changes = futures_util::stream::unfold(sub, |mut sub| async move {
        sub.rx.changed().await.ok()?;
        let view = sub.rx.borrow_and_update().clone();
        Some((event(view), sub))
    });
    // A stream ends after its lifetime (the browser reconnects, and is counted again) and as
    // soon as shutdown begins (an open stream must not hold a deploy for the grace period).
    let lifetime = state.config.status_stream_lifetime;
    let ends = async move {
        tokio::select! {
            () = tokio::time::sleep(lifetime) => {}
            () = state.tasks.stopped() => {}
        }
    };
    Ok(SSE::new(first.chain(changes).take_until(ends))
        .keep_alive(KEEP_ALIVE)
        .into_response())
}

fn refusal(refused: Refused, state: &AppState) -> Response {
    let (status, code, detail) = match refused {
        Refused::OrderBusy => (
            StatusCode::TOO_MANY_REQUESTS,
            "too_many_streams",
            format!(
                "this order already has {} status streams open",
                crate::notify::streams::PER_ORDER
            ),
        ),
        Refused::AddressBusy => (
            StatusCode::TOO_MANY_REQUESTS,
            "too_many_streams",
            format!(
                "this address already has {} status streams open",
                state.config.status_streams_per_address
            ),
        ),
        Refused::TenantBusy => (
            StatusCode::SERVICE_UNAVAILABLE,
            "streams_full",
            "the restaurant's customers hold their share of status streams; poll the JSON URL"
                .to_owned(),
        ),
        Refused::Full => (
            StatusCode::SERVICE_UNAVAILABLE,
            "streams_full",
            "the gateway has its most status streams open; poll the JSON URL".to_owned(),
        ),
    };
    problem_response(status, code, detail)
}
