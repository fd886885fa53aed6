//! Job: retention. Every hour, removes raw webhook payloads older than
//! `GATEWAY_EVENT_PAYLOAD_RETENTION_DAYS` (each event's summary row stays), order changes (the
//! outbox) as old with their notification messages once none is owed, Connect events that
//! waited for a tenant as old (routed or not: without its payload an event is nothing), and
//! refused-delivery
//! counters older than 30 days — in small batches, so webhooks are never held up behind it.
use crate::state::Context;
use crate::store::retention;
use chrono::{TimeDelta, Utc};
use std::time::Duration;

const BATCH: u64 = 500;
const EVERY: Duration = Duration::from_secs(3600);
const FAILURE_COUNTERS_DAYS: i64 = 30;

/// What one pass removed.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Purged {
    pub payloads: u64,
    pub changes: u64,
    pub unrouted: u64,
    pub counters: u64,
}

/// One pass over everything past retention.
pub async fn purge(state: &Context) -> Result<Purged, sea_orm::DbErr> {
    let mut purged = Purged::default();
    let payload_cutoff =
        Utc::now() - TimeDelta::days(i64::from(state.config.event_payload_retention_days));
    loop {
        let n = retention::clear_payloads_before(&state.db, payload_cutoff, BATCH).await?;
        purged.payloads += n;
        if n < BATCH || state.is_shutting_down() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    loop {
        let n = retention::delete_changes_before(&state.db, payload_cutoff, BATCH).await?;
        purged.changes += n;
        if n < BATCH || state.is_shutting_down() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    loop {
        let n = crate::store::unrouted::delete_before(&state.db, payload_cutoff, BATCH).await?;
        purged.unrouted += n;
        if n < BATCH || state.is_shutting_down() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let counter_cutoff = Utc::now() - TimeDelta::days(FAILURE_COUNTERS_DAYS);
    loop {
        let n = retention::delete_counters_before(&state.db, counter_cutoff, BATCH).await?;
        purged.counters += n;
        if n < BATCH || state.is_shutting_down() {
            break;
        }
    }
    Ok(purged)
}

/// Runs a pass at start-up and then every hour, until the process stops. A pass that fails
/// (SQLite busy behind a long write, PostgreSQL restarting) is tried again after 5 s, doubling
/// up to the hour, rather than leaving expired data for an hour.
pub async fn run(state: Context) {
    const FIRST_RETRY: Duration = Duration::from_secs(5);
    let mut retry = FIRST_RETRY;
    loop {
        let wait = match purge(&state).await {
            Ok(p) => {
                if p != Purged::default() {
                    tracing::info!(
                        payloads = p.payloads,
                        changes = p.changes,
                        unrouted = p.unrouted,
                        counters = p.counters,
                        "retention removed expired data"
                    );
                }
                retry = FIRST_RETRY;
                EVERY
            }
            Err(e) => {
                tracing::warn!(error = %e, retry_in = ?retry, "retention pass failed");
                let wait = retry;
                retry = (retry * 2).min(EVERY);
                wait
            }
        };
        tokio::time::sleep(wait).await;
    }
}
