//! Webhooks: applying an event, as pure functions (no I/O). An event becomes an [`Observation`];
//! observations merge into the stored facts (payments, disputes) by rules that make every
//! delivery order of the same events converge; an order's status is derived from its facts.
use super::event::{self, Expandable, id_of};
use chrono::{DateTime, Utc};
use entity::{disputes, orders, payments};
use serde_json::value::RawValue;
use uuid::Uuid;

/// A payment's status. The rank only rises: a late, lower-ranked event never regresses it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum PaymentStatus {
    Pending,
    Processing,
    Failed,
    Canceled,
    Succeeded,
}

impl PaymentStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            PaymentStatus::Pending => "pending",
            PaymentStatus::Processing => "processing",
            PaymentStatus::Failed => "failed",
            PaymentStatus::Canceled => "canceled",
            PaymentStatus::Succeeded => "succeeded",
        }
    }

    pub fn parse(s: &str) -> Self {
        match s {
            "processing" => PaymentStatus::Processing,
            "failed" => PaymentStatus::Failed,
            "canceled" => PaymentStatus::Canceled,
            "succeeded" => PaymentStatus::Succeeded,
            _ => PaymentStatus::Pending,
        }
    }
}

/// What one event says about one PaymentIntent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PaymentObs {
    pub payment_intent: String,
    pub charge_id: Option<String>,
    pub status: PaymentStatus,
    pub amount: Option<i64>,
    pub currency: Option<String>,
    pub amount_refunded: Option<i64>,
    pub customer_id: Option<String>,
    pub email: Option<String>,
    pub name: Option<String>,
    pub failure_reason: Option<String>,
    /// Order ids the object names (`metadata.order_id`, `client_reference_id`).
    pub order_refs: Vec<Uuid>,
    pub checkout_session_id: Option<String>,
}

/// What one event says about one dispute.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DisputeObs {
    pub dispute_id: String,
    pub charge_id: Option<String>,
    pub payment_intent: Option<String>,
    pub amount: i64,
    pub currency: String,
    pub reason: Option<String>,
    pub status: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Observation {
    Payment(PaymentObs),
    Dispute(DisputeObs),
    CheckoutExpired {
        order_refs: Vec<Uuid>,
    },
    CustomerDeleted {
        customer_id: String,
    },
    /// Recorded, no effect: an event type the gateway does not handle, or an object it cannot use.
    Ignored(String),
}

/// The context an event is applied in.
#[derive(Clone, Copy, Debug)]
pub struct EventCtx {
    pub tenant_id: Uuid,
    /// Stripe `created` of the event (unix seconds).
    pub created: i64,
    pub livemode: bool,
    pub now: DateTime<Utc>,
}

/// The event types whose effects the gateway applies.
pub const HANDLED_TYPES: &[&str] = &[
    "checkout.session.completed",
    "checkout.session.async_payment_succeeded",
    "checkout.session.async_payment_failed",
    "checkout.session.expired",
    "payment_intent.succeeded",
    "payment_intent.payment_failed",
    "payment_intent.canceled",
    "charge.succeeded",
    "charge.failed",
    "charge.refunded",
    "charge.dispute.created",
    "charge.dispute.closed",
    "customer.deleted",
];

fn parse<T: serde::de::DeserializeOwned>(object: &RawValue, what: &str) -> Result<T, String> {
    serde_json::from_str(object.get()).map_err(|e| format!("{what} object unusable: {e}"))
}

fn order_refs(candidates: [Option<&str>; 2]) -> Vec<Uuid> {
    let mut refs: Vec<Uuid> = candidates
        .into_iter()
        .flatten()
        .filter_map(|s| Uuid::parse_str(s.trim()).ok())
        .collect();
    refs.dedup();
    refs
}

fn lower(currency: Option<String>) -> Option<String> {
    currency.map(|c| c.to_ascii_lowercase())
}

fn meta_order(m: &Option<event::Metadata>) -> Option<&str> {
    m.as_ref().and_then(|m| m.order_id.as_deref())
}

