//! Use cases: a tenant's webhook event log — list, read, replay one — and its webhook health.
use super::{Error, Result, TenantScope};
use crate::state::Context;
pub use crate::store::events::EventFilter;
use crate::store::{self, Page, PageRequest};
use crate::webhooks::incoming::Incoming;
use crate::webhooks::intake::failures::hour_of;
use crate::webhooks::rules::event::Envelope;
use chrono::{DateTime, TimeDelta, Utc};
use entity::status::EventStatus;
use entity::{notification_endpoints, webhook_events::Model as Event};

pub async fn list(
    state: &Context,
    scope: &TenantScope,
    filter: EventFilter,
    page: PageRequest,
) -> Result<Page<Event>> {
    Ok(store::events::list(&state.db, scope, filter, page).await?)
}

/// By the gateway's id or Stripe's `evt_…`.
pub async fn get(state: &Context, scope: &TenantScope, event_id: &str) -> Result<Event> {
    store::events::get(&state.db, scope, event_id)
        .await?
        .ok_or(Error::NotFound("webhook event"))
}

/// Processes the stored payload again through the write path, as a delivery (its signature was
/// verified when received). Safe in any status: applying an event is idempotent. Answers the
/// event as it is afterwards.
pub async fn replay(state: &Context, scope: &TenantScope, event_id: &str) -> Result<Event> {
    let event = get(state, scope, event_id).await?;
    let payload = event.payload.ok_or_else(|| {
        Error::conflict(
            "payload_purged",
            "the event's payload is past retention; it cannot be replayed",
        )
    })?;
    let livemode = super::stripe_config::livemode(state, scope)
        .await?
        .ok_or_else(super::no_stripe_key)?;
    let envelope = Envelope::parse(payload.as_bytes()).map_err(|e| {
        tracing::error!(event = %event.stripe_event_id, error = %e, "stored payload does not parse");
        Error::Internal
    })?;
    let incoming = Incoming {
        tenant_id: scope.id,
        tenant_livemode: livemode,
        envelope,
        payload,
        replay: true,
    };
    state.writer.submit(incoming).await.map_err(|_| {
        Error::unavailable(
            "database_unavailable",
            "the database is unavailable; retry later",
        )
    })?;
    get(state, scope, &event.id.to_string()).await
}

/// What a tenant's webhooks look like now.
pub struct Health {
    pub last_success: Option<DateTime<Utc>>,
    /// Refused deliveries by reason, this hour and the one before.
    pub recent_failures: Vec<(String, i64)>,
    pub events_by_status: Vec<(EventStatus, i64)>,
    /// Notification endpoints failing now, or disabled.
    pub endpoints_unhealthy: Vec<notification_endpoints::Model>,
    /// Payments that took money and match no order.
    pub unmatched_payments: u64,
}

pub async fn health(state: &Context, scope: &TenantScope) -> Result<Health> {
    state.failures.flush(&state.db).await?;
    let since = hour_of(Utc::now() - TimeDelta::hours(1));
    Ok(Health {
        last_success: store::events::last_success(&state.db, scope).await?,
        recent_failures: store::failures::since(&state.db, scope, since).await?,
        events_by_status: store::events::counts_by_status(&state.db, scope).await?,
        endpoints_unhealthy: store::notification_endpoints::unhealthy(&state.db, scope).await?,
        unmatched_payments: store::payments::unmatched_count(&state.db, scope).await?,
    })
}
