//! Store: what a tenant's and the platform's Stripe credentials have in common — the sealed
//! values written, what adding or deleting a webhook secret did, and the rules both apply (at
//! most `MAX_LIVE_WEBHOOK_SECRETS` live; never delete the last current one). Their rows are in
//! `stripe_config` (a tenant's) and `platform_config` (the platform's).
use chrono::{DateTime, Utc};
use sea_orm::{ColumnTrait, Condition};
use uuid::Uuid;

/// An encrypted webhook secret ready to store (its id is bound into nothing but its row).
pub struct SealedWebhookSecret {
    pub id: Uuid,
    pub ciphertext: String,
    pub hint: String,
}

/// The encrypted secret key and what may be shown of it.
pub struct SealedConfig {
    pub secret_key_ciphertext: String,
    pub secret_key_hint: String,
    pub mode: crate::domain::StripeMode,
}

/// What adding a webhook secret did.
pub enum AddSecret<V> {
    Added(V),
    /// There is no config to add it to.
    NoConfig,
    /// [`MAX_LIVE_WEBHOOK_SECRETS`](crate::domain::MAX_LIVE_WEBHOOK_SECRETS) are live
    /// already (after the expiry the request asked for): nothing was changed.
    AtCap,
}

impl<V> AddSecret<V> {
    /// The same outcome with the added view mapped.
    pub fn map<W>(self, f: impl FnOnce(V) -> W) -> AddSecret<W> {
        match self {
            AddSecret::Added(view) => AddSecret::Added(f(view)),
            AddSecret::NoConfig => AddSecret::NoConfig,
            AddSecret::AtCap => AddSecret::AtCap,
        }
    }
}

/// Whether `expiries` (of every secret after the request's expiry change) leave room for one more.
pub(super) fn has_room(
    expiries: impl Iterator<Item = Option<DateTime<Utc>>>,
    now: DateTime<Utc>,
) -> bool {
    let live = expiries.filter(|e| e.is_none_or(|at| at > now)).count();
    live < crate::domain::MAX_LIVE_WEBHOOK_SECRETS
}

pub enum DeleteSecret {
    Deleted,
    NotFound,
    /// It is the tenant's last unexpired secret; deleting it would refuse every webhook.
    LastCurrent,
}

impl DeleteSecret {
    /// Why `target` may not be deleted from `secrets` (id, expiry) at `now`, if it may not: it
    /// is not there, or it is the last one still current. The rule for a tenant's secrets and
    /// the platform's alike.
    pub(super) fn refusal(
        secrets: impl Iterator<Item = (Uuid, Option<DateTime<Utc>>)>,
        target: Uuid,
        now: DateTime<Utc>,
    ) -> Option<Self> {
        let current = |expires_at: Option<DateTime<Utc>>| expires_at.is_none_or(|at| at > now);
        let (mut found, mut target_current, mut others_current) = (false, false, false);
        for (id, expires_at) in secrets {
            if id == target {
                found = true;
                target_current = current(expires_at);
            } else {
                others_current |= current(expires_at);
            }
        }
        if !found {
            Some(Self::NotFound)
        } else if target_current && !others_current {
            Some(Self::LastCurrent)
        } else {
            None
        }
    }
}

/// Rows of `expires_at` that would outlive `at` (no expiry, or a later one): those a rotation
/// with an overlap ending at `at` cuts short.
pub(super) fn outlives<C: ColumnTrait>(expires_at: C, at: DateTime<Utc>) -> Condition {
    Condition::any()
        .add(expires_at.is_null())
        .add(expires_at.gt(at))
}
