//! Webhooks: the plan step of the write path, pure. What each event of a batch will do
//! (duplicate, ignored, applied), the event rows to record, the facts to load, and which events
//! the database says were recorded before.
use super::{self as apply, Observation};
use crate::store::events::EventRow;
use crate::store::facts::{Keys, Recorded};
use crate::webhooks::incoming::Incoming;
use chrono::{DateTime, Utc};
use entity::status::EventStatus;
use std::collections::{HashMap, HashSet};
use uuid::Uuid;

pub enum Plan {
    Duplicate,
    Ignored(String),
    Apply(Box<Observation>),
}

/// What each event will do, or `None` when the batch needs the per-event path (a replay, an
/// unusable object, `customer.deleted`). Events already recorded are found when their rows are
/// inserted ([`duplicates`]).
pub fn plan(batch: &[&Incoming]) -> Option<Vec<Plan>> {
    if batch.iter().any(|i| i.replay) {
        return None;
    }
    let mut seen = HashSet::new();
    let mut plans = Vec::with_capacity(batch.len());
    for i in batch {
        let plan = if !seen.insert((i.tenant_id, i.envelope.id.as_str())) {
            Plan::Duplicate
        } else if i.envelope.livemode != i.tenant_livemode {
            Plan::Ignored(crate::webhooks::incoming::mode_mismatch(
                i.envelope.livemode,
                i.tenant_livemode,
            ))
        } else {
            match apply::observe(&i.envelope.event_type, &i.envelope.data.object) {
                Err(_) | Ok(Observation::CustomerDeleted { .. }) => return None,
                Ok(Observation::Ignored(r)) => Plan::Ignored(r),
                Ok(obs) => Plan::Apply(Box::new(obs)),
            }
        };
        plans.push(plan);
    }
    Some(plans)
}

/// The rows to record for the batch's events (intra-batch duplicates have none), each with its
/// event's position in the batch; finished as `completed` or `ignored` at `now`.
pub fn event_rows<'a>(
    batch: &[&'a Incoming],
    plans: &'a [Plan],
    now: DateTime<Utc>,
) -> Vec<(usize, EventRow<'a>)> {
    batch
        .iter()
        .zip(plans)
        .enumerate()
        .filter_map(|(at, (i, plan))| {
            let (status, last_error) = match plan {
                Plan::Duplicate => return None,
                Plan::Ignored(r) => (EventStatus::Ignored, Some(r.as_str())),
                Plan::Apply(_) => (EventStatus::Completed, None),
            };
            let row = EventRow {
                id: Uuid::now_v7(),
                event: i.new_event(now),
                status,
                last_error,
            };
            Some((at, row))
        })
        .collect()
}

/// Why a batch was not committed as it is (nothing of it was written).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fallback {
    /// Its events need the per-event path (a replay, a retry of a failed event,
    /// `customer.deleted`, an unusable object).
    PerEvent,
    /// Another transaction (another replica's batch) committed what this one was about to
    /// write; the same batch run again sees it.
    Contended,
}

/// The positions of the rows the insert did not take because a copy recorded earlier finished
/// (those events are duplicates); otherwise why the batch cannot go on as it is.
pub fn duplicates(
    rows: &[(usize, EventRow<'_>)],
    found: &Recorded,
) -> Result<Vec<usize>, Fallback> {
    let earlier: HashMap<(Uuid, &str), EventStatus> = found
        .earlier
        .iter()
        .map(|e| ((e.tenant_id, e.stripe_event_id.as_str()), e.status))
        .collect();
    rows.iter()
        .filter(|(_, row)| !found.inserted.contains(&row.id))
        .map(|(at, row)| {
            match earlier.get(&(row.event.tenant_id, row.event.stripe_event_id)) {
                Some(EventStatus::Completed | EventStatus::Ignored) => Ok(*at),
                // Committed by another replica (or shard) after the statement's snapshot was
                // taken: the insert waited for it, the read could not see it. The same batch
                // run again sees it.
                None => Err(Fallback::Contended),
                // A copy that failed, or one a replay holds: the per-event path decides.
                Some(_) => Err(Fallback::PerEvent),
            }
        })
        .collect()
}

/// What the applied events name: the facts to load.
pub fn keys(batch: &[&Incoming], plans: &[Plan]) -> Keys {
    let mut k = Keys::default();
    for (i, plan) in batch.iter().zip(plans) {
        let Plan::Apply(obs) = plan else { continue };
        let t = i.tenant_id;
        match obs.as_ref() {
            Observation::Payment(p) => {
                k.payment_intents.push((t, p.payment_intent.clone()));
                k.charges.extend(p.charge_id.clone().map(|c| (t, c)));
                k.orders.extend(p.order_refs.iter().map(|o| (t, *o)));
                k.customers.extend(p.customer_id.clone().map(|c| (t, c)));
            }
            Observation::Dispute(d) => {
                k.payment_intents
                    .extend(d.payment_intent.clone().map(|p| (t, p)));
                k.charges.extend(d.charge_id.clone().map(|c| (t, c)));
                k.disputes.push((t, d.dispute_id.clone()));
            }
            Observation::CheckoutExpired { order_refs } => {
                k.orders.extend(order_refs.iter().map(|o| (t, *o)));
            }
            _ => {}
        }
    }
    k
}
