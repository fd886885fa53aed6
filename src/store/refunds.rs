//! Store: refund requests — each refund the gateway asks Stripe for, recorded (and planned) in
//! the transaction that locks its order, before Stripe is called; then settled with Stripe's
//! answer. The order's row lock (PostgreSQL; SQLite's write transaction is exclusive) makes
//! concurrent requests for one order plan one after the other, each seeing the others' amounts.
use super::scope::ScopedTenant;
use crate::domain::refund::{self, Refusal};
use chrono::{DateTime, Utc};
use entity::status::RefundState;
use entity::{orders, payments, refund_requests as requests};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DatabaseConnection, DbErr, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Set,
};
use std::collections::HashMap;
use uuid::Uuid;

/// A refund to record.
pub struct Ask {
    /// In minor units; `None`: all that remains.
    pub amount: Option<i64>,
    /// Stripe's reason (`duplicate`, `fraudulent`, `requested_by_customer`).
    pub reason: Option<&'static str>,
    /// The caller's `Idempotency-Key`, if it gave one.
    pub caller_key: Option<String>,
}

/// What recording a refund found.
pub enum Reserved {
    /// Recorded, `pending`, one request per payment refunded: ask Stripe for them.
    New(Vec<requests::Model>),
    /// The caller's key names these earlier requests of the order (same amount in total, or
    /// none given).
    Existing(Vec<requests::Model>),
    /// The caller's key names earlier requests of the order for another amount (in total).
    KeyReused(i64),
    NoOrder,
    Refused(Refusal),
}

/// Records a refund of `order_id` as asked — one request per payment it takes from — planned
/// against the order's payments less what the books show refunded and what live requests ask
/// (see `domain::refund::plan`).
pub async fn reserve(
    db: &DatabaseConnection,
    tenant: &ScopedTenant,
    order_id: Uuid,
    ask: Ask,
) -> Result<Reserved, DbErr> {
    let txn = crate::db::begin_write(db).await?;
    let order = orders::Entity::find_by_id(order_id)
        .filter(orders::Column::TenantId.eq(tenant.id))
        .lock_exclusive()
        .one(&txn)
        .await?;
    if order.is_none() {
        return Ok(Reserved::NoOrder);
    }
    let of_order = requests::Entity::find()
        .filter(requests::Column::TenantId.eq(tenant.id))
        .filter(requests::Column::OrderId.eq(order_id))
        .order_by_asc(requests::Column::Id)
        .all(&txn)
        .await?;
    if let Some(key) = &ask.caller_key {
        let earlier: Vec<requests::Model> = of_order
            .iter()
            .filter(|r| r.caller_key.as_deref() == Some(key))
            .cloned()
            .collect();
        if !earlier.is_empty() {
            let total = earlier.iter().map(|r| r.amount).sum::<i64>();
            return Ok(if ask.amount.is_none_or(|a| a == total) {
                Reserved::Existing(earlier)
            } else {
                Reserved::KeyReused(total)
            });
        }
    }
    let mut asked: HashMap<Uuid, i64> = HashMap::new();
    for r in of_order.iter().filter(|r| r.state != RefundState::Failed) {
        *asked.entry(r.payment_id).or_default() += r.amount;
    }
    let paid = payments::Entity::find()
        .filter(payments::Column::TenantId.eq(tenant.id))
        .filter(payments::Column::OrderId.eq(order_id))
        .order_by_asc(payments::Column::Id)
        .all(&txn)
        .await?;
    let plans = match refund::plan(&paid, |id| asked.get(&id).copied().unwrap_or(0), ask.amount) {
        Ok(plans) => plans,
        Err(refusal) => return Ok(Reserved::Refused(refusal)),
    };
    let now = Utc::now();
    let mut rows = Vec::with_capacity(plans.len());
    for plan in plans {
        let id = Uuid::now_v7();
        let row = requests::ActiveModel {
            id: Set(id),
            tenant_id: Set(tenant.id),
            order_id: Set(order_id),
            payment_id: Set(plan.payment_id),
            payment_intent: Set(plan.payment_intent),
            amount: Set(plan.amount),
            currency: Set(plan.currency),
            reason: Set(ask.reason.map(str::to_owned)),
            caller_key: Set(ask.caller_key.clone()),
            stripe_key: Set(refund::stripe_key(id)),
            stripe_refund_id: Set(None),
            stripe_status: Set(None),
            state: Set(RefundState::Pending),
            failure: Set(None),
            created_at: Set(now),
            updated_at: Set(now),
        }
        .insert(&txn)
        .await?;
        rows.push(row);
    }
    txn.commit().await?;
    Ok(Reserved::New(rows))
}

/// Stripe's answer to a request.
pub enum Answered<'a> {
    Made {
        refund_id: &'a str,
        status: Option<&'a str>,
    },
    /// Stripe refused it: its amount no longer counts against the payment.
    Refused(&'a str),
}

/// Settles a request with Stripe's answer.
pub async fn settle(
    db: &DatabaseConnection,
    request: requests::Model,
    answer: Answered<'_>,
) -> Result<requests::Model, DbErr> {
    let mut active: requests::ActiveModel = request.into();
    match answer {
        Answered::Made { refund_id, status } => {
            active.state = Set(RefundState::Made);
            active.stripe_refund_id = Set(Some(refund_id.to_owned()));
            active.stripe_status = Set(status.map(str::to_owned));
        }
        Answered::Refused(why) => {
            active.state = Set(RefundState::Failed);
            active.failure = Set(Some(why.chars().take(500).collect()));
        }
    }
    active.updated_at = Set(Utc::now());
    active.update(db).await
}

/// Requests still `pending` that were recorded before `before` (their caller got no answer from
/// Stripe): the retry job asks Stripe again with the same key.
pub async fn stale_pending(
    db: &DatabaseConnection,
    before: DateTime<Utc>,
    limit: u64,
) -> Result<Vec<requests::Model>, DbErr> {
    requests::Entity::find()
        .filter(requests::Column::State.eq(RefundState::Pending))
        .filter(requests::Column::CreatedAt.lt(before))
        .order_by_asc(requests::Column::CreatedAt)
        .limit(limit)
        .all(db)
        .await
}
