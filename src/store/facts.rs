//! Store: the write path's storage seam. [`FactStore`] records a batch's event rows and loads,
//! locked, every fact the batch's events name, then writes the facts that changed; the write path
//! (`webhooks::write::batch`) is written once against it. Two implementations: [`SeaFacts`] (sea-orm's
//! statements, on any connection or transaction: SQLite, and the per-event path on PostgreSQL)
//! and `PgFacts` (PostgreSQL's two-statement batch, in `pg_batch`). Every implementation locks
//! payments, then orders, then disputes, so writers applying events about the same payment
//! serialize instead of losing an update.
use super::events::EventRow;
use super::{ledger, outbox};
use chrono::{DateTime, Utc};
use entity::status::EventStatus;
use entity::{disputes, order_changes, orders, payments, scrubbed_customers, webhook_events};
use sea_orm::sea_query::{Expr, ExprTrait, SimpleExpr};

use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, TryInsertResult,
};
use std::collections::HashSet;
use std::future::Future;
use uuid::Uuid;

/// What a batch's events name, per tenant: the facts to load.
#[derive(Default)]
pub struct Keys {
    pub payment_intents: Vec<(Uuid, String)>,
    pub charges: Vec<(Uuid, String)>,
    pub orders: Vec<(Uuid, Uuid)>,
    pub disputes: Vec<(Uuid, String)>,
    pub customers: Vec<(Uuid, String)>,
}

/// A copy of an event recorded before this batch.
pub struct EarlierCopy {
    pub tenant_id: Uuid,
    pub stripe_event_id: String,
    pub status: EventStatus,
}

/// What recording and loading found.
#[derive(Default)]
pub struct Recorded {
    /// Ids of the rows this batch inserted.
    pub inserted: HashSet<Uuid>,
    /// Copies recorded before, of the rows it did not insert.
    pub earlier: Vec<EarlierCopy>,
    pub payments: Vec<payments::Model>,
    pub orders: Vec<orders::Model>,
    pub disputes: Vec<disputes::Model>,
    /// `(tenant, customer)` pairs whose personal data is scrubbed.
    pub scrubbed: Vec<(Uuid, String)>,
}

