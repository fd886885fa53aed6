//! Webhooks rules: what an event says, merged into the stored facts (payments, disputes), as pure
//! functions (no I/O), by rules that make every delivery order of the same events converge:
//! status only rises in rank, refunds only grow, descriptive fields take the newest event's.
use super::observe::{DisputeObs, DisputeStatus, PaymentObs, PaymentStatus};
use chrono::{DateTime, Utc};
use entity::{disputes, payments};
use uuid::Uuid;

/// The context an event is applied in.
#[derive(Clone, Copy, Debug)]
pub struct EventCtx {
    pub tenant_id: Uuid,
    /// Stripe `created` of the event (unix seconds).
    pub created: i64,
    pub livemode: bool,
    pub now: DateTime<Utc>,
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
    let mut p = existing.cloned().unwrap_or_else(|| {
        crate::domain::money::new_payment(
            ctx.tenant_id,
            obs.payment_intent.clone(),
            ctx.livemode,
            ctx.now,
        )
    });
    let first = existing.is_none();
    let current = p.status;
    let is_newer = newer(ctx.created, p.last_event_created);
    let rises = obs.status > current;
    if rises || first {
        p.status = obs.status;
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
    merge_hold(&mut p, obs);
    p.livemode = ctx.livemode;
    p.last_event_created = p.last_event_created.max(ctx.created);
    touch_if_changed(existing, p, ctx.now, |m| &mut m.updated_at)
}

/// Merges the tip and authorization facts. Every rule is a maximum (or an or) over what was
/// observed, so every delivery order agrees: a declared tip, the most authorized, the most
/// still capturable while authorized (an increment only raises it; once captured or released
/// nothing is), the capture method (`manual` wins), the deadline (the card's own beats the
/// default, then the later), what Stripe offers. The effective tip is derived from them.
fn merge_hold(p: &mut payments::Model, obs: &PaymentObs) {
    let h = &obs.hold;
    if let Some(tip) = obs.tip {
        p.tip_declared = p.tip_declared.max(tip);
    }
    if let Some(a) = h.authorized {
        p.amount_authorized = p.amount_authorized.max(a);
    }
    if let Some(c) = h.capturable {
        p.amount_capturable = p.amount_capturable.max(c);
    }
    if p.status != PaymentStatus::Authorized {
        p.amount_capturable = 0;
    }
    if h.capture_method > p.capture_method {
        p.capture_method = h.capture_method.clone();
    }
    if let Some((exact, at)) = h.capture_before {
        let known = p
            .capture_before
            .map(|t| (p.capture_before_exact, t.timestamp()));
        if Some((exact, at)) > known {
            p.capture_before = DateTime::from_timestamp(at, 0);
            p.capture_before_exact = exact;
        }
    }
    p.overcapture_max = p.overcapture_max.max(h.overcapture_max);
    p.increment_supported |= h.increment_supported;
    p.tip_amount = super::derive::payment_tip(p);
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
        status: obs.status,
        last_event_created: ctx.created,
        created_at: ctx.now,
        updated_at: ctx.now,
    });
    // The status is a lattice, so every delivery order agrees: open < closed (won, …) < lost
    // (a closed dispute is final, and a loss is never undone); among equals the newest event
    // wins, then the greater name. `last_event_created` is the event that set the status.
    let class = |status: DisputeStatus| {
        if status == DisputeStatus::Lost {
            2
        } else {
            u8::from(status.is_closed())
        }
    };
    let rank = |status: DisputeStatus, created: i64| (class(status), created, status.as_str());
    let takes =
        existing.is_none() || rank(obs.status, ctx.created) > rank(d.status, d.last_event_created);
    if takes {
        d.status = obs.status;
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
