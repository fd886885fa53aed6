//! Test support for the apply rules' property tests: the books of one tenant with one order,
//! kept by the write path's own in-memory merge, what must agree between delivery orders, and
//! the check that an order's status agrees with its money.
#![allow(clippy::unwrap_used)]
use super::history::{Ev, MAX_TIP_BPS, ORDER_AMOUNT, ORDER_ID};
use super::*;
use crate::domain::changes::OrderChange;
use crate::webhooks::rules::derive;
use entity::orders;
use entity::payments;
use entity::status::{OrderStatus, ReviewReason};
use proptest::prelude::*;
use uuid::Uuid;

/// The order's derived fields and, per payment, what must agree between delivery orders.
pub(super) type State = (
    Derived,
    Vec<(String, PaymentStatus, i64, i64, i64, String)>,
    Vec<(String, DisputeStatus)>,
);

/// The books of one tenant with one order, kept by the write path's own in-memory merge.
pub(super) struct Books {
    facts: crate::webhooks::rules::facts::Facts,
}

pub(super) fn ctx(created: i64) -> EventCtx {
    EventCtx {
        tenant_id: Uuid::nil(),
        created,
        livemode: false,
        now: chrono::DateTime::UNIX_EPOCH,
    }
}

pub(super) fn derived(o: &orders::Model) -> Derived {
    Derived {
        status: o.status,
        review_reason: o.review_reason,
        amount_refunded: o.amount_refunded,
        amount_paid: o.amount_paid,
        tip_amount: o.tip_amount,
        amount_due: o.amount_due,
        amount_authorized: o.amount_authorized,
        capture_before: o.capture_before,
    }
}

impl Books {
    pub(super) fn new() -> Self {
        let now = chrono::DateTime::UNIX_EPOCH;
        let order = orders::Model {
            id: ORDER_ID,
            tenant_id: Uuid::nil(),
            reference: "o".into(),
            amount: ORDER_AMOUNT,
            currency: "usd".into(),
            status: OrderStatus::PaymentPending,
            amount_refunded: 0,
            customer_email: None,
            metadata: None,
            checkout_session_id: None,
            expired_at: None,
            amount_paid: 0,
            tip_amount: 0,
            amount_due: ORDER_AMOUNT,
            amount_authorized: 0,
            review_reason: None,
            max_tip_bps: MAX_TIP_BPS,
            capture_before: None,
            created_at: now,
            updated_at: now,
        };
        let mut facts = crate::webhooks::rules::facts::Facts::default();
        facts.orders.insert((Uuid::nil(), ORDER_ID), order);
        Self { facts }
    }

    pub(super) fn order(&self) -> &orders::Model {
        &self.facts.orders[&(Uuid::nil(), ORDER_ID)]
    }

    pub(super) fn apply(&mut self, e: &Ev, created: i64) -> Option<OrderChange> {
        let obs = match e {
            Ev::Payment(obs) => Observation::Payment((**obs).clone()),
            Ev::Dispute { du, pi, status } => Observation::Dispute(DisputeObs {
                dispute_id: format!("du_{du}_{pi}"),
                charge_id: Some(format!("ch_{pi}")),
                payment_intent: Some(format!("pi_{pi}")),
                amount: 1000,
                currency: "usd".into(),
                reason: None,
                status: *status,
            }),
            Ev::Expire => Observation::CheckoutExpired {
                order_refs: vec![ORDER_ID],
            },
        };
        self.facts
            .apply(&ctx(created), &obs, &format!("evt_{created}"))
    }

    pub(super) fn payments(&self) -> Vec<&payments::Model> {
        let mut all: Vec<_> = self.facts.payments.values().collect();
        all.sort_by(|a, b| a.stripe_payment_intent_id.cmp(&b.stripe_payment_intent_id));
        all
    }

