//! Webhooks: the tenant cache. What the hot path needs of a tenant — status, limits, and its
//! opened credentials (mode, webhook secrets: from the one credential cache) — loaded once and
//! kept in memory (bounded), dropped whenever the tenant or its Stripe config changes here, and
//! at most 30 s old for changes made by another replica. Unknown tenant references are
//! remembered briefly so floods of them cost no queries.
use crate::crypto::Keyring;
use crate::store::credentials::Owner;
pub use crate::stripe::credentials::LoadError;
use crate::stripe::credentials::{CredentialCache, OpenCredentials};
use chrono::{DateTime, Utc};
use moka::future::Cache;
use sea_orm::{DatabaseConnection, DbErr};
use std::sync::Arc;
use std::time::Duration;
use uuid::Uuid;

const MAX_TENANTS: u64 = 100_000;
const TTL: Duration = Duration::from_secs(30);
const MISSING_TTL: Duration = Duration::from_secs(10);

/// The hot path's view of a tenant.
pub struct TenantRuntime {
    pub id: Uuid,
    pub slug: String,
    pub suspended: bool,
    /// A `connected` tenant's events come through the Connect endpoint only.
    pub connected: bool,
    pub rate_limit_per_second: i64,
    pub rate_limit_burst: i64,
    /// Its own Stripe credentials; `None` until it has a Stripe config (and always for a
    /// connected tenant: the platform's serve it).
    pub credentials: Option<Arc<OpenCredentials>>,
}

impl TenantRuntime {
    /// The mode of its own key; `None` without a Stripe config.
    pub fn livemode(&self) -> Option<bool> {
        self.credentials.as_ref().map(|c| c.livemode)
    }

    /// The secrets that verify at `now` (unexpired).
    pub fn current_secrets(&self, now: DateTime<Utc>) -> impl Iterator<Item = &str> {
        self.credentials
            .iter()
            .flat_map(move |c| c.current_secrets(now))
    }
}

pub struct TenantCache {
    by_id: Cache<Uuid, Arc<TenantRuntime>>,
    /// Every reference (slug and id) of the tenants known to exist, to their id: loaded at start,
    /// kept as tenants are created, loaded or removed. A cache miss on a known name skips the
    /// shared lookup budget, which is there for made-up names only (a restart with 10,000 tenants
    /// would otherwise answer 429 until each had been looked up within the budget).
    names: Cache<String, Uuid>,
    missing: Cache<String, ()>,
    /// Connect routing: a connected account's tenant, or `None` for an account no tenant has
    /// (so a stream of unrouted events costs no query each). Forgotten on every tenant change.
    accounts: Cache<String, Option<Uuid>>,
}

impl Default for TenantCache {
    fn default() -> Self {
        Self {
            by_id: Cache::builder()
                .max_capacity(MAX_TENANTS)
                .time_to_live(TTL)
                .build(),
            names: Cache::builder().max_capacity(2 * MAX_TENANTS).build(),
            missing: Cache::builder()
                .max_capacity(MAX_TENANTS)
                .time_to_live(MISSING_TTL)
                .build(),
            accounts: Cache::builder()
                .max_capacity(MAX_TENANTS)
                .time_to_live(TTL)
                .build(),
        }
    }
}

impl TenantCache {
    /// Whether `reference` was recently looked up and not found (no query needed to refuse it).
    pub async fn known_missing(&self, reference: &str) -> bool {
        self.missing.contains_key(reference)
    }

    /// Whether `reference` names a tenant known to exist (its miss needs no lookup budget).
    pub async fn is_known(&self, reference: &str) -> bool {
        self.names.contains_key(reference)
    }

    /// Remembers that a tenant exists, by slug and by id.
    pub async fn introduce(&self, id: Uuid, slug: &str) {
        self.names.insert(slug.to_owned(), id).await;
        self.names.insert(id.to_string(), id).await;
    }

    /// Learns every existing tenant's references (at start).
    pub async fn warm(&self, db: &DatabaseConnection) -> Result<usize, DbErr> {
        let all = crate::store::tenants::references(db).await?;
        for (id, slug) in &all {
            self.introduce(*id, slug).await;
        }
        Ok(all.len())
    }

