//! Stripe: one client per tenant, built from its decrypted secret key, kept in a bounded cache
//! and dropped when the tenant's key changes. Outbound calls are paced per tenant below Stripe's
//! per-account limits (about 25/s in test mode, 100/s live).
use super::http::{StripeCallError, StripeHttp, TenantStripe};
use crate::crypto::{Field, Keyring, KeyringError, SecretText};
use moka::future::Cache;
use sea_orm::{DatabaseConnection, DbErr};
use std::sync::Arc;
use std::time::Duration;
use uuid::Uuid;

const TEST_MODE_PER_SECOND: u32 = 20;
const LIVE_MODE_PER_SECOND: u32 = 80;

/// A tenant's client and the mode its key is for.
pub struct TenantClient {
    pub stripe: TenantStripe,
    pub livemode: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error(transparent)]
    Db(#[from] DbErr),
    #[error(transparent)]
    Crypto(#[from] KeyringError),
}

pub struct StripeClients {
    http: StripeHttp,
    cache: Cache<Uuid, Arc<TenantClient>>,
}

impl StripeClients {
    pub fn new(api_base: &str) -> Result<Self, StripeCallError> {
        Ok(Self {
            http: StripeHttp::new(api_base)?,
            cache: Cache::builder()
                .max_capacity(10_000)
                .time_to_idle(Duration::from_secs(3600))
                .build(),
        })
    }

    /// A client for a key that is not stored (yet): for checking it.
    pub fn with_key(&self, secret: SecretText, livemode: bool) -> TenantStripe {
        TenantStripe::new(self.http.clone(), secret, pace(livemode))
    }

    /// The tenant's client; `None` when it has no Stripe config.
    pub async fn for_tenant(
        &self,
        db: &DatabaseConnection,
        keyring: &Keyring,
        tenant_id: Uuid,
    ) -> Result<Option<Arc<TenantClient>>, ClientError> {
        if let Some(hit) = self.cache.get(&tenant_id).await {
            return Ok(Some(hit));
        }
        let Some((config, _)) = crate::store::stripe_config::load(db, tenant_id).await? else {
            return Ok(None);
        };
        let secret = keyring.open(
            tenant_id,
            Field::StripeSecretKey,
            &config.secret_key_ciphertext,
        )?;
        let livemode = config.mode == "live";
        let client = Arc::new(TenantClient {
            stripe: self.with_key(secret, livemode),
            livemode,
        });
        self.cache.insert(tenant_id, client.clone()).await;
        Ok(Some(client))
    }

    /// Drops every tenant's client.
    pub fn invalidate_all(&self) {
        self.cache.invalidate_all();
    }

    /// Drops the tenant's client (its key changed or it was removed).
    pub async fn invalidate(&self, tenant_id: Uuid) {
        self.cache.invalidate(&tenant_id).await;
    }
}

fn pace(livemode: bool) -> u32 {
    if livemode {
        LIVE_MODE_PER_SECOND
    } else {
        TEST_MODE_PER_SECOND
    }
}
