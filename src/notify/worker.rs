//! Notify: the delivery worker. Each round it fans new outbox rows out into messages (one per
//! enabled endpoint whose filter takes the change's type, in one transaction with marking the
//! rows fanned out: a change becomes its messages exactly once), then claims due messages and
//! sends each on its own task. Work is shared through the database, so every replica runs this
//! loop; it wakes at once on a change this process committed and polls for the others'.
//! An endpoint never has more than [`PER_ENDPOINT`] attempts in flight in one process: a claim
//! takes up to [`QUEUE_PER_ENDPOINT`] of its messages, oldest first, which wait their turn for
//! one of its slots under a lease long enough for all of them; the process never holds more
//! than [`MAX_CLAIMED`]. One slow or dead endpoint holds its own slots and queue only, never
//! another endpoint's or tenant's.
use super::deliver;
use super::outbound::Outbound;
use crate::crypto::Keyring;
use crate::domain::changes::ChangeFeed;
use crate::store::outbox;
use chrono::Utc;
use entity::notification_messages as messages;
use entity::status::MessageStatus;
use sea_orm::{DatabaseConnection, DbErr};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{Notify, Semaphore};
use uuid::Uuid;

/// Attempts in flight to one endpoint from one process.
pub const PER_ENDPOINT: usize = 4;
/// Messages of one endpoint claimed by one process and not yet finished.
pub const QUEUE_PER_ENDPOINT: usize = 32;
/// Messages claimed by one process and not yet finished.
pub const MAX_CLAIMED: usize = 512;
/// Changes fanned out per transaction.
const DISPATCH_BATCH: u64 = 256;
/// How often the worker looks for work other replicas made (or retries that came due).
const POLL: Duration = Duration::from_millis(250);
/// How long a wake-up by a commit waits for more commits before its round.
const COALESCE: Duration = Duration::from_millis(10);
/// How often the backlog gauge is refreshed.
const BACKLOG_EVERY: Duration = Duration::from_secs(5);

struct Inner {
    db: DatabaseConnection,
    keyring: Arc<Keyring>,
    outbound: Outbound,
    /// One attempt's time limit: a claim's lease is this for each attempt queued ahead of and
    /// with its last message on that endpoint's slots, and a margin.
    timeout: Duration,
    /// Per endpoint: messages claimed and not finished, and its attempt slots.
    in_flight: Mutex<HashMap<Uuid, (usize, Arc<Semaphore>)>>,
    /// Deliveries made but not yet recorded, by answer code: `(message id, attempts)`. Recorded
    /// together at the next round (one statement per code instead of one per message); until
    /// then the message is still `delivering` under its lease.
    delivered: Mutex<HashMap<i32, Vec<(Uuid, i32)>>>,
    slots: Arc<Semaphore>,
    /// An attempt finished: its endpoint may have more work.
    done: Notify,
}

/// The worker of this process (cheap to clone).
#[derive(Clone)]
pub struct Notifier(Arc<Inner>);

impl Notifier {
    pub fn new(db: DatabaseConnection, keyring: Arc<Keyring>, outbound: Outbound) -> Self {
        Self(Arc::new(Inner {
            db,
            keyring,
            timeout: outbound.timeout(),
            outbound,
            in_flight: Mutex::default(),
            delivered: Mutex::default(),
            slots: Arc::new(Semaphore::new(MAX_CLAIMED)),
            done: Notify::new(),
        }))
    }

    /// Runs rounds until dropped (the owner drops it at shutdown; attempts in flight finish on
    /// their own tasks, or their leases lapse and another worker tries again).
    pub async fn run(self, feed: ChangeFeed) {
        let mut changes = feed.subscribe();
        // The gauge is set at the first round, then every BACKLOG_EVERY.
        let mut backlog_at = tokio::time::Instant::now()
            .checked_sub(BACKLOG_EVERY)
            .unwrap_or_else(tokio::time::Instant::now);
        loop {
            let more = match self.round().await {
                Ok(more) => more,
                Err(e) => {
                    tracing::warn!(error = %e, "notification round failed; will retry");
                    false
                }
            };
            if backlog_at.elapsed() >= BACKLOG_EVERY {
                backlog_at = tokio::time::Instant::now();
                if let Ok((m, c)) = outbox::backlog(&self.0.db).await {
                    crate::telemetry::notification_backlog(m, c);
                }
            }
            if more {
                continue;
            }
            tokio::select! {
                _ = changes.recv() => {
                    // Let a few more commits land, then take them in one round: under load a
                    // round per commit would cost its queries per change.
                    tokio::time::sleep(COALESCE).await;
                    while changes.try_recv().is_ok() {}
                }
                () = self.0.done.notified() => {}
                () = tokio::time::sleep(POLL) => {}
            }
        }
    }

    /// Fans out and claims once; true when there is probably more to do at once.
    async fn round(&self) -> Result<bool, DbErr> {
        self.record_delivered().await?;
        let fanned = self.dispatch().await?;
        let started = self.deliver_due().await?;
        Ok(fanned as u64 == DISPATCH_BATCH || started > 0 && self.0.slots.available_permits() > 0)
    }

    /// Records the deliveries made but not yet recorded (at shutdown, so that a restart does not
    /// send them again).
    pub async fn flush(&self) -> Result<(), DbErr> {
        self.record_delivered().await
    }

    /// Records the deliveries made since the last round.
    async fn record_delivered(&self) -> Result<(), DbErr> {
        let delivered = std::mem::take(
            &mut *self
                .0
                .delivered
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        );
        let at = Utc::now();
        let mut left = delivered.into_iter();
        while let Some((code, claims)) = left.next() {
            if let Err(e) = outbox::finish_delivered(&self.0.db, claims.clone(), code, at).await {
                // Kept for the next round (else their leases lapse and they are sent again).
                let mut pending = self
                    .0
                    .delivered
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
                for (code, claims) in std::iter::once((code, claims)).chain(left) {
                    pending.entry(code).or_default().extend(claims);
                }
                return Err(e);
            }
        }
        Ok(())
    }