    /// Forgets a removed tenant entirely.
    pub async fn removed(&self, tenant_id: Uuid, slug: &str) {
        self.invalidate(tenant_id, slug).await;
        self.names.invalidate(slug).await;
        self.names.invalidate(&tenant_id.to_string()).await;
    }

    /// The tenant named by `reference` (slug or id) if it is in memory.
    pub async fn cached(&self, reference: &str) -> Option<Arc<TenantRuntime>> {
        let id = match Uuid::parse_str(reference) {
            Ok(id) => id,
            Err(_) => self.names.get(reference).await?,
        };
        self.by_id.get(&id).await
    }

    /// Loads the tenant named by `reference` from the database and keeps it in memory.
    pub async fn load(
        &self,
        db: &DatabaseConnection,
        keyring: &Keyring,
        credentials: &CredentialCache,
        reference: &str,
    ) -> Result<Option<Arc<TenantRuntime>>, LoadError> {
        match load(db, keyring, credentials, reference).await? {
            Some(runtime) => Ok(Some(self.remember(runtime).await)),
            None => {
                self.missing.insert(reference.to_owned(), ()).await;
                Ok(None)
            }
        }
    }

    /// Keeps a loaded tenant in memory, reachable by id and by slug.
    pub async fn remember(&self, runtime: TenantRuntime) -> Arc<TenantRuntime> {
        let runtime = Arc::new(runtime);
        self.introduce(runtime.id, &runtime.slug).await;
        self.by_id.insert(runtime.id, runtime.clone()).await;
        runtime
    }

    /// Forgets every tenant loaded, and every name remembered missing (the names of tenants
    /// known to exist stay: a stale one only costs a lookup).
    pub fn invalidate_all(&self) {
        self.by_id.invalidate_all();
        self.missing.invalidate_all();
        self.accounts.invalidate_all();
    }

    /// The tenant whose Stripe account is `account`, if any (Connect routing).
    pub async fn by_account(
        &self,
        db: &DatabaseConnection,
        keyring: &Keyring,
        credentials: &CredentialCache,
        account: &str,
    ) -> Result<Option<Arc<TenantRuntime>>, LoadError> {
        let id = match self.accounts.get(account).await {
            Some(known) => known,
            None => {
                let id = crate::store::tenants::by_account(db, account).await?;
                self.accounts.insert(account.to_owned(), id).await;
                id
            }
        };
        let Some(id) = id else { return Ok(None) };
        if let Some(hit) = self.by_id.get(&id).await {
            return Ok(Some(hit));
        }
        self.load(db, keyring, credentials, &id.to_string()).await
    }

    /// Forgets what is cached about a tenant after any change to it or its Stripe config (its
    /// names stay: a tenant's slug never changes).
    pub async fn invalidate(&self, tenant_id: Uuid, slug: &str) {
        // Which account it had is not known here: any account may have moved.
        self.accounts.invalidate_all();
        self.by_id.invalidate(&tenant_id).await;
        self.missing.invalidate(slug).await;
        self.missing.invalidate(&tenant_id.to_string()).await;
    }
}

async fn load(
    db: &DatabaseConnection,
    keyring: &Keyring,
    credentials: &CredentialCache,
    reference: &str,
) -> Result<Option<TenantRuntime>, LoadError> {
    let Some(tenant) = crate::store::tenants::find(db, reference).await? else {
        return Ok(None);
    };
    let connected = tenant.kind == entity::status::TenantKind::Connected;
    let credentials = if connected {
        None
    } else {
        credentials
            .get(db, keyring, Owner::Tenant(tenant.id))
            .await?
    };
    Ok(Some(TenantRuntime {
        id: tenant.id,
        slug: tenant.slug,
        suspended: tenant.status == entity::status::TenantStatus::Suspended,
        connected,
        rate_limit_per_second: tenant.rate_limit_per_second,
        rate_limit_burst: tenant.rate_limit_burst,
        credentials,
    }))
}
