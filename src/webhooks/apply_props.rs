//! Property tests of the apply rules: for any set of events about one order, in any delivery
//! order, the order converges to one state, never moves backwards, and is never paid with a
//! mismatched amount; the order changes the merge reports chain from the first state to the last
//! whatever the delivery order, and an event applied again changes nothing. They drive the write
//! path's own merge (`merge::Facts::apply`).
#![allow(clippy::unwrap_used)]
use super::*;
use crate::webhooks::merge::OrderChange;
use entity::status::OrderStatus;
use proptest::prelude::*;

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
        status: DisputeStatus,
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
        2 => (0u8..2, 0u8..2, prop_oneof![Just(DisputeStatus::NeedsResponse), Just(DisputeStatus::UnderReview), Just(DisputeStatus::Won), Just(DisputeStatus::Lost)])
            .prop_map(|(du, pi, status)| Ev::Dispute { du, pi, status }),
        1 => Just(Ev::Expire),
    ]
}

/// Order status and refunded amount; per payment: intent, status, amount, refunded, currency;
/// per dispute: id and status.
type Facts = (
    OrderStatus,
    i64,
    Vec<(String, PaymentStatus, i64, i64, String)>,
    Vec<(String, DisputeStatus)>,
);

/// The books of one tenant with one order, kept by the write path's own in-memory merge
/// (`merge::Facts::apply`, which batched and per-event writes both run on loaded facts).
struct Books {
    facts: crate::webhooks::merge::Facts,
}

fn ctx(created: i64) -> EventCtx {
    EventCtx {
        tenant_id: Uuid::nil(),
        created,
        livemode: false,
        now: chrono::DateTime::UNIX_EPOCH,
    }
}

const ORDER_ID: Uuid = Uuid::from_u128(7);