    /// Turns undispatched changes into messages; returns how many changes it took.
    async fn dispatch(&self) -> Result<usize, DbErr> {
        let txn = crate::db::begin_write(&self.0.db).await?;
        let changes = outbox::undispatched(&txn, DISPATCH_BATCH).await?;
        if changes.is_empty() {
            txn.commit().await?;
            return Ok(0);
        }
        let mut tenants: Vec<Uuid> = changes.iter().map(|c| c.tenant_id).collect();
        tenants.sort();
        tenants.dedup();
        let endpoints = outbox::enabled_endpoints(&txn, tenants).await?;
        let now = Utc::now();
        let mut owed = Vec::new();
        for change in &changes {
            let ty = change.event_type();
            for e in endpoints.iter().filter(|e| e.tenant_id == change.tenant_id) {
                if !(e.events.is_empty() || e.events.split(' ').any(|t| t == ty)) {
                    continue;
                }
                owed.push(messages::Model {
                    id: Uuid::now_v7(),
                    tenant_id: change.tenant_id,
                    endpoint_id: e.id,
                    change_id: change.id,
                    event_type: ty.clone(),
                    status: MessageStatus::Pending,
                    attempts: 0,
                    next_attempt_at: now,
                    last_attempt_at: None,
                    last_response_code: None,
                    last_error: None,
                    created_at: now,
                    delivered_at: None,
                });
            }
        }
        let n = changes.len();
        outbox::dispatch(&txn, changes.into_iter().map(|c| c.id).collect(), owed, now).await?;
        txn.commit().await?;
        Ok(n)
    }

    /// Claims due messages of endpoints whose queue has room and starts their attempts.
    async fn deliver_due(&self) -> Result<usize, DbErr> {
        let busy: Vec<Uuid> = self
            .in_flight()
            .iter()
            .filter(|(_, (n, _))| *n >= QUEUE_PER_ENDPOINT / 2)
            .map(|(id, _)| *id)
            .collect();
        let now = Utc::now();
        let endpoints = outbox::endpoints_with_due(&self.0.db, now, busy, 64).await?;
        let mut started = 0;
        for endpoint in endpoints {
            let id = endpoint.id;
            let queued = self.in_flight().get(&id).map_or(0, |(n, _)| *n);
            let room = QUEUE_PER_ENDPOINT
                .saturating_sub(queued)
                .min(self.0.slots.available_permits());
            if room == 0 {
                continue;
            }
            // Long enough for every attempt queued ahead on the endpoint's slots.
            let turns = (queued + room).div_ceil(PER_ENDPOINT) as u32;
            let lease_until = now + self.0.timeout * turns + Duration::from_secs(5);
            let claimed = outbox::claim(&self.0.db, id, now, lease_until, room as u64).await?;
            if claimed.is_empty() {
                continue;
            }
            // The endpoint and its secrets, once for the messages claimed together.
            let target =
                Arc::new(deliver::Target::load(&self.0.db, &self.0.keyring, endpoint, now).await?);
            for (message, change) in claimed {
                let Ok(permit) = self.0.slots.clone().try_acquire_owned() else {
                    // Unreachable (room was counted), and harmless: the lease lapses.
                    break;
                };
                let lane = {
                    let mut in_flight = self.in_flight();
                    let entry = in_flight
                        .entry(id)
                        .or_insert_with(|| (0, Arc::new(Semaphore::new(PER_ENDPOINT))));
                    entry.0 += 1;
                    entry.1.clone()
                };
                started += 1;
                let (worker, target) = (self.clone(), target.clone());
                tokio::spawn(async move {
                    // The endpoint's slots are taken in claim order (tokio's semaphore is fair).
                    if let Ok(_turn) = lane.acquire().await {
                        let w = &worker.0;
                        match deliver::attempt(&w.db, &w.outbound, &target, &message, &change).await
                        {
                            Ok(deliver::Outcome::Delivered(code)) => {
                                worker.delivered(code, message.id, message.attempts)
                            }
                            Ok(deliver::Outcome::Recorded) => {}
                            Err(e) => {
                                tracing::warn!(message = %message.id, error = %e, "notification attempt not recorded; its lease will lapse")
                            }
                        }
                    }
                    worker.release(id);
                    drop(permit);
                });
            }
        }
        Ok(started)
    }

    /// A delivery, recorded with the others made meanwhile at the next round (until then the
    /// message stays `delivering` under its lease).
    fn delivered(&self, code: i32, message: Uuid, attempts: i32) {
        self.0
            .delivered
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .entry(code)
            .or_default()
            .push((message, attempts));
    }

    /// Looks for due work now (a manual retry made some).
    pub fn wake(&self) {
        self.0.done.notify_one();
    }

    fn in_flight(&self) -> std::sync::MutexGuard<'_, HashMap<Uuid, (usize, Arc<Semaphore>)>> {
        self.0
            .in_flight
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// One of the endpoint's claimed messages is finished; when its queue runs low, a round
    /// refills it.
    fn release(&self, endpoint: Uuid) {
        let mut in_flight = self.in_flight();
        let mut low = false;
        if let Some((n, _)) = in_flight.get_mut(&endpoint) {
            *n -= 1;
            low = *n == QUEUE_PER_ENDPOINT / 2 - 1 || *n == 0;
            if *n == 0 {
                in_flight.remove(&endpoint);
            }
        }
        drop(in_flight);
        if low {
            self.0.done.notify_one();
        }
    }
}
