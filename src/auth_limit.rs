//! Failed admin-API authentications limited per client address (DESIGN.md "Admin API abuse"),
//! and the requests each tenant API key may make (`GATEWAY_API_KEY_REQUESTS_PER_SECOND`, twice
//! that at once; 429 `rate_limited` beyond): one tenant's integration cannot take the admin
//! API, or the Stripe calls it leads to, from the others. The operator's token is not limited.
//!
//! Each address has a budget of failed bearer checks (default 20 per minute, burst 40); a
//! success costs nothing. Once an address has spent it, every authenticated request from it is
//! answered `429` with `Retry-After` *without looking at the token*, until the budget refills:
//! a limited address learns nothing, so it cannot keep guessing at full speed and read a `200`
//! off the answers. Other addresses are never affected, so a valid token used from anywhere else
//! keeps working. IPv6 addresses count by their /64 (one host's whole block).
//!
//! Behind a load balancer every request comes from the balancer's address: list it in
//! `GATEWAY_TRUSTED_PROXIES` and the client is the rightmost `X-Forwarded-For` entry that is
//! not a trusted proxy. Without that setting the header is ignored, so a client cannot choose
//! the address it is counted under.
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use ipnet::IpNet;
use moka::sync::Cache;
use std::net::{IpAddr, Ipv6Addr};
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The address an attempt is counted under.
type ClientKey = IpAddr;

pub struct AuthLimiter {
    quota: Quota,
    budgets: Cache<ClientKey, Arc<DefaultDirectRateLimiter>>,
    /// Addresses that have spent their budget, and until when.
    limited: Cache<ClientKey, Instant>,
    trusted_proxies: Vec<IpNet>,
    clock: DefaultClock,
    /// Requests per tenant API key (by the key's id).
    keys: governor::DefaultKeyedRateLimiter<uuid::Uuid>,
}

impl AuthLimiter {
    /// `per_minute` failures, `burst` at once, per client address.
    pub fn new(
        per_minute: u32,
        burst: u32,
        trusted_proxies: Vec<IpNet>,
        key_per_second: u32,
    ) -> Self {
        let key_per_second = NonZeroU32::new(key_per_second).unwrap_or(NonZeroU32::MIN);
        let key_burst = key_per_second.saturating_mul(NonZeroU32::MIN.saturating_add(1));
        let per_minute = NonZeroU32::new(per_minute).unwrap_or(NonZeroU32::MIN);
        let burst = NonZeroU32::new(burst).unwrap_or(NonZeroU32::MIN);
        // An address idle for as long as its burst takes to refill has a full budget again:
        // forgetting it then changes nothing, and bounds the memory a spray of addresses takes.
        let refill = Duration::from_secs(60 * u64::from(burst.get()) / u64::from(per_minute.get()))
            .max(Duration::from_secs(1));
        Self {
            quota: Quota::per_minute(per_minute).allow_burst(burst),
            budgets: Cache::builder()
                .max_capacity(100_000)
                .time_to_idle(refill)
                .build(),
            limited: Cache::builder()
                .max_capacity(100_000)
                .time_to_live(refill)
                .build(),
            trusted_proxies,
            clock: DefaultClock::default(),
            keys: RateLimiter::keyed(Quota::per_second(key_per_second).allow_burst(key_burst)),
        }
    }

    /// Counts a request made with tenant API key `key_id`; `Err(wait)` beyond its rate.
    pub fn key_request(&self, key_id: uuid::Uuid) -> Result<(), Duration> {
        if self.keys.len() > 100_000 {
            self.keys.retain_recent();
        }
        self.keys
            .check_key(&key_id)
            .map_err(|not_until| not_until.wait_time_from(self.clock.now()))
    }

