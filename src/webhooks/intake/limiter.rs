//! Webhooks: rate limits. Each tenant has its own allowance (`rate_limit_per_second`, burst
//! `rate_limit_burst`), so one tenant's flood never spends another's. With Redis
//! (`GATEWAY_REDIS_URL`) the allowance is shared by every replica ([`SharedLimiter`]); without it,
//! or while Redis does not answer, each replica keeps its own token bucket (divided by
//! `GATEWAY_REPLICAS_HINT` when it stands in for Redis), rebuilt when the limits change. Lookups
//! of unknown tenants share one local bucket, so a flood of made-up tenant names cannot turn into
//! a flood of queries.
use super::shared_limit::{SharedLimiter, Unavailable};
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use moka::sync::Cache;
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use uuid::Uuid;

/// Tenant lookups that miss the cache, allowed per second (and burst) across all tenants:
/// ample for a cold start, a ceiling on queries for floods of made-up tenant names.
const LOOKUPS_PER_SECOND: u32 = 500;
const LOOKUPS_BURST: u32 = 2000;

struct Bucket {
    limits: (i64, i64),
    limiter: DefaultDirectRateLimiter,
}

/// How often falling back to the local limiter is logged (every fallback is counted).
const LOG_FALLBACK_EVERY: Duration = Duration::from_secs(60);

pub struct Limiters {
    tenants: Cache<Uuid, Arc<Bucket>>,
    lookups: DefaultDirectRateLimiter,
    clock: DefaultClock,
    shared: Option<SharedLimiter>,
    replicas_hint: i64,
    fallback_logged: Mutex<Option<Instant>>,
    falling_back: AtomicBool,
}

fn nonzero(v: i64) -> NonZeroU32 {
    NonZeroU32::new(u32::try_from(v).unwrap_or(u32::MAX).max(1)).unwrap_or(NonZeroU32::MIN)
}

fn quota(per_second: i64, burst: i64) -> Quota {
    Quota::per_second(nonzero(per_second)).allow_burst(nonzero(burst))
}

impl Default for Limiters {
    fn default() -> Self {
        Self::new(None, 1)
    }
}

impl Limiters {
    /// Per-tenant limits shared through `shared` when given, else local to this process.
    pub fn new(shared: Option<SharedLimiter>, replicas_hint: u32) -> Self {
        Self {
            tenants: Cache::builder()
                .max_capacity(100_000)
                .time_to_idle(Duration::from_secs(600))
                .build(),
            lookups: RateLimiter::direct(quota(LOOKUPS_PER_SECOND.into(), LOOKUPS_BURST.into())),
            clock: DefaultClock::default(),
            shared,
            replicas_hint: i64::from(replicas_hint.max(1)),
            fallback_logged: Mutex::new(None),
            falling_back: AtomicBool::new(false),
        }
    }

    /// The shared limiter, when Redis is configured.
    pub fn shared(&self) -> Option<&SharedLimiter> {
        self.shared.as_ref()
    }

    /// Takes one delivery from the tenant's allowance; `Err(wait)` when it is spent.
    pub async fn check_tenant(
        &self,
        tenant_id: Uuid,
        per_second: i64,
        burst: i64,
    ) -> Result<(), Duration> {
        let Some(shared) = &self.shared else {
            return self.check_local(tenant_id, per_second, burst);
        };
        match shared.check(tenant_id, per_second, burst).await {
            Ok(verdict) => {
                if self.falling_back.swap(false, Ordering::Relaxed) {
                    tracing::info!("Redis answers again: tenants' rate limits are shared again");
                }
                verdict
            }
            Err(why) => {
                self.fell_back(&why);
                let hint = self.replicas_hint;
                self.check_local(tenant_id, (per_second / hint).max(1), (burst / hint).max(1))
            }
        }
    }

    /// Counts a fallback to the local limiter, and logs it at most once a minute.
    fn fell_back(&self, why: &Unavailable) {
        crate::telemetry::rate_limiter_fallback();
        self.falling_back.store(true, Ordering::Relaxed);
        let Ok(mut logged) = self.fallback_logged.lock() else {
            return;
        };
        if logged.is_none_or(|at| at.elapsed() >= LOG_FALLBACK_EVERY) {
            *logged = Some(Instant::now());
            tracing::warn!(error = %why, replicas_hint = self.replicas_hint, "Redis does not answer: each replica limits tenants alone, to their limit divided by GATEWAY_REPLICAS_HINT, until it does (tried again every second; logged once a minute, counted in gateway_rate_limiter_fallback_total)");
        }
    }

    /// Takes one token from the tenant's bucket in this process; `Err(wait)` when empty.
    fn check_local(&self, tenant_id: Uuid, per_second: i64, burst: i64) -> Result<(), Duration> {
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
