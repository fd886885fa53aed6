//! Domain: what a refund of an order refunds — its successful payments with money left on them
//! once every refund already asked for is counted, newest first, one refund each, and how much
//! (the rest, unless asked for less). What counts against a payment is the larger of what the books show
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
    /// More than what remains of the order's payments.
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

/// The refunds of `requested` (or all that remains) from `payments` (oldest first): taken from
/// the newest succeeded payment with money left once `asked(payment id)` — what the gateway's
/// live requests ask of it — is counted, then the one before, one refund per payment (a split
/// check refunds the last diner first).
pub fn plan(
    payments: &[payments::Model],
    asked: impl Fn(Uuid) -> i64,
    requested: Option<i64>,
) -> Result<Vec<RefundPlan>, Refusal> {
    let counted = |p: &payments::Model| p.amount_refunded.max(asked(p.id));
    let open: Vec<(&payments::Model, i64)> = payments
        .iter()
        .rev()
        .filter(|p| p.status == PaymentStatus::Succeeded)
        .map(|p| (p, counted(p)))
        .filter(|(p, counted)| p.amount > *counted)
        .collect();
    if open.is_empty() {
        return Err(Refusal::NothingRefundable);
    }
    let remaining: i64 = open.iter().map(|(p, counted)| p.amount - counted).sum();
    let mut left = requested.unwrap_or(remaining);
    if left > remaining {
        return Err(Refusal::Exceeds { remaining });
    }
    let mut plans = Vec::new();
    for (payment, already_refunded) in open {
        if left == 0 {
            break;
        }
        let amount = left.min(payment.amount - already_refunded);
        left -= amount;
        plans.push(RefundPlan {
            payment_id: payment.id,
            payment_intent: payment.stripe_payment_intent_id.clone(),
            amount,
            currency: payment.currency.clone(),
            already_refunded,
        });
    }
    Ok(plans)
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

    fn payment(status: PaymentStatus, amount: i64, refunded: i64) -> payments::Model {
        payments::Model {
            stripe_payment_intent_id: format!("pi_{amount}_{refunded}"),
            amount_refunded: refunded,
            ..crate::domain::fixtures::payment(status, amount, "eur")
        }
    }

    #[test]
    fn refunds_the_rest_of_the_first_successful_payment() {
        let failed = payment(PaymentStatus::Failed, 2500, 0);
        let done = payment(PaymentStatus::Succeeded, 2500, 2500);
        let paid = payment(PaymentStatus::Succeeded, 2500, 1000);
        let plan = plan(&[failed, done, paid], |_| 0, None).unwrap();
        assert_eq!(plan.len(), 1);
        assert_eq!((plan[0].amount, plan[0].already_refunded), (1500, 1000));
        assert_eq!(plan[0].payment_intent, "pi_2500_1000");
    }

    #[test]
    fn refuses_more_than_remains_and_nothing_left() {
        let paid = payment(PaymentStatus::Succeeded, 2500, 1000);
        assert_eq!(
            plan(std::slice::from_ref(&paid), |_| 0, Some(1501)),
            Err(Refusal::Exceeds { remaining: 1500 })
        );
        assert_eq!(plan(&[paid], |_| 0, Some(1500)).unwrap()[0].amount, 1500);
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
        assert_eq!(plan(&[settled], |_| 1500, None).unwrap()[0].amount, 500);
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
    fn a_split_check_is_refunded_newest_payment_first_one_refund_each() {
        let first = payment(PaymentStatus::Succeeded, 2000, 0);
        let second = payment(PaymentStatus::Succeeded, 3000, 0);
        let mut third = payment(PaymentStatus::Succeeded, 1500, 0);
        third.stripe_payment_intent_id = "pi_third".into();
        let all = [first.clone(), second.clone(), third.clone()];
        // 4,000: all of the newest (1,500), then 2,500 of the one before.
        let plans = plan(&all, |_| 0, Some(4000)).unwrap();
        let taken: Vec<(Uuid, i64)> = plans.iter().map(|p| (p.payment_id, p.amount)).collect();
        assert_eq!(taken, vec![(third.id, 1500), (second.id, 2500)]);
        // Everything: one refund per payment, the sum of what was paid.
        let plans = plan(&all, |_| 0, None).unwrap();
        assert_eq!(plans.iter().map(|p| p.amount).sum::<i64>(), 6500);
        assert_eq!(plans.len(), 3);
        // What is asked already counts, per payment: the newest is done, so 500 from the second.
        let asked = |id: Uuid| if id == third.id { 1500 } else { 0 };
        let plans = plan(&all, asked, Some(500)).unwrap();
        assert_eq!((plans[0].payment_id, plans[0].amount), (second.id, 500));
        // More than the order's payments hold together.
        assert_eq!(
            plan(&all, asked, Some(5001)),
            Err(Refusal::Exceeds { remaining: 5000 })
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
