//! Store: authorizations about to lapse — live holds (`authorized` payments of an order) whose
//! deadline falls inside the warning window, and the notice of each, written once: the
//! payment's `expiry_warned_at` is set by a conditional update in the transaction that writes
//! the notice to the outbox, so of two replicas scanning at once exactly one writes it.
use chrono::{DateTime, Utc};
use entity::status::PaymentStatus;
use entity::{order_changes, orders, payments};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, DbErr, EntityTrait, PaginatorTrait,
    QueryFilter, QueryOrder, QuerySelect,
};
use uuid::Uuid;

pub use crate::domain::notification::EXPIRING;

fn live_until(now: DateTime<Utc>, until: DateTime<Utc>) -> sea_orm::Select<payments::Entity> {
    payments::Entity::find()
        .filter(payments::Column::Status.eq(PaymentStatus::Authorized))
        .filter(payments::Column::CaptureBefore.gt(now))
        .filter(payments::Column::CaptureBefore.lte(until))
        .filter(payments::Column::OrderId.is_not_null())
}

/// How many live holds lapse between `now` and `until` (the gauge).
pub async fn lapsing_count<C: ConnectionTrait>(
    db: &C,
    now: DateTime<Utc>,
    until: DateTime<Utc>,
) -> Result<u64, DbErr> {
    live_until(now, until).count(db).await
}

/// Live holds lapsing between `now` and `until` not yet announced, soonest first.
pub async fn unannounced<C: ConnectionTrait>(
    db: &C,
    now: DateTime<Utc>,
    until: DateTime<Utc>,
    limit: u64,
) -> Result<Vec<payments::Model>, DbErr> {
    live_until(now, until)
        .filter(payments::Column::ExpiryWarnedAt.is_null())
        .order_by_asc(payments::Column::CaptureBefore)
        .limit(limit)
        .all(db)
        .await
}

/// Announces that `hold` lapses: marks it warned and writes the notice for its order, unless
/// another replica did first or it is no longer live. True when this call wrote it.
pub async fn announce(
    db: &DatabaseConnection,
    hold: &payments::Model,
    now: DateTime<Utc>,
) -> Result<bool, DbErr> {
    let Some(order_id) = hold.order_id else {
        return Ok(false);
    };
    let txn = crate::db::begin_write(db).await?;
    let claimed = payments::Entity::update_many()
        .col_expr(payments::Column::ExpiryWarnedAt, Expr::value(now))
        .filter(payments::Column::Id.eq(hold.id))
        .filter(payments::Column::ExpiryWarnedAt.is_null())
        .filter(payments::Column::Status.eq(PaymentStatus::Authorized))
        .exec(&txn)
        .await?;
    let order = orders::Entity::find_by_id(order_id)
        .filter(orders::Column::TenantId.eq(hold.tenant_id))
        .one(&txn)
        .await?;
    let (1, Some(order)) = (claimed.rows_affected, order) else {
        txn.rollback().await?;
        return Ok(false);
    };
    let notice = order_changes::Model {
        id: Uuid::now_v7(),
        tenant_id: order.tenant_id,
        order_id: order.id,
        reference: order.reference,
        from_status: order.status,
        to_status: order.status,
        amount: order.amount,
        currency: order.currency,
        refunded_from: order.amount_refunded,
        refunded_to: order.amount_refunded,
        amount_paid: order.amount_paid,
        tip_amount: order.tip_amount,
        amount_due: order.amount_due,
        amount_authorized: order.amount_authorized,
        cause: hold.stripe_payment_intent_id.clone(),
        created_at: now,
        dispatched_at: None,
        kind: Some(EXPIRING.to_owned()),
        payment_id: Some(hold.id),
        capture_before: hold.capture_before,
    };
    super::outbox::record(&txn, &[notice]).await?;
    txn.commit().await?;
    Ok(true)
}
