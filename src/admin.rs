//! Admin changes: what an operator or a tenant admin changes about a tenant's row (create,
//! rename, suspend, limits, delete) or its Stripe secrets (config, webhook secrets added or
//! deleted). Each goes through here: the write, then [`announce`], which makes every cache that
//! holds the tenant forget it, in this process and (`gateway_changes`) in every other replica.
//! The API calls these, never the store's writes, so no change can skip the announcement. (API
//! keys are looked up on every request, never cached: a revoked key fails everywhere at once.)
use crate::changes::{Change, announce};
use crate::state::AppState;
use crate::store::platform_config::{self, PlatformView};
use crate::store::scope::ScopedTenant;
use crate::store::stripe_config::{
    self, AddSecret, ConfigView, DeleteSecret, SealedConfig, SealedWebhookSecret,
};
use crate::store::tenants::{self, NewTenant, TenantChanges};
use chrono::{DateTime, Utc};
use entity::tenants::Model as Tenant;
use sea_orm::DbErr;
use uuid::Uuid;

pub async fn create_tenant(state: &AppState, new: NewTenant) -> Result<Tenant, DbErr> {
    let created = tenants::create(&state.db, new).await?;
    announce(state, created.id, &created.slug, Change::Created).await;
    route_waiting_events(state, &created);
    Ok(created)
}

pub async fn update_tenant(
    state: &AppState,
    current: ScopedTenant,
    changes: TenantChanges,
) -> Result<Tenant, DbErr> {
    let updated = tenants::update(&state.db, current, changes).await?;
    announce(state, updated.id, &updated.slug, Change::Changed).await;
    route_waiting_events(state, &updated);
    Ok(updated)
}

/// A tenant that has a Stripe account (now) receives the Connect events that waited for it,
/// at once, in the background (the periodic pass catches whatever this one misses).
fn route_waiting_events(state: &AppState, tenant: &Tenant) {
    if tenant.stripe_account_id.is_some() {
        let routing = state.clone();
        state
            .tasks
            .spawn(async move { crate::jobs::unrouted::route_now(&routing).await });
    }
}

/// Deletes the tenant with all its data; `false` if it was gone already.
pub async fn delete_tenant(state: &AppState, current: &ScopedTenant) -> Result<bool, DbErr> {
    let deleted = tenants::delete(&state.db, current).await?;
    announce(state, current.id, &current.slug, Change::Removed).await;
    Ok(deleted)
}

pub async fn put_stripe_config(
    state: &AppState,
    tenant: &ScopedTenant,
    config: SealedConfig,
    secret: SealedWebhookSecret,
) -> Result<ConfigView, DbErr> {
    let view = stripe_config::put(&state.db, tenant, config, secret).await?;
    announce(state, tenant.id, &tenant.slug, Change::Changed).await;
    Ok(view)
}

/// Adds a webhook secret (announced only when one was added).
pub async fn add_webhook_secret(
    state: &AppState,
    tenant: &ScopedTenant,
    secret: SealedWebhookSecret,
    expire_others_at: Option<DateTime<Utc>>,
) -> Result<AddSecret<ConfigView>, DbErr> {
    let added =
        stripe_config::add_webhook_secret(&state.db, tenant, secret, expire_others_at).await?;
    if matches!(added, AddSecret::Added(_)) {
        announce(state, tenant.id, &tenant.slug, Change::Changed).await;
    }
    Ok(added)
}

pub async fn delete_webhook_secret(
    state: &AppState,
    tenant: &ScopedTenant,
    secret_id: Uuid,
) -> Result<DeleteSecret, DbErr> {
    let deleted = stripe_config::delete_webhook_secret(&state.db, tenant, secret_id).await?;
    announce(state, tenant.id, &tenant.slug, Change::Changed).await;
    Ok(deleted)
}

// The platform's Stripe config: the Connect endpoint's runtime and the connected tenants'
// clients are forgotten, on every replica, like a tenant's.

/// Announces a change to the platform's config.
async fn platform_changed(state: &AppState) {
    announce(state, platform_config::PLATFORM, "", Change::Platform).await;
}

pub async fn put_platform_config(
    state: &AppState,
    config: SealedConfig,
    secret: SealedWebhookSecret,
) -> Result<PlatformView, DbErr> {
    let view = platform_config::put(&state.db, config, secret).await?;
    platform_changed(state).await;
    Ok(view)
}

/// Adds a Connect webhook secret (announced only when one was added).
pub async fn add_platform_webhook_secret(
    state: &AppState,
    secret: SealedWebhookSecret,
    expire_others_at: Option<DateTime<Utc>>,
) -> Result<AddSecret<PlatformView>, DbErr> {
    let added = platform_config::add_webhook_secret(&state.db, secret, expire_others_at).await?;
    if matches!(added, AddSecret::Added(_)) {
        platform_changed(state).await;
    }
    Ok(added)
}

pub async fn delete_platform_webhook_secret(
    state: &AppState,
    secret_id: Uuid,
) -> Result<DeleteSecret, DbErr> {
    let deleted = platform_config::delete_webhook_secret(&state.db, secret_id).await?;
    platform_changed(state).await;
    Ok(deleted)
}
