//! Webhooks: an order's status and money, derived from all its facts, as a pure function (no
//! I/O). Restaurants are paid in shares: a table splits the bill, a diner adds a tip, a bar
//! holds an authorization and captures it with the tip. The rules (DESIGN.md "Restaurant
//! payments"):
//! - a payment's tip is the one it declares, else what a capture took beyond the
//!   authorization (an overcapture);
//! - the paid share is Σ over succeeded payments of (captured − tip); it settles the order
//!   when it reaches the amount, and more is `overpaid`;
//! - authorizations not yet captured cover the rest (`AUTHORIZED`), or part of it
//!   (`PARTIALLY_PAID`, as does a share paid);
//! - a payment in another currency, two observations of one payment that disagree, or tips
//!   above the tenant's limit need a person (`NEEDS_REVIEW` with the reason).
//!
//! Being a function of the set of facts, every delivery order of the same events converges.
use super::observe::{DisputeStatus, PaymentStatus};
pub use crate::domain::money::held;
use crate::domain::money::tip_limit;
use chrono::{DateTime, Utc};
use entity::status::{OrderStatus, ReviewReason};
use entity::{disputes, orders, payments};

/// A payment's tip: the declared one, else what a capture took beyond the authorization.
pub fn payment_tip(p: &payments::Model) -> i64 {
    if p.tip_declared > 0 {
        p.tip_declared
    } else if p.status == PaymentStatus::Succeeded
        && p.amount_authorized > 0
        && p.amount > p.amount_authorized
    {
        p.amount - p.amount_authorized
    } else {
        0
    }
}

/// An order's status and money, derived.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Derived {
    pub status: OrderStatus,
    pub review_reason: Option<ReviewReason>,
    pub amount_refunded: i64,
    pub amount_paid: i64,
    pub tip_amount: i64,
    pub amount_due: i64,
    pub amount_authorized: i64,
    /// The soonest deadline of its live authorizations.
    pub capture_before: Option<DateTime<Utc>>,
}

impl Derived {
    /// Writes the derived fields onto the order.
    pub fn set_on(&self, order: &mut orders::Model) {
        order.status = self.status;
        order.review_reason = self.review_reason;
        order.amount_refunded = self.amount_refunded;
        order.amount_paid = self.amount_paid;
        order.tip_amount = self.tip_amount;
        order.amount_due = self.amount_due;
        order.amount_authorized = self.amount_authorized;
        order.capture_before = self.capture_before;
    }
}

/// An order's status and money, derived from all its payments and disputes.
pub fn derive_order(
    order: &orders::Model,
    payments: &[payments::Model],
    disputes: &[disputes::Model],
) -> Derived {
    let of = |status: PaymentStatus| payments.iter().filter(move |p| p.status == status);
    let ours = |p: &payments::Model| p.currency == order.currency;
    let succeeded: Vec<&payments::Model> = of(PaymentStatus::Succeeded).collect();
    let holds: Vec<&payments::Model> = of(PaymentStatus::Authorized).collect();
    let sum = |list: &[&payments::Model], f: fn(&payments::Model) -> i64| -> i64 {
        list.iter().filter(|p| ours(p)).map(|p| f(p)).sum()
    };
    let paid = sum(&succeeded, |p| p.amount);
    let tip = sum(&succeeded, |p| p.tip_amount);
    let refunded: i64 = succeeded.iter().map(|p| p.amount_refunded).sum();
    let authorized = sum(&holds, held);
    let share = paid - tip;
    let review = if succeeded.iter().chain(&holds).any(|p| !ours(p)) {
        Some(ReviewReason::CurrencyMismatch)
    } else if succeeded.iter().any(|p| p.amount_conflict) {
        Some(ReviewReason::AmountConflict)
    } else if tip > tip_limit(order) || tip > paid {
        Some(ReviewReason::TipOverLimit)
    } else if share > order.amount {
        Some(ReviewReason::Overpaid)
    } else {
        None
    };
    let status = match review {
        Some(_) => OrderStatus::NeedsReview,
        None if share > 0 || authorized > 0 => settled_or_partial(
            order, share, authorized, paid, refunded, &succeeded, disputes,
        ),
        None => {
            let canceled = payments.iter().any(|p| p.status == PaymentStatus::Canceled);
            if order.expired_at.is_some() || canceled {
                OrderStatus::Expired
            } else if payments.iter().any(|p| p.status == PaymentStatus::Failed) {
                OrderStatus::PaymentFailed
            } else {
                OrderStatus::PaymentPending
            }
        }
    };
    Derived {
        status,
        review_reason: review,
        amount_refunded: refunded,
        amount_paid: paid,
        tip_amount: tip,
        amount_due: (order.amount - share).max(0),
        amount_authorized: authorized,
        capture_before: holds.iter().filter_map(|p| p.capture_before).min(),
    }
}

/// Something is paid or held: a dispute on a paid share comes first (money at risk), then the
/// order is paid (and refunded), covered by authorizations, or partly paid.
fn settled_or_partial(
    order: &orders::Model,
    share: i64,
    authorized: i64,
    paid: i64,
    refunded: i64,
    succeeded: &[&payments::Model],
    disputes: &[disputes::Model],
) -> OrderStatus {
    let theirs: Vec<&disputes::Model> = disputes
        .iter()
        .filter(|d| {
            succeeded.iter().any(|p| {
                d.payment_id == Some(p.id)
                    || d.stripe_payment_intent_id.as_deref()
                        == Some(p.stripe_payment_intent_id.as_str())
                    || (d.stripe_charge_id.is_some() && d.stripe_charge_id == p.stripe_charge_id)
            })
        })
        .collect();
    if theirs.iter().any(|d| d.status == DisputeStatus::Lost) {
        OrderStatus::DisputeLost
    } else if theirs.iter().any(|d| !d.status.is_closed()) {
        OrderStatus::Disputed
    } else if share == order.amount {
        if refunded >= paid && paid > 0 {
            OrderStatus::Refunded
        } else if refunded > 0 {
            OrderStatus::PartiallyRefunded
        } else {
            OrderStatus::Paid
        }
    } else if authorized >= order.amount - share {
        OrderStatus::Authorized
    } else {
        OrderStatus::PartiallyPaid
    }
}
