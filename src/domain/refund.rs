//! Domain: what a refund of an order refunds — the order's successful payment with money left on
//! it, how much (the rest, unless asked for less), and the idempotency key sent to Stripe when
//! the caller gives none: derived from the order, the amount and what was already refunded, so a
//! retried request dedupes while a later refund of the same amount is a new refund.
use entity::payments;
use entity::status::PaymentStatus;

/// Why an order cannot be refunded as asked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// No successful payment with money left on it.
    NothingRefundable,
    /// More than what remains of the payment.
    Exceeds { remaining: i64 },
}

/// A refund to ask Stripe for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefundPlan {
    pub payment_intent: String,
    pub amount: i64,
    pub currency: String,
    /// What the gateway knows was refunded of that payment before this refund.
    pub already_refunded: i64,
}

/// The refund of `requested` (or all that remains) from the first of `payments` (oldest first)
/// that succeeded and has money left on it.
pub fn plan(payments: &[payments::Model], requested: Option<i64>) -> Result<RefundPlan, Refusal> {
    let payment = payments
        .iter()
        .find(|p| p.status == PaymentStatus::Succeeded && p.amount > p.amount_refunded)
        .ok_or(Refusal::NothingRefundable)?;
    let remaining = payment.amount - payment.amount_refunded;
    let amount = requested.unwrap_or(remaining);
    if amount > remaining {
        return Err(Refusal::Exceeds { remaining });
    }
    Ok(RefundPlan {
        payment_intent: payment.stripe_payment_intent_id.clone(),
        amount,
        currency: payment.currency.clone(),
        already_refunded: payment.amount_refunded,
    })
}

/// The idempotency key when the caller gave none.
pub fn derived_key(order_id: uuid::Uuid, plan: &RefundPlan) -> String {
    format!(
        "gateway-refund-{order_id}-{}-{}",
        plan.amount, plan.already_refunded
    )
}

/// A caller's `Idempotency-Key`: 1–255 visible ASCII characters (as Stripe takes them).
pub fn parse_idempotency_key(raw: &str) -> Result<&str, super::Invalid> {
    if raw.is_empty() || raw.len() > 255 || !raw.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(super::invalid(
            "Idempotency-Key",
            "must be 1–255 visible ASCII characters",
        ));
    }
    Ok(raw)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use chrono::Utc;
    use uuid::Uuid;

    fn payment(status: PaymentStatus, amount: i64, refunded: i64) -> payments::Model {
        payments::Model {
            id: Uuid::now_v7(),
            tenant_id: Uuid::nil(),
            order_id: None,
            stripe_payment_intent_id: format!("pi_{amount}_{refunded}"),
            stripe_charge_id: None,
            amount,
            amount_refunded: refunded,
            amount_conflict: false,
            currency: "eur".into(),
            status,
            customer_id: None,
            customer_email: None,
            customer_name: None,
            livemode: false,
            failure_reason: None,
            last_event_created: 0,
            created_at: Utc::now(),
            updated_at: Utc::now(),
        }
    }

    #[test]
    fn refunds_the_rest_of_the_first_successful_payment() {
        let failed = payment(PaymentStatus::Failed, 2500, 0);
        let done = payment(PaymentStatus::Succeeded, 2500, 2500);
        let paid = payment(PaymentStatus::Succeeded, 2500, 1000);
        let plan = plan(&[failed, done, paid], None).unwrap();
        assert_eq!((plan.amount, plan.already_refunded), (1500, 1000));
        assert_eq!(plan.payment_intent, "pi_2500_1000");
    }

    #[test]
    fn refuses_more_than_remains_and_nothing_left() {
        let paid = payment(PaymentStatus::Succeeded, 2500, 1000);
        assert_eq!(
            plan(std::slice::from_ref(&paid), Some(1501)),
            Err(Refusal::Exceeds { remaining: 1500 })
        );
        assert_eq!(plan(&[paid], Some(1500)).unwrap().amount, 1500);
        let pending = payment(PaymentStatus::Pending, 2500, 0);
        assert_eq!(plan(&[pending], None), Err(Refusal::NothingRefundable));
        assert_eq!(plan(&[], Some(1)), Err(Refusal::NothingRefundable));
    }

    #[test]
    fn derived_keys_dedupe_retries_but_not_later_refunds() {
        let order = Uuid::now_v7();
        let first = plan(&[payment(PaymentStatus::Succeeded, 3000, 0)], Some(1000)).unwrap();
        let retry = plan(&[payment(PaymentStatus::Succeeded, 3000, 0)], Some(1000)).unwrap();
        let later = plan(&[payment(PaymentStatus::Succeeded, 3000, 1000)], Some(1000)).unwrap();
        assert_eq!(derived_key(order, &first), derived_key(order, &retry));
        assert_ne!(derived_key(order, &first), derived_key(order, &later));
        assert!(parse_idempotency_key("order-7-refund").is_ok());
        assert!(parse_idempotency_key("").is_err());
        assert!(parse_idempotency_key("has space").is_err());
        assert!(parse_idempotency_key(&"k".repeat(256)).is_err());
    }
}
