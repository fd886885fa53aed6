//! Webhooks: the Connect platform's runtime — what the Connect endpoint needs to verify a
//! delivery (the platform key's mode and its decrypted Connect webhook secrets), loaded once and
//! kept in memory, forgotten on every change to the platform's config here or (by the
//! `gateway_changes` notice) in another replica, and at most 30 s old otherwise.
use super::tenants::{ActiveSecret, LoadError};
use crate::crypto::{Field, Keyring};
use crate::store::platform_config::PLATFORM;
use chrono::{DateTime, Utc};
use moka::future::Cache;
use sea_orm::DatabaseConnection;
use std::sync::Arc;
use std::time::Duration;

const TTL: Duration = Duration::from_secs(30);

pub struct PlatformRuntime {
    /// The mode of the platform's key: events of the other mode are recorded and ignored.
    pub livemode: bool,
    pub secrets: Vec<ActiveSecret>,
}

impl PlatformRuntime {
    /// The Connect secrets that verify at `now` (unexpired).
    pub fn current_secrets(&self, now: DateTime<Utc>) -> impl Iterator<Item = &str> {
        super::tenants::current(&self.secrets, now)
    }
}

pub struct PlatformCache {
    /// One entry, or none; `None` inside: the platform has no config (remembered like a config).
    cache: Cache<(), Option<Arc<PlatformRuntime>>>,
}

impl Default for PlatformCache {
    fn default() -> Self {
        Self {
            cache: Cache::builder().max_capacity(1).time_to_live(TTL).build(),
        }
    }
}

impl PlatformCache {
    /// The platform's runtime; `None` when it has no config.
    pub async fn get(
        &self,
        db: &DatabaseConnection,
        keyring: &Keyring,
    ) -> Result<Option<Arc<PlatformRuntime>>, LoadError> {
        if let Some(hit) = self.cache.get(&()).await {
            return Ok(hit);
        }
        let runtime = load(db, keyring).await?.map(Arc::new);
        self.cache.insert((), runtime.clone()).await;
        Ok(runtime)
    }

    /// Forgets the platform's runtime (its config changed).
    pub fn invalidate(&self) {
        self.cache.invalidate_all();
    }
}

async fn load(
    db: &DatabaseConnection,
    keyring: &Keyring,
) -> Result<Option<PlatformRuntime>, LoadError> {
    let Some((config, rows)) = crate::store::platform_config::get(db).await? else {
        return Ok(None);
    };
    let sealed = rows
        .iter()
        .map(|row| (row.secret_ciphertext.as_str(), row.expires_at));
    let secrets =
        super::tenants::open_all(keyring, PLATFORM, Field::PlatformWebhookSecret, sealed)?;
    Ok(Some(PlatformRuntime {
        livemode: config.mode.is_live(),
        secrets,
    }))
}