/// Reads an event's object into what it says. Errors mean a handled type with an unusable object.
pub fn observe(event_type: &str, object: &RawValue) -> Result<Observation, String> {
    use PaymentStatus as S;
    let obs = match event_type {
        "checkout.session.completed"
        | "checkout.session.async_payment_succeeded"
        | "checkout.session.async_payment_failed" => {
            let s: event::CheckoutSession = parse(object, "checkout session")?;
            let status = match (event_type, s.payment_status.as_deref()) {
                ("checkout.session.async_payment_failed", _) => S::Failed,
                ("checkout.session.async_payment_succeeded", _) => S::Succeeded,
                (_, Some("unpaid")) => S::Processing,
                _ => S::Succeeded,
            };
            let Some(pi) = id_of(&s.payment_intent) else {
                return Ok(Observation::Ignored(
                    "checkout session has no payment_intent".into(),
                ));
            };
            let contact = s.customer_details.clone().unwrap_or_default();
            Observation::Payment(PaymentObs {
                payment_intent: pi,
                charge_id: None,
                status,
                amount: s.amount_total,
                currency: lower(s.currency),
                amount_refunded: None,
                customer_id: id_of(&s.customer),
                email: contact.email.or(s.customer_email),
                name: contact.name,
                failure_reason: None,
                order_refs: order_refs([meta_order(&s.metadata), s.client_reference_id.as_deref()]),
                checkout_session_id: Some(s.id),
            })
        }
        "checkout.session.expired" => {
            let s: event::CheckoutSession = parse(object, "checkout session")?;
            Observation::CheckoutExpired {
                order_refs: order_refs([meta_order(&s.metadata), s.client_reference_id.as_deref()]),
            }
        }
        "payment_intent.succeeded"
        | "payment_intent.payment_failed"
        | "payment_intent.canceled" => {
            let pi: event::PaymentIntent = parse(object, "payment intent")?;
            let status = match event_type {
                "payment_intent.succeeded" => S::Succeeded,
                "payment_intent.payment_failed" => S::Failed,
                _ => S::Canceled,
            };
            let amount = match (status, pi.amount_received) {
                (S::Succeeded, Some(received)) if received > 0 => Some(received),
                _ => pi.amount,
            };
            let charge_id = id_of(&pi.latest_charge).or_else(|| {
                pi.charges
                    .as_ref()
                    .and_then(|c| c.data.first())
                    .map(|c| c.id.clone())
            });
            let failure = pi
                .last_payment_error
                .as_ref()
                .and_then(|e| e.message.clone().or(e.code.clone()));
            Observation::Payment(PaymentObs {
                payment_intent: pi.id,
                charge_id,
                status,
                amount,
                currency: lower(pi.currency),
                amount_refunded: None,
                customer_id: id_of(&pi.customer),
                email: pi.receipt_email,
                name: None,
                failure_reason: failure,
                order_refs: order_refs([meta_order(&pi.metadata), None]),
                checkout_session_id: None,
            })
        }
        "charge.succeeded" | "charge.failed" | "charge.refunded" => {
            let c: event::Charge = parse(object, "charge")?;
            let Some(pi) = c.payment_intent.as_ref().map(Expandable::id) else {
                return Ok(Observation::Ignored("charge has no payment_intent".into()));
            };
            let status = match event_type {
                "charge.failed" => S::Failed,
                // A refunded charge was paid first.
                _ => S::Succeeded,
            };
            let contact = c.billing_details.clone().unwrap_or_default();
            Observation::Payment(PaymentObs {
                payment_intent: pi.to_owned(),
                charge_id: Some(c.id),
                status,
                amount: c.amount,
                currency: lower(c.currency),
                amount_refunded: c.amount_refunded,
                customer_id: id_of(&c.customer),
                email: contact.email.or(c.receipt_email),
                name: contact.name,
                failure_reason: c.failure_message,
                order_refs: order_refs([meta_order(&c.metadata), None]),
                checkout_session_id: None,
            })
        }
        "charge.dispute.created" | "charge.dispute.closed" => {
            let d: event::Dispute = parse(object, "dispute")?;
            Observation::Dispute(DisputeObs {
                dispute_id: d.id,
                charge_id: id_of(&d.charge),
                payment_intent: id_of(&d.payment_intent),
                amount: d.amount.unwrap_or(0),
                currency: lower(d.currency).unwrap_or_default(),
                reason: d.reason,
                status: d.status.unwrap_or_else(|| "needs_response".to_owned()),
            })
        }
        "customer.deleted" => {
            let c: event::Customer = parse(object, "customer")?;
            Observation::CustomerDeleted { customer_id: c.id }
        }
        other => Observation::Ignored(format!("event type {other} is not handled")),
    };
    Ok(obs)
}