    /// The client a request counts under: its peer address, or with a trusted proxy in front,
    /// the rightmost address of `X-Forwarded-For` that is not one of the trusted proxies.
    /// `forwarded_for` (the `X-Forwarded-For` header values, in order) is read only then.
    pub fn client<'h>(
        &self,
        peer: Option<IpAddr>,
        forwarded_for: impl Iterator<Item = &'h str>,
    ) -> Option<ClientKey> {
        let peer = peer?;
        let trusted = |ip: &IpAddr| self.trusted_proxies.iter().any(|net| net.contains(ip));
        if !trusted(&peer) {
            return Some(key(peer));
        }
        let hops: Vec<&str> = forwarded_for
            .flat_map(|h| h.split(','))
            .map(str::trim)
            .collect();
        let mut hops = hops.into_iter().rev();
        let mut last_trusted = peer;
        for hop in hops.by_ref() {
            match hop.parse::<IpAddr>() {
                Ok(ip) if trusted(&ip) => last_trusted = ip,
                Ok(ip) => return Some(key(ip)),
                // A hop we cannot read: the proxy next to it is the last address we can vouch for.
                Err(_) => break,
            }
        }
        Some(key(last_trusted))
    }

    /// How long `client` must still wait, if it has spent its budget.
    pub fn limited(&self, client: Option<ClientKey>) -> Option<Duration> {
        let until = self.limited.get(&client?)?;
        until.checked_duration_since(Instant::now())
    }

    /// Counts a failed authentication from `client`; `Err(wait)` when that spent the budget.
    pub fn failed(&self, client: Option<ClientKey>) -> Result<(), Duration> {
        let Some(client) = client else {
            return Ok(());
        };
        let budget = self
            .budgets
            .get_with(client, || Arc::new(RateLimiter::direct(self.quota)));
        budget.check().map_err(|not_until| {
            let wait = not_until.wait_time_from(self.clock.now());
            if self.limited.get(&client).is_none() {
                tracing::warn!(client = %client, wait_secs = wait.as_secs_f64(), "failed authentications from this address are limited");
            }
            self.limited.insert(client, Instant::now() + wait);
            wait
        })
    }
}

/// IPv4 addresses count alone, IPv6 ones by their /64.
fn key(ip: IpAddr) -> ClientKey {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let s = v6.segments();
                IpAddr::V6(Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
            }
        },
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::config::parse_trusted_proxies;

    fn limiter(proxies: &str) -> AuthLimiter {
        AuthLimiter::new(20, 3, parse_trusted_proxies(proxies).unwrap().0, 50)
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn the_client_is_the_peer_unless_the_peer_is_a_trusted_proxy() {
        let none = limiter("");
        assert_eq!(
            none.client(Some(ip("10.0.0.5")), ["1.2.3.4"].into_iter()),
            Some(ip("10.0.0.5")),
            "X-Forwarded-For from an untrusted peer is ignored"
        );
        let lb = limiter("10.0.0.0/8, 192.168.1.7");
        assert_eq!(
            lb.client(Some(ip("10.0.0.5")), ["1.2.3.4, 10.1.1.1"].into_iter()),
            Some(ip("1.2.3.4")),
            "the rightmost hop that is not a trusted proxy"
        );
        assert_eq!(
            lb.client(Some(ip("10.0.0.5")), ["9.9.9.9, 1.2.3.4"].into_iter()),
            Some(ip("1.2.3.4")),
            "a client cannot prepend an address of its choice"
        );
        assert_eq!(
            lb.client(Some(ip("10.0.0.5")), ["garbage, 10.1.1.1"].into_iter()),
            Some(ip("10.1.1.1"))
        );
        assert_eq!(
            lb.client(Some(ip("10.0.0.5")), [].into_iter()),
            Some(ip("10.0.0.5"))
        );
        assert_eq!(
            lb.client(Some(ip("2001:db8:1:2:3:4:5:6")), [].into_iter()),
            Some(ip("2001:db8:1:2::")),
            "IPv6 by its /64"
        );
        assert!(parse_trusted_proxies("10.0.0.0/33").is_err());
    }

    #[test]
    fn an_address_that_spent_its_budget_waits_and_others_do_not() {
        let l = limiter("");
        let (a, b) = (Some(ip("1.1.1.1")), Some(ip("2.2.2.2")));
        for _ in 0..3 {
            assert!(l.failed(a).is_ok());
        }
        assert!(l.limited(a).is_none());
        let wait = l.failed(a).unwrap_err();
        assert!(wait > Duration::from_secs(2) && wait <= Duration::from_secs(3));
        assert!(l.limited(a).is_some());
        assert!(l.limited(b).is_none() && l.failed(b).is_ok());
    }
}