    /// What must agree between delivery orders (ids are generated, so left out).
    pub(super) fn state(&self) -> State {
        let payments = self
            .payments()
            .into_iter()
            .map(|p| {
                (
                    p.stripe_payment_intent_id.clone(),
                    p.status,
                    p.amount,
                    p.amount_refunded,
                    p.tip_amount,
                    p.currency.clone(),
                )
            })
            .collect();
        let mut disputes: Vec<_> = self
            .facts
            .disputes
            .values()
            .map(|d| (d.stripe_dispute_id.clone(), d.status))
            .collect();
        disputes.sort();
        (derived(self.order()), payments, disputes)
    }

    /// The order's status agrees with its money, whatever has arrived so far.
    pub(super) fn check_money(&self) -> Result<(), TestCaseError> {
        let o = self.order();
        let usd = |s: PaymentStatus| {
            self.payments()
                .into_iter()
                .filter(move |p| p.status == s && p.currency == "usd")
        };
        let paid: i64 = usd(PaymentStatus::Succeeded).map(|p| p.amount).sum();
        let tip: i64 = usd(PaymentStatus::Succeeded).map(|p| p.tip_amount).sum();
        let held: i64 = usd(PaymentStatus::Authorized).map(derive::held).sum();
        let share = paid - tip;
        prop_assert_eq!(
            (o.amount_paid, o.tip_amount, o.amount_authorized),
            (paid, tip, held)
        );
        prop_assert_eq!(o.amount_due, (ORDER_AMOUNT - share).max(0));
        prop_assert_eq!(
            o.status == OrderStatus::NeedsReview,
            o.review_reason.is_some()
        );
        let other_currency = self.payments().iter().any(|p| {
            matches!(
                p.status,
                PaymentStatus::Succeeded | PaymentStatus::Authorized
            ) && p.currency != "usd"
        });
        if other_currency {
            prop_assert_eq!(o.review_reason, Some(ReviewReason::CurrencyMismatch));
        }
        match o.status {
            OrderStatus::Paid | OrderStatus::PartiallyRefunded | OrderStatus::Refunded => {
                prop_assert_eq!(
                    share,
                    ORDER_AMOUNT,
                    "settled means paid exactly, tips aside"
                );
                prop_assert!(tip <= ORDER_AMOUNT * i64::from(MAX_TIP_BPS) / 10_000);
            }
            OrderStatus::Authorized => {
                prop_assert!(share < ORDER_AMOUNT && held > 0 && held >= ORDER_AMOUNT - share);
            }
            OrderStatus::PartiallyPaid => {
                prop_assert!(share < ORDER_AMOUNT && (share > 0 || held > 0));
                prop_assert!(held < ORDER_AMOUNT - share);
            }
            OrderStatus::PaymentPending | OrderStatus::PaymentFailed | OrderStatus::Expired => {
                prop_assert_eq!((share, held), (0, 0));
            }
            OrderStatus::NeedsReview => match o.review_reason {
                Some(ReviewReason::Overpaid) => prop_assert!(share > ORDER_AMOUNT),
                Some(ReviewReason::TipOverLimit) => {
                    prop_assert!(tip > ORDER_AMOUNT * i64::from(MAX_TIP_BPS) / 10_000 || tip > paid)
                }
                _ => {}
            },
            OrderStatus::Disputed | OrderStatus::DisputeLost => prop_assert!(paid > 0),
        }
        Ok(())
    }
}

/// `events` in another order, drawn from `seed`.
pub(super) fn shuffle(events: &[(Ev, i64)], seed: u64) -> Vec<(Ev, i64)> {
    let mut shuffled = events.to_vec();
    let mut s = seed;
    for i in (1..shuffled.len()).rev() {
        s = s
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        shuffled.swap(i, (s >> 33) as usize % (i + 1));
    }
    shuffled
}

/// Each event gets its own Stripe `created`; a copy delivered again keeps its original's.
pub(super) fn stamp(events: Vec<Ev>) -> Vec<(Ev, i64)> {
    events.into_iter().zip(1000i64..).collect()
}

pub(super) type Tracked = (OrderStatus, i64, i64, i64, i64);

pub(super) fn tracked(o: &orders::Model) -> Tracked {
    (
        o.status,
        o.amount_refunded,
        o.amount_paid,
        o.tip_amount,
        o.amount_authorized,
    )
}
