//! Webhooks: the merge step of the write path, pure (no I/O). The facts an event touches, as
//! loaded, take each applied event's observation in arrival order; what comes out is the new
//! facts and the domain changes: every order whose status or refunded amount an event moved.
//! Every way an event arrives (webhook batch, single event, replay, failed-event retry,
//! reconciliation) merges here, and every consumer of "what changed" reads
//! [`OrderChange`](crate::domain::changes::OrderChange).
use super::{self as apply, EventCtx, Observation};
use crate::domain::changes::OrderChange;
use entity::{disputes, orders, payments};
use std::collections::{HashMap, HashSet};
use uuid::Uuid;

/// The facts a batch touches, keyed by tenant: loaded (locked), merged in memory, written back.
#[derive(Default, Clone)]
pub struct Facts {
    pub payments: HashMap<(Uuid, String), payments::Model>,
    pub orders: HashMap<(Uuid, Uuid), orders::Model>,
    pub disputes: HashMap<(Uuid, String), disputes::Model>,
    pub scrubbed: HashSet<(Uuid, String)>,
    /// Payments applied that took (or hold, or are taking) money and link to no order.
    pub unmatched_payments: u64,
}

/// The rows that differ from the facts as loaded: what a batch writes.
pub struct Changed {
    pub payments: Vec<payments::Model>,
    pub disputes: Vec<disputes::Model>,
    pub orders: Vec<orders::Model>,
}

impl Facts {
    pub fn add_payments(&mut self, rows: impl IntoIterator<Item = payments::Model>) {
        self.payments.extend(
            rows.into_iter()
                .map(|p| ((p.tenant_id, p.stripe_payment_intent_id.clone()), p)),
        );
    }

    pub fn add_orders(&mut self, rows: impl IntoIterator<Item = orders::Model>) {
        self.orders
            .extend(rows.into_iter().map(|o| ((o.tenant_id, o.id), o)));
    }

    pub fn add_disputes(&mut self, rows: impl IntoIterator<Item = disputes::Model>) {
        self.disputes.extend(
            rows.into_iter()
                .map(|d| ((d.tenant_id, d.stripe_dispute_id.clone()), d)),
        );
    }

    /// What these facts hold that `before` did not: new rows and changed ones.
    pub fn changed_since(self, before: &Facts) -> Changed {
        Changed {
            payments: changed(&before.payments, self.payments),
            disputes: changed(&before.disputes, self.disputes),
            orders: changed(&before.orders, self.orders),
        }
    }

    /// An observation's effects on the facts: merge with the pure rules of `merge`, link
    /// disputes that arrived first, re-derive the affected order. Returns the order's change,
    /// if the event (`cause`) moved its status or refunded amount.
    pub fn apply(&mut self, ctx: &EventCtx, obs: &Observation, cause: &str) -> Option<OrderChange> {
        let order = match obs {
            Observation::Payment(obs) => self.apply_payment(ctx, obs),
            Observation::Dispute(obs) => self.apply_dispute(ctx, obs),
            Observation::CheckoutExpired { order_refs } => order_refs
                .iter()
                .find_map(|id| self.orders.get(&(ctx.tenant_id, *id)).cloned())
                .map(|mut order| {
                    order.expired_at = order.expired_at.or(Some(ctx.now));
                    order
                }),
            Observation::CustomerDeleted { .. } | Observation::Ignored(_) => None,
        }?;
        self.rederive(ctx, order, cause)
    }

