//! Webhooks: the batched write path. A whole batch in a handful of statements: the new event rows
//! first (so a copy recorded earlier, or by a concurrent replica, is noticed before any effect is
//! written), bulk loads (locked) of every fact the batch touches, the pure merges of `apply` in
//! memory in arrival order, then one upsert per table of the rows that changed. On PostgreSQL the
//! rows and the loads are one statement and the upserts another (`store::pg_batch`); on SQLite
//! they are sea-orm's statements. Anything unusual — a replay, a
//! retry of a failed event, `customer.deleted`, an unusable object, a concurrent duplicate —
//! sends the batch to the per-event path instead, which handles every case.
use super::apply::{self, EventCtx, Observation};
use super::writer::{Incoming, Outcome};
use crate::store::events::EventRow;
use crate::store::ledger::Keys;
use crate::store::pg_batch;
use entity::{disputes, orders, payments, scrubbed_customers, webhook_events};
use sea_orm::sea_query::{Expr, ExprTrait, SimpleExpr};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, DbErr, EntityTrait, QueryFilter,
    QuerySelect, TryInsertResult,
};
use std::collections::{HashMap, HashSet};
use uuid::Uuid;

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

/// The batch needs the per-event path.
pub struct Fallback;

enum Plan {
    Duplicate,
    Ignored(String),
    Apply(Box<Observation>),
}

/// The facts a batch touches, keyed by tenant: loaded (locked), merged in memory, written back.
#[derive(Default, Clone)]
pub(super) struct Facts {
    pub payments: HashMap<(Uuid, String), payments::Model>,
    pub orders: HashMap<(Uuid, Uuid), orders::Model>,
    pub disputes: HashMap<(Uuid, String), disputes::Model>,
    pub scrubbed: HashSet<(Uuid, String)>,
}

/// The rows that differ from the facts as loaded: what a batch writes.
pub(super) struct Changed {
    pub payments: Vec<payments::Model>,
    pub disputes: Vec<disputes::Model>,
    pub orders: Vec<orders::Model>,
}

impl Facts {
    fn add_payments(&mut self, rows: impl IntoIterator<Item = payments::Model>) {
        self.payments.extend(
            rows.into_iter()
                .map(|p| ((p.tenant_id, p.stripe_payment_intent_id.clone()), p)),
        );
    }

    fn add_orders(&mut self, rows: impl IntoIterator<Item = orders::Model>) {
        self.orders
            .extend(rows.into_iter().map(|o| ((o.tenant_id, o.id), o)));
    }

    fn add_disputes(&mut self, rows: impl IntoIterator<Item = disputes::Model>) {
        self.disputes.extend(
            rows.into_iter()
                .map(|d| ((d.tenant_id, d.stripe_dispute_id.clone()), d)),
        );
    }

    /// What these facts hold that `before` did not: new rows and changed ones.
    fn changed_since(self, before: &Facts) -> Changed {
        Changed {
            payments: changed(&before.payments, self.payments),
            disputes: changed(&before.disputes, self.disputes),
            orders: changed(&before.orders, self.orders),
        }
    }
}

/// Records `batch` with bulk statements in one transaction and commits it, or says it cannot
/// (nothing of it is then written). On PostgreSQL through the shard's own connection (`pg`),
/// which begins the next batch with this one's commit when `more_pending`.
pub async fn commit(
    db: &DatabaseConnection,
    pg: Option<&mut pg_batch::Writer>,
    more_pending: &(dyn Fn() -> bool + Sync),
    batch: &[&Incoming],
    now: chrono::DateTime<chrono::Utc>,
) -> Result<Result<Vec<Outcome>, Fallback>, DbErr> {
    let Some(plans) = plan(batch) else {
        return Ok(Err(Fallback));
    };
    if let Some(pg) = pg {
        pg.begin().await?;
        return match commit_pg(pg, batch, plans, now).await {
            Ok(Ok(outcomes)) => {
                pg.commit(more_pending()).await?;
                Ok(Ok(outcomes))
            }
            other => {
                pg.rollback().await?;
                other
            }
        };
    }
    let txn = crate::db::begin_write(db).await?;
    match commit_in(&txn, batch, plans, now).await {
        Ok(Ok(outcomes)) => {
            txn.commit().await?;
            Ok(Ok(outcomes))
        }
        other => {
            txn.rollback().await?;
            other
        }
    }
}