impl Books {
    fn new() -> Self {
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
            created_at: now,
            updated_at: now,
        };
        let mut facts = crate::webhooks::merge::Facts::default();
        facts.orders.insert((Uuid::nil(), ORDER_ID), order);
        Self { facts }
    }

    fn order(&self) -> &orders::Model {
        &self.facts.orders[&(Uuid::nil(), ORDER_ID)]
    }

    fn apply(&mut self, e: &Ev, created: i64) -> Option<OrderChange> {
        let payment = |pi: &u8, status, amount, currency: &str, refunded| {
            Observation::Payment(PaymentObs {
                payment_intent: format!("pi_{pi}"),
                charge_id: Some(format!("ch_{pi}")),
                status,
                amount: Some(amount),
                currency: Some(currency.into()),
                amount_refunded: refunded,
                customer_id: None,
                email: None,
                name: None,
                failure_reason: None,
                order_refs: vec![ORDER_ID],
                checkout_session_id: None,
            })
        };
        let obs = match e {
            Ev::Pay {
                pi,
                status,
                amount,
                currency,
            } => payment(pi, *status, *amount, currency, None),
            Ev::Refund { pi, refunded } => payment(
                pi,
                PaymentStatus::Succeeded,
                ORDER_AMOUNT,
                "usd",
                Some(*refunded),
            ),
            Ev::Dispute { du, pi, status } => Observation::Dispute(DisputeObs {
                dispute_id: format!("du_{du}_{pi}"),
                charge_id: Some(format!("ch_{pi}")),
                payment_intent: Some(format!("pi_{pi}")),
                amount: ORDER_AMOUNT,
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

    fn payments(&self) -> Vec<&payments::Model> {
        let mut all: Vec<_> = self.facts.payments.values().collect();
        all.sort_by(|a, b| a.stripe_payment_intent_id.cmp(&b.stripe_payment_intent_id));
        all
    }

    /// What must agree between delivery orders (ids are generated, so left out).
    fn facts(&self) -> Facts {
        let payments = self
            .payments()
            .into_iter()
            .map(|p| {
                (
                    p.stripe_payment_intent_id.clone(),
                    p.status,
                    p.amount,
                    p.amount_refunded,
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
        (
            self.order().status,
            self.order().amount_refunded,
            payments,
            disputes,
        )
    }
}

/// `events` in another order, drawn from `seed`.
fn shuffle(events: &[(Ev, i64)], seed: u64) -> Vec<(Ev, i64)> {
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
            let _ = books.apply(e, *t);
        }
        let shuffled = shuffle(&stamped, seed);
        let mut other = Books::new();
        for (e, t) in &shuffled {
            let _ = other.apply(e, *t);
        }
        prop_assert_eq!(books.facts(), other.facts());
    }

    #[test]
    fn never_backwards_never_paid_with_a_wrong_amount(events in prop::collection::vec(ev(), 1..12)) {
        let mut books = Books::new();
        let mut refunded = 0;
        for (e, t) in events.iter().zip(1000i64..) {
            let before = books.order().status;
            let _ = books.apply(e, t);
            let after = books.order().status;
            prop_assert!(allowed(before.as_str(), after.as_str()), "{} -> {} after {:?}", before, after, e);
            prop_assert!(books.order().amount_refunded >= refunded, "refunds never shrink");
            refunded = books.order().amount_refunded;
        }
        let succeeded: Vec<_> = books.payments().into_iter().filter(|p| p.status == PaymentStatus::Succeeded).collect();
        let mismatch = succeeded.iter().any(|p| p.amount != ORDER_AMOUNT || p.currency != "usd");
        if mismatch || succeeded.len() > 1 {
            prop_assert_eq!(books.order().status.as_str(), "NEEDS_REVIEW");
        }
        if matches!(books.order().status.as_str(), "PAID" | "PARTIALLY_REFUNDED" | "REFUNDED") {
            prop_assert_eq!(succeeded.len(), 1);
            prop_assert_eq!(succeeded[0].amount, ORDER_AMOUNT);
        }
    }

    #[test]
    fn changes_chain_to_the_same_final_state(events in prop::collection::vec(ev(), 1..10), seed in any::<u64>()) {
        let stamped: Vec<(Ev, i64)> = events.iter().cloned().zip(1000i64..).collect();
        let shuffled = shuffle(&stamped, seed);
        let mut finals = Vec::new();
        for delivery in [&stamped, &shuffled] {
            let mut books = Books::new();
            // Folding the reported changes from the initial state gives the order's state.
            let mut state = (books.order().status, books.order().amount_refunded);
            for (e, t) in delivery {
                if let Some(c) = books.apply(e, *t) {
                    prop_assert_eq!((&c.from, c.refunded_from), (&state.0, state.1), "a change starts where the last ended");
                    prop_assert!(c.from != c.to || c.refunded_from != c.refunded_to, "a change changes something");
                    prop_assert_eq!(c.order_id, ORDER_ID);
                    prop_assert_eq!(&c.cause, &format!("evt_{t}"));
                    prop_assert_eq!((c.amount, c.currency.as_str()), (ORDER_AMOUNT, "usd"));
                    state = (c.to, c.refunded_to);
                }
                prop_assert_eq!(&state, &(books.order().status, books.order().amount_refunded));
            }
            finals.push(state);
        }
        prop_assert_eq!(&finals[0], &finals[1]);
    }

    #[test]
    fn an_event_applied_again_changes_nothing(events in prop::collection::vec(ev(), 1..10), pick in any::<prop::sample::Index>()) {
        let stamped: Vec<(Ev, i64)> = events.iter().cloned().zip(1000i64..).collect();
        let mut books = Books::new();
        for (e, t) in &stamped {
            let _ = books.apply(e, *t);
        }
        let before = books.facts();
        let (e, t) = pick.get(&stamped);
        prop_assert_eq!(books.apply(e, *t), None);
        prop_assert_eq!(books.facts(), before);
    }
}
