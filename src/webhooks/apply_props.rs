//! Property tests of the apply rules: for any set of events about one order, in any delivery
//! order, the order converges to one state, never moves backwards, and is never paid with a
//! mismatched amount. The store is simulated in memory exactly as `effects` drives it.
#![allow(clippy::unwrap_used)]
use super::*;
use proptest::prelude::*;
use std::collections::BTreeMap;

const ORDER_AMOUNT: i64 = 5000;

#[derive(Clone, Debug)]
enum Ev {
    Pay {
        pi: u8,
        status: PaymentStatus,
        amount: i64,
        currency: &'static str,
    },
    Refund {
        pi: u8,
        refunded: i64,
    },
    Dispute {
        du: u8,
        pi: u8,
        status: &'static str,
    },
    Expire,
}

fn ev() -> impl Strategy<Value = Ev> {
    let status = prop_oneof![
        Just(PaymentStatus::Processing),
        Just(PaymentStatus::Failed),
        Just(PaymentStatus::Canceled),
        Just(PaymentStatus::Succeeded),
    ];
    let amount = prop_oneof![4 => Just(ORDER_AMOUNT), 1 => Just(ORDER_AMOUNT - 1)];
    let currency = prop_oneof![6 => Just("usd"), 1 => Just("eur")];
    prop_oneof![
        4 => (0u8..2, status, amount, currency).prop_map(|(pi, status, amount, currency)| Ev::Pay { pi, status, amount, currency }),
        2 => (0u8..2, 0i64..=ORDER_AMOUNT).prop_map(|(pi, refunded)| Ev::Refund { pi, refunded }),
        2 => (0u8..2, 0u8..2, prop_oneof![Just("needs_response"), Just("under_review"), Just("won"), Just("lost")])
            .prop_map(|(du, pi, status)| Ev::Dispute { du, pi, status }),
        1 => Just(Ev::Expire),
    ]
}

/// Order status and refunded amount; per payment: intent, status, amount, refunded, currency;
/// per dispute: id and status.
type Facts = (
    String,
    i64,
    Vec<(String, String, i64, i64, String)>,
    Vec<(String, String)>,
);

/// The in-memory books of one tenant with one order.
struct Books {
    order: orders::Model,
    payments: BTreeMap<String, payments::Model>,
    disputes: BTreeMap<String, disputes::Model>,
}

fn ctx(created: i64) -> EventCtx {
    EventCtx {
        tenant_id: Uuid::nil(),
        created,
        livemode: false,
        now: chrono::DateTime::UNIX_EPOCH,
    }
}

impl Books {
    fn new() -> Self {
        let now = chrono::DateTime::UNIX_EPOCH;
        Self {
            order: orders::Model {
                id: Uuid::from_u128(7),
                tenant_id: Uuid::nil(),
                reference: "o".into(),
                amount: ORDER_AMOUNT,
                currency: "usd".into(),
                status: "PAYMENT_PENDING".into(),
                amount_refunded: 0,
                customer_email: None,
                metadata: None,
                checkout_session_id: None,
                expired_at: None,
                created_at: now,
                updated_at: now,
            },
            payments: BTreeMap::new(),
            disputes: BTreeMap::new(),
        }
    }

    fn apply(&mut self, e: &Ev, created: i64) {
        let c = ctx(created);
        match e {
            Ev::Pay {
                pi,
                status,
                amount,
                currency,
            } => self.pay(
                PaymentObs {
                    payment_intent: format!("pi_{pi}"),
                    charge_id: Some(format!("ch_{pi}")),
                    status: *status,
                    amount: Some(*amount),
                    currency: Some((*currency).into()),
                    amount_refunded: None,
                    customer_id: None,
                    email: None,
                    name: None,
                    failure_reason: None,
                    order_refs: vec![self.order.id],
                    checkout_session_id: None,
                },
                &c,
            ),
            Ev::Refund { pi, refunded } => self.pay(
                PaymentObs {
                    payment_intent: format!("pi_{pi}"),
                    charge_id: Some(format!("ch_{pi}")),
                    status: PaymentStatus::Succeeded,
                    amount: Some(ORDER_AMOUNT),
                    currency: Some("usd".into()),
                    amount_refunded: Some(*refunded),
                    customer_id: None,
                    email: None,
                    name: None,
                    failure_reason: None,
                    order_refs: vec![self.order.id],
                    checkout_session_id: None,
                },
                &c,
            ),
            Ev::Dispute { du, pi, status } => {
                let obs = DisputeObs {
                    dispute_id: format!("du_{du}_{pi}"),
                    charge_id: Some(format!("ch_{pi}")),
                    payment_intent: Some(format!("pi_{pi}")),
                    amount: ORDER_AMOUNT,
                    currency: "usd".into(),
                    reason: None,
                    status: (*status).into(),
                };
                let payment = self.payments.get(&format!("pi_{pi}")).cloned();
                let merged = merge_dispute(
                    self.disputes.get(&obs.dispute_id),
                    &obs,
                    &c,
                    payment.as_ref(),
                );
                self.disputes.insert(obs.dispute_id.clone(), merged);
            }
            Ev::Expire => {
                self.order.expired_at = self.order.expired_at.or(Some(c.now));
            }
        }
        let payments: Vec<_> = self.payments.values().cloned().collect();
        let disputes: Vec<_> = self.disputes.values().cloned().collect();
        let (status, refunded) = derive_order(&self.order, &payments, &disputes);
        self.order.status = status.into();
        self.order.amount_refunded = refunded;
    }

