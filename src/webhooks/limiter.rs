//! Webhooks: rate limits. Each tenant has its own token bucket (`rate_limit_per_second`, burst
//! `rate_limit_burst`), rebuilt when its limits change, so one tenant's flood never spends
//! another's tokens. Lookups of unknown tenants share one bucket, so a flood of made-up tenant
//! names cannot turn into a flood of queries.
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use moka::sync::Cache;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;
use uuid::Uuid;

/// Tenant lookups that miss the cache, allowed per second (and burst) across all tenants:
/// ample for a cold start, a ceiling on queries for floods of made-up tenant names.
const LOOKUPS_PER_SECOND: u32 = 500;
const LOOKUPS_BURST: u32 = 2000;

struct Bucket {
    limits: (i64, i64),
    limiter: DefaultDirectRateLimiter,
}

pub struct Limiters {
    tenants: Cache<Uuid, Arc<Bucket>>,
    lookups: DefaultDirectRateLimiter,
    clock: DefaultClock,
}

fn nonzero(v: i64) -> NonZeroU32 {
    NonZeroU32::new(u32::try_from(v).unwrap_or(u32::MAX).max(1)).unwrap_or(NonZeroU32::MIN)
}

fn quota(per_second: i64, burst: i64) -> Quota {
    Quota::per_second(nonzero(per_second)).allow_burst(nonzero(burst))
}

impl Default for Limiters {
    fn default() -> Self {
        Self {
            tenants: Cache::builder()
                .max_capacity(100_000)
                .time_to_idle(Duration::from_secs(600))
                .build(),
            lookups: RateLimiter::direct(quota(LOOKUPS_PER_SECOND.into(), LOOKUPS_BURST.into())),
            clock: DefaultClock::default(),
        }
    }
}

impl Limiters {
    /// Takes one token from the tenant's bucket; `Err(wait)` when empty.
    pub fn check_tenant(
        &self,
        tenant_id: Uuid,
        per_second: i64,
        burst: i64,
    ) -> Result<(), Duration> {
        let limits = (per_second, burst);
        let bucket = match self.tenants.get(&tenant_id) {
            Some(b) if b.limits == limits => b,
            _ => {
                let b = Arc::new(Bucket {
                    limits,
                    limiter: RateLimiter::direct(quota(per_second, burst)),
                });
                self.tenants.insert(tenant_id, b.clone());
                b
            }
        };
        bucket
            .limiter
            .check()
            .map_err(|not_until| not_until.wait_time_from(self.clock.now()))
    }

    /// Takes one token for a tenant lookup that missed the cache.
    pub fn check_lookup(&self) -> Result<(), Duration> {
        self.lookups
            .check()
            .map_err(|not_until| not_until.wait_time_from(self.clock.now()))
    }
}
