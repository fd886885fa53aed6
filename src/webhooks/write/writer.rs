//! Webhooks: the writer. Verified events queue here; one task takes whatever has queued (up to a
//! batch), records each event and its effects in one transaction (a savepoint per event, so one
//! failing event rolls back only its own effects), commits, and only then answers each sender.
//! The same path serves webhooks, replays and reconciliation.
use super::batch::{Committed, Fallback};
use crate::breaker::{Breaker, Failure};
use crate::domain::changes::ChangeFeed;
use crate::domain::changes::OrderChange;
use crate::store::events;
use crate::store::pg_batch::Writer as PgWriter;
use crate::webhooks::incoming::{Incoming, Outcome, mode_mismatch};
use crate::webhooks::rules::{self as apply, Observation};
use chrono::Utc;
use entity::status::EventStatus;
use sea_orm::{DatabaseConnection, DbErr, TransactionSession, TransactionTrait};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};

const MAX_BATCH: usize = 64;
const QUEUE: usize = 4096;
/// How long a sender waits for its commit before answering 503: the design's "within 2 s, never a
/// hang". An event committed after that is recorded once; Stripe's retry then gets `duplicate`.
const REPLY_TIMEOUT: Duration = Duration::from_secs(2);
/// How long one batch may take before its connection is given up (a healthy one takes
/// milliseconds; a database that stopped answering would hold the shard until TCP gives up,
/// minutes later). Its senders have had their 503 by then; a batch cut off mid-commit may or
/// may not have committed, and Stripe's retry finds out (`duplicate` or processed).
const BATCH_TIMEOUT: Duration = Duration::from_secs(5);
/// How many times a transaction that lost to another one is run again (the batch, then the
/// per-event path). With every write locking rows in one order this is rare (BENCHMARKS.md).
const CONTENDED_RETRIES: u32 = 4;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WriteError {
    #[error("the database is unavailable")]
    Unavailable,
}

struct Job {
    incoming: Incoming,
    reply: oneshot::Sender<Result<Outcome, WriteError>>,
}

/// Handle to the writer tasks: one per shard, each tenant always on the same shard (so one
/// tenant's events are applied in one place, in arrival order). SQLite has one writer at a
/// time anyway: one shard; PostgreSQL commits shards in parallel.
#[derive(Clone)]
pub struct Writer {
    shards: Vec<mpsc::Sender<Job>>,
    breaker: Arc<Breaker>,
    feed: ChangeFeed,
}

/// Writer shards on PostgreSQL unless configured: one per core, at most 8. On 2 cores with the
/// database on the same host one and two shards give the same rate and more only split the
/// batches (BENCHMARKS.md); a database on another host keeps more backends busy.
fn pg_shards() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get().clamp(1, 8))
}

impl Writer {
    /// Starts the writer tasks on the current runtime: one on SQLite (on its own connection),
    /// `shards` of them on PostgreSQL (default one per core, each with its own connection).
    pub fn spawn(db: DatabaseConnection, shards: Option<u8>, breaker: Arc<Breaker>) -> Self {
        let feed = ChangeFeed::default();
        let start = |db: DatabaseConnection, pg: Option<PgWriter>| {
            let (tx, rx) = mpsc::channel(QUEUE);
            tokio::spawn(run(db, pg, rx, breaker.clone(), feed.clone()));
            tx
        };
        let shards = match crate::db::sqlite_writer(&db) {
            Some(own) => vec![start(own, None)],
            None => (0..shards.map_or_else(pg_shards, usize::from))
                .map(|_| {
                    start(
                        db.clone(),
                        crate::db::pg_writer_pool(&db).map(PgWriter::new),
                    )
                })
                .collect(),
        };
        Self {
            shards,
            breaker,
            feed,
        }
    }

    /// The order changes this process's writer commits.
    pub fn feed(&self) -> &ChangeFeed {
        &self.feed
    }

    /// How many writer shards run.
    pub fn shards(&self) -> usize {
        self.shards.len()
    }

    /// Queues an event and waits until the transaction holding it has committed.
    pub async fn submit(&self, incoming: Incoming) -> Result<Outcome, WriteError> {
        let (reply, rx) = oneshot::channel();
        let shard = (incoming.tenant_id.as_u128() % self.shards.len() as u128) as usize;
        self.shards[shard]
            .send(Job { incoming, reply })
            .await
            .map_err(|_| WriteError::Unavailable)?;
        match tokio::time::timeout(REPLY_TIMEOUT, rx).await {
            Ok(Ok(result)) => result,
            Ok(Err(_)) => Err(WriteError::Unavailable),
            Err(_) => {
                self.breaker.failure(Failure::TimedOut);
                Err(WriteError::Unavailable)
            }
        }
    }
}

