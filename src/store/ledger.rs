//! Store: the facts events are applied to — payments, disputes, orders' expiry and status, and
//! scrubbed customers — always scoped to one tenant. Facts about to be merged are read with
//! `FOR UPDATE` (PostgreSQL; SQLite's write transaction already excludes other writers), always
//! in the order dispute → payment → order, so replicas applying events about the same payment
//! serialize instead of losing an update, and never deadlock.
use chrono::{DateTime, Utc};
use entity::{disputes, orders, payments, scrubbed_customers};
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, DbErr, EntityTrait, IdenStatic,
    IntoActiveModel, Iterable, QueryFilter, QuerySelect, Set,
};
use uuid::Uuid;

pub async fn payment_by_intent<C: ConnectionTrait>(
    db: &C,
    tenant_id: Uuid,
    pi: &str,
) -> Result<Option<payments::Model>, DbErr> {
    payments::Entity::find()
        .filter(payments::Column::TenantId.eq(tenant_id))
        .filter(payments::Column::StripePaymentIntentId.eq(pi))
        .lock_exclusive()
        .one(db)
        .await
}

pub async fn payment_by_charge<C: ConnectionTrait>(
    db: &C,
    tenant_id: Uuid,
    charge: &str,
) -> Result<Option<payments::Model>, DbErr> {
    payments::Entity::find()
        .filter(payments::Column::TenantId.eq(tenant_id))
        .filter(payments::Column::StripeChargeId.eq(charge))
        .lock_exclusive()
        .one(db)
        .await
}

/// The first of `ids` that is an order of this tenant (another tenant's id is never found).
pub async fn order_among<C: ConnectionTrait>(
    db: &C,
    tenant_id: Uuid,
    ids: &[Uuid],
) -> Result<Option<orders::Model>, DbErr> {
    for id in ids {
        let found = orders::Entity::find_by_id(*id)
            .filter(orders::Column::TenantId.eq(tenant_id))
            .lock_exclusive()
            .one(db)
            .await?;
        if found.is_some() {
            return Ok(found);
        }
    }
    Ok(None)
}

pub async fn customer_scrubbed<C: ConnectionTrait>(
    db: &C,
    tenant_id: Uuid,
    customer: Option<&str>,
) -> Result<bool, DbErr> {
    let Some(customer) = customer else {
        return Ok(false);
    };
    Ok(
        scrubbed_customers::Entity::find_by_id((tenant_id, customer.to_owned()))
            .one(db)
            .await?
            .is_some(),
    )
}

/// Inserts or updates a payment (all fields).
pub async fn save_payment<C: ConnectionTrait>(
    db: &C,
    p: payments::Model,
    is_new: bool,
) -> Result<payments::Model, DbErr> {
    let am = p.into_active_model().reset_all();
    if is_new {
        am.insert(db).await
    } else {
        am.update(db).await
    }
}

pub async fn dispute_by_id<C: ConnectionTrait>(
    db: &C,
    tenant_id: Uuid,
    dispute: &str,
) -> Result<Option<disputes::Model>, DbErr> {
    disputes::Entity::find()
        .filter(disputes::Column::TenantId.eq(tenant_id))
        .filter(disputes::Column::StripeDisputeId.eq(dispute))
        .lock_exclusive()
        .one(db)
        .await
}

pub async fn save_dispute<C: ConnectionTrait>(
    db: &C,
    d: disputes::Model,
    is_new: bool,
) -> Result<disputes::Model, DbErr> {
    let am = d.into_active_model().reset_all();
    if is_new {
        am.insert(db).await
    } else {
        am.update(db).await
    }
}

