//! Stripe: every owner's credentials, opened — the one in-memory model of "which key, in which
//! mode, and which webhook secrets" that webhook intake, the Connect endpoint, the Stripe
//! clients, reconciliation and Connect routing all read. An owner is a tenant (its own account)
//! or the Connect platform. Loaded once and kept in memory (bounded), forgotten whenever the
//! owner's credentials change here or (by the `gateway_changes` notice) in another replica, and
//! at most 30 s old otherwise. Each key's pace (how fast calls with it may go to Stripe) lives
//! here too, by owner and mode, so that reloading the credentials does not reset it.
use crate::crypto::{Field, Keyring, KeyringError, SecretText};
use crate::store::credentials::{self, Owner, Stored};
use chrono::{DateTime, Utc};
use governor::DefaultDirectRateLimiter;
use moka::future::Cache;
use sea_orm::{ConnectionTrait, DbErr};
use std::sync::Arc;
use std::time::Duration;

const MAX_OWNERS: u64 = 100_000;
const TTL: Duration = Duration::from_secs(30);
/// Stripe's per-account limits are about 25/s in test mode and 100/s live: stay below.
const TEST_MODE_PER_SECOND: u32 = 20;
const LIVE_MODE_PER_SECOND: u32 = 80;

/// A webhook secret, decrypted, with its expiry.
pub struct ActiveSecret {
    pub secret: SecretText,
    pub expires_at: Option<DateTime<Utc>>,
}

/// An owner's credentials, decrypted.
pub struct OpenCredentials {
    pub secret_key: SecretText,
    /// What may be shown of the key.
    pub key_hint: String,
    /// The key's mode: events of the other mode are recorded and ignored.
    pub livemode: bool,
    pub webhook_secrets: Vec<ActiveSecret>,
}

impl OpenCredentials {
    /// The webhook secrets that verify at `now` (unexpired).
    pub fn current_secrets(&self, now: DateTime<Utc>) -> impl Iterator<Item = &str> {
        self.webhook_secrets
            .iter()
            .filter(move |s| s.expires_at.is_none_or(|at| at > now))
            .map(|s| s.secret.expose())
    }
}

#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error(transparent)]
    Db(#[from] DbErr),
    #[error(transparent)]
    Crypto(#[from] KeyringError),
}

pub struct CredentialCache {
    /// `None` inside: the owner has no credentials (remembered like credentials).
    open: Cache<Owner, Option<Arc<OpenCredentials>>>,
    paces: Cache<(Owner, bool), Arc<DefaultDirectRateLimiter>>,
}

impl Default for CredentialCache {
    fn default() -> Self {
        Self {
            open: Cache::builder()
                .max_capacity(MAX_OWNERS)
                .time_to_live(TTL)
                .build(),
            paces: Cache::builder()
                .max_capacity(MAX_OWNERS)
                .time_to_idle(Duration::from_secs(3600))
                .build(),
        }
    }
}

impl CredentialCache {
    /// The owner's credentials; `None` when it has none.
    pub async fn get(
        &self,
        db: &impl ConnectionTrait,
        keyring: &Keyring,
        owner: Owner,
    ) -> Result<Option<Arc<OpenCredentials>>, LoadError> {
        if let Some(hit) = self.open.get(&owner).await {
            return Ok(hit);
        }
        let opened = match credentials::get(db, owner).await? {
            Some(stored) => Some(Arc::new(open(keyring, owner, stored)?)),
            None => None,
        };
        self.open.insert(owner, opened.clone()).await;
        Ok(opened)
    }

    /// The pace of the owner's key in a mode: every call made with it waits its turn here.
    pub async fn pace(&self, owner: Owner, livemode: bool) -> Arc<DefaultDirectRateLimiter> {
        self.paces
            .get_with((owner, livemode), async {
                Arc::new(super::http::pacer(per_second(livemode)))
            })
            .await
    }

    /// Forgets the owner's credentials (they changed, or the tenant was removed).
    pub async fn invalidate(&self, owner: Owner) {
        self.open.invalidate(&owner).await;
    }

    /// Forgets every owner's credentials (what changed meanwhile is unknown).
    pub fn invalidate_all(&self) {
        self.open.invalidate_all();
    }
}

/// Whose key serves a tenant's Stripe calls: a connected tenant's, the platform's (with the
/// tenant's account as `Stripe-Account`); any other's, its own.
pub fn key_owner(tenant_id: uuid::Uuid, kind: entity::status::TenantKind) -> Owner {
    match kind {
        entity::status::TenantKind::Connected => Owner::Platform,
        _ => Owner::Tenant(tenant_id),
    }
}

/// How many calls a second a key may make in its mode.
pub fn per_second(livemode: bool) -> u32 {
    if livemode {
        LIVE_MODE_PER_SECOND
    } else {
        TEST_MODE_PER_SECOND
    }
}

/// The fields an owner's key and webhook secrets are sealed as (bound into each ciphertext with
/// the owner's id, so that no row opens as another owner's or another field's).
pub fn fields(owner: Owner) -> (Field, Field) {
    match owner {
        Owner::Tenant(_) => (Field::StripeSecretKey, Field::WebhookSecret),
        Owner::Platform => (Field::PlatformSecretKey, Field::PlatformWebhookSecret),
    }
}

/// Decrypts what the owner has stored.
fn open(keyring: &Keyring, owner: Owner, stored: Stored) -> Result<OpenCredentials, KeyringError> {
    let (key_field, secret_field) = fields(owner);
    let id = owner.id();
    let webhook_secrets = stored
        .secrets
        .iter()
        .map(|s| {
            Ok(ActiveSecret {
                secret: keyring.open(id, secret_field, &s.ciphertext)?,
                expires_at: s.expires_at,
            })
        })
        .collect::<Result<_, KeyringError>>()?;
    Ok(OpenCredentials {
        secret_key: keyring.open(id, key_field, &stored.key.secret_key_ciphertext)?,
        key_hint: stored.key.secret_key_hint,
        livemode: stored.key.mode.is_live(),
        webhook_secrets,
    })
}
