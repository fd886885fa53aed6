//! Admin changes, told to every replica. An admin change (tenant created, renamed, suspended,
//! limits, deleted; Stripe config or webhook secrets put, added, deleted) is announced here after
//! it commits: this process's caches forget the tenant at once, and a notice on PostgreSQL's
//! `gateway_changes` channel makes every other replica's caches forget it too, within
//! milliseconds. The notice names the tenant and what happened, never a secret. Each process
//! listens on a connection of its own; when that connection is lost the process may have missed
//! notices, so on every (re)subscription it forgets every tenant it holds. The caches' 30 s TTL
//! stays as the backstop for a notice lost otherwise (a replica that stopped between its commit
//! and its notice). SQLite is one process: nothing to tell.
use crate::state::Context;
use crate::store::broadcast::{self, Subscription};
use crate::store::credentials::Owner;
use serde::{Deserialize, Serialize};
use std::time::Duration;
use uuid::Uuid;

/// Waited before listening again after the connection could not be made.
const RESUBSCRIBE_AFTER: Duration = Duration::from_secs(1);

/// What a change did to the tenant, for the caches.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Change {
    Created,
    Changed,
    Removed,
    /// The Connect platform's config (its key or Connect secrets) changed: the platform's
    /// runtime and every client that calls with its key are forgotten.
    Platform,
}

/// One change, as replicas tell each other.
#[derive(Debug, Serialize, Deserialize)]
struct Notice {
    tenant: Uuid,
    slug: String,
    change: Change,
    /// The process that made it (it has forgotten already).
    origin: Uuid,
}

/// This process forgets the tenant at once; every other replica when the notice reaches it.
pub async fn announce(state: &Context, tenant_id: Uuid, slug: &str, change: Change) {
    forget(state, tenant_id, slug, change).await;
    let notice = Notice {
        tenant: tenant_id,
        slug: slug.to_owned(),
        change,
        origin: state.instance,
    };
    let sent = match serde_json::to_string(&notice) {
        Ok(payload) => broadcast::publish(&state.db, &payload).await,
        Err(e) => Err(sea_orm::DbErr::Json(e.to_string())),
    };
    if let Err(e) = sent {
        crate::telemetry::change_notice("not_sent");
        tracing::warn!(tenant = %tenant_id, error = %e, "change not announced to other replicas; they see it within the cache TTL (30 s)");
    } else {
        crate::telemetry::change_notice("sent");
    }
}

/// Every cache holding the tenant forgets it (and learns its name, when it was created; forgets
/// its name too, when it was removed).
async fn forget(state: &Context, tenant_id: Uuid, slug: &str, change: Change) {
    state.stripe.invalidate(tenant_id).await;
    let owner = match change {
        Change::Platform => Owner::Platform,
        _ => Owner::Tenant(tenant_id),
    };
    state.credentials.invalidate(owner).await;
    match change {
        // Every connected tenant's client holds the platform's key.
        Change::Platform => state.stripe.invalidate_all(),
        Change::Removed => state.tenants.removed(tenant_id, slug).await,
        Change::Changed => state.tenants.invalidate(tenant_id, slug).await,
        Change::Created => {
            state.tenants.invalidate(tenant_id, slug).await;
            state.tenants.introduce(tenant_id, slug).await;
        }
    }
}

/// Every cache forgets every tenant (what changed meanwhile is unknown).
fn forget_all(state: &Context) {
    state.credentials.invalidate_all();
    state.stripe.invalidate_all();
    state.tenants.invalidate_all();
}

/// Listens for other replicas' changes until the process stops (returns at once on SQLite).
pub async fn listen(state: Context) {
    loop {
        let mut subscription = match Subscription::open(&state.db).await {
            None => return,
            Some(Ok(subscription)) => subscription,
            Some(Err(e)) => {
                tracing::warn!(error = %e, "cannot listen for other replicas' changes; trying again (caches expire within 30 s meanwhile)");
                tokio::time::sleep(RESUBSCRIBE_AFTER).await;
                continue;
            }
        };
        // Subscribed: whatever changed before now is unknown, so nothing held is trusted.
        forget_all(&state);
        tracing::info!("listening for other replicas' changes");
        let lost = loop {
            match subscription.next().await {
                Ok(payload) => heard(&state, &payload).await,
                Err(e) => break e,
            }
        };
        crate::telemetry::change_notice("listener_lost");
        tracing::warn!(error = %lost, "lost the connection that listens for other replicas' changes; forgetting every cached tenant and listening again");
    }
}

async fn heard(state: &Context, payload: &str) {
    match serde_json::from_str::<Notice>(payload) {
        Ok(notice) if notice.origin == state.instance => {}
        Ok(notice) => {
            crate::telemetry::change_notice("received");
            forget(state, notice.tenant, &notice.slug, notice.change).await;
        }
        Err(e) => {
            // Another version's notice, or someone else's: trust nothing cached.
            tracing::warn!(error = %e, "unreadable change notice; forgetting every cached tenant");
            forget_all(state);
        }
    }
}
