//! API: acting on an order's authorizations — capture with the tip, increment (a bar tab),
//! cancel (void). Each calls the use case in `app::authorizations`; the order's books move only
//! when Stripe's webhook says the money moved.
use super::idempotency::IdempotencyKey;
use super::{ApiTags, scope};
use crate::app::TenantScope;
use crate::app::authorizations::{self as app, Done};
use crate::domain::authorization::Action;
use crate::error::ApiError;
use crate::state::AppState;
use poem::web::Data;
use poem_openapi::param::Path;
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Enum, Object, OpenApi};
use uuid::Uuid;

/// A capture of the order's share due plus a tip.
#[derive(Object)]
pub struct CaptureIn {
    /// The tip, in minor units (0 for none). Sent to Stripe as `metadata[tip_amount]`.
    #[oai(validator(minimum(value = "0"), maximum(value = "99999999")))]
    pub tip_amount: i64,
    /// Which authorization to capture; needed only when the order has several.
    #[oai(deserialize_with = "super::strict::optional")]
    pub payment_id: Option<Uuid>,
}

/// An increment of an authorization (a bar tab growing).
#[derive(Object)]
pub struct IncrementIn {
    /// The authorization's new total, in minor units (more than what it holds now).
    #[oai(validator(minimum(value = "1"), maximum(value = "99999999")))]
    pub amount: i64,
}

/// What was done.
#[derive(Enum, Clone, Copy, Debug, PartialEq, Eq)]
#[oai(rename_all = "snake_case")]
pub enum AuthorizationAction {
    Capture,
    Increment,
    Cancel,
}

/// What the gateway asked of Stripe, and Stripe's answer. The order's money and status follow
/// when Stripe's event arrives (`payment_intent.succeeded`, `…amount_capturable_updated`,
/// `…canceled`).
#[derive(Object)]
pub struct AuthorizationActionOut {
    pub order_id: Uuid,
    pub payment_id: Uuid,
    /// Stripe's `pi_…`.
    pub payment_intent: String,
    pub action: AuthorizationAction,
    /// Capture: the amount captured (share due plus tip); increment: the new total; cancel:
    /// what the void released.
    pub amount: i64,
    /// Capture: the tip declared with it; 0 otherwise.
    pub tip_amount: i64,
    /// The PaymentIntent's status as Stripe answered (`succeeded`, `requires_capture`,
    /// `canceled`, …).
    #[oai(nullable)]
    pub stripe_status: Option<String>,
    /// The caller's `Idempotency-Key`, or the key the gateway derived from the payment and the
    /// amounts.
    pub idempotency_key: String,
}

#[derive(ApiResponse)]
pub enum ActionDone {
    /// Stripe did it (a repeated call with the same key answers the same).
    #[oai(status = 200)]
    Ok(Json<AuthorizationActionOut>),
}

/// Asks the use case to do `action` on the order, and answers what Stripe did.
async fn act(
    state: &AppState,
    tenant: &TenantScope,
    order_id: Uuid,
    action: Action,
    key: IdempotencyKey,
) -> Result<ActionDone, ApiError> {
    let kind = match action {
        Action::Capture { .. } => AuthorizationAction::Capture,
        Action::Increment { .. } => AuthorizationAction::Increment,
        Action::Cancel { .. } => AuthorizationAction::Cancel,
    };
    let done: Done = app::act(state, tenant, order_id, action, key.0).await?;
    Ok(ActionDone::Ok(Json(AuthorizationActionOut {
        order_id,
        payment_id: done.plan.payment_id,
        payment_intent: done.plan.payment_intent,
        action: kind,
        amount: done.plan.amount,
        tip_amount: done.plan.tip,
        stripe_status: done.stripe_status,
        idempotency_key: done.idempotency_key,
    })))
}

pub struct AuthorizationsApi;

