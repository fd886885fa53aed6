//! Use cases: tenants — create, list, change, remove. Every write a cache holds is announced
//! here (`changes::announce`: this process's caches and every other replica's forget the
//! tenant), and only when something changed; nothing else writes a tenant's row.
use super::{Error, Principal, Result, TenantScope};
use crate::changes::{Change, announce};
use crate::domain;
use crate::state::Context;
pub use crate::store::tenants::{NewTenant, TenantChanges};
use crate::store::{self, Page, PageRequest};
use entity::tenants::Model as Tenant;

pub async fn create(state: &Context, caller: &Principal, new: NewTenant) -> Result<Tenant> {
    caller.require_operator("create tenants")?;
    domain::check_kind(new.kind, new.stripe_account_id.as_deref())?;
    let created = store::tenants::create(&state.db, new)
        .await
        .map_err(taken)?;
    announce(state, created.id, &created.slug, Change::Created).await;
    route_waiting_events(state, &created);
    tracing::info!(tenant = %created.slug, "tenant created");
    Ok(created)
}

/// The operator sees every tenant; a tenant its own only.
pub async fn list(state: &Context, caller: &Principal, page: PageRequest) -> Result<Page<Tenant>> {
    match caller {
        Principal::Operator => Ok(store::tenants::list(&state.db, page).await?),
        Principal::Tenant { tenant_id } => {
            let own = store::tenants::find(&state.db, &tenant_id.to_string()).await?;
            let visible = own.filter(|t| page.after.is_none_or(|after| t.id > after));
            Ok(Page {
                items: visible.into_iter().collect(),
                next_cursor: None,
            })
        }
    }
}

/// Status, rate limits, the Stripe account, the kind and the fee are the operator's to change.
pub async fn update(state: &Context, scope: TenantScope, changes: TenantChanges) -> Result<Tenant> {
    let caller = &scope.caller;
    if changes.status.is_some() {
        caller.require_operator("suspend or reactivate tenants")?;
    }
    if changes.rate_limit_per_second.is_some() || changes.rate_limit_burst.is_some() {
        caller.require_operator("change rate limits")?;
    }
    if changes.stripe_account_id.is_some() {
        // The account routes Stripe Connect events: a tenant naming another restaurant's
        // account would receive its events.
        caller.require_operator("set the Stripe account")?;
    }
    if changes.kind.is_some() || changes.application_fee_bps.is_some() {
        // The kind decides whose key pays; the fee is the platform's income.
        caller.require_operator("change the kind or the application fee")?;
    }
    domain::check_kind(
        changes.kind.unwrap_or(scope.kind),
        match &changes.stripe_account_id {
            Some(account) => account.as_deref(),
            None => scope.stripe_account_id.as_deref(),
        },
    )?;
    let before = (*scope.tenant).clone();
    let updated = store::tenants::update(&state.db, scope.tenant, changes)
        .await
        .map_err(taken)?;
    let unchanged = Tenant {
        updated_at: before.updated_at,
        ..updated.clone()
    } == before;
    if !unchanged {
        announce(state, updated.id, &updated.slug, Change::Changed).await;
        route_waiting_events(state, &updated);
    }
    Ok(updated)
}

/// Removes the tenant with all its data. Operator only.
pub async fn delete(state: &Context, scope: &TenantScope) -> Result<()> {
    scope.caller.require_operator("delete tenants")?;
    if !store::tenants::delete(&state.db, scope).await? {
        return Err(Error::NotFound("tenant"));
    }
    announce(state, scope.id, &scope.slug, Change::Removed).await;
    tracing::info!(tenant = %scope.slug, "tenant removed with its data");
    Ok(())
}

/// A tenant that has a Stripe account (now) receives the Connect events that waited for it,
/// at once, in the background (the periodic pass catches whatever this one misses).
fn route_waiting_events(state: &Context, tenant: &Tenant) {
    if tenant.stripe_account_id.is_some() {
        let routing = state.clone();
        state
            .tasks
            .spawn(async move { super::unrouted::route_now(&routing).await });
    }
}

/// A slug or Stripe account another tenant holds.
fn taken(err: sea_orm::DbErr) -> Error {
    if store::is_unique_violation(&err) {
        Error::conflict(
            "tenant_conflict",
            "slug or stripe_account_id already belongs to another tenant",
        )
    } else {
        err.into()
    }
}