fn newer(created: i64, last: i64) -> bool {
    created >= last
}

/// Merges what an event says into a payment's facts. Status only rises in rank; amounts come
/// from the highest-ranked observation; the refunded amount only grows; descriptive fields take
/// the newest event's values; a scrubbed customer's personal data is never stored.
pub fn merge_payment(
    existing: Option<&payments::Model>,
    obs: &PaymentObs,
    ctx: &EventCtx,
    order_id: Option<Uuid>,
    customer_scrubbed: bool,
) -> payments::Model {
    let mut p = existing.cloned().unwrap_or_else(|| payments::Model {
        id: Uuid::now_v7(),
        tenant_id: ctx.tenant_id,
        order_id: None,
        stripe_payment_intent_id: obs.payment_intent.clone(),
        stripe_charge_id: None,
        amount: 0,
        amount_refunded: 0,
        amount_conflict: false,
        currency: String::new(),
        status: PaymentStatus::Pending.as_str().to_owned(),
        customer_id: None,
        customer_email: None,
        customer_name: None,
        livemode: ctx.livemode,
        failure_reason: None,
        last_event_created: 0,
        created_at: ctx.now,
        updated_at: ctx.now,
    });
    let first = existing.is_none();
    let current = PaymentStatus::parse(&p.status);
    let is_newer = newer(ctx.created, p.last_event_created);
    let rises = obs.status > current;
    if rises || first {
        p.status = obs.status.as_str().to_owned();
    }
    // Amounts come from the highest-ranked observation; between observations of the same rank
    // the larger wins (so every delivery order agrees). A successful PaymentIntent's amount
    // cannot change: two successful observations that disagree mark a conflict, for good.
    if obs.status == PaymentStatus::Succeeded && current == PaymentStatus::Succeeded && !first {
        let differs = obs.amount.is_some_and(|a| a != p.amount)
            || obs.currency.as_ref().is_some_and(|c| *c != p.currency);
        p.amount_conflict |= differs;
    }
    if rises || first {
        if let Some(a) = obs.amount {
            p.amount = a;
        }
        if let Some(c) = &obs.currency {
            p.currency = c.clone();
        }
    } else if obs.status == current {
        if let Some(a) = obs.amount {
            p.amount = p.amount.max(a);
        }
        if let Some(c) = &obs.currency {
            p.currency = p.currency.clone().max(c.clone());
        }
    }
    if obs.status == PaymentStatus::Failed && (rises || is_newer) {
        p.failure_reason = obs.failure_reason.clone().or(p.failure_reason);
    }
    if let Some(r) = obs.amount_refunded {
        p.amount_refunded = p.amount_refunded.max(r);
    }
    if obs.charge_id.is_some() && (p.stripe_charge_id.is_none() || is_newer) {
        p.stripe_charge_id = obs.charge_id.clone();
    }
    if obs.customer_id.is_some() && (p.customer_id.is_none() || is_newer) {
        p.customer_id = obs.customer_id.clone();
    }
    if customer_scrubbed {
        p.customer_email = None;
        p.customer_name = None;
    } else {
        if obs.email.is_some() && (p.customer_email.is_none() || is_newer) {
            p.customer_email = obs.email.clone();
        }
        if obs.name.is_some() && (p.customer_name.is_none() || is_newer) {
            p.customer_name = obs.name.clone();
        }
    }
    if p.order_id.is_none() {
        p.order_id = order_id;
    }
    p.livemode = ctx.livemode;
    p.last_event_created = p.last_event_created.max(ctx.created);
    touch_if_changed(existing, p, ctx.now, |m| &mut m.updated_at)
}

/// Sets `updated_at` to `now` only when something else changed (a replay that changes
/// nothing leaves the row as it was).
fn touch_if_changed<M: Clone + PartialEq>(
    existing: Option<&M>,
    mut merged: M,
    now: DateTime<Utc>,
    updated_at: impl Fn(&mut M) -> &mut DateTime<Utc>,
) -> M {
    if let Some(old) = existing {
        let mut same = merged.clone();
        *updated_at(&mut same) = *updated_at(&mut old.clone());
        if &same == old {
            return same;
        }
    }
    *updated_at(&mut merged) = now;
    merged
}

fn dispute_closed(status: &str) -> bool {
    matches!(status, "won" | "lost" | "warning_closed" | "prevented")
}