    /// Merges a payment; returns its order (with what the payment adds to it) to re-derive.
    fn apply_payment(&mut self, ctx: &EventCtx, obs: &apply::PaymentObs) -> Option<orders::Model> {
        let t = ctx.tenant_id;
        let key = (t, obs.payment_intent.clone());
        let existing = self.payments.get(&key).cloned();
        let linked = match existing.as_ref().and_then(|p| p.order_id) {
            Some(id) => self.orders.get(&(t, id)).cloned(),
            None => obs
                .order_refs
                .iter()
                .find_map(|id| self.orders.get(&(t, *id)).cloned()),
        };
        let scrubbed = obs
            .customer_id
            .as_ref()
            .is_some_and(|c| self.scrubbed.contains(&(t, c.clone())));
        let payment = apply::merge_payment(
            existing.as_ref(),
            obs,
            ctx,
            linked.as_ref().map(|o| o.id),
            scrubbed,
        );
        for d in self
            .disputes
            .values_mut()
            .filter(|d| d.tenant_id == t && d.payment_id.is_none())
        {
            let same_pi = d.stripe_payment_intent_id.as_deref()
                == Some(payment.stripe_payment_intent_id.as_str());
            let same_charge =
                d.stripe_charge_id.is_some() && d.stripe_charge_id == payment.stripe_charge_id;
            if same_pi || same_charge {
                d.payment_id = Some(payment.id);
                d.order_id = payment.order_id;
                d.stripe_payment_intent_id = Some(payment.stripe_payment_intent_id.clone());
            }
        }
        use entity::status::PaymentStatus as S;
        if payment.order_id.is_none()
            && matches!(payment.status, S::Processing | S::Authorized | S::Succeeded)
        {
            self.unmatched_payments += 1;
        }
        let email = payment.customer_email.clone();
        self.payments.insert(key, payment);
        let mut order = linked?;
        if order.checkout_session_id.is_none() {
            order.checkout_session_id = obs.checkout_session_id.clone();
        }
        if order.customer_email.is_none() && !scrubbed {
            order.customer_email = email;
        }
        Some(order)
    }

    /// Merges a dispute; returns its order to re-derive.
    fn apply_dispute(&mut self, ctx: &EventCtx, obs: &apply::DisputeObs) -> Option<orders::Model> {
        let t = ctx.tenant_id;
        let payment = match (&obs.payment_intent, &obs.charge_id) {
            (Some(pi), _) => self.payments.get(&(t, pi.clone())).cloned(),
            (None, Some(ch)) => self
                .payments
                .values()
                .find(|p| p.tenant_id == t && p.stripe_charge_id.as_ref() == Some(ch))
                .cloned(),
            _ => None,
        };
        let key = (t, obs.dispute_id.clone());
        let merged = apply::merge_dispute(self.disputes.get(&key), obs, ctx, payment.as_ref());
        let order = merged
            .order_id
            .and_then(|id| self.orders.get(&(t, id)).cloned());
        self.disputes.insert(key, merged);
        order
    }

    /// Derives the order's status and money from its facts and stores it; returns the change
    /// when its status or money moved.
    fn rederive(
        &mut self,
        ctx: &EventCtx,
        mut order: orders::Model,
        cause: &str,
    ) -> Option<OrderChange> {
        let key = (order.tenant_id, order.id);
        let payments: Vec<payments::Model> = self
            .payments
            .values()
            .filter(|p| p.tenant_id == order.tenant_id && p.order_id == Some(order.id))
            .cloned()
            .collect();
        let disputes: Vec<disputes::Model> = self
            .disputes
            .values()
            .filter(|d| {
                d.tenant_id == order.tenant_id
                    && payments.iter().any(|p| {
                        Some(&p.stripe_payment_intent_id) == d.stripe_payment_intent_id.as_ref()
                            || (d.stripe_charge_id.is_some()
                                && d.stripe_charge_id == p.stripe_charge_id)
                    })
            })
            .cloned()
            .collect();
        let moved = |o: &orders::Model| {
            (
                o.status,
                o.amount_refunded,
                o.amount_paid,
                o.tip_amount,
                o.amount_authorized,
            )
        };
        let stored = self.orders.get(&key);
        let was = moved(stored.unwrap_or(&order));
        let (from, refunded_from) = (was.0, was.1);
        apply::derive_order(&order, &payments, &disputes).set_on(&mut order);
        if stored == Some(&order) {
            return None;
        }
        order.updated_at = ctx.now;
        let change = (was != moved(&order)).then(|| OrderChange {
            tenant_id: order.tenant_id,
            order_id: order.id,
            reference: order.reference.clone(),
            from,
            to: order.status,
            amount: order.amount,
            currency: order.currency.clone(),
            refunded_from,
            refunded_to: order.amount_refunded,
            amount_paid: order.amount_paid,
            tip_amount: order.tip_amount,
            amount_due: order.amount_due,
            amount_authorized: order.amount_authorized,
            cause: cause.to_owned(),
        });
        self.orders.insert(key, order);
        change
    }
}

fn changed<K: std::hash::Hash + Eq, V: PartialEq>(
    before: &HashMap<K, V>,
    after: HashMap<K, V>,
) -> Vec<V> {
    after
        .into_iter()
        .filter(|(k, v)| before.get(k) != Some(v))
        .map(|(_, v)| v)
        .collect()
}
