//! API: refunds of an order — `POST …/orders/{order_id}/refunds`. The refund is made at Stripe
//! with the tenant's key; the order itself changes only when Stripe's `charge.refunded` event
//! (or reconciliation) says the money moved, so the books have one source of truth.
use super::idempotency::IdempotencyKey;
use super::{ApiTags, scope};
use crate::app;
use crate::app::refunds::Ask;
use crate::error::ApiError;
use crate::state::AppState;
use crate::stripe::refunds::Reason;
use poem::web::Data;
use poem_openapi::param::Path;
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Enum, Object, OpenApi};
use uuid::Uuid;

/// Why the money goes back, as Stripe names it.
#[derive(Enum, Clone, Copy, Debug, PartialEq, Eq)]
#[oai(rename_all = "snake_case")]
pub enum RefundReason {
    Duplicate,
    Fraudulent,
    RequestedByCustomer,
}

/// A refund to make.
#[derive(Object)]
pub struct RefundIn {
    /// In minor units; default: all that remains of the order's payment.
    #[oai(
        deserialize_with = "super::strict::optional",
        validator(minimum(value = "1"), maximum(value = "99999999"))
    )]
    pub amount: Option<i64>,
    #[oai(deserialize_with = "super::strict::optional")]
    pub reason: Option<RefundReason>,
}

/// One Stripe refund of one of the order's payments.
#[derive(Object)]
pub struct RefundPart {
    /// Stripe's `re_…`.
    pub id: String,
    pub payment_id: Uuid,
    pub payment_intent: String,
    pub amount: i64,
    /// Stripe's status: `pending`, `requires_action`, `succeeded`, `failed` or `canceled`.
    #[oai(nullable)]
    pub status: Option<String>,
}

/// The refund, as Stripe made it: one Stripe refund per payment it took from (a split check is
/// refunded newest payment first). The order's `amount_refunded` and status follow when
/// Stripe's `charge.refunded` events arrive.
#[derive(Object)]
pub struct RefundOut {
    /// Stripe's `re_…` of the first (for a single payment, the only) refund in `refunds`.
    pub id: String,
    pub order_id: Uuid,
    /// The PaymentIntent of the first refund in `refunds`.
    pub payment_intent: String,
    /// The total refunded, over every refund in `refunds`.
    pub amount: i64,
    pub currency: String,
    /// Stripe's status of the first refund in `refunds`.
    #[oai(nullable)]
    pub status: Option<String>,
    /// The caller's `Idempotency-Key`, or (without one) the key the gateway sent to Stripe for
    /// the first refund, which is that request's own.
    pub idempotency_key: String,
    /// Every Stripe refund made, newest payment first.
    pub refunds: Vec<RefundPart>,
}

#[derive(ApiResponse)]
pub enum RefundCreated {
    /// The refund was made (a repeated call with the same key answers the same refund).
    #[oai(status = 201)]
    Created(Json<RefundOut>),
}

pub struct RefundsApi;

#[OpenApi(tag = "ApiTags::Orders")]
impl RefundsApi {
    /// Refund an order
    ///
    /// Refunds `amount` (default: all that remains) of the order's successful payments through
    /// Stripe: newest payment first, one Stripe refund per payment (a split check), each with its
    /// own idempotency key; the answer lists them. Every refund asked for counts against its
    /// payment until Stripe refuses it, so concurrent refunds never ask for more than was paid. Idempotent by `Idempotency-Key`
    /// (per order: the same key answers the same refund; the same key with another amount is
    /// 409 `idempotency_key_reused`); without one, each request is a new refund. 409
    /// `nothing_refundable` or `refund_exceeds_payment`; Stripe's refusal → 502 with its
    /// reason; no answer from Stripe → 503, the refund kept pending and asked again with the
    /// same key. The order settles from Stripe's `charge.refunded` event, not from this answer.
    #[oai(
        path = "/v1/tenants/:tenant/orders/:order_id/refunds",
        method = "post",
        operation_id = "v1.refunds.create"
    )]
    async fn create(
        &self,
        state: Data<&AppState>,
        /// Tenant slug or id.
        scope::Path(tenant): scope::Path,
        /// The order's id.
        order_id: Path<Uuid>,
        /// Makes a retried request answer the same refund (1–255 visible ASCII characters).
        #[oai(name = "Idempotency-Key")]
        key: IdempotencyKey,
        body: Json<RefundIn>,
    ) -> Result<RefundCreated, ApiError> {
        let caller_key = key.0;
        let reason = body.0.reason.map(|r| match r {
            RefundReason::Duplicate => Reason::Duplicate,
            RefundReason::Fraudulent => Reason::Fraudulent,
            RefundReason::RequestedByCustomer => Reason::RequestedByCustomer,
        });
        let ask = Ask {
            amount: body.0.amount,
            reason: reason.map(Reason::as_str),
            caller_key,
        };
        let made = app::refunds::refund(&state, &tenant, order_id.0, ask).await?;
        let Some(first) = made.first() else {
            // The plan always takes from at least one payment.
            return Err(ApiError::internal());
        };
        let out = RefundOut {
            id: first.stripe_refund_id.clone().unwrap_or_default(),
            order_id: first.order_id,
            payment_intent: first.payment_intent.clone(),
            amount: made.iter().map(|r| r.amount).sum(),
            currency: first.currency.clone(),
            status: first.stripe_status.clone(),
            idempotency_key: first
                .caller_key
                .clone()
                .unwrap_or_else(|| first.stripe_key.clone()),
            refunds: made
                .into_iter()
                .map(|r| RefundPart {
                    id: r.stripe_refund_id.unwrap_or_default(),
                    payment_id: r.payment_id,
                    payment_intent: r.payment_intent,
                    amount: r.amount,
                    status: r.stripe_status,
                })
                .collect(),
        };
        Ok(RefundCreated::Created(Json(out)))
    }
}
