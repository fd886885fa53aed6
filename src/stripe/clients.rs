//! Stripe: one client per tenant, kept in a bounded cache and dropped when the tenant's key (or,
//! for a connected tenant, the platform's) changes. An `own_account` tenant's client holds its
//! own decrypted key; a `connected` tenant's holds the platform's key and sends its account as
//! `Stripe-Account`. Outbound calls are paced per account below Stripe's per-account limits
//! (about 25/s in test mode, 100/s live), and a connected tenant's also by one pace shared by
//! every connected account, for the platform key as a whole; each connected account gets at
//! most a quarter of that pace, so no account can take the platform's whole budget.
use super::credentials::{CredentialCache, LoadError, key_owner, per_second};
use super::http::{StripeCallError, StripeHttp, TenantStripe};
use crate::crypto::{Keyring, SecretText};
use crate::store::credentials::Owner;
use moka::future::Cache;
use sea_orm::{DatabaseConnection, DbErr};
use std::sync::Arc;
use std::time::Duration;
use uuid::Uuid;

/// A connected account may use at most this fraction (1/N) of the platform key's pace, so one
/// busy restaurant (a reconciliation, a burst of checkouts) leaves the rest to the others.
const ACCOUNT_SHARE: u32 = 4;

/// A tenant's client and what it calls with.
pub struct TenantClient {
    pub stripe: TenantStripe,
    pub livemode: bool,
    /// The hint of the key it calls with (the tenant's, or the platform's).
    pub key_hint: String,
    /// The connected account it calls for, if the tenant is `connected`.
    pub connected_account: Option<String>,
    /// The platform's fee on the tenant's checkouts (connected tenants only; 0 otherwise).
    pub application_fee_bps: i32,
}

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error(transparent)]
    Db(#[from] DbErr),
    #[error(transparent)]
    Credentials(#[from] LoadError),
    /// Another caller's build of the same client failed with this.
    #[error("{0}")]
    Shared(String),
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
        let pace = Arc::new(super::http::pacer(per_second(livemode)));
        TenantStripe::new(self.http.clone(), secret, pace)
    }

    /// The tenant's client; `None` when it has no key to call with (an `own_account` tenant
    /// without a Stripe config, a `connected` one while the platform has none). Concurrent first
    /// calls for one tenant build one client (one pace), not one each.
    pub async fn for_tenant(
        &self,
        db: &DatabaseConnection,
        keyring: &Keyring,
        credentials: &CredentialCache,
        tenant_id: Uuid,
    ) -> Result<Option<Arc<TenantClient>>, ClientError> {
        let built = self
            .cache
            .try_get_with(tenant_id, async {
                match self.build(db, keyring, credentials, tenant_id).await {
                    Ok(Some(client)) => Ok(Arc::new(client)),
                    Ok(None) => Err(None),
                    Err(e) => Err(Some(e)),
                }
            })
            .await;
        match built {
            Ok(client) => Ok(Some(client)),
            Err(e) => match Arc::try_unwrap(e) {
                Ok(None) => Ok(None),
                Ok(Some(e)) => Err(e),
                // Shared with another caller that waited on the same build.
                Err(shared) => match shared.as_ref() {
                    None => Ok(None),
                    Some(e) => Err(ClientError::Shared(e.to_string())),
                },
            },
        }
    }

    async fn build(
        &self,
        db: &DatabaseConnection,
        keyring: &Keyring,
        credentials: &CredentialCache,
        tenant_id: Uuid,
    ) -> Result<Option<TenantClient>, ClientError> {
        let Some(tenant) = crate::store::tenants::find(db, &tenant_id.to_string()).await? else {
            return Ok(None);
        };
        let owner = key_owner(tenant_id, tenant.kind);
        let account = match (owner, tenant.stripe_account_id) {
            (Owner::Platform, Some(account)) => Some(account),
            // A connected tenant without its account yet: nothing to call for.
            (Owner::Platform, None) => return Ok(None),
            (Owner::Tenant(_), _) => None,
        };
        let Some(key) = credentials.get(db, keyring, owner).await? else {
            return Ok(None);
        };
        let pace = credentials.pace(owner, key.livemode).await;
        let stripe = match &account {
            Some(account) => TenantStripe::connected(
                self.http.clone(),
                key.secret_key.clone(),
                per_second(key.livemode) / ACCOUNT_SHARE,
                account.clone(),
                pace,
            ),
            None => TenantStripe::new(self.http.clone(), key.secret_key.clone(), pace),
        };
        Ok(Some(TenantClient {
            stripe,
            livemode: key.livemode,
            key_hint: key.key_hint.clone(),
            application_fee_bps: if account.is_some() {
                tenant.application_fee_bps
            } else {
                0
            },
            connected_account: account,
        }))
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
