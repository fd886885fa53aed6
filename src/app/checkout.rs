//! Use case: a Stripe Checkout Session for an order, or for one diner's share of it. The share
//! is checked against the order's books (`domain::checkout`), the session created at Stripe with
//! the tenant's key (a connected tenant: the platform's, with its fee on the share), and the
//! order remembers its latest session.
use crate::app::{Error, Result};
use crate::domain::checkout::{self, Refusal, Share};
use crate::state::Context;
use crate::store;
use crate::store::scope::ScopedTenant;
use uuid::Uuid;

/// What the customer is sent to pay.
pub struct Ask {
    pub amount: Option<i64>,
    pub tip: Option<i64>,
    pub manual: bool,
    pub success_url: String,
    pub cancel_url: String,
    pub caller_key: Option<String>,
}

/// The session made: its id, its URL, and the share it asks for.
pub struct Made {
    pub session_id: String,
    pub url: String,
    pub share: Share,
}

pub async fn create_session(
    state: &Context,
    tenant: &ScopedTenant,
    order_id: Uuid,
    ask: Ask,
) -> Result<Made> {
    let order = store::owned::get::<entity::orders::Entity, _>(&state.db, tenant, order_id)
        .await?
        .ok_or_else(|| Error::NotFound("order"))?;
    let share = checkout::share(&order, ask.amount, ask.tip, ask.manual).map_err(refusal)?;
    let key = checkout::idempotency_key(&order, &share, ask.caller_key.as_deref());
    let client = super::tenant_stripe(state, tenant.id).await?;
    let fee = client
        .connected_account
        .is_some()
        .then(|| crate::domain::application_fee(share.amount, client.application_fee_bps));
    let urls = (ask.success_url.as_str(), ask.cancel_url.as_str());
    let session =
        crate::stripe::checkout::create_session(&client.stripe, &order, &share, fee, urls, &key)
            .await?;
    store::orders::set_checkout_session(&state.db, tenant, order.id, &session.id).await?;
    tracing::info!(tenant = %tenant.slug, order = %order.id, session = %session.id, amount = share.amount, tip = share.tip, "checkout session created");
    Ok(Made {
        url: session.url.unwrap_or_default(),
        session_id: session.id,
        share,
    })
}

fn refusal(r: Refusal) -> Error {
    match r {
        Refusal::NotPayable(status) => Error::conflict(
            "order_not_payable",
            format!(
                "the order is {status}; only a PAYMENT_PENDING or PARTIALLY_PAID order can be paid"
            ),
        ),
        Refusal::ExceedsDue { due } => Error::conflict(
            "amount_exceeds_due",
            format!("amount: at most {due} is due on the order"),
        ),
        Refusal::TipOverLimit { most } => super::tip_over_limit(most),
    }
}