/// Where the write path's facts are kept. Both steps run inside the caller's transaction.
pub trait FactStore: Send {
    /// Inserts `rows`, received and finished at `now` (`ON CONFLICT (tenant, event) DO NOTHING`:
    /// the idempotency key decides before any effect is written), and loads, locked, every fact
    /// `keys` reach.
    fn record_and_load(
        &mut self,
        rows: &[&EventRow<'_>],
        keys: Keys,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<Recorded, DbErr>> + Send;

    /// Writes these new or changed facts whole, and the order changes they make to the outbox:
    /// committed together, so a change is announced if and only if it was committed.
    fn write(
        &mut self,
        payments: &[payments::Model],
        disputes: &[disputes::Model],
        orders: &[orders::Model],
        changes: &[order_changes::Model],
    ) -> impl Future<Output = Result<(), DbErr>> + Send;
}

/// sea-orm's statements on a connection or transaction of either backend.
pub struct SeaFacts<'c, C>(pub &'c C);

impl<C: ConnectionTrait + Sync> FactStore for SeaFacts<'_, C> {
    async fn record_and_load(
        &mut self,
        rows: &[&EventRow<'_>],
        keys: Keys,
        _now: DateTime<Utc>,
    ) -> Result<Recorded, DbErr> {
        let (inserted, earlier) = record(self.0, rows).await?;
        let mut found = load(self.0, keys).await?;
        found.inserted = inserted;
        found.earlier = earlier;
        Ok(found)
    }

    async fn write(
        &mut self,
        payments: &[payments::Model],
        disputes: &[disputes::Model],
        orders: &[orders::Model],
        changes: &[order_changes::Model],
    ) -> Result<(), DbErr> {
        ledger::upsert_payments(self.0, payments.to_vec()).await?;
        ledger::upsert_disputes(self.0, disputes.to_vec()).await?;
        ledger::update_orders(self.0, orders.to_vec()).await?;
        outbox::record(self.0, changes).await
    }
}

/// `(tenant_id, key) IN ((t1, k1), …)`: one exact index probe per pair. (Two lists, `tenant_id
/// IN (…) AND key IN (…)`, made PostgreSQL probe every combination: 4.5x slower for 16 events.)
/// The pairs are deduplicated and padded (repeating the last) to a power of two, so a batch's
/// statements take few distinct shapes and stay prepared.
fn pairs<C, K>(tenant: C, key: C, mut pairs: Vec<(Uuid, K)>) -> SimpleExpr
where
    C: ColumnTrait,
    K: Into<sea_orm::Value> + Clone + Ord,
{
    pairs.sort();
    pairs.dedup();
    let Some(last) = pairs.last().cloned() else {
        return Expr::cust("1 = 2");
    };
    pairs.resize(pairs.len().next_power_of_two(), last);
    Expr::tuple([Expr::col(tenant), Expr::col(key)]).in_tuples(pairs)
}

/// Inserts the rows; when some were recorded already (a redelivery, or another replica just
/// now), one more query tells by whom: the ids this insert took, and the earlier copies.
async fn record<C: ConnectionTrait>(
    db: &C,
    rows: &[&EventRow<'_>],
) -> Result<(HashSet<Uuid>, Vec<EarlierCopy>), DbErr> {
    use webhook_events::Column as E;
    if rows.is_empty() {
        return Ok(Default::default());
    }
    let expected = rows.len() as u64;
    let res = webhook_events::Entity::insert_many(rows.iter().map(|row| row.active_model()))
        .on_conflict_do_nothing_on([E::TenantId, E::StripeEventId])
        .exec_without_returning(db)
        .await?;
    if matches!(res, TryInsertResult::Inserted(n) if n == expected) {
        return Ok((rows.iter().map(|r| r.id).collect(), Vec::new()));
    }
    let keys: Vec<(Uuid, String)> = rows
        .iter()
        .map(|r| (r.event.tenant_id, r.event.stripe_event_id.to_owned()))
        .collect();
    let found: Vec<(Uuid, Uuid, String, EventStatus)> = webhook_events::Entity::find()
        .select_only()
        .columns([E::Id, E::TenantId, E::StripeEventId, E::Status])
        .filter(pairs(E::TenantId, E::StripeEventId, keys))
        .into_tuple()
        .all(db)
        .await?;
    let ours: HashSet<Uuid> = rows.iter().map(|r| r.id).collect();
    let (inserted, earlier): (Vec<_>, Vec<_>) =
        found.into_iter().partition(|f| ours.contains(&f.0));
    Ok((
        inserted.into_iter().map(|f| f.0).collect(),
        earlier
            .into_iter()
            .map(|(_, tenant_id, stripe_event_id, status)| EarlierCopy {
                tenant_id,
                stripe_event_id,
                status,
            })
            .collect(),
    ))
}

/// Loads, locked, every fact `keys` reach (payments, then orders, then disputes; each table's
/// rows in id order, as PostgreSQL's batch locks them).
async fn load<C: ConnectionTrait>(db: &C, keys: Keys) -> Result<Recorded, DbErr> {
    type Pairs = Vec<(Uuid, String)>;
    let Keys {
        payment_intents: pis,
        charges,
        orders: mut refs,
        disputes: dispute_ids,
        customers,
    } = keys;
    let mut out = Recorded::default();
    if pis.is_empty() && charges.is_empty() && refs.is_empty() && dispute_ids.is_empty() {
        return Ok(out);
    }
    use payments::Column as P;
    let mut found = payments::Entity::find()
        .filter(
            Condition::any()
                .add(pairs(P::TenantId, P::StripePaymentIntentId, pis.clone()))
                .add(pairs(P::TenantId, P::StripeChargeId, charges.clone()))
                .add(pairs(P::TenantId, P::OrderId, refs.clone())),
        )
        .order_by_asc(P::Id)
        .lock_exclusive()
        .all(db)
        .await?;
    // Orders reached only through a known payment: their other payments come next.
    let referenced: HashSet<(Uuid, Uuid)> = refs.iter().copied().collect();
    refs.extend(
        found
            .iter()
            .filter_map(|p| p.order_id.map(|o| (p.tenant_id, o))),
    );
    out.orders = orders::Entity::find()
        .filter(pairs(orders::Column::TenantId, orders::Column::Id, refs))
        .order_by_asc(orders::Column::Id)
        .lock_exclusive()
        .all(db)
        .await?;
    let known: HashSet<Uuid> = found.iter().map(|p| p.id).collect();
    let order_ids: Vec<(Uuid, Uuid)> = out
        .orders
        .iter()
        .map(|o| (o.tenant_id, o.id))
        .filter(|k| !referenced.contains(k))
        .collect();
    if !order_ids.is_empty() {
        let more = payments::Entity::find()
            .filter(pairs(P::TenantId, P::OrderId, order_ids))
            .all(db)
            .await?;
        found.extend(more.into_iter().filter(|p| !known.contains(&p.id)));
    }
    let all_pis: Pairs = found
        .iter()
        .map(|p| (p.tenant_id, p.stripe_payment_intent_id.clone()))
        .chain(pis)
        .collect();
    let all_charges: Pairs = found
        .iter()
        .filter_map(|p| p.stripe_charge_id.clone().map(|c| (p.tenant_id, c)))
        .chain(charges)
        .collect();
    out.payments = found;
    use disputes::Column as D;
    out.disputes = disputes::Entity::find()
        .filter(
            Condition::any()
                .add(pairs(D::TenantId, D::StripeDisputeId, dispute_ids))
                .add(pairs(D::TenantId, D::StripePaymentIntentId, all_pis))
                .add(pairs(D::TenantId, D::StripeChargeId, all_charges)),
        )
        .order_by_asc(D::Id)
        .lock_exclusive()
        .all(db)
        .await?;
    if !customers.is_empty() {
        use scrubbed_customers::Column as S;
        out.scrubbed = scrubbed_customers::Entity::find()
            .filter(pairs(S::TenantId, S::CustomerId, customers))
            .all(db)
            .await?
            .into_iter()
            .map(|s| (s.tenant_id, s.customer_id))
            .collect();
    }
    Ok(out)
}
