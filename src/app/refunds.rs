//! Use case: refund an order. The refund is recorded (and planned against the books plus every
//! refund already asked for) in the transaction that locks the order — one request per payment
//! it takes from, newest payment first (a split check) — then Stripe is asked for each with the
//! request's own idempotency key, and each record is settled with Stripe's answer. The
//! order's books move only when Stripe's `charge.refunded` arrives. A request whose caller got
//! no answer from Stripe stays `pending` and is asked again, with the same key, by
//! [`retry_pending`] (every replica runs it; Stripe's idempotency makes a double ask harmless).
use crate::app::{Error, Result};
use crate::domain::refund::Refusal;
use crate::state::Context;
pub use crate::store::refunds::Ask;
use crate::store::refunds::{self as store, Answered, Reserved};
use crate::store::scope::ScopedTenant;
use crate::stripe::StripeCallError;
use crate::stripe::refunds::{self as stripe_refunds, Reason};
use entity::refund_requests::Model as Request;
use entity::status::RefundState;
use std::time::Duration;
use uuid::Uuid;

/// How long a request stays `pending` before the retry job asks Stripe again (longer than any
/// call of the request that recorded it can take).
const RETRY_AFTER: Duration = Duration::from_secs(120);

/// Refunds `ask` of order `order_id`: the requests (one per payment) as Stripe made them.
pub async fn refund(
    state: &Context,
    tenant: &ScopedTenant,
    order_id: Uuid,
    ask: Ask,
) -> Result<Vec<Request>> {
    let requests = match store::reserve(&state.db, tenant, order_id, ask).await? {
        Reserved::New(requests) | Reserved::Existing(requests) => requests,
        Reserved::KeyReused(total) => {
            return Err(Error::conflict(
                "idempotency_key_reused",
                format!(
                    "Idempotency-Key: already used on this order for a refund of {total}; use a new key for another refund"
                ),
            ));
        }
        Reserved::NoOrder => return Err(Error::NotFound("order")),
        Reserved::Refused(Refusal::NothingRefundable) => {
            return Err(Error::conflict(
                "nothing_refundable",
                "the order has no successful payment with money left to refund (refunds already asked for count)",
            ));
        }
        Reserved::Refused(Refusal::Exceeds { remaining }) => {
            return Err(Error::conflict(
                "refund_exceeds_payment",
                format!(
                    "amount: at most {remaining} remains to refund on the order's payments (refunds already asked for count)"
                ),
            ));
        }
    };
    // A part Stripe refused refuses the whole (a pending part is left to the retry job).
    if let Some(failed) = requests.iter().find(|r| r.state == RefundState::Failed) {
        return Err(refused_before(failed));
    }
    if requests.iter().all(|r| r.state == RefundState::Made) {
        return Ok(requests);
    }
    let client = super::tenant_stripe(state, tenant.id).await?;
    let mut made = Vec::with_capacity(requests.len());
    for mut request in requests {
        if request.state == RefundState::Pending {
            request = ask_stripe(state, &client.stripe, request).await?;
            tracing::info!(tenant = %tenant.slug, order = %order_id, refund = ?request.stripe_refund_id, amount = request.amount, "refund made at Stripe");
        }
        made.push(request);
    }
    Ok(made)
}

/// Asks Stripe for `request` and settles it with the answer; without an answer it stays
/// `pending` (503: asked again later with the same key).
async fn ask_stripe(
    state: &Context,
    stripe: &crate::stripe::http::TenantStripe,
    request: Request,
) -> Result<Request> {
    let reason = request.reason.as_deref().and_then(Reason::parse);
    let asked = stripe_refunds::create(
        stripe,
        &request.payment_intent,
        request.amount,
        reason,
        request.order_id,
        &request.stripe_key,
    )
    .await;
    match asked {
        Ok(made) => {
            let answer = Answered::Made {
                refund_id: &made.id,
                status: made.status.as_deref(),
            };
            Ok(store::settle(&state.db, request, answer).await?)
        }
        Err(e) if definitive(&e) => {
            let why = e.to_string();
            store::settle(&state.db, request, Answered::Refused(&why)).await?;
            Err(e.into())
        }
        Err(e) => {
            tracing::warn!(error = %e, request = %request.id, "refund asked of Stripe without an answer; kept pending, asked again later");
            Err(Error::unavailable(
                "stripe_unavailable",
                format!(
                    "Stripe did not answer ({e}); the refund is recorded as pending and asked again with the same key: retry with the same Idempotency-Key to see it"
                ),
            ))
        }
    }
}

/// True when Stripe's answer says the refund was not made and never will be with this key: a
/// 4xx other than 409 (the same key in flight) and 429 (slow down).
fn definitive(e: &StripeCallError) -> bool {
    matches!(e, StripeCallError::Api { status, .. } if (400..500).contains(status) && *status != 409 && *status != 429)
}

fn refused_before(request: &Request) -> Error {
    Error::RefusedBefore(
        request
            .failure
            .clone()
            .unwrap_or_else(|| "Stripe refused this refund".into()),
    )
}

/// Asks Stripe again for every request left `pending` for longer than [`RETRY_AFTER`].
pub async fn retry_pending(state: &Context) -> Result<usize> {
    let before = chrono::Utc::now() - RETRY_AFTER;
    let pending = store::stale_pending(&state.db, before, 50).await?;
    let mut settled = 0;
    for request in pending {
        let Ok(client) = super::tenant_stripe(state, request.tenant_id).await else {
            continue;
        };
        if ask_stripe(state, &client.stripe, request).await.is_ok() {
            settled += 1;
        }
    }
    Ok(settled)
}
