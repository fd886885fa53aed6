//! Use cases: the Connect events no tenant took (yet) — kept, listed for the operator, and
//! routed to the tenant that gets the account: each goes through the writer as if just
//! delivered, exactly once per `(tenant, event id)` however many passes or replicas hand it over,
//! and is marked routed. A pass runs after a tenant change that leaves the tenant with an account
//! (`app::tenants`), and every minute on every replica (`jobs::unrouted`).
use super::{Principal, Result};
use crate::state::Context;
use crate::store::credentials::Owner;
pub use crate::store::unrouted::Shown;
use crate::store::{Page, PageRequest, unrouted};
use crate::webhooks::incoming::Incoming;
use crate::webhooks::rules::event::Envelope;
use entity::unrouted_events::Model as Unrouted;

pub async fn list(
    state: &Context,
    caller: &Principal,
    shown: Shown,
    account: Option<&str>,
    page: PageRequest,
) -> Result<Page<Unrouted>> {
    caller.require_operator("read the platform's unrouted events")?;
    Ok(unrouted::list(&state.db, shown, account, page).await?)
}

const BATCH: u64 = 100;

#[derive(Debug, thiserror::Error)]
pub enum RouteError {
    #[error("database error: {0}")]
    Db(#[from] sea_orm::DbErr),
    #[error("the platform's credentials: {0}")]
    Credentials(#[from] crate::stripe::credentials::LoadError),
    #[error("the write path is unavailable")]
    Unavailable,
}

/// Hands every routable waiting event to its tenant; how many were handed over.
pub async fn route(state: &Context) -> Result<usize, RouteError> {
    let mut routed = 0;
    while !state.tasks.is_stopping() {
        let batch = unrouted::routable(&state.db, BATCH).await?;
        if batch.is_empty() {
            break;
        }
        let platform_live = state
            .credentials
            .get(&state.db, &state.keyring, Owner::Platform)
            .await?
            .map(|platform| platform.livemode);
        let mut progressed = false;
        for (row, tenant_id) in batch {
            let envelope = match Envelope::parse(row.payload.as_bytes()) {
                Ok(envelope) => envelope,
                Err(e) => {
                    // It parsed when it arrived; left in place (and listed) for a person to see.
                    tracing::error!(event = %row.stripe_event_id, error = %e, "a waiting Connect event does not parse; left unrouted");
                    continue;
                }
            };
            let incoming = Incoming {
                tenant_id,
                // Verified with the platform's secret: the platform key's mode decides.
                tenant_livemode: platform_live.unwrap_or(envelope.livemode),
                envelope,
                payload: row.payload,
                replay: false,
            };
            state
                .writer
                .submit(incoming)
                .await
                .map_err(|_| RouteError::Unavailable)?;
            unrouted::mark_routed(&state.db, row.id, tenant_id).await?;
            routed += 1;
            progressed = true;
        }
        if !progressed {
            break;
        }
    }
    Ok(routed)
}

/// One pass, logged.
pub async fn route_now(state: &Context) {
    match route(state).await {
        Ok(0) => {}
        Ok(n) => tracing::info!(
            events = n,
            "Connect events that waited for a tenant were routed"
        ),
        Err(e) => {
            tracing::warn!(error = %e, "routing waiting Connect events failed; the next pass retries")
        }
    }
}
