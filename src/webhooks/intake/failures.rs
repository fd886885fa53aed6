//! Webhooks: refused deliveries, counted in memory per (tenant, hour, reason) and flushed to
//! `delivery_failures` as counters every few seconds — bounded storage and bounded database work
//! however many forged or refused requests arrive.
use chrono::{DateTime, DurationRound, TimeDelta, Utc};
use sea_orm::{DatabaseConnection, DbErr};
use std::collections::HashMap;
use std::sync::Mutex;
use uuid::Uuid;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FailureReason {
    /// No `Stripe-Signature` header.
    MissingSignature,
    /// A header that is not `t=…,v1=…`.
    MalformedSignature,
    /// A well-formed signature no current secret makes.
    BadSignature,
    StaleTimestamp,
    Malformed,
    NoConfig,
    Suspended,
    RateLimited,
    TooLarge,
    UnknownTenant,
}

impl FailureReason {
    pub fn as_str(self) -> &'static str {
        match self {
            FailureReason::MissingSignature => "missing_signature",
            FailureReason::MalformedSignature => "malformed_signature",
            FailureReason::BadSignature => "bad_signature",
            FailureReason::StaleTimestamp => "stale_timestamp",
            FailureReason::Malformed => "malformed",
            FailureReason::NoConfig => "no_config",
            FailureReason::Suspended => "suspended",
            FailureReason::RateLimited => "rate_limited",
            FailureReason::TooLarge => "too_large",
            FailureReason::UnknownTenant => "unknown_tenant",
        }
    }
}

type Key = (Option<Uuid>, DateTime<Utc>, FailureReason);

#[derive(Default)]
pub struct FailureCounter {
    pending: Mutex<HashMap<Key, i64>>,
}

pub fn hour_of(at: DateTime<Utc>) -> DateTime<Utc> {
    at.duration_trunc(TimeDelta::hours(1)).unwrap_or(at)
}

impl FailureCounter {
    /// Counts one refused delivery (`None`: the path named no known tenant).
    pub fn record(&self, tenant: Option<Uuid>, reason: FailureReason) {
        let key = (tenant, hour_of(Utc::now()), reason);
        if let Ok(mut pending) = self.pending.lock() {
            *pending.entry(key).or_insert(0) += 1;
        }
    }

    /// Adds the pending counts to the database; on failure they are kept for the next flush.
    pub async fn flush(&self, db: &DatabaseConnection) -> Result<(), DbErr> {
        let batch: Vec<(Key, i64)> = match self.pending.lock() {
            Ok(mut pending) => pending.drain().collect(),
            Err(_) => return Ok(()),
        };
        if batch.is_empty() {
            return Ok(());
        }
        let rows: Vec<_> = batch
            .iter()
            .map(|((t, h, r), n)| (*t, *h, r.as_str(), *n))
            .collect();
        if let Err(e) = crate::store::failures::add(db, &rows).await {
            if let Ok(mut pending) = self.pending.lock() {
                for (key, n) in batch {
                    *pending.entry(key).or_insert(0) += n;
                }
            }
            return Err(e);
        }
        Ok(())
    }
}
