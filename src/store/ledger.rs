//! Store: writes to the facts events are applied to — payments, disputes, orders' derived status
//! (one upsert per table per batch) and scrubbed customers — always scoped to one tenant. The
//! locked reads are the write path's storage seam (`store::facts`).
use chrono::{DateTime, Utc};
use entity::{disputes, orders, payments, scrubbed_customers};
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, IdenStatic,
    IntoActiveModel, Iterable, QueryFilter, Set,
};
use uuid::Uuid;

/// Records that a customer was deleted and scrubs their personal data from the tenant's
/// payments and the orders those payments belong to. Money facts stay.
pub async fn scrub_customer<C: ConnectionTrait>(
    db: &C,
    tenant_id: Uuid,
    customer: &str,
    now: DateTime<Utc>,
) -> Result<u64, DbErr> {
    scrubbed_customers::Entity::insert(scrubbed_customers::ActiveModel {
        tenant_id: Set(tenant_id),
        customer_id: Set(customer.to_owned()),
        scrubbed_at: Set(now),
    })
    .on_conflict_do_nothing_on([
        scrubbed_customers::Column::TenantId,
        scrubbed_customers::Column::CustomerId,
    ])
    .exec_without_returning(db)
    .await?;
    let theirs = payments::Entity::find()
        .filter(payments::Column::TenantId.eq(tenant_id))
        .filter(payments::Column::CustomerId.eq(customer))
        .all(db)
        .await?;
    let order_ids: Vec<Uuid> = theirs.iter().filter_map(|p| p.order_id).collect();
    let scrubbed = payments::Entity::update_many()
        .col_expr(
            payments::Column::CustomerEmail,
            Expr::value(Option::<String>::None),
        )
        .col_expr(
            payments::Column::CustomerName,
            Expr::value(Option::<String>::None),
        )
        .col_expr(payments::Column::UpdatedAt, Expr::value(now))
        .filter(payments::Column::TenantId.eq(tenant_id))
        .filter(payments::Column::CustomerId.eq(customer))
        .exec(db)
        .await?
        .rows_affected;
    if !order_ids.is_empty() {
        orders::Entity::update_many()
            .col_expr(
                orders::Column::CustomerEmail,
                Expr::value(Option::<String>::None),
            )
            .col_expr(orders::Column::UpdatedAt, Expr::value(now))
            .filter(orders::Column::TenantId.eq(tenant_id))
            .filter(orders::Column::Id.is_in(order_ids))
            .exec(db)
            .await?;
    }
    Ok(scrubbed)
}

/// Writes these payments whole, new or changed, in one statement.
pub async fn upsert_payments<C: ConnectionTrait>(
    db: &C,
    rows: Vec<payments::Model>,
) -> Result<(), DbErr> {
    upsert::<C, payments::Entity>(db, rows, payments::Column::Id, PAYMENT_FIXED).await
}

/// Writes these disputes whole, new or changed, in one statement.
pub async fn upsert_disputes<C: ConnectionTrait>(
    db: &C,
    rows: Vec<disputes::Model>,
) -> Result<(), DbErr> {
    upsert::<C, disputes::Entity>(db, rows, disputes::Column::Id, DISPUTE_FIXED).await
}

/// Writes these (existing) orders' derived status and facts in one statement.
pub async fn update_orders<C: ConnectionTrait>(
    db: &C,
    rows: Vec<orders::Model>,
) -> Result<(), DbErr> {
    upsert::<C, orders::Entity>(db, rows, orders::Column::Id, ORDER_FIXED).await
}

/// Columns an upsert never rewrites: identity, creation time, the Stripe id a row is keyed by,
/// and what the tenant set on an order. (SQLite rewrites an index entry whenever its column is in
/// the SET list, changed or not.)
/// A payment's `expiry_warned_at` is the warning job's alone (a conditional update): the write
/// path never sets it, so a batch never undoes a warning.
pub const PAYMENT_FIXED: &[&str] = &[
    "id",
    "tenant_id",
    "created_at",
    "stripe_payment_intent_id",
    "expiry_warned_at",
];
pub const DISPUTE_FIXED: &[&str] = &["id", "tenant_id", "created_at", "stripe_dispute_id"];
pub const ORDER_FIXED: &[&str] = &[
    "id",
    "tenant_id",
    "created_at",
    "reference",
    "amount",
    "currency",
    "metadata",
];

/// `INSERT … ON CONFLICT (id) DO UPDATE` of every column but `fixed`: one statement for a whole
/// batch, on both backends.
async fn upsert<C, E>(
    db: &C,
    rows: Vec<E::Model>,
    id: E::Column,
    fixed: &[&str],
) -> Result<(), DbErr>
where
    C: ConnectionTrait,
    E: EntityTrait,
    E::Model: IntoActiveModel<E::ActiveModel>,
    E::ActiveModel: ActiveModelTrait<Entity = E> + Send,
{
    if rows.is_empty() {
        return Ok(());
    }
    let update: Vec<E::Column> = E::Column::iter()
        .filter(|c| !fixed.contains(&c.as_str()))
        .collect();
    E::insert_many(rows.into_iter().map(|r| r.into_active_model().reset_all()))
        .on_conflict(OnConflict::column(id).update_columns(update).to_owned())
        .exec_without_returning(db)
        .await
        .map(|_| ())
}