/// Merges what an event says into a dispute's facts: the newest event's status wins, and at the
/// same instant a closed status beats an open one.
pub fn merge_dispute(
    existing: Option<&disputes::Model>,
    obs: &DisputeObs,
    ctx: &EventCtx,
    payment: Option<&payments::Model>,
) -> disputes::Model {
    let mut d = existing.cloned().unwrap_or_else(|| disputes::Model {
        id: Uuid::now_v7(),
        tenant_id: ctx.tenant_id,
        payment_id: None,
        order_id: None,
        stripe_dispute_id: obs.dispute_id.clone(),
        stripe_charge_id: None,
        stripe_payment_intent_id: None,
        amount: obs.amount,
        currency: obs.currency.clone(),
        reason: None,
        status: obs.status.clone(),
        last_event_created: ctx.created,
        created_at: ctx.now,
        updated_at: ctx.now,
    });
    // The status is a lattice, so every delivery order agrees: open < closed (won, …) < lost
    // (a closed dispute is final, and a loss is never undone); among equals the newest event
    // wins, then the greater name. `last_event_created` is the event that set the status.
    let class = |status: &str| {
        if status == "lost" {
            2
        } else {
            u8::from(dispute_closed(status))
        }
    };
    let rank = |status: &str, created: i64| (class(status), created, status.to_owned());
    let takes = existing.is_none()
        || rank(&obs.status, ctx.created) > rank(&d.status, d.last_event_created);
    if takes {
        d.status = obs.status.clone();
        d.amount = obs.amount;
        d.currency = obs.currency.clone();
        d.reason = obs.reason.clone().or(d.reason);
    }
    d.stripe_charge_id = d.stripe_charge_id.or(obs.charge_id.clone());
    d.stripe_payment_intent_id = d.stripe_payment_intent_id.or(obs.payment_intent.clone());
    if let Some(p) = payment {
        d.payment_id = Some(p.id);
        d.order_id = d.order_id.or(p.order_id);
        d.stripe_payment_intent_id = Some(p.stripe_payment_intent_id.clone());
    }
    if takes {
        d.last_event_created = ctx.created;
    }
    touch_if_changed(existing, d, ctx.now, |m| &mut m.updated_at)
}

/// An order's status and refunded amount, derived from all its facts.
pub fn derive_order(
    order: &orders::Model,
    payments: &[payments::Model],
    disputes: &[disputes::Model],
) -> (&'static str, i64) {
    let succeeded: Vec<&payments::Model> = payments
        .iter()
        .filter(|p| PaymentStatus::parse(&p.status) == PaymentStatus::Succeeded)
        .collect();
    let refunded: i64 = succeeded.iter().map(|p| p.amount_refunded).sum();
    let status = match succeeded.as_slice() {
        [] => {
            let canceled = payments
                .iter()
                .any(|p| PaymentStatus::parse(&p.status) == PaymentStatus::Canceled);
            if order.expired_at.is_some() || canceled {
                "EXPIRED"
            } else if payments
                .iter()
                .any(|p| PaymentStatus::parse(&p.status) == PaymentStatus::Failed)
            {
                "PAYMENT_FAILED"
            } else {
                "PAYMENT_PENDING"
            }
        }
        [p] if p.amount_conflict || p.amount != order.amount || p.currency != order.currency => {
            "NEEDS_REVIEW"
        }
        [p] => {
            let mine: Vec<&disputes::Model> = disputes
                .iter()
                .filter(|d| {
                    d.payment_id == Some(p.id)
                        || d.stripe_payment_intent_id.as_deref()
                            == Some(p.stripe_payment_intent_id.as_str())
                        || (d.stripe_charge_id.is_some()
                            && d.stripe_charge_id == p.stripe_charge_id)
                })
                .collect();
            if mine.iter().any(|d| d.status == "lost") {
                "DISPUTE_LOST"
            } else if mine.iter().any(|d| !dispute_closed(&d.status)) {
                "DISPUTED"
            } else if p.amount_refunded >= p.amount && p.amount > 0 {
                "REFUNDED"
            } else if p.amount_refunded > 0 {
                "PARTIALLY_REFUNDED"
            } else {
                "PAID"
            }
        }
        // A second successful payment for one order: a double charge to refund.
        _ => "NEEDS_REVIEW",
    };
    (status, refunded)
}

#[cfg(test)]
#[path = "apply_props.rs"]
mod props;