#[OpenApi(tag = "ApiTags::Orders")]
impl AuthorizationsApi {
    /// Capture an order's authorization with a tip
    ///
    /// Captures the order's share due (at most what the authorization holds) plus `tip_amount`,
    /// with `amount_to_capture` and `metadata[tip_amount]`. More than the hold only where Stripe
    /// offers overcapture, up to its maximum; else 409 `tip_exceeds_authorization` naming the
    /// most that can be captured, nothing sent. 409 `ambiguous_payment` (several
    /// authorizations, no `payment_id`), `nothing_authorized`, `nothing_due`, `tip_over_limit`
    /// (the tenant's `max_tip_bps`). Idempotent by `Idempotency-Key` (else by the payment and
    /// amounts). Stripe's refusal → 502 `stripe_error` with its reason. The order settles from
    /// Stripe's `payment_intent.succeeded`, not from this answer.
    #[oai(
        path = "/v1/tenants/:tenant/orders/:order_id/capture",
        method = "post",
        operation_id = "v1.orders.capture"
    )]
    async fn capture(
        &self,
        state: Data<&AppState>,
        /// Tenant slug or id.
        scope::Path(tenant): scope::Path,
        /// The order's id.
        order_id: Path<Uuid>,
        /// Makes a retried request answer the same (1–255 visible ASCII characters).
        #[oai(name = "Idempotency-Key")]
        key: IdempotencyKey,
        body: Json<CaptureIn>,
    ) -> Result<ActionDone, ApiError> {
        let action = Action::Capture {
            tip: body.0.tip_amount,
            payment: body.0.payment_id,
        };
        act(&state, &tenant, order_id.0, action, key).await
    }

    /// Increment an authorization (a bar tab)
    ///
    /// Raises the authorization's total to `amount`, where Stripe offered incremental
    /// authorization (else 409 `increment_not_supported`); the new total must be more than
    /// what it holds (409 `not_an_increase`). Idempotent by `Idempotency-Key` (else by the new
    /// total). The order's `amount_authorized` follows Stripe's
    /// `payment_intent.amount_capturable_updated`.
    #[oai(
        path = "/v1/tenants/:tenant/orders/:order_id/authorizations/:payment_id/increment",
        method = "post",
        operation_id = "v1.authorizations.increment"
    )]
    async fn increment(
        &self,
        state: Data<&AppState>,
        /// Tenant slug or id.
        scope::Path(tenant): scope::Path,
        /// The order's id.
        order_id: Path<Uuid>,
        /// The authorized payment's id.
        payment_id: Path<Uuid>,
        /// Makes a retried request answer the same (1–255 visible ASCII characters).
        #[oai(name = "Idempotency-Key")]
        key: IdempotencyKey,
        body: Json<IncrementIn>,
    ) -> Result<ActionDone, ApiError> {
        let action = Action::Increment {
            payment: payment_id.0,
            amount: body.0.amount,
        };
        act(&state, &tenant, order_id.0, action, key).await
    }

    /// Cancel (void) an authorization
    ///
    /// Releases the hold: nothing is charged. 409 `nothing_authorized` when the payment holds
    /// nothing. Idempotent. The order follows Stripe's `payment_intent.canceled`.
    #[oai(
        path = "/v1/tenants/:tenant/orders/:order_id/authorizations/:payment_id/cancel",
        method = "post",
        operation_id = "v1.authorizations.cancel"
    )]
    async fn cancel(
        &self,
        state: Data<&AppState>,
        /// Tenant slug or id.
        scope::Path(tenant): scope::Path,
        /// The order's id.
        order_id: Path<Uuid>,
        /// The authorized payment's id.
        payment_id: Path<Uuid>,
        /// Makes a retried request answer the same (1–255 visible ASCII characters).
        #[oai(name = "Idempotency-Key")]
        key: IdempotencyKey,
    ) -> Result<ActionDone, ApiError> {
        let action = Action::Cancel {
            payment: payment_id.0,
        };
        act(&state, &tenant, order_id.0, action, key).await
    }
}
