//! Webhooks: the writer, the write path's queue. Verified events queue here; one task per shard
//! takes whatever has queued (up to a batch), hands it to the pipeline (`pipeline::commit`: one
//! transaction, batched or event by event), and only once it committed answers each sender and
//! tells the change feed. The same queue serves webhooks, replays and reconciliation.
use crate::breaker::{Breaker, Failure};
use crate::domain::changes::ChangeFeed;
use crate::store::pg_batch::Writer as PgWriter;
use crate::webhooks::incoming::{Incoming, Outcome};
use sea_orm::DatabaseConnection;
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
    let incoming: Vec<&Incoming> = jobs.iter().map(|j| &j.incoming).collect();
    let committed = super::pipeline::commit(db, pg, more_pending, &incoming).await;
    let (results, written) = match committed {
        Ok(committed) => {
            for change in &committed.changes {
                crate::telemetry::order_change(change.from.as_str(), change.to.as_str());
            }
            crate::telemetry::unmatched_payments(committed.unmatched_payments);
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
