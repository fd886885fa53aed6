//! The database breaker (DESIGN.md "Database outage"). When the database stops answering, the
//! first requests wait out their timeouts; after that, requests that need the database are
//! refused at once (webhooks 503 within milliseconds, Stripe retries) instead of each queueing
//! for a connection for seconds. It opens on the first timeout, or after `FAILURES_TO_OPEN`
//! failures in a row; while open, a prober tries the database once a second on a connection of
//! its own and closes it on the first success, as does any real success (a write that commits).
//! `/ready` answers 503 while it is open; `gateway_db_breaker_open` shows it.
//!
//! Written here rather than taken from a crate: the breaker crates on crates.io wrap a call
//! (`breaker.call(f)`), but here the signals come from several places (the writer's batches,
//! tenant lookups, the reply timeout) and the probe must run without any request.
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::time::Duration;

/// Failures in a row (without a timeout among them) that open the breaker.
const FAILURES_TO_OPEN: u32 = 3;
/// How often an open breaker probes the database.
pub const PROBE_EVERY: Duration = Duration::from_secs(1);

#[derive(Default)]
pub struct Breaker {
    open: AtomicBool,
    failures: AtomicU32,
}

/// What a failed database call looked like.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Failure {
    /// It waited out a timeout: the database is not answering.
    TimedOut,
    /// It failed fast (a refused or reset connection, an error answer).
    Failed,
}

impl Failure {
    /// How a failed database call failed: waiting out the pool's acquire timeout means the
    /// database is not answering.
    pub fn of(err: &sea_orm::DbErr) -> Self {
        match err {
            sea_orm::DbErr::ConnectionAcquire(sea_orm::error::ConnAcquireErr::Timeout) => {
                Failure::TimedOut
            }
            _ => Failure::Failed,
        }
    }
}

impl Breaker {
    /// True while requests that need the database should be refused at once.
    pub fn is_open(&self) -> bool {
        self.open.load(Ordering::Relaxed)
    }

    /// A database call succeeded: the database answers.
    pub fn success(&self) {
        self.failures.store(0, Ordering::Relaxed);
        if self.open.swap(false, Ordering::Relaxed) {
            tracing::info!("database answers again: breaker closed");
            crate::telemetry::db_breaker(false);
        }
    }

    /// A database call failed.
    pub fn failure(&self, kind: Failure) {
        let in_a_row = self.failures.fetch_add(1, Ordering::Relaxed) + 1;
        if (kind == Failure::TimedOut || in_a_row >= FAILURES_TO_OPEN)
            && !self.open.swap(true, Ordering::Relaxed)
        {
            tracing::error!(
                ?kind,
                failures_in_a_row = in_a_row,
                "database not answering: breaker open, refusing requests that need it until a probe succeeds"
            );
            crate::telemetry::db_breaker(true);
        }
    }
}

/// While the breaker is open, probes the database every [`PROBE_EVERY`] and closes it on the
/// first success. Ends when the breaker is dropped.
pub async fn probe_while_open(breaker: std::sync::Weak<Breaker>, db: sea_orm::DatabaseConnection) {
    let mut tick = tokio::time::interval(PROBE_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let Some(breaker) = breaker.upgrade() else {
            break;
        };
        if !breaker.is_open() {
            continue;
        }
        match tokio::time::timeout(PROBE_EVERY, crate::db::probe(&db)).await {
            Ok(Ok(())) => breaker.success(),
            Ok(Err(e)) => tracing::debug!(error = %e, "database probe failed"),
            Err(_) => tracing::debug!("database probe timed out"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opens_on_a_timeout_or_failures_in_a_row_and_closes_on_success() {
        let b = Breaker::default();
        b.failure(Failure::Failed);
        b.failure(Failure::Failed);
        assert!(!b.is_open());
        b.success();
        b.failure(Failure::Failed);
        b.failure(Failure::Failed);
        assert!(!b.is_open(), "a success in between resets the count");
        b.failure(Failure::Failed);
        assert!(b.is_open());
        b.success();
        assert!(!b.is_open());
        b.failure(Failure::TimedOut);
        assert!(b.is_open(), "one timeout is enough");
    }
}
