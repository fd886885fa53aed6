//! Domain: what an action on an order's authorizations asks Stripe for — a capture of the
//! order's share due plus the tip, an increment of a bar tab, a void — or why it must not be
//! asked. The rules (DESIGN.md "Restaurant payments"): a capture takes the share still due (at
//! most what the authorization holds) plus the tip; more than the hold only where Stripe offers
//! overcapture, up to its maximum; a tip the books would not take as one (over the order's
//! `max_tip_bps`, counting tips already paid) is refused before anything is sent. Nothing here
//! changes the books: the order settles from Stripe's webhook.
use super::money::{held, tips_left};
use entity::status::PaymentStatus;
use entity::{orders, payments};
use uuid::Uuid;

/// What to do with an authorization.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Capture the share due plus `tip`, from `payment` (needed when several are authorized).
    Capture { tip: i64, payment: Option<Uuid> },
    /// Raise the authorization's total to `amount` (a bar tab growing).
    Increment { payment: Uuid, amount: i64 },
    /// Void it: the hold is released, nothing is charged.
    Cancel { payment: Uuid },
}

impl Action {
    pub fn name(&self) -> &'static str {
        match self {
            Action::Capture { .. } => "capture",
            Action::Increment { .. } => "increment",
            Action::Cancel { .. } => "cancel",
        }
    }
}

/// Why an action is not asked of Stripe.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// The payment named is not one of the order's.
    NoSuchPayment,
    /// No live authorization (on the order, or the payment named).
    NothingAuthorized,
    /// Several authorizations and none named: their ids.
    Ambiguous(Vec<Uuid>),
    /// The order's amount is paid already: nothing to capture (void the hold instead).
    NothingDue,
    /// The authorization is in another currency than the order.
    CurrencyMismatch,
    /// The tip is more than the order takes as a tip (`most`: what it still takes).
    TipOverLimit { most: i64 },
    /// The share plus the tip is more than can be captured (`most`, with `share` of it due).
    TipExceedsAuthorization { most: i64, share: i64 },
    /// Stripe did not offer incremental authorization for this payment.
    IncrementNotSupported,
    /// The new total is not above what is authorized now.
    NotAnIncrease { current: i64 },
}

/// The call to make at Stripe.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    pub payment_id: Uuid,
    pub payment_intent: String,
    /// Capture: `amount_to_capture`; increment: the new total; cancel: what the void releases.
    pub amount: i64,
    /// Capture: the tip declared with it (0 otherwise).
    pub tip: i64,
}

/// A live authorization: authorized and still holding money.
fn live(p: &payments::Model) -> bool {
    p.status == PaymentStatus::Authorized && held(p) > 0
}

/// The authorization `named` (or, for `None`, the order's only live one).
fn pick(payments: &[payments::Model], named: Option<Uuid>) -> Result<&payments::Model, Refusal> {
    if let Some(id) = named {
        let p = payments
            .iter()
            .find(|p| p.id == id)
            .ok_or(Refusal::NoSuchPayment)?;
        return if live(p) {
            Ok(p)
        } else {
            Err(Refusal::NothingAuthorized)
        };
    }
    let holds: Vec<&payments::Model> = payments.iter().filter(|p| live(p)).collect();
    match holds.as_slice() {
        [] => Err(Refusal::NothingAuthorized),
        [one] => Ok(one),
        many => Err(Refusal::Ambiguous(many.iter().map(|p| p.id).collect())),
    }
}

/// What `action` on `order` (with its `payments`) asks Stripe for.
pub fn plan(
    order: &orders::Model,
    payments: &[payments::Model],
    action: Action,
) -> Result<Plan, Refusal> {
    match action {
        Action::Capture { tip, payment } => {
            let p = pick(payments, payment)?;
            if p.currency != order.currency {
                return Err(Refusal::CurrencyMismatch);
            }
            if order.amount_due <= 0 {
                return Err(Refusal::NothingDue);
            }
            let most = tips_left(order);
            if tip > most {
                return Err(Refusal::TipOverLimit { most });
            }
            let share = held(p).min(order.amount_due);
            let most = held(p).max(p.overcapture_max.unwrap_or(0));
            if share + tip > most {
                return Err(Refusal::TipExceedsAuthorization { most, share });
            }
            Ok(planned(p, share + tip, tip))
        }
        Action::Increment { payment, amount } => {
            let p = pick(payments, Some(payment))?;
            if !p.increment_supported {
                return Err(Refusal::IncrementNotSupported);
            }
            let current = p.amount.max(held(p));
            if amount <= current {
                return Err(Refusal::NotAnIncrease { current });
            }
            Ok(planned(p, amount, 0))
        }
        Action::Cancel { payment } => {
            let p = pick(payments, Some(payment))?;
            Ok(planned(p, held(p), 0))
        }
    }
}

fn planned(p: &payments::Model, amount: i64, tip: i64) -> Plan {
    Plan {
        payment_id: p.id,
        payment_intent: p.stripe_payment_intent_id.clone(),
        amount,
        tip,
    }
}

/// The idempotency key sent to Stripe: from the caller's key (hashed, and scoped to the
/// payment so that two payments' callers never meet at Stripe), else derived from the payment
/// and the amounts, so that a retry dedupes and a different capture is a different call.
pub fn stripe_key(action: &Action, plan: &Plan, caller_key: Option<&str>) -> String {
    let name = action.name();
    let payment = plan.payment_id;
    match caller_key {
        Some(key) => format!("gateway-{name}-{payment}-k{}", super::key_digest(key)),
        None => match action {
            Action::Capture { .. } => {
                format!("gateway-{name}-{payment}-{}-{}", plan.amount, plan.tip)
            }
            Action::Increment { .. } => format!("gateway-{name}-{payment}-{}", plan.amount),
            Action::Cancel { .. } => format!("gateway-{name}-{payment}"),
        },
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
#[path = "authorization_tests.rs"]
mod tests;
