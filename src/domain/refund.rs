//! Domain: what a refund of an order refunds — the first successful payment of the order with
//! money left on it once every refund already asked for is counted, and how much (the rest,
//! unless asked for less). What counts against a payment is the larger of what the books show
//! refunded (Stripe's `charge.refunded`, which includes refunds made outside the gateway) and
//! what the gateway has asked for and Stripe has not refused: a refund asked for but not yet in
//! the books is never asked for twice, and concurrent refunds never add up to more than was
//! paid. A request without an idempotency key is a new refund; the key sent to Stripe is the
//! request's own, so two tenants' or orders' caller keys never meet at Stripe.
use entity::payments;
use entity::status::PaymentStatus;
use uuid::Uuid;

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
    pub payment_id: Uuid,
    pub payment_intent: String,
    pub amount: i64,
    pub currency: String,
    /// What counted against that payment before this refund.
    pub already_refunded: i64,
}

/// The refund of `requested` (or all that remains) from the first of `payments` (oldest first)
/// that succeeded and has money left once `asked(payment id)` — what the gateway's live
/// requests ask of it — is counted.
pub fn plan(
    payments: &[payments::Model],
    asked: impl Fn(Uuid) -> i64,
    requested: Option<i64>,
) -> Result<RefundPlan, Refusal> {
    let counted = |p: &payments::Model| p.amount_refunded.max(asked(p.id));
    let payment = payments
        .iter()
        .find(|p| p.status == PaymentStatus::Succeeded && p.amount > counted(p))
        .ok_or(Refusal::NothingRefundable)?;
    let already_refunded = counted(payment);
    let remaining = payment.amount - already_refunded;
    let amount = requested.unwrap_or(remaining);
    if amount > remaining {
        return Err(Refusal::Exceeds { remaining });
    }
    Ok(RefundPlan {
        payment_id: payment.id,
        payment_intent: payment.stripe_payment_intent_id.clone(),
        amount,
        currency: payment.currency.clone(),
        already_refunded,
    })
}

/// The idempotency key sent to Stripe for refund request `request_id`: its own, whatever key the
/// caller gave (a caller's key is scoped to its tenant and order by the request's record).
pub fn stripe_key(request_id: Uuid) -> String {
    format!("gateway-refund-{request_id}")
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
            created_at: Utc::now(),
            updated_at: Utc::now(),
        }
    }

    #[test]
    fn refunds_the_rest_of_the_first_successful_payment() {
        let failed = payment(PaymentStatus::Failed, 2500, 0);
        let done = payment(PaymentStatus::Succeeded, 2500, 2500);
        let paid = payment(PaymentStatus::Succeeded, 2500, 1000);
        let plan = plan(&[failed, done, paid], |_| 0, None).unwrap();
        assert_eq!((plan.amount, plan.already_refunded), (1500, 1000));
        assert_eq!(plan.payment_intent, "pi_2500_1000");
    }

    #[test]
    fn refuses_more_than_remains_and_nothing_left() {
        let paid = payment(PaymentStatus::Succeeded, 2500, 1000);
        assert_eq!(
            plan(std::slice::from_ref(&paid), |_| 0, Some(1501)),
            Err(Refusal::Exceeds { remaining: 1500 })
        );
        assert_eq!(plan(&[paid], |_| 0, Some(1500)).unwrap().amount, 1500);
        let pending = payment(PaymentStatus::Pending, 2500, 0);
        assert_eq!(
            plan(&[pending], |_| 0, None),
            Err(Refusal::NothingRefundable)
        );
        assert_eq!(plan(&[], |_| 0, Some(1)), Err(Refusal::NothingRefundable));
    }

    #[test]
    fn refunds_asked_for_count_until_the_books_show_them() {
        let paid = payment(PaymentStatus::Succeeded, 2000, 0);
        // 1,500 asked, not in the books yet: 500 remain.
        assert_eq!(
            plan(std::slice::from_ref(&paid), |_| 1500, Some(1500)),
            Err(Refusal::Exceeds { remaining: 500 })
        );
        // The books caught up (1,500 refunded): the request is not counted twice.
        let settled = payment(PaymentStatus::Succeeded, 2000, 1500);
        assert_eq!(plan(&[settled], |_| 1500, None).unwrap().amount, 500);
        // A refund made in Stripe's dashboard shows in the books only, and counts.
        let outside = payment(PaymentStatus::Succeeded, 2000, 1800);
        assert_eq!(
            plan(&[outside], |_| 300, Some(300)),
            Err(Refusal::Exceeds { remaining: 200 })
        );
        // Everything asked for: nothing refundable.
        assert_eq!(
            plan(&[paid], |_| 2000, None),
            Err(Refusal::NothingRefundable)
        );
    }

    #[test]
    fn keys_are_per_request_and_callers_keys_are_checked() {
        let (a, b) = (Uuid::now_v7(), Uuid::now_v7());
        assert_ne!(stripe_key(a), stripe_key(b));
        assert!(stripe_key(a).len() <= 255);
        assert!(parse_idempotency_key("order-7-refund").is_ok());
        assert!(parse_idempotency_key("").is_err());
        assert!(parse_idempotency_key("has space").is_err());
        assert!(parse_idempotency_key(&"k".repeat(256)).is_err());
    }
}