/// The batch through sea-orm's statements, inside `db`'s transaction.
async fn commit_in<C: ConnectionTrait>(
    db: &C,
    batch: &[&Incoming],
    mut plans: Vec<Plan>,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<Result<Vec<Outcome>, Fallback>, DbErr> {
    // Event rows first: the idempotency key decides, before any effect is written.
    if !record_events(db, batch, &mut plans, now).await? {
        return Ok(Err(Fallback));
    }
    Ok(Ok(apply_planned(db, batch, &plans, now).await?))
}

/// The batch on PostgreSQL, inside the shard's transaction: the event rows and every fact they
/// touch in one statement, the changed facts in a second (`store::pg_batch`).
async fn commit_pg(
    pg: &mut pg_batch::Writer,
    batch: &[&Incoming],
    mut plans: Vec<Plan>,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<Result<Vec<Outcome>, Fallback>, DbErr> {
    let rows = event_rows(batch, &plans, now);
    let keys = keys(batch, &plans);
    let found =
        pg_batch::record_and_load(pg.conn()?, rows.iter().map(|(_, row)| row), keys, now).await?;
    let earlier: HashMap<(Uuid, &str), &str> = found
        .earlier
        .iter()
        .map(|e| ((e.tenant_id, e.stripe_event_id.as_str()), e.status.as_str()))
        .collect();
    let not_taken = rows
        .iter()
        .filter(|(_, row)| !found.inserted.contains(&row.id))
        .map(|(at, row)| {
            let key = (row.event.tenant_id, row.event.stripe_event_id);
            (*at, earlier.get(&key).copied())
        });
    let Some(duplicates) = finished_earlier(not_taken) else {
        return Ok(Err(Fallback));
    };
    drop(rows);
    for at in duplicates {
        plans[at] = Plan::Duplicate;
    }
    let mut loaded = Facts::default();
    loaded.add_payments(found.payments);
    loaded.add_orders(found.orders);
    loaded.add_disputes(found.disputes);
    loaded.scrubbed.extend(found.scrubbed);
    let (outcomes, after) = merge(batch, &plans, &loaded, now);
    let changed = after.changed_since(&loaded);
    pg_batch::write(
        pg.conn()?,
        &changed.payments,
        &changed.disputes,
        &changed.orders,
    )
    .await?;
    Ok(Ok(outcomes))
}

/// Loads (locked) what the plans touch, merges each applied event in memory in arrival order,
/// and writes what changed.
async fn apply_planned<C: ConnectionTrait>(
    db: &C,
    batch: &[&Incoming],
    plans: &[Plan],
    now: chrono::DateTime<chrono::Utc>,
) -> Result<Vec<Outcome>, DbErr> {
    let loaded = load(db, keys(batch, plans)).await?;
    let (outcomes, facts) = merge(batch, plans, &loaded, now);
    write_changed(db, &loaded, facts).await?;
    Ok(outcomes)
}

/// Each planned event's outcome, and the facts after merging the applied ones in arrival order.
fn merge(
    batch: &[&Incoming],
    plans: &[Plan],
    loaded: &Facts,
    now: chrono::DateTime<chrono::Utc>,
) -> (Vec<Outcome>, Facts) {
    let mut facts = loaded.clone();
    let mut outcomes = Vec::with_capacity(batch.len());
    for (i, plan) in batch.iter().zip(plans) {
        outcomes.push(match plan {
            Plan::Duplicate => Outcome::Duplicate,
            Plan::Ignored(r) => Outcome::Ignored(r.clone()),
            Plan::Apply(obs) => {
                let ctx = EventCtx {
                    tenant_id: i.tenant_id,
                    created: i.envelope.created,
                    livemode: i.envelope.livemode,
                    now,
                };
                apply_in_memory(&mut facts, &ctx, obs);
                Outcome::Processed
            }
        });
    }
    (outcomes, facts)
}

/// Applies one event's observation inside the current transaction (the per-event path: replays,
/// retries of failed events, `customer.deleted`), with the same locked loads, merges and writes
/// as a batch of one.
pub async fn apply_one<C: ConnectionTrait>(
    db: &C,
    incoming: &Incoming,
    obs: Observation,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<(), DbErr> {
    match obs {
        Observation::CustomerDeleted { customer_id } => {
            crate::store::ledger::scrub_customer(db, incoming.tenant_id, &customer_id, now)
                .await
                .map(|_| ())
        }
        Observation::Ignored(_) => Ok(()),
        obs => {
            let plans = [Plan::Apply(Box::new(obs))];
            apply_planned(db, &[incoming], &plans, now)
                .await
                .map(|_| ())
        }
    }
}

/// The rows to record for the batch's events (intra-batch duplicates have none), each with its
/// event's position in the batch; finished as `completed` or `ignored` at `now`.
fn event_rows<'a>(
    batch: &[&'a Incoming],
    plans: &'a [Plan],
    now: chrono::DateTime<chrono::Utc>,
) -> Vec<(usize, EventRow<'a>)> {
    batch
        .iter()
        .zip(plans)
        .enumerate()
        .filter_map(|(at, (i, plan))| {
            let (status, last_error) = match plan {
                Plan::Duplicate => return None,
                Plan::Ignored(r) => ("ignored", Some(r.as_str())),
                Plan::Apply(_) => ("completed", None),
            };
            let row = EventRow {
                id: Uuid::now_v7(),
                event: super::writer::new_event(i, now),
                status,
                last_error,
            };
            Some((at, row))
        })
        .collect()
}

/// The rows an insert did not take, each with the status of the copy recorded earlier (if one is
/// visible): their positions when every such copy finished (those events are duplicates), `None`
/// when one failed, is unfinished, or was committed by another replica too late to be seen —
/// then the batch needs the per-event path.
fn finished_earlier<'s>(
    not_taken: impl IntoIterator<Item = (usize, Option<&'s str>)>,
) -> Option<Vec<usize>> {
    not_taken
        .into_iter()
        .map(|(at, status)| matches!(status, Some("completed" | "ignored")).then_some(at))
        .collect()
}

/// What each event will do, or `None` when the batch needs the per-event path. Events already
/// recorded are found when their rows are inserted (`record_events`).
fn plan(batch: &[&Incoming]) -> Option<Vec<Plan>> {
    if batch.iter().any(|i| i.replay) {
        return None;
    }
    let mut seen = HashSet::new();
    let mut plans = Vec::with_capacity(batch.len());
    for i in batch {
        let plan = if !seen.insert((i.tenant_id, i.envelope.id.as_str())) {
            Plan::Duplicate
        } else if i.envelope.livemode != i.tenant_livemode {
            Plan::Ignored(super::writer::mode_mismatch(
                i.envelope.livemode,
                i.tenant_livemode,
            ))
        } else {
            match apply::observe(&i.envelope.event_type, &i.envelope.data.object) {
                Err(_) | Ok(Observation::CustomerDeleted { .. }) => return None,
                Ok(Observation::Ignored(r)) => Plan::Ignored(r),
                Ok(obs) => Plan::Apply(Box::new(obs)),
            }
        };
        plans.push(plan);
    }
    Some(plans)
}

/// Inserts the rows of the events to record (`ON CONFLICT DO NOTHING`). If some were recorded
/// already (a redelivery, or another replica just now), one more query tells which: those
/// finished become duplicates; one failed or in progress needs the per-event path (`false`).
async fn record_events<C: ConnectionTrait>(
    db: &C,
    batch: &[&Incoming],
    plans: &mut [Plan],
    now: chrono::DateTime<chrono::Utc>,
) -> Result<bool, DbErr> {
    use webhook_events::Column as E;
    let rows = event_rows(batch, plans, now);
    if rows.is_empty() {
        return Ok(true);
    }
    let expected = rows.len() as u64;
    let res = webhook_events::Entity::insert_many(rows.iter().map(|(_, row)| row.active_model()))
        .on_conflict_do_nothing_on([E::TenantId, E::StripeEventId])
        .exec_without_returning(db)
        .await?;
    if matches!(res, TryInsertResult::Inserted(n) if n == expected) {
        return Ok(true);
    }
    let keys: Vec<(Uuid, String)> = rows
        .iter()
        .map(|(_, r)| (r.event.tenant_id, r.event.stripe_event_id.to_owned()))
        .collect();
    let found: Vec<(Uuid, Uuid, String, String)> = webhook_events::Entity::find()
        .select_only()
        .columns([E::Id, E::TenantId, E::StripeEventId, E::Status])
        .filter(pairs(E::TenantId, E::StripeEventId, keys))
        .into_tuple()
        .all(db)
        .await?;
    let recorded: HashMap<(Uuid, &str), (Uuid, &str)> = found
        .iter()
        .map(|(id, t, e, status)| ((*t, e.as_str()), (*id, status.as_str())))
        .collect();
    let not_taken = rows.iter().filter_map(|(at, row)| {
        match recorded.get(&(row.event.tenant_id, row.event.stripe_event_id)) {
            Some((id, _)) if *id == row.id => None,
            other => Some((*at, other.map(|(_, status)| *status))),
        }
    });
    let Some(duplicates) = finished_earlier(not_taken) else {
        return Ok(false);
    };
    drop(rows);
    for at in duplicates {
        plans[at] = Plan::Duplicate;
    }
    Ok(true)
}

/// What the applied events name: the facts to load.
fn keys(batch: &[&Incoming], plans: &[Plan]) -> Keys {
    let mut k = Keys::default();
    for (i, plan) in batch.iter().zip(plans) {
        let Plan::Apply(obs) = plan else { continue };
        let t = i.tenant_id;
        match obs.as_ref() {
            Observation::Payment(p) => {
                k.payment_intents.push((t, p.payment_intent.clone()));
                k.charges.extend(p.charge_id.clone().map(|c| (t, c)));
                k.orders.extend(p.order_refs.iter().map(|o| (t, *o)));
                k.customers.extend(p.customer_id.clone().map(|c| (t, c)));
            }
            Observation::Dispute(d) => {
                k.payment_intents
                    .extend(d.payment_intent.clone().map(|p| (t, p)));
                k.charges.extend(d.charge_id.clone().map(|c| (t, c)));
                k.disputes.push((t, d.dispute_id.clone()));
            }
            Observation::CheckoutExpired { order_refs } => {
                k.orders.extend(order_refs.iter().map(|o| (t, *o)));
            }
            _ => {}
        }
    }
    k
}

/// Loads, locked, every fact `keys` reach (payments, then orders, then disputes).
async fn load<C: ConnectionTrait>(db: &C, keys: Keys) -> Result<Facts, DbErr> {
    type Pairs = Vec<(Uuid, String)>;
    let Keys {
        payment_intents: pis,
        charges,
        orders: mut refs,
        disputes: dispute_ids,
        customers,
    } = keys;
    let mut facts = Facts::default();
    if pis.is_empty() && refs.is_empty() && dispute_ids.is_empty() {
        return Ok(facts);
    }
    use payments::Column as P;
    let mut found = payments::Entity::find()
        .filter(
            Condition::any()
                .add(pairs(P::TenantId, P::StripePaymentIntentId, pis.clone()))
                .add(pairs(P::TenantId, P::StripeChargeId, charges.clone()))
                .add(pairs(P::TenantId, P::OrderId, refs.clone())),
        )
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
    for o in orders::Entity::find()
        .filter(pairs(orders::Column::TenantId, orders::Column::Id, refs))
        .lock_exclusive()
        .all(db)
        .await?
    {
        facts.add_orders([o]);
    }
    let order_ids: Vec<(Uuid, Uuid)> = facts
        .orders
        .keys()
        .filter(|k| !referenced.contains(k))
        .copied()
        .collect();
    if !order_ids.is_empty() {
        found.extend(
            payments::Entity::find()
                .filter(pairs(P::TenantId, P::OrderId, order_ids))
                .all(db)
                .await?,
        );
    }
    facts.add_payments(found);
    let all_pis: Pairs = facts
        .payments
        .values()
        .map(|p| (p.tenant_id, p.stripe_payment_intent_id.clone()))
        .chain(pis)
        .collect();
    let all_charges: Pairs = facts
        .payments
        .values()
        .filter_map(|p| p.stripe_charge_id.clone().map(|c| (p.tenant_id, c)))
        .chain(charges)
        .collect();
    use disputes::Column as D;
    facts.add_disputes(
        disputes::Entity::find()
            .filter(
                Condition::any()
                    .add(pairs(D::TenantId, D::StripeDisputeId, dispute_ids))
                    .add(pairs(D::TenantId, D::StripePaymentIntentId, all_pis))
                    .add(pairs(D::TenantId, D::StripeChargeId, all_charges)),
            )
            .lock_exclusive()
            .all(db)
            .await?,
    );
    if !customers.is_empty() {
        use scrubbed_customers::Column as S;
        for s in scrubbed_customers::Entity::find()
            .filter(pairs(S::TenantId, S::CustomerId, customers))
            .all(db)
            .await?
        {
            facts.scrubbed.insert((s.tenant_id, s.customer_id));
        }
    }
    Ok(facts)
}

/// An observation's effects on the facts in memory: merge with the pure rules of `apply`, link
/// disputes that arrived first, re-derive the affected order.
pub(super) fn apply_in_memory(f: &mut Facts, ctx: &EventCtx, obs: &Observation) {
    let t = ctx.tenant_id;
    match obs {
        Observation::Payment(obs) => {
            let key = (t, obs.payment_intent.clone());
            let existing = f.payments.get(&key).cloned();
            let linked = match existing.as_ref().and_then(|p| p.order_id) {
                Some(id) => f.orders.get(&(t, id)).cloned(),
                None => obs
                    .order_refs
                    .iter()
                    .find_map(|id| f.orders.get(&(t, *id)).cloned()),
            };
            let scrubbed = obs
                .customer_id
                .as_ref()
                .is_some_and(|c| f.scrubbed.contains(&(t, c.clone())));
            let payment = apply::merge_payment(
                existing.as_ref(),
                obs,
                ctx,
                linked.as_ref().map(|o| o.id),
                scrubbed,
            );
            for d in f
                .disputes
                .values_mut()
                .filter(|d| d.tenant_id == t && d.payment_id.is_none())
            {
                let same_pi = d.stripe_payment_intent_id.as_deref()
                    == Some(payment.stripe_payment_intent_id.as_str());
                let same_charge =
                    d.stripe_charge_id.is_some() && d.stripe_charge_id == payment.stripe_charge_id;
                if same_pi || same_charge {
                    d.payment_id = Some(payment.id);
                    d.order_id = payment.order_id;
                    d.stripe_payment_intent_id = Some(payment.stripe_payment_intent_id.clone());
                }
            }
            f.payments.insert(key, payment.clone());
            if let Some(mut order) = linked {
                if order.checkout_session_id.is_none() {
                    order.checkout_session_id = obs.checkout_session_id.clone();
                }
                if order.customer_email.is_none() && !scrubbed {
                    order.customer_email = payment.customer_email.clone();
                }
                rederive(f, ctx, order);
            }
        }
        Observation::Dispute(obs) => {
            let payment = match (&obs.payment_intent, &obs.charge_id) {
                (Some(pi), _) => f.payments.get(&(t, pi.clone())).cloned(),
                (None, Some(ch)) => f
                    .payments
                    .values()
                    .find(|p| p.tenant_id == t && p.stripe_charge_id.as_ref() == Some(ch))
                    .cloned(),
                _ => None,
            };
            let key = (t, obs.dispute_id.clone());
            let merged = apply::merge_dispute(f.disputes.get(&key), obs, ctx, payment.as_ref());
            let order = merged
                .order_id
                .and_then(|id| f.orders.get(&(t, id)).cloned());
            f.disputes.insert(key, merged);
            if let Some(order) = order {
                rederive(f, ctx, order);
            }
        }
        Observation::CheckoutExpired { order_refs } => {
            if let Some(mut order) = order_refs
                .iter()
                .find_map(|id| f.orders.get(&(t, *id)).cloned())
            {
                order.expired_at = order.expired_at.or(Some(ctx.now));
                rederive(f, ctx, order);
            }
        }
        Observation::CustomerDeleted { .. } | Observation::Ignored(_) => {}
    }
}

fn rederive(f: &mut Facts, ctx: &EventCtx, mut order: orders::Model) {
    let key = (order.tenant_id, order.id);
    let payments: Vec<payments::Model> = f
        .payments
        .values()
        .filter(|p| p.tenant_id == order.tenant_id && p.order_id == Some(order.id))
        .cloned()
        .collect();
    let disputes: Vec<disputes::Model> = f
        .disputes
        .values()
        .filter(|d| {
            d.tenant_id == order.tenant_id
                && payments.iter().any(|p| {
                    Some(&p.stripe_payment_intent_id) == d.stripe_payment_intent_id.as_ref()
                        || (d.stripe_charge_id.is_some()
                            && d.stripe_charge_id == p.stripe_charge_id)
                })
        })
        .cloned()
        .collect();
    let (status, refunded) = apply::derive_order(&order, &payments, &disputes);
    order.status = status.to_owned();
    order.amount_refunded = refunded;
    if f.orders.get(&key) != Some(&order) {
        order.updated_at = ctx.now;
        f.orders.insert(key, order);
    }
}

/// Writes what is new or changed, leaves the rest: one upsert per table, whatever the batch size.
async fn write_changed<C: ConnectionTrait>(
    db: &C,
    before: &Facts,
    after: Facts,
) -> Result<(), DbErr> {
    let changed = after.changed_since(before);
    crate::store::ledger::upsert_payments(db, changed.payments).await?;
    crate::store::ledger::upsert_disputes(db, changed.disputes).await?;
    crate::store::ledger::update_orders(db, changed.orders).await
}

fn changed<K: std::hash::Hash + Eq, V: PartialEq>(
    before: &HashMap<K, V>,
    after: HashMap<K, V>,
) -> Vec<V> {
    after
        .into_iter()
        .filter(|(k, v)| before.get(k) != Some(v))
        .map(|(_, v)| v)
        .collect()
}
