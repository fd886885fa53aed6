//! Domain: the money rules of a restaurant order that both the books (webhooks' derivation) and
//! the actions on authorizations (capture) apply, so that what a capture allows is what the
//! books will accept.
use entity::{orders, payments};

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