/// Links disputes that arrived before their payment.
pub async fn link_disputes<C: ConnectionTrait>(db: &C, p: &payments::Model) -> Result<(), DbErr> {
    let mut which = Condition::any()
        .add(disputes::Column::StripePaymentIntentId.eq(p.stripe_payment_intent_id.clone()));
    if let Some(charge) = &p.stripe_charge_id {
        which = which.add(disputes::Column::StripeChargeId.eq(charge.clone()));
    }
    disputes::Entity::update_many()
        .col_expr(disputes::Column::PaymentId, Expr::value(Some(p.id)))
        .col_expr(disputes::Column::OrderId, Expr::value(p.order_id))
        .col_expr(
            disputes::Column::StripePaymentIntentId,
            Expr::value(Some(p.stripe_payment_intent_id.clone())),
        )
        .filter(disputes::Column::TenantId.eq(p.tenant_id))
        .filter(disputes::Column::PaymentId.is_null())
        .filter(which)
        .exec(db)
        .await?;
    Ok(())
}

pub async fn order<C: ConnectionTrait>(
    db: &C,
    tenant_id: Uuid,
    id: Uuid,
) -> Result<Option<orders::Model>, DbErr> {
    orders::Entity::find_by_id(id)
        .filter(orders::Column::TenantId.eq(tenant_id))
        .lock_exclusive()
        .one(db)
        .await
}

/// Disputes that concern any of these payments.
pub async fn disputes_of<C: ConnectionTrait>(
    db: &C,
    tenant_id: Uuid,
    payments: &[payments::Model],
) -> Result<Vec<disputes::Model>, DbErr> {
    if payments.is_empty() {
        return Ok(Vec::new());
    }
    let pis: Vec<String> = payments
        .iter()
        .map(|p| p.stripe_payment_intent_id.clone())
        .collect();
    let charges: Vec<String> = payments
        .iter()
        .filter_map(|p| p.stripe_charge_id.clone())
        .collect();
    disputes::Entity::find()
        .filter(disputes::Column::TenantId.eq(tenant_id))
        .filter(
            Condition::any()
                .add(disputes::Column::StripePaymentIntentId.is_in(pis))
                .add(disputes::Column::StripeChargeId.is_in(charges)),
        )
        .all(db)
        .await
}

/// Writes the order's derived status and refunded amount, and the facts it carries.
pub async fn update_order<C: ConnectionTrait>(db: &C, order: orders::Model) -> Result<(), DbErr> {
    order
        .into_active_model()
        .reset_all()
        .update(db)
        .await
        .map(|_| ())
}

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
    upsert::<C, payments::Entity>(db, rows, payments::Column::Id).await
}

/// Writes these disputes whole, new or changed, in one statement.
pub async fn upsert_disputes<C: ConnectionTrait>(
    db: &C,
    rows: Vec<disputes::Model>,
) -> Result<(), DbErr> {
    upsert::<C, disputes::Entity>(db, rows, disputes::Column::Id).await
}

/// Writes these (existing) orders' derived status and facts in one statement.
pub async fn update_orders<C: ConnectionTrait>(
    db: &C,
    rows: Vec<orders::Model>,
) -> Result<(), DbErr> {
    upsert::<C, orders::Entity>(db, rows, orders::Column::Id).await
}

/// `INSERT … ON CONFLICT (id) DO UPDATE` of every column but the id, the tenant and the
/// creation time: one statement for a whole batch, on both backends.
async fn upsert<C, E>(db: &C, rows: Vec<E::Model>, id: E::Column) -> Result<(), DbErr>
where
    C: ConnectionTrait,
    E: EntityTrait,
    E::Model: IntoActiveModel<E::ActiveModel>,
    E::ActiveModel: ActiveModelTrait<Entity = E> + Send,
{
    if rows.is_empty() {
        return Ok(());
    }
    let fixed = ["id", "tenant_id", "created_at"];
    let update: Vec<E::Column> = E::Column::iter()
        .filter(|c| !fixed.contains(&c.as_str()))
        .collect();
    E::insert_many(rows.into_iter().map(|r| r.into_active_model().reset_all()))
        .on_conflict(OnConflict::column(id).update_columns(update).to_owned())
        .exec_without_returning(db)
        .await
        .map(|_| ())
}
