//! API: refunds of an order — `POST …/orders/{order_id}/refunds`. The refund is made at Stripe
//! with the tenant's key; the order itself changes only when Stripe's `charge.refunded` event
//! (or reconciliation) says the money moved, so the books have one source of truth.
use super::{ApiTags, BearerAuth, tenant_in_scope};
use crate::domain::refund::{self, Refusal};
use crate::error::ApiError;
use crate::state::AppState;
use crate::store;
use crate::stripe::refunds::{self as stripe_refunds, Reason};
use poem::web::Data;
use poem_openapi::param::{Header, Path};
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

/// The refund, as Stripe made it. The order's `amount_refunded` and status follow when Stripe's
/// `charge.refunded` event arrives.
#[derive(Object)]
pub struct RefundOut {
    /// Stripe's `re_…`.
    pub id: String,
    pub order_id: Uuid,
    pub payment_intent: String,
    pub amount: i64,
    pub currency: String,
    /// Stripe's status: `pending`, `requires_action`, `succeeded`, `failed` or `canceled`.
    #[oai(nullable)]
    pub status: Option<String>,
    /// The key the refund was made with (the caller's, or one derived from the order).
    pub idempotency_key: String,
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
    /// Refunds `amount` (default: all that remains) of the order's successful payment through
    /// Stripe. Idempotent by `Idempotency-Key` (without one, a key derived from the order, the
    /// amount and what was already refunded: a retry dedupes, a later refund is a new one).
    /// 409 `nothing_refundable` or `refund_exceeds_payment`; Stripe's refusal → 502 with its
    /// reason. The order settles from Stripe's `charge.refunded` event, not from this answer.
    #[oai(
        path = "/v1/tenants/:tenant/orders/:order_id/refunds",
        method = "post",
        operation_id = "v1.refunds.create"
    )]
    async fn create(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        /// Tenant slug or id.
        tenant: Path<String>,
        /// The order's id.
        order_id: Path<Uuid>,
        /// Makes a retried request answer the same refund (1–255 visible ASCII characters).
        #[oai(
            name = "Idempotency-Key",
            validator(min_length = 1, max_length = 255, pattern = r"^[!-~]+$")
        )]
        _idempotency_key: Header<Option<String>>,
        body: Json<RefundIn>,
        request: &poem::Request,
    ) -> Result<RefundCreated, ApiError> {
        let tenant = tenant_in_scope(&state, &auth.0, &tenant.0).await?;
        // Read off the request itself: a header sent empty is a caller's mistake to refuse, not
        // a missing key to derive.
        let given = match request.headers().get("idempotency-key") {
            Some(raw) => {
                Some(refund::parse_idempotency_key(raw.to_str().unwrap_or(""))?.to_owned())
            }
            None => None,
        };
        let order = store::orders::get(&state.db, &tenant, order_id.0)
            .await?
            .ok_or_else(|| ApiError::not_found("order"))?;
        let payments = store::payments::of_order(&state.db, &tenant, order.id).await?;
        let plan = refund::plan(&payments, body.0.amount).map_err(|r| match r {
            Refusal::NothingRefundable => ApiError::conflict(
                "nothing_refundable",
                "the order has no successful payment with money left to refund",
            ),
            Refusal::Exceeds { remaining } => ApiError::conflict(
                "refund_exceeds_payment",
                format!("amount: at most {remaining} remains to refund on the order's payment"),
            ),
        })?;
        let key = given.unwrap_or_else(|| refund::derived_key(order.id, &plan));
        let client = super::tenant_stripe(&state, tenant.id).await?;
        let reason = body.0.reason.map(|r| match r {
            RefundReason::Duplicate => Reason::Duplicate,
            RefundReason::Fraudulent => Reason::Fraudulent,
            RefundReason::RequestedByCustomer => Reason::RequestedByCustomer,
        });
        let made = stripe_refunds::create(&client.stripe, &plan, reason, order.id, &key).await?;
        tracing::info!(tenant = %tenant.slug, order = %order.id, refund = %made.id, amount = made.amount, "refund made at Stripe");
        Ok(RefundCreated::Created(Json(RefundOut {
            id: made.id,
            order_id: order.id,
            payment_intent: plan.payment_intent,
            amount: made.amount,
            currency: made.currency,
            status: made.status,
            idempotency_key: key,
        })))
    }
}