    fn pay(&mut self, obs: PaymentObs, c: &EventCtx) {
        let existing = self.payments.get(&obs.payment_intent).cloned();
        let merged = merge_payment(existing.as_ref(), &obs, c, Some(self.order.id), false);
        for d in self.disputes.values_mut() {
            if d.payment_id.is_none()
                && d.stripe_payment_intent_id.as_deref()
                    == Some(merged.stripe_payment_intent_id.as_str())
            {
                d.payment_id = Some(merged.id);
                d.order_id = merged.order_id;
            }
        }
        self.payments.insert(obs.payment_intent.clone(), merged);
    }

    /// What must agree between delivery orders (ids are generated, so left out).
    fn facts(&self) -> Facts {
        let payments = self
            .payments
            .values()
            .map(|p| {
                (
                    p.stripe_payment_intent_id.clone(),
                    p.status.clone(),
                    p.amount,
                    p.amount_refunded,
                    p.currency.clone(),
                )
            })
            .collect();
        let disputes = self
            .disputes
            .values()
            .map(|d| (d.stripe_dispute_id.clone(), d.status.clone()))
            .collect();
        (
            self.order.status.clone(),
            self.order.amount_refunded,
            payments,
            disputes,
        )
    }
}

/// Money was taken: nothing can make the order pending, failed or expired again.
fn paid_family(s: &str) -> bool {
    !matches!(s, "PAYMENT_PENDING" | "PAYMENT_FAILED" | "EXPIRED")
}

fn allowed(from: &str, to: &str) -> bool {
    from == to
        || match from {
            "PAYMENT_PENDING" => true,
            "PAYMENT_FAILED" => to != "PAYMENT_PENDING",
            "EXPIRED" => paid_family(to),
            "NEEDS_REVIEW" => false,
            "DISPUTE_LOST" => to == "NEEDS_REVIEW",
            _ => paid_family(to),
        }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn every_delivery_order_converges(events in prop::collection::vec(ev(), 1..10), seed in any::<u64>()) {
        // Each event has its own Stripe `created`; deliveries come in any order.
        let stamped: Vec<(Ev, i64)> = events.iter().cloned().zip(1000i64..).collect();
        let mut books = Books::new();
        for (e, t) in &stamped {
            books.apply(e, *t);
        }
        let mut shuffled = stamped.clone();
        let mut s = seed;
        for i in (1..shuffled.len()).rev() {
            s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            shuffled.swap(i, (s >> 33) as usize % (i + 1));
        }
        let mut other = Books::new();
        for (e, t) in &shuffled {
            other.apply(e, *t);
        }
        prop_assert_eq!(books.facts(), other.facts());
    }

    #[test]
    fn never_backwards_never_paid_with_a_wrong_amount(events in prop::collection::vec(ev(), 1..12)) {
        let mut books = Books::new();
        let mut refunded = 0;
        for (e, t) in events.iter().zip(1000i64..) {
            let before = books.order.status.clone();
            books.apply(e, t);
            let after = books.order.status.clone();
            prop_assert!(allowed(&before, &after), "{} -> {} after {:?}", before, after, e);
            prop_assert!(books.order.amount_refunded >= refunded, "refunds never shrink");
            refunded = books.order.amount_refunded;
        }
        let succeeded: Vec<_> = books.payments.values().filter(|p| p.status == "succeeded").collect();
        let mismatch = succeeded.iter().any(|p| p.amount != ORDER_AMOUNT || p.currency != "usd");
        if mismatch || succeeded.len() > 1 {
            prop_assert_eq!(books.order.status.as_str(), "NEEDS_REVIEW");
        }
        if matches!(books.order.status.as_str(), "PAID" | "PARTIALLY_REFUNDED" | "REFUNDED") {
            prop_assert_eq!(succeeded.len(), 1);
            prop_assert_eq!(succeeded[0].amount, ORDER_AMOUNT);
        }
    }
}
