//! Domain: what a Checkout Session for an order asks the customer to pay — the whole amount
//! due, or one diner's share of it, with an optional tip (a "Tip" line, declared in metadata so
//! the books take it as a tip), captured at once or only authorized (`manual`). Several sessions
//! may be open for one order: each diner pays a share.
use super::money::tips_left;
use entity::orders;
use entity::status::OrderStatus;

/// The share a session asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Share {
    /// The order's money this session pays (tip excluded).
    pub amount: i64,
    pub tip: i64,
    /// Authorize now, capture later.
    pub manual: bool,
}

/// Why no session is made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// Only a pending or partly paid order takes payments.
    NotPayable(OrderStatus),
    /// More than the order's amount due.
    ExceedsDue { due: i64 },
    /// More tip than the order takes as a tip (`most`: what it still takes).
    TipOverLimit { most: i64 },
}

/// The share of `order` a session asks for: `amount` (default: all that is due), `tip`.
pub fn share(
    order: &orders::Model,
    amount: Option<i64>,
    tip: Option<i64>,
    manual: bool,
) -> Result<Share, Refusal> {
    if !matches!(
        order.status,
        OrderStatus::PaymentPending | OrderStatus::PartiallyPaid
    ) {
        return Err(Refusal::NotPayable(order.status));
    }
    let due = order.amount_due;
    let amount = amount.unwrap_or(due);
    if amount > due || due <= 0 {
        return Err(Refusal::ExceedsDue { due });
    }
    let tip = tip.unwrap_or(0);
    let most = tips_left(order);
    if tip > most {
        return Err(Refusal::TipOverLimit { most });
    }
    Ok(Share {
        amount,
        tip,
        manual,
    })
}

/// The idempotency key of a session: the caller's (hashed, scoped to the order), else derived
/// from the order and the share — the whole order's session keeps the key it always had, so a
/// retried call answers the same session. Two diners paying equal shares at once give a key
/// each.
pub fn idempotency_key(order: &orders::Model, share: &Share, caller_key: Option<&str>) -> String {
    let id = order.id;
    if let Some(key) = caller_key {
        return format!("gateway-checkout-{id}-k{}", super::key_digest(key));
    }
    if share.amount == order.amount && share.tip == 0 && !share.manual {
        return format!("gateway-checkout-{id}");
    }
    let capture = if share.manual { "manual" } else { "automatic" };
    format!(
        "gateway-checkout-{id}-{}-{}-{capture}",
        share.amount, share.tip
    )
}