async fn run(
    db: DatabaseConnection,
    mut pg: Option<PgWriter>,
    mut rx: mpsc::Receiver<Job>,
    breaker: Arc<Breaker>,
    feed: ChangeFeed,
) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while rx.recv_many(&mut batch, MAX_BATCH).await > 0 {
        let jobs = std::mem::take(&mut batch);
        let more_pending = || !rx.is_empty();
        let written = write_batch(&db, pg.as_mut(), &more_pending, jobs, &feed);
        match tokio::time::timeout(BATCH_TIMEOUT, written).await {
            Ok(Ok(())) => breaker.success(),
            Ok(Err(kind)) => breaker.failure(kind),
            Err(_) => {
                // The batch's senders get their 503 as its reply channels drop with it.
                tracing::error!(
                    "webhook batch gave up after {BATCH_TIMEOUT:?}: the database is not answering"
                );
                if let Some(pg) = pg.as_mut() {
                    pg.discard();
                }
                breaker.failure(Failure::TimedOut);
            }
        }
    }
}

async fn write_batch(
    db: &DatabaseConnection,
    pg: Option<&mut PgWriter>,
    more_pending: &(dyn Fn() -> bool + Sync),
    jobs: Vec<Job>,
    feed: &ChangeFeed,
) -> Result<(), Failure> {
    let (results, written) = match commit_batch(db, pg, more_pending, &jobs).await {
        Ok(committed) => {
            for change in &committed.changes {
                crate::telemetry::order_change(change.from.as_str(), change.to.as_str());
            }
            feed.publish(committed.changes);
            (committed.outcomes.into_iter().map(Ok).collect(), Ok(()))
        }
        Err(e) => {
            tracing::error!(error = %e, events = jobs.len(), "webhook batch not committed");
            (
                vec![Err(WriteError::Unavailable); jobs.len()],
                Err(Failure::of(&e)),
            )
        }
    };
    for (job, result) in jobs.into_iter().zip(results) {
        let _ = job.reply.send(result);
    }
    written
}

/// Commits the jobs' events, batched or (when the batch cannot take them) event by event, and
/// returns what became of each and the order changes they made. A transaction that lost to
/// another one (another replica's, locking or inserting the same rows) is run again, after a
/// short pause, rather than failing its senders: run again, it sees what the other committed.
async fn commit_batch(
    db: &DatabaseConnection,
    mut pg: Option<&mut PgWriter>,
    more_pending: &(dyn Fn() -> bool + Sync),
    jobs: &[Job],
) -> Result<Committed, DbErr> {
    let incoming: Vec<&Incoming> = jobs.iter().map(|j| &j.incoming).collect();
    for attempt in 0..=CONTENDED_RETRIES {
        let pg = pg.as_deref_mut();
        let contended =
            match super::batch::commit(db, pg, more_pending, &incoming, Utc::now()).await {
                Ok(Ok(committed)) => {
                    crate::telemetry::writer_batch("batched", jobs.len());
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
        match per_event(db, jobs).await {
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
async fn per_event(db: &DatabaseConnection, jobs: &[Job]) -> Result<Committed, DbErr> {
    let txn = crate::db::begin_write(db).await?;
    let mut committed = Committed {
        outcomes: Vec::with_capacity(jobs.len()),
        changes: Vec::new(),
    };
    for job in jobs {
        let (outcome, changes) = record_one(&txn, &job.incoming).await?;
        committed.outcomes.push(outcome);
        committed.changes.extend(changes);
    }
    txn.commit().await?;
    crate::telemetry::writer_batch("per_event", jobs.len());
    Ok(committed)
}

/// Records one event inside the batch transaction. Errors inside the event's own savepoint
/// become a `failed` event; only errors outside it (the connection) fail the batch.
async fn record_one<T: TransactionTrait>(
    txn: &T,
    incoming: &Incoming,
) -> Result<(Outcome, Vec<OrderChange>), DbErr> {
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
            Ok((Outcome::Failed(reason), Vec::new()))
        }
    }
}

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
) -> Result<(Outcome, Vec<OrderChange>), ProcessError> {
    let env = &i.envelope;
    let new = i.new_event(now);
    if !events::insert_new(db, &new).await? {
        let Some(known) = events::find(db, i.tenant_id, &env.id).await? else {
            return Err(DbErr::RecordNotFound("event vanished".into()).into());
        };
        let retryable = matches!(known.status, EventStatus::Failed | EventStatus::Processing);
        if !(retryable || i.replay) || !events::claim(db, known.id, known.status).await? {
            return Ok((Outcome::Duplicate, Vec::new()));
        }
    }
    let mut changes = Vec::new();
    let outcome = if env.livemode != i.tenant_livemode {
        Outcome::Ignored(mode_mismatch(env.livemode, i.tenant_livemode))
    } else {
        match apply::observe(&env.event_type, &env.data.object).map_err(ProcessError::Unusable)? {
            Observation::Ignored(reason) => Outcome::Ignored(reason),
            obs => {
                changes = super::batch::apply_one(db, i, obs, now).await?;
                Outcome::Processed
            }
        }
    };
    let (status, reason) = match &outcome {
        Outcome::Ignored(r) => (EventStatus::Ignored, Some(r.clone())),
        _ => (EventStatus::Completed, None),
    };
    events::finish(db, i.tenant_id, &env.id, status, reason, now).await?;
    Ok((outcome, changes))
}
