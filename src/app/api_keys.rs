//! Use cases: tenant API keys — issued (shown this once, stored as a SHA-256 hash and a
//! recognisable prefix), listed, revoked, and looked up for each request. Keys are never cached:
//! a revoked key fails on every replica at once.
use super::{Error, Principal, Result, TenantScope};
use crate::crypto::{SecretText, random_token};
use crate::domain;
use crate::state::{Context, token_digest};
use crate::store::{self, Page, PageRequest};
use entity::api_keys::Model as ApiKey;
use uuid::Uuid;

/// Every tenant API key starts with this.
pub const KEY_PREFIX: &str = "gwk_";
/// How many leading characters of a key are kept to recognise it (`gwk_` + 8).
const SHOWN_PREFIX_LEN: usize = 12;

/// A key just issued: its row, and the key itself (to be shown this once).
pub struct Issued {
    pub key: ApiKey,
    pub secret: SecretText,
}

/// Operator only.
pub async fn issue(state: &Context, scope: &TenantScope, name: &str) -> Result<Issued> {
    scope.caller.require_operator("issue API keys")?;
    let name = domain::parse_key_name(name)?;
    let secret = random_token(KEY_PREFIX, 32);
    let prefix: String = secret.expose().chars().take(SHOWN_PREFIX_LEN).collect();
    let hash = hex::encode(token_digest(secret.expose()));
    let key = store::api_keys::create(&state.db, scope, name, prefix, hash).await?;
    tracing::info!(tenant = %scope.slug, key_id = %key.id, "API key issued");
    Ok(Issued { key, secret })
}

pub async fn list(state: &Context, scope: &TenantScope, page: PageRequest) -> Result<Page<ApiKey>> {
    Ok(store::owned::list::<entity::api_keys::Entity, _>(&state.db, scope, page).await?)
}

/// Operator only; revoking a revoked key is harmless.
pub async fn revoke(state: &Context, scope: &TenantScope, key_id: Uuid) -> Result<()> {
    scope.caller.require_operator("revoke API keys")?;
    match store::api_keys::revoke(&state.db, scope, key_id).await? {
        Some(_) => Ok(()),
        None => Err(Error::NotFound("API key")),
    }
}

/// The tenant whose live key `token` is; `None` for anything else (not a key, unknown, revoked).
pub async fn holder(state: &Context, token: &str) -> Result<Option<(Uuid, Principal)>> {
    if !token.starts_with(KEY_PREFIX) {
        return Ok(None);
    }
    let hash = hex::encode(token_digest(token));
    let found = store::api_keys::find_active_by_hash(&state.db, &hash).await?;
    Ok(found.map(|key| {
        let tenant_id = key.tenant_id;
        (key.id, Principal::Tenant { tenant_id })
    }))
}
