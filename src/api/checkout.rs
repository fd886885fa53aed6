//! API: Stripe Checkout Sessions for orders — `…/orders/{order_id}/checkout-session` — for the
//! whole amount due or a diner's share, with a tip, captured at once or authorized only.
use super::idempotency::IdempotencyKey;
use super::patterns::{Matches, Matching, Url};
use super::payments::CaptureMethod;
use super::{ApiTags, scope};
use crate::app::checkout::{self as app, Ask};
use crate::error::ApiError;
use crate::state::AppState;
use poem::web::Data;
use poem_openapi::param::Path;
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Object, OpenApi};
use uuid::Uuid;

/// Where Stripe sends the customer after paying or giving up, and what the session asks for:
/// `amount` (a diner's share; default all that is due), `tip_amount`, and `capture_method`
/// (`manual`: authorize now, capture later with `…/capture`; default `automatic`).
#[derive(Object)]
pub struct CheckoutSessionIn {
    /// `https://…` (or `http://` for local testing), at most 2048 characters.
    #[oai(validator(max_length = 2048, custom = "Matches::new()"))]
    pub success_url: Matching<Url>,
    #[oai(validator(max_length = 2048, custom = "Matches::new()"))]
    pub cancel_url: Matching<Url>,
    /// The share this customer pays, in minor units (tip excluded); default: all that is due.
    /// More than the order's `amount_due` → 409 `amount_exceeds_due`.
    #[oai(
        deserialize_with = "super::strict::optional",
        validator(minimum(value = "1"), maximum(value = "99999999"))
    )]
    pub amount: Option<i64>,
    /// A tip, in minor units: a "Tip" line item, declared as `metadata.tip_amount`.
    #[oai(
        deserialize_with = "super::strict::optional",
        validator(minimum(value = "0"), maximum(value = "99999999"))
    )]
    pub tip_amount: Option<i64>,
    #[oai(deserialize_with = "super::strict::optional")]
    pub capture_method: Option<CaptureMethod>,
}

/// A Stripe Checkout Session for the order.
#[derive(Object)]
pub struct CheckoutSessionOut {
    pub session_id: String,
    /// Send the customer here to pay.
    pub url: String,
    /// Where the customer's browser follows the order's status (see the order's creation).
    pub status_url: String,
    /// The share the session asks for (tip excluded).
    pub amount: i64,
    pub tip_amount: i64,
    pub capture_method: CaptureMethod,
}

#[derive(ApiResponse)]
pub enum CheckoutCreated {
    /// The session exists (a retried call answers the same session).
    #[oai(status = 201)]
    Created(Json<CheckoutSessionOut>),
}

/// An http(s) URL (`rules::Url`) of at most 2048 characters.
fn parse_url(field: &'static str, raw: &str) -> Result<String, ApiError> {
    let url = crate::domain::rules::check::<Url>(field, raw)?;
    if url.chars().count() > 2048 {
        return Err(crate::domain::invalid(field, "must be at most 2048 characters").into());
    }
    Ok(url.to_owned())
}

pub struct CheckoutApi;

#[OpenApi]
impl CheckoutApi {
    /// Create a Stripe Checkout Session for an order, or a diner's share of it
    ///
    /// For an order in `PAYMENT_PENDING` or `PARTIALLY_PAID` (else 409 `order_not_payable`): a
    /// line item for `amount` (default: all that is due; more → 409 `amount_exceeds_due`), a
    /// "Tip" line for `tip_amount` (declared in metadata; over the tenant's limit → 409
    /// `tip_over_limit`), `capture_method: manual` to authorize only. `client_reference_id`
    /// and `metadata.order_id` = the order id. Several sessions may be open for one order (each
    /// diner pays a share). Idempotent by `Idempotency-Key`, else by the order and the share (the
    /// whole order's session keeps its key: a retried call answers the same session; give each
    /// diner's call its own key when shares are equal).
    #[oai(
        path = "/v1/tenants/:tenant/orders/:order_id/checkout-session",
        method = "post",
        operation_id = "v1.checkout-sessions.create",
        tag = "ApiTags::Orders"
    )]
    #[allow(clippy::too_many_arguments)]
    async fn checkout(
        &self,
        state: Data<&AppState>,
        /// Tenant slug or id.
        scope::Path(tenant): scope::Path,
        /// The order's id.
        order_id: Path<Uuid>,
        /// Makes a retried request answer the same session (1–255 visible ASCII characters).
        #[oai(name = "Idempotency-Key")]
        key: IdempotencyKey,
        body: Json<CheckoutSessionIn>,
    ) -> Result<CheckoutCreated, ApiError> {
        let ask = Ask {
            success_url: parse_url("success_url", &body.0.success_url)?,
            cancel_url: parse_url("cancel_url", &body.0.cancel_url)?,
            amount: body.0.amount,
            tip: body.0.tip_amount,
            manual: body.0.capture_method == Some(CaptureMethod::Manual),
            caller_key: key.0,
        };
        let made = app::create_session(&state, &tenant, order_id.0, ask).await?;
        Ok(CheckoutCreated::Created(Json(CheckoutSessionOut {
            session_id: made.session_id,
            url: made.url,
            status_url: crate::app::orders::status_url(&state, order_id.0),
            amount: made.share.amount,
            tip_amount: made.share.tip,
            capture_method: if made.share.manual {
                CaptureMethod::Manual
            } else {
                CaptureMethod::Automatic
            },
        })))
    }
}
