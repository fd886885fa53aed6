//! Webhooks: the write path, one pipeline for every way an event arrives (webhook batch, single
//! event, replay, failed-event retry, reconciliation): plan (`rules::plan`) → record the event rows and
//! load, locked, the facts they name (`store::facts`, one seam over SQLite and PostgreSQL) →
//! pure merge in arrival order (`rules::facts`) → store what changed. What comes out is each event's
//! outcome and the domain changes ([`OrderChange`]), returned from inside the transaction that
//! commits them. A batch the plan cannot take — a replay, a retry of a failed event,
//! `customer.deleted`, an unusable object, a concurrent duplicate — goes event by event through
//! the writer's per-event path, whose merge is [`apply_one`]: this pipeline for a batch of one.
use crate::domain::changes::OrderChange;
use crate::store::facts::{FactStore, Recorded, SeaFacts};
use crate::store::pg_batch;
use crate::store::pg_batch::PgFacts;
use crate::webhooks::incoming::{Incoming, Outcome};
use crate::webhooks::rules::facts::Facts;
use crate::webhooks::rules::plan::{self, Plan};
use crate::webhooks::rules::{EventCtx, Observation};
use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, DatabaseConnection, DbErr};

pub use crate::webhooks::rules::plan::Fallback;

/// A committed batch: each event's outcome, in order, and the order changes it made.
pub struct Committed {
    pub outcomes: Vec<Outcome>,
    pub changes: Vec<OrderChange>,
    /// Paying events (money taken, held or on its way) that matched no order of their tenant.
    pub unmatched_payments: u64,
}

/// Records `batch` with bulk statements in one transaction and commits it, or says it cannot
/// (nothing of it is then written). On PostgreSQL through the shard's own connection (`pg`),
/// which begins the next batch with this one's commit when `more_pending`.
pub async fn commit(
    db: &DatabaseConnection,
    pg: Option<&mut pg_batch::Writer>,
    more_pending: &(dyn Fn() -> bool + Sync),
    batch: &[&Incoming],
    now: DateTime<Utc>,
) -> Result<Result<Committed, Fallback>, DbErr> {
    let Some(plans) = plan::plan(batch) else {
        return Ok(Err(Fallback::PerEvent));
    };
    if let Some(pg) = pg {
        pg.begin().await?;
        return match run(&mut PgFacts(pg.conn()?), batch, plans, now).await {
            Ok(Ok(committed)) => {
                pg.commit(more_pending()).await?;
                Ok(Ok(committed))
            }
            other => {
                pg.rollback().await?;
                other
            }
        };
    }
    let txn = crate::db::begin_write(db).await?;
    match run(&mut SeaFacts(&txn), batch, plans, now).await {
        Ok(Ok(committed)) => {
            txn.commit().await?;
            Ok(Ok(committed))
        }
        other => {
            txn.rollback().await?;
            other
        }
    }
}

/// The batch inside the store's transaction: event rows first (the idempotency key decides
/// before any effect is written) with every fact they name, then the merge and its writes.
async fn run<S: FactStore>(
    store: &mut S,
    batch: &[&Incoming],
    mut plans: Vec<Plan>,
    now: DateTime<Utc>,
) -> Result<Result<Committed, Fallback>, DbErr> {
    let rows = plan::event_rows(batch, &plans, now);
    let keys = plan::keys(batch, &plans);
    let refs: Vec<_> = rows.iter().map(|(_, row)| row).collect();
    let found = store.record_and_load(&refs, keys, now).await?;
    let duplicates = match plan::duplicates(&rows, &found) {
        Ok(duplicates) => duplicates,
        Err(fallback) => return Ok(Err(fallback)),
    };
    drop(rows);
    for at in duplicates {
        plans[at] = Plan::Duplicate;
    }
    Ok(Ok(merge_and_write(store, batch, &plans, found, now).await?))
}

/// Merges each applied event into the facts found, in arrival order, and writes what changed.
async fn merge_and_write<S: FactStore>(
    store: &mut S,
    batch: &[&Incoming],
    plans: &[Plan],
    found: Recorded,
    now: DateTime<Utc>,
) -> Result<Committed, DbErr> {
    let mut loaded = Facts::default();
    loaded.add_payments(found.payments);
    loaded.add_orders(found.orders);
    loaded.add_disputes(found.disputes);
    loaded.scrubbed.extend(found.scrubbed);
    let mut facts = loaded.clone();
    let mut committed = Committed {
        outcomes: Vec::with_capacity(batch.len()),
        changes: Vec::new(),
        unmatched_payments: 0,
    };
    for (i, plan) in batch.iter().zip(plans) {
        committed.outcomes.push(match plan {
            Plan::Duplicate => Outcome::Duplicate,
            Plan::Ignored(r) => Outcome::Ignored(r.clone()),
            Plan::Apply(obs) => {
                let ctx = EventCtx {
                    tenant_id: i.tenant_id,
                    created: i.envelope.created,
                    livemode: i.envelope.livemode,
                    now,
                };
                committed
                    .changes
                    .extend(facts.apply(&ctx, obs, &i.envelope.id));
                Outcome::Processed
            }
        });
    }
    committed.unmatched_payments = facts.unmatched_payments;
    let changed = facts.changed_since(&loaded);
    let outbox: Vec<_> = committed
        .changes
        .iter()
        .map(|c| c.outbox_row(now))
        .collect();
    store
        .write(
            &changed.payments,
            &changed.disputes,
            &changed.orders,
            &outbox,
        )
        .await?;
    Ok(committed)
}

/// Applies one event's observation inside the current transaction (the per-event path: replays,
/// retries of failed events, `customer.deleted`), its row already recorded: the pipeline for a
/// batch of one. Returns the order changes it made.
pub async fn apply_one<C: ConnectionTrait + Sync>(
    db: &C,
    incoming: &Incoming,
    obs: Observation,
    now: DateTime<Utc>,
) -> Result<(Vec<OrderChange>, u64), DbErr> {
    match obs {
        Observation::CustomerDeleted { customer_id } => {
            crate::store::ledger::scrub_customer(db, incoming.tenant_id, &customer_id, now).await?;
            Ok((Vec::new(), 0))
        }
        Observation::Ignored(_) => Ok((Vec::new(), 0)),
        obs => {
            let batch = [incoming];
            let plans = [Plan::Apply(Box::new(obs))];
            let mut store = SeaFacts(db);
            let found = store
                .record_and_load(&[], plan::keys(&batch, &plans), now)
                .await?;
            let committed = merge_and_write(&mut store, &batch, &plans, found, now).await?;
            Ok((committed.changes, committed.unmatched_payments))
        }
    }
}
