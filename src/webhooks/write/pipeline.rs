//! Webhooks: the write path's one pipeline, in its two modes. A batch goes through `batch` —
//! plan, record and load, merge, write — in one transaction; one the plan cannot take (a replay,
//! a retry of a failed event, `customer.deleted`, an unusable object, a concurrent duplicate)
//! goes event by event, each in a savepoint of one transaction, through the same merge
//! (`batch::apply_one`). A transaction that lost to another one is run again.
use super::batch::{Committed, Fallback};
use crate::domain::changes::OrderChange;
use crate::store::events;
use crate::store::pg_batch::Writer as PgWriter;
use crate::webhooks::incoming::{Incoming, Outcome, mode_mismatch};
use crate::webhooks::rules::{self as apply, Observation};
use chrono::Utc;
use entity::status::EventStatus;
use sea_orm::{DatabaseConnection, DbErr, TransactionSession, TransactionTrait};
use std::time::Duration;

/// How many times a transaction that lost to another one is run again (the batch, then the
/// per-event path). With every write locking rows in one order this is rare (BENCHMARKS.md).
const CONTENDED_RETRIES: u32 = 4;

/// Commits the jobs' events, batched or (when the batch cannot take them) event by event, and
/// returns what became of each and the order changes they made. A transaction that lost to
/// another one (another replica's, locking or inserting the same rows) is run again, after a
/// short pause, rather than failing its senders: run again, it sees what the other committed.
pub(super) async fn commit(
    db: &DatabaseConnection,
    mut pg: Option<&mut PgWriter>,
    more_pending: &(dyn Fn() -> bool + Sync),
    incoming: &[&Incoming],
) -> Result<Committed, DbErr> {
    for attempt in 0..=CONTENDED_RETRIES {
        let pg = pg.as_deref_mut();
        let contended = match super::batch::commit(db, pg, more_pending, incoming, Utc::now()).await
        {
            Ok(Ok(committed)) => {
                crate::telemetry::writer_batch("batched", incoming.len());
                return Ok(committed);
            }
            Ok(Err(Fallback::PerEvent)) => false,
            Ok(Err(Fallback::Contended)) => true,
            Err(e) if crate::db::is_contention(&e) => true,
            Err(e) => {
                tracing::debug!(error = %e, "batched write failed; retrying event by event");
                false
            }
        };
        if !contended || attempt == CONTENDED_RETRIES {
            break;
        }
        crate::telemetry::writer_retry("batched");
        pause(attempt).await;
    }
    let mut attempt = 0;
    loop {
        match per_event(db, incoming).await {
            Err(e) if crate::db::is_contention(&e) && attempt < CONTENDED_RETRIES => {
                tracing::debug!(error = %e, "per-event write contended; running it again");
                crate::telemetry::writer_retry("per_event");
                attempt += 1;
                pause(attempt).await;
            }
            other => return other,
        }
    }
}

/// Before running a contended transaction again: 5–10 ms, times the attempt, so that two
/// replicas that collided do not collide again in step.
async fn pause(attempt: u32) {
    let mut raw = [0u8; 1];
    crate::crypto::fill_random(&mut raw);
    let ms = (5 + u64::from(raw[0] % 6)) * u64::from(attempt + 1);
    tokio::time::sleep(Duration::from_millis(ms)).await;
}

/// The jobs' events one by one, each in a savepoint of one transaction.
async fn per_event(db: &DatabaseConnection, incoming: &[&Incoming]) -> Result<Committed, DbErr> {
    let txn = crate::db::begin_write(db).await?;
    let mut committed = Committed {
        outcomes: Vec::with_capacity(incoming.len()),
        changes: Vec::new(),
        unmatched_payments: 0,
    };
    for i in incoming {
        let (outcome, (changes, unmatched)) = record_one(&txn, i).await?;
        committed.outcomes.push(outcome);
        committed.changes.extend(changes);
        committed.unmatched_payments += unmatched;
    }
    txn.commit().await?;
    crate::telemetry::writer_batch("per_event", incoming.len());
    Ok(committed)
}

/// Records one event inside the batch transaction. Errors inside the event's own savepoint
/// become a `failed` event; only errors outside it (the connection) fail the batch.
async fn record_one<T: TransactionTrait>(
    txn: &T,
    incoming: &Incoming,
) -> Result<(Outcome, Applied), DbErr> {
    let now = Utc::now();
    let sp = txn.begin().await?;
    match process(&sp, incoming, now).await {
        Ok(done) => {
            sp.commit().await?;
            Ok(done)
        }
        Err(ProcessError::Db(e)) if crate::db::is_contention(&e) => {
            // Not the event's fault: the whole transaction runs again.
            sp.rollback().await?;
            Err(e)
        }
        Err(e) => {
            sp.rollback().await?;
            let reason = e.to_string();
            tracing::warn!(tenant = %incoming.tenant_id, event = %incoming.envelope.id, error = %reason, "webhook event failed");
            let sp = txn.begin().await?;
            events::record_failure(&sp, &incoming.new_event(now), &reason, now).await?;
            sp.commit().await?;
            Ok((Outcome::Failed(reason), (Vec::new(), 0)))
        }
    }
}

/// What applying one event did: its order changes, and whether it paid without an order (0 or 1).
type Applied = (Vec<OrderChange>, u64);

#[derive(Debug, thiserror::Error)]
enum ProcessError {
    #[error("{0}")]
    Db(#[from] DbErr),
    #[error("{0}")]
    Unusable(String),
}

async fn process<C: sea_orm::ConnectionTrait + Sync>(
    db: &C,
    i: &Incoming,
    now: chrono::DateTime<Utc>,
) -> Result<(Outcome, Applied), ProcessError> {
    let env = &i.envelope;
    let new = i.new_event(now);
    if !events::insert_new(db, &new).await? {
        let Some(known) = events::find(db, i.tenant_id, &env.id).await? else {
            return Err(DbErr::RecordNotFound("event vanished".into()).into());
        };
        let retryable = matches!(known.status, EventStatus::Failed | EventStatus::Processing);
        if !(retryable || i.replay) || !events::claim(db, known.id, known.status).await? {
            return Ok((Outcome::Duplicate, (Vec::new(), 0)));
        }
    }
    let mut applied = (Vec::new(), 0);
    let outcome = if env.livemode != i.tenant_livemode {
        Outcome::Ignored(mode_mismatch(env.livemode, i.tenant_livemode))
    } else {
        match apply::observe(&env.event_type, &env.data.object).map_err(ProcessError::Unusable)? {
            Observation::Ignored(reason) => Outcome::Ignored(reason),
            obs => {
                applied = super::batch::apply_one(db, i, obs, now).await?;
                Outcome::Processed
            }
        }
    };
    let (status, reason) = match &outcome {
        Outcome::Ignored(r) => (EventStatus::Ignored, Some(r.clone())),
        _ => (EventStatus::Completed, None),
    };
    events::finish(db, i.tenant_id, &env.id, status, reason, now).await?;
    Ok((outcome, applied))
}
