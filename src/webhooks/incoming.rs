//! Webhooks: an event on its way to the write path, and what became of it. Every way an event
//! arrives (webhook, replay, failed-event retry, reconciliation) builds an [`Incoming`].
use crate::store::events::NewEvent;
use crate::webhooks::rules::event::Envelope;
use chrono::{DateTime, Utc};
use uuid::Uuid;

/// A verified event, ready to record.
pub struct Incoming {
    pub tenant_id: Uuid,
    /// The tenant's configured mode; an event whose `livemode` differs is ignored.
    pub tenant_livemode: bool,
    pub envelope: Envelope,
    /// The raw body as received.
    pub payload: String,
    /// Process again even if already completed (operator or tenant asked for a replay).
    pub replay: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Recorded and applied.
    Processed,
    /// Already recorded and finished; nothing changed.
    Duplicate,
    /// Recorded with no effect, for this reason.
    Ignored(String),
    /// Recorded as failed with this reason; its effects were rolled back. Stripe should retry.
    Failed(String),
}

/// The reason recorded for an event whose mode is not the tenant's.
pub fn mode_mismatch(event_live: bool, tenant_live: bool) -> String {
    let mode = entity::status::StripeMode::of_livemode;
    format!(
        "event is {}mode but the tenant's Stripe config is {}mode",
        mode(event_live),
        mode(tenant_live)
    )
}

impl Incoming {
    /// The event as recorded, received at `now`.
    pub fn new_event(&self, now: DateTime<Utc>) -> NewEvent<'_> {
        NewEvent {
            tenant_id: self.tenant_id,
            stripe_event_id: &self.envelope.id,
            event_type: &self.envelope.event_type,
            api_version: self.envelope.api_version.as_deref(),
            livemode: self.envelope.livemode,
            stripe_created: self.envelope.created,
            payload: &self.payload,
            received_at: now,
        }
    }
}
