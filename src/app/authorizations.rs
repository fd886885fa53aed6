//! Use case: act on an order's authorizations — capture with the tip, increment a bar tab, void.
//! The order and its payments are read, the action planned by the domain's rules (refused with
//! a 409 before anything is sent), then asked of Stripe with an idempotency key (the caller's,
//! scoped to the payment, else one derived from the payment and the amounts). Nothing is
//! recorded and the books do not move here: Stripe's idempotency makes a repeat answer the same,
//! its state machine refuses a second capture, and the order settles from the webhook.
use crate::app::{Error, Result};
use crate::domain::authorization::{self, Action, Plan, Refusal};
use crate::state::Context;
use crate::store;
use crate::store::scope::ScopedTenant;
use uuid::Uuid;

/// What was asked of Stripe, and its answer.
pub struct Done {
    pub plan: Plan,
    /// The PaymentIntent's status as Stripe answered.
    pub stripe_status: Option<String>,
    /// The caller's key, or the one the gateway derived.
    pub idempotency_key: String,
}

pub async fn act(
    state: &Context,
    tenant: &ScopedTenant,
    order_id: Uuid,
    action: Action,
    caller_key: Option<String>,
) -> Result<Done> {
    let order = store::owned::get::<entity::orders::Entity, _>(&state.db, tenant, order_id)
        .await?
        .ok_or_else(|| Error::NotFound("order"))?;
    let payments = store::payments::of_order(&state.db, tenant, order_id).await?;
    let plan = authorization::plan(&order, &payments, action).map_err(refusal)?;
    let key = authorization::stripe_key(&action, &plan, caller_key.as_deref());
    let client = super::tenant_stripe(state, tenant.id).await?;
    let answer = crate::stripe::authorizations::act(&client.stripe, &action, &plan, &key).await?;
    tracing::info!(tenant = %tenant.slug, order = %order_id, payment = %plan.payment_id, action = action.name(), amount = plan.amount, "authorization action made at Stripe");
    Ok(Done {
        plan,
        stripe_status: answer.status,
        idempotency_key: caller_key.unwrap_or(key),
    })
}

fn refusal(r: Refusal) -> Error {
    match r {
        Refusal::NoSuchPayment => Error::NotFound("payment"),
        Refusal::NothingAuthorized => Error::conflict(
            "nothing_authorized",
            "no live authorization to act on: the payment is not authorized (captured, voided, expired, or never held)",
        ),
        Refusal::Ambiguous(ids) => Error::conflict(
            "ambiguous_payment",
            format!(
                "payment_id: the order has {} authorizations ({}); name the one to capture",
                ids.len(),
                ids.iter()
                    .map(Uuid::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        ),
        Refusal::NothingDue => Error::conflict(
            "nothing_due",
            "the order's amount is paid already: nothing to capture; cancel the authorization to release it",
        ),
        Refusal::CurrencyMismatch => Error::conflict(
            "currency_mismatch",
            "the authorization is in another currency than the order: cancel it instead",
        ),
        Refusal::TipOverLimit { most } => super::tip_over_limit(most),
        Refusal::TipExceedsAuthorization { most, share } => Error::conflict(
            "tip_exceeds_authorization",
            format!(
                "tip_amount: at most {most} can be captured from this authorization ({share} due, so a tip of at most {}); nothing was sent to Stripe",
                most - share
            ),
        ),
        Refusal::IncrementNotSupported => Error::conflict(
            "increment_not_supported",
            "Stripe did not offer incremental authorization for this payment (payment_method_details.card.incremental_authorization)",
        ),
        Refusal::NotAnIncrease { current } => Error::conflict(
            "not_an_increase",
            format!("amount: the new total must be more than the {current} authorized now"),
        ),
    }
}

/// Announces every live authorization lapsing within the warning window that was not yet
/// announced (once, whichever replica gets there first), and sets the gauge of those lapsing.
pub async fn announce_lapsing(state: &Context) -> Result<usize, sea_orm::DbErr> {
    let now = chrono::Utc::now();
    let window = chrono::Duration::from_std(state.config.authorization_warning)
        .unwrap_or(chrono::Duration::MAX);
    let until = now
        .checked_add_signed(window)
        .unwrap_or(chrono::DateTime::<chrono::Utc>::MAX_UTC);
    let lapsing = store::holds::lapsing_count(&state.db, now, until).await?;
    crate::telemetry::authorizations_lapsing(lapsing);
    let mut announced = 0;
    loop {
        let due = store::holds::unannounced(&state.db, now, until, 100).await?;
        let mut this_page = 0;
        for hold in &due {
            if store::holds::announce(&state.db, hold, now).await? {
                this_page += 1;
            }
        }
        announced += this_page;
        // A short page is the last; a page of nothing announceable would come back the same.
        if due.len() < 100 || this_page == 0 {
            break;
        }
    }
    if announced > 0 {
        state.notifier.wake();
    }
    Ok(announced)
}
