//! Domain: the money rules of a restaurant order that both the books (webhooks' derivation) and
//! the actions on authorizations (capture) apply, so that what a capture allows is what the
//! books will accept.
use chrono::{DateTime, Utc};
use entity::status::PaymentStatus;
use entity::{orders, payments};
use uuid::Uuid;

/// A payment the books have not seen before: pending, nothing charged, refunded, held or
/// tipped, no customer; what its first event says is merged into it.
pub fn new_payment(
    tenant_id: Uuid,
    payment_intent: String,
    livemode: bool,
    now: DateTime<Utc>,
) -> payments::Model {
    payments::Model {
        id: Uuid::now_v7(),
        tenant_id,
        order_id: None,
        stripe_payment_intent_id: payment_intent,
        stripe_charge_id: None,
        amount: 0,
        amount_refunded: 0,
        amount_conflict: false,
        currency: String::new(),
        status: PaymentStatus::Pending,
        customer_id: None,
        customer_email: None,
        customer_name: None,
        livemode,
        failure_reason: None,
        last_event_created: 0,
        tip_amount: 0,
        tip_declared: 0,
        amount_authorized: 0,
        amount_capturable: 0,
        capture_method: None,
        capture_before: None,
        capture_before_exact: false,
        overcapture_max: None,
        increment_supported: false,
        expiry_warned_at: None,
        created_at: now,
        updated_at: now,
    }
}

/// What an authorization holds: what Stripe says is capturable, else its amount.
pub fn held(p: &payments::Model) -> i64 {
    if p.amount_capturable > 0 {
        p.amount_capturable
    } else {
        p.amount
    }
}

/// The most tip an order takes as a tip: `max_tip_bps` of its amount, rounded down.
pub fn tip_limit(order: &orders::Model) -> i64 {
    let limit = i128::from(order.amount) * i128::from(order.max_tip_bps.max(0)) / 10_000;
    i64::try_from(limit).unwrap_or(i64::MAX)
}

/// How much more tip the order takes as a tip: its limit less the tips already paid.
pub fn tips_left(order: &orders::Model) -> i64 {
    (tip_limit(order) - order.tip_amount).max(0)
}
