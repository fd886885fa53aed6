//! API: Stripe Checkout Sessions for orders — `…/orders/{order_id}/checkout-session`.
use super::patterns::{Matches, Matching, Url};
use super::{ApiTags, BearerAuth, tenant_in_scope};
use crate::error::ApiError;
use crate::state::AppState;
use crate::store;
use poem::web::Data;
use poem_openapi::param::Path;
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Object, OpenApi};
use uuid::Uuid;

/// Where Stripe sends the customer after paying or giving up.
#[derive(Object)]
pub struct CheckoutSessionIn {
    /// `https://…` (or `http://` for local testing), at most 2048 characters.
    #[oai(validator(max_length = 2048, custom = "Matches::new()"))]
    pub success_url: Matching<Url>,
    #[oai(validator(max_length = 2048, custom = "Matches::new()"))]
    pub cancel_url: Matching<Url>,
}

/// A Stripe Checkout Session for the order.
#[derive(Object)]
pub struct CheckoutSessionOut {
    pub session_id: String,
    /// Send the customer here to pay.
    pub url: String,
    /// Where the customer's browser follows the order's status (see the order's creation).
    pub status_url: String,
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
    /// Create a Stripe Checkout Session for an order
    ///
    /// For an order in `PAYMENT_PENDING` (else 409): one line item for its amount and currency,
    /// `client_reference_id` and `metadata.order_id` = the order id. Sent with an idempotency key
    /// derived from the order, so a retried call cannot create a second session.
    #[oai(
        path = "/v1/tenants/:tenant/orders/:order_id/checkout-session",
        method = "post",
        operation_id = "v1.checkout-sessions.create",
        tag = "ApiTags::Orders"
    )]
    async fn checkout(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        /// Tenant slug or id.
        tenant: Path<String>,
        /// The order's id.
        order_id: Path<Uuid>,
        body: Json<CheckoutSessionIn>,
    ) -> Result<CheckoutCreated, ApiError> {
        let tenant = tenant_in_scope(&state, &auth.0, &tenant.0).await?;
        let success = parse_url("success_url", &body.0.success_url)?;
        let cancel = parse_url("cancel_url", &body.0.cancel_url)?;
        let order = store::orders::get(&state.db, &tenant, order_id.0)
            .await?
            .ok_or_else(|| ApiError::not_found("order"))?;
        if order.status != entity::status::OrderStatus::PaymentPending {
            return Err(ApiError::conflict(
                "order_not_payable",
                format!(
                    "the order is {}; only a PAYMENT_PENDING order can be paid",
                    order.status
                ),
            ));
        }
        let client = super::tenant_stripe(&state, tenant.id).await?;
        let fee = client
            .connected_account
            .is_some()
            .then(|| crate::domain::application_fee(order.amount, client.application_fee_bps));
        let session =
            crate::stripe::checkout::create_session(&client.stripe, &order, fee, &success, &cancel)
                .await?;
        let url = session.url.clone().unwrap_or_default();
        store::orders::set_checkout_session(&state.db, &tenant, order.id, &session.id).await?;
        tracing::info!(tenant = %tenant.slug, order = %order.id, session = %session.id, "checkout session created");
        Ok(CheckoutCreated::Created(Json(CheckoutSessionOut {
            session_id: session.id,
            url,
            status_url: super::order_status::status_url(&state, order.id),
        })))
    }
}
