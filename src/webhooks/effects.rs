//! Webhooks: carries an observation's effects into the store — load the facts it touches, merge
//! with the pure rules of `apply`, save, and re-derive the affected order.
use super::apply::{self, DisputeObs, EventCtx, Observation, PaymentObs};
use crate::store::ledger;
use sea_orm::{ConnectionTrait, DbErr};
use uuid::Uuid;

/// Applies `obs` for the tenant in `ctx`. Must run inside the event's transaction.
pub async fn apply<C: ConnectionTrait>(
    db: &C,
    ctx: &EventCtx,
    obs: &Observation,
) -> Result<(), DbErr> {
    match obs {
        Observation::Payment(p) => apply_payment(db, ctx, p).await,
        Observation::Dispute(d) => apply_dispute(db, ctx, d).await,
        Observation::CheckoutExpired { order_refs } => {
            if let Some(order) = ledger::order_among(db, ctx.tenant_id, order_refs).await? {
                rederive(db, ctx, order, |o| {
                    o.expired_at = o.expired_at.or(Some(ctx.now));
                })
                .await?;
            }
            Ok(())
        }
        Observation::CustomerDeleted { customer_id } => {
            ledger::scrub_customer(db, ctx.tenant_id, customer_id, ctx.now)
                .await
                .map(|_| ())
        }
        Observation::Ignored(_) => Ok(()),
    }
}

async fn apply_payment<C: ConnectionTrait>(
    db: &C,
    ctx: &EventCtx,
    obs: &PaymentObs,
) -> Result<(), DbErr> {
    let existing = ledger::payment_by_intent(db, ctx.tenant_id, &obs.payment_intent).await?;
    let linked = match existing.as_ref().and_then(|p| p.order_id) {
        Some(id) => ledger::order(db, ctx.tenant_id, id).await?,
        None => ledger::order_among(db, ctx.tenant_id, &obs.order_refs).await?,
    };
    let scrubbed = ledger::customer_scrubbed(db, ctx.tenant_id, obs.customer_id.as_deref()).await?;
    let merged = apply::merge_payment(
        existing.as_ref(),
        obs,
        ctx,
        linked.as_ref().map(|o| o.id),
        scrubbed,
    );
    let payment = ledger::save_payment(db, merged, existing.is_none()).await?;
    ledger::link_disputes(db, &payment).await?;
    if let Some(order) = linked {
        rederive(db, ctx, order, |o| {
            if o.checkout_session_id.is_none() {
                o.checkout_session_id = obs.checkout_session_id.clone();
            }
            if o.customer_email.is_none() && !scrubbed {
                o.customer_email = payment.customer_email.clone();
            }
        })
        .await?;
    }
    Ok(())
}

async fn apply_dispute<C: ConnectionTrait>(
    db: &C,
    ctx: &EventCtx,
    obs: &DisputeObs,
) -> Result<(), DbErr> {
    let existing = ledger::dispute_by_id(db, ctx.tenant_id, &obs.dispute_id).await?;
    let payment = match (&obs.payment_intent, &obs.charge_id) {
        (Some(pi), _) => ledger::payment_by_intent(db, ctx.tenant_id, pi).await?,
        (None, Some(charge)) => ledger::payment_by_charge(db, ctx.tenant_id, charge).await?,
        (None, None) => None,
    };
    let merged = apply::merge_dispute(existing.as_ref(), obs, ctx, payment.as_ref());
    let order_id: Option<Uuid> = merged.order_id;
    if existing.as_ref() != Some(&merged) {
        ledger::save_dispute(db, merged, existing.is_none()).await?;
    }
    if let Some(id) = order_id
        && let Some(order) = ledger::order(db, ctx.tenant_id, id).await?
    {
        rederive(db, ctx, order, |_| {}).await?;
    }
    Ok(())
}

/// Re-derives an order's status from all its payments and disputes after `change` (facts the
/// event sets on the order), and saves the order only if anything changed.
async fn rederive<C: ConnectionTrait>(
    db: &C,
    ctx: &EventCtx,
    before: entity::orders::Model,
    change: impl FnOnce(&mut entity::orders::Model),
) -> Result<(), DbErr> {
    let mut order = before.clone();
    change(&mut order);
    let payments = crate::store::payments::of_order(db, ctx.tenant_id, order.id).await?;
    let disputes = ledger::disputes_of(db, ctx.tenant_id, &payments).await?;
    let (status, refunded) = apply::derive_order(&order, &payments, &disputes);
    order.status = status.to_owned();
    order.amount_refunded = refunded;
    if order == before {
        return Ok(());
    }
    order.updated_at = ctx.now;
    ledger::update_order(db, order).await
}
