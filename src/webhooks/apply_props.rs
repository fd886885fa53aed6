//! Property tests of the apply rules: for any history of events about one order — split checks
//! (one, two or three payments), tips declared each way or taken by an overcapture,
//! authorizations captured, voided or left open, refunds across payments, disputes, an expired
//! checkout — in any delivery order and with duplicates, the order converges to one state; its
//! status always agrees with its money (a settled order is paid exactly, tips aside); refunds
//! never shrink; the order changes the merge reports chain from the first state to the last; an
//! event applied again changes nothing. They drive the write path's own merge
//! (`merge::Facts::apply`).
#![allow(clippy::unwrap_used)]
use super::*;
use crate::webhooks::derive;
use crate::webhooks::merge::OrderChange;
use crate::webhooks::observe::Hold;
use entity::orders;
use entity::status::{OrderStatus, ReviewReason};
use proptest::prelude::*;

const ORDER_AMOUNT: i64 = 6000;
/// The order's tip limit: 50 % of its amount.
const MAX_TIP_BPS: i32 = 5000;

/// How one PaymentIntent went, in truth; its events each show part of it.
#[derive(Clone, Debug)]
enum Flow {
    /// Captured at once: `share` plus `tip`.
    Auto {
        share: i64,
    },
    Failed,
    /// Authorized for `share`; then captured for `share` + tip (the tip declared in metadata,
    /// or not: an overcapture), voided, or left open.
    Manual {
        share: i64,
        end: End,
    },
}

#[derive(Clone, Copy, Debug)]
enum End {
    Captured { declared: bool },
    Voided,
    Open,
}

#[derive(Clone, Debug)]
struct Truth {
    flow: Flow,
    tip: i64,
    currency: &'static str,
    /// The tip is on the PaymentIntent only (`amount_details`), not in the charge's metadata.
    tip_on_intent_only: bool,
}

/// One event's observation of a payment (`pi`), or of the order.
#[derive(Clone, Debug)]
enum Ev {
    Payment(Box<PaymentObs>),
    Dispute {
        du: u8,
        pi: u8,
        status: DisputeStatus,
    },
    Expire,
}

fn truth() -> impl Strategy<Value = Truth> {
    let share = prop_oneof![
        Just(ORDER_AMOUNT),
        Just(ORDER_AMOUNT / 2),
        Just(ORDER_AMOUNT / 3),
        Just(ORDER_AMOUNT - 1),
    ];
    let end = prop_oneof![
        (any::<bool>()).prop_map(|declared| End::Captured { declared }),
        Just(End::Voided),
        Just(End::Open),
    ];
    let flow = prop_oneof![
        3 => share.clone().prop_map(|share| Flow::Auto { share }),
        1 => Just(Flow::Failed),
        3 => (share, end).prop_map(|(share, end)| Flow::Manual { share, end }),
    ];
    let tip =
        prop_oneof![3 => Just(0i64), 2 => Just(600i64), 1 => Just(900i64), 1 => Just(3500i64)];
    let currency = prop_oneof![8 => Just("usd"), 1 => Just("eur")];
    (flow, tip, currency, any::<bool>()).prop_map(|(flow, tip, currency, tip_on_intent_only)| {
        Truth {
            flow,
            tip,
            currency,
            tip_on_intent_only,
        }
    })
}

fn obs(pi: u8, status: PaymentStatus, amount: i64, currency: &str) -> PaymentObs {
    PaymentObs {
        payment_intent: format!("pi_{pi}"),
        charge_id: Some(format!("ch_{pi}")),
        status,
        amount: Some(amount),
        currency: Some(currency.into()),
        amount_refunded: None,
        customer_id: None,
        email: None,
        name: None,
        failure_reason: None,
        order_refs: vec![ORDER_ID],
        checkout_session_id: None,
        tip: None,
        hold: Hold::default(),
    }
}

/// The events Stripe sends about one payment's truth (and refunds of what it captured).
fn events_of(pi: u8, t: &Truth, refunds: &[i64]) -> Vec<Ev> {
    use PaymentStatus as S;
    let c = t.currency;
    let mut out = Vec::new();
    let tip = |o: PaymentObs, on_charge: bool| PaymentObs {
        tip: (t.tip > 0 && (!on_charge || !t.tip_on_intent_only)).then_some(t.tip),
        ..o
    };
    let captured = match &t.flow {
        Flow::Failed => {
            out.push(obs(pi, S::Failed, 1000, c));
            None
        }
        Flow::Auto { share } => {
            let amount = share + t.tip;
            out.push(tip(obs(pi, S::Succeeded, amount, c), false));
            out.push(tip(obs(pi, S::Succeeded, amount, c), true));
            Some(amount)
        }
        Flow::Manual { share, end } => {
            let hold = Hold {
                authorized: Some(*share),
                capturable: Some(*share),
                capture_method: Some("manual".into()),
                capture_before: Some((true, 2_000_000 + i64::from(pi))),
                ..Hold::default()
            };
            let held = PaymentObs {
                hold: hold.clone(),
                ..obs(pi, S::Authorized, *share, c)
            };
            out.push(held.clone());
            out.push(held);
            match end {
                End::Open => None,
                End::Voided => {
                    out.push(obs(pi, S::Canceled, *share, c));
                    None
                }
                End::Captured { declared } => {
                    let amount = share + t.tip;
                    let mut intent = obs(pi, S::Succeeded, amount, c);
                    intent.tip = (*declared && t.tip > 0).then_some(t.tip);
                    let charge = PaymentObs {
                        hold: Hold {
                            authorized: Some(*share),
                            ..Hold::default()
                        },
                        ..obs(pi, S::Succeeded, amount, c)
                    };
                    out.push(intent);
                    out.push(charge);
                    Some(amount)
                }
            }
        }
    };
    if let Some(amount) = captured {
        for r in refunds {
            out.push(PaymentObs {
                amount_refunded: Some((*r).min(amount)),
                ..obs(pi, S::Succeeded, amount, c)
            });
        }
    }
    out.into_iter().map(|o| Ev::Payment(Box::new(o))).collect()
}

/// A history: one to three payments' events, disputes, maybe an expired checkout, and some
/// events delivered twice.
fn history() -> impl Strategy<Value = Vec<Ev>> {
    let refunds = prop::collection::vec(prop_oneof![Just(1000i64), Just(3000), Just(9000)], 0..2);
    let disputes = prop::collection::vec(
        (
            0u8..2,
            0u8..3,
            prop_oneof![
                Just(DisputeStatus::NeedsResponse),
                Just(DisputeStatus::Won),
                Just(DisputeStatus::Lost)
            ],
        ),
        0..2,
    );
    (
        prop::collection::vec((truth(), refunds), 1..4),
        disputes,
        any::<bool>(),
        prop::collection::vec(any::<prop::sample::Index>(), 0..3),
    )
        .prop_map(|(truths, disputes, expire, again)| {
            let mut all: Vec<Ev> = truths
                .iter()
                .enumerate()
                .flat_map(|(pi, (t, refunds))| events_of(pi as u8, t, refunds))
                .collect();
            all.extend(
                disputes
                    .into_iter()
                    .map(|(du, pi, status)| Ev::Dispute { du, pi, status }),
            );
            if expire {
                all.push(Ev::Expire);
            }
            let copies: Vec<Ev> = again.iter().map(|i| i.get(&all).clone()).collect();
            all.extend(copies);
            all
        })
}

/// The order's derived fields and, per payment, what must agree between delivery orders.
type State = (
    Derived,
    Vec<(String, PaymentStatus, i64, i64, i64, String)>,
    Vec<(String, DisputeStatus)>,
);

/// The books of one tenant with one order, kept by the write path's own in-memory merge.
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

fn derived(o: &orders::Model) -> Derived {
    Derived {
        status: o.status,
        review_reason: o.review_reason,
        amount_refunded: o.amount_refunded,
        amount_paid: o.amount_paid,
        tip_amount: o.tip_amount,
        amount_due: o.amount_due,
        amount_authorized: o.amount_authorized,
        capture_before: o.capture_before,
    }
}

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
            amount_paid: 0,
            tip_amount: 0,
            amount_due: ORDER_AMOUNT,
            amount_authorized: 0,
            review_reason: None,
            max_tip_bps: MAX_TIP_BPS,
            capture_before: None,
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
        let obs = match e {
            Ev::Payment(obs) => Observation::Payment((**obs).clone()),
            Ev::Dispute { du, pi, status } => Observation::Dispute(DisputeObs {
                dispute_id: format!("du_{du}_{pi}"),
                charge_id: Some(format!("ch_{pi}")),
                payment_intent: Some(format!("pi_{pi}")),
                amount: 1000,
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
    fn state(&self) -> State {
        let payments = self
            .payments()
            .into_iter()
            .map(|p| {
                (
                    p.stripe_payment_intent_id.clone(),
                    p.status,
                    p.amount,
                    p.amount_refunded,
                    p.tip_amount,
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
        (derived(self.order()), payments, disputes)
    }

    /// The order's status agrees with its money, whatever has arrived so far.
    fn check_money(&self) -> Result<(), TestCaseError> {
        let o = self.order();
        let usd = |s: PaymentStatus| {
            self.payments()
                .into_iter()
                .filter(move |p| p.status == s && p.currency == "usd")
        };
        let paid: i64 = usd(PaymentStatus::Succeeded).map(|p| p.amount).sum();
        let tip: i64 = usd(PaymentStatus::Succeeded).map(|p| p.tip_amount).sum();
        let held: i64 = usd(PaymentStatus::Authorized).map(derive::held).sum();
        let share = paid - tip;
        prop_assert_eq!(
            (o.amount_paid, o.tip_amount, o.amount_authorized),
            (paid, tip, held)
        );
        prop_assert_eq!(o.amount_due, (ORDER_AMOUNT - share).max(0));
        prop_assert_eq!(
            o.status == OrderStatus::NeedsReview,
            o.review_reason.is_some()
        );
        let other_currency = self.payments().iter().any(|p| {
            matches!(
                p.status,
                PaymentStatus::Succeeded | PaymentStatus::Authorized
            ) && p.currency != "usd"
        });
        if other_currency {
            prop_assert_eq!(o.review_reason, Some(ReviewReason::CurrencyMismatch));
        }
        match o.status {
            OrderStatus::Paid | OrderStatus::PartiallyRefunded | OrderStatus::Refunded => {
                prop_assert_eq!(
                    share,
                    ORDER_AMOUNT,
                    "settled means paid exactly, tips aside"
                );
                prop_assert!(tip <= ORDER_AMOUNT * i64::from(MAX_TIP_BPS) / 10_000);
            }
            OrderStatus::Authorized => {
                prop_assert!(share < ORDER_AMOUNT && held > 0 && held >= ORDER_AMOUNT - share);
            }
            OrderStatus::PartiallyPaid => {
                prop_assert!(share < ORDER_AMOUNT && (share > 0 || held > 0));
                prop_assert!(held < ORDER_AMOUNT - share);
            }
            OrderStatus::PaymentPending | OrderStatus::PaymentFailed | OrderStatus::Expired => {
                prop_assert_eq!((share, held), (0, 0));
            }
            OrderStatus::NeedsReview => match o.review_reason {
                Some(ReviewReason::Overpaid) => prop_assert!(share > ORDER_AMOUNT),
                Some(ReviewReason::TipOverLimit) => {
                    prop_assert!(tip > ORDER_AMOUNT * i64::from(MAX_TIP_BPS) / 10_000 || tip > paid)
                }
                _ => {}
            },
            OrderStatus::Disputed | OrderStatus::DisputeLost => prop_assert!(paid > 0),
        }
        Ok(())
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

/// Each event gets its own Stripe `created`; a copy delivered again keeps its original's.
fn stamp(events: Vec<Ev>) -> Vec<(Ev, i64)> {
    events.into_iter().zip(1000i64..).collect()
}

type Tracked = (OrderStatus, i64, i64, i64, i64);

fn tracked(o: &orders::Model) -> Tracked {
    (
        o.status,
        o.amount_refunded,
        o.amount_paid,
        o.tip_amount,
        o.amount_authorized,
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn every_delivery_order_converges(events in history(), seed in any::<u64>()) {
        let stamped = stamp(events);
        let mut books = Books::new();
        for (e, t) in &stamped {
            let _ = books.apply(e, *t);
        }
        let mut other = Books::new();
        for (e, t) in &shuffle(&stamped, seed) {
            let _ = other.apply(e, *t);
        }
        prop_assert_eq!(books.state(), other.state());
    }

    #[test]
    fn status_always_agrees_with_the_money(events in history(), seed in any::<u64>()) {
        let mut books = Books::new();
        let mut refunded = 0;
        for (e, t) in &shuffle(&stamp(events), seed) {
            let _ = books.apply(e, *t);
            books.check_money()?;
            prop_assert!(books.order().amount_refunded >= refunded, "refunds never shrink");
            refunded = books.order().amount_refunded;
        }
    }

    #[test]
    fn changes_chain_to_the_same_final_state(events in history(), seed in any::<u64>()) {
        let stamped = stamp(events);
        let shuffled = shuffle(&stamped, seed);
        let mut finals = Vec::new();
        for delivery in [&stamped, &shuffled] {
            let mut books = Books::new();
            // Folding the reported changes from the initial state gives the order's state.
            let mut state = tracked(books.order());
            for (e, t) in delivery {
                if let Some(c) = books.apply(e, *t) {
                    prop_assert_eq!((c.from, c.refunded_from), (state.0, state.1), "a change starts where the last ended");
                    let to = (c.to, c.refunded_to, c.amount_paid, c.tip_amount, c.amount_authorized);
                    prop_assert!(to != state, "a change changes something");
                    prop_assert_eq!(c.order_id, ORDER_ID);
                    prop_assert_eq!(&c.cause, &format!("evt_{t}"));
                    prop_assert_eq!((c.amount, c.currency.as_str()), (ORDER_AMOUNT, "usd"));
                    prop_assert_eq!(c.amount_due, books.order().amount_due);
                    state = to;
                }
                prop_assert_eq!(state, tracked(books.order()));
            }
            finals.push(state);
        }
        prop_assert_eq!(&finals[0], &finals[1]);
    }

    #[test]
    fn an_event_applied_again_changes_nothing(events in history(), pick in any::<prop::sample::Index>()) {
        let stamped = stamp(events);
        let mut books = Books::new();
        for (e, t) in &stamped {
            let _ = books.apply(e, *t);
        }
        let before = books.state();
        let (e, t) = pick.get(&stamped);
        prop_assert_eq!(books.apply(e, *t), None);
        prop_assert_eq!(books.state(), before);
    }
}

/// The restaurant cases, one by one: each history in every order settles the same way.
#[test]
fn restaurant_cases_settle_as_restaurants_expect() {
    use OrderStatus as O;
    let truth = |flow, tip| Truth {
        flow,
        tip,
        currency: "usd",
        tip_on_intent_only: true,
    };
    let half = ORDER_AMOUNT / 2;
    let third = ORDER_AMOUNT / 3;
    let cases: Vec<(Vec<Truth>, O, i64, i64)> = vec![
        // A tip declared on the PaymentIntent.
        (
            vec![truth(
                Flow::Auto {
                    share: ORDER_AMOUNT,
                },
                900,
            )],
            O::Paid,
            900,
            0,
        ),
        // Split in two and in three, each with a tip.
        (
            vec![
                truth(Flow::Auto { share: half }, 600),
                truth(Flow::Auto { share: half }, 0),
            ],
            O::Paid,
            600,
            0,
        ),
        (
            vec![truth(Flow::Auto { share: third }, 0); 3],
            O::Paid,
            0,
            0,
        ),
        // The first diner paid.
        (
            vec![truth(Flow::Auto { share: half }, 0)],
            O::PartiallyPaid,
            0,
            0,
        ),
        // A bar tab held, then captured with the tip on the receipt (overcapture).
        (
            vec![truth(
                Flow::Manual {
                    share: ORDER_AMOUNT,
                    end: End::Open,
                },
                0,
            )],
            O::Authorized,
            0,
            ORDER_AMOUNT,
        ),
        (
            vec![truth(
                Flow::Manual {
                    share: ORDER_AMOUNT,
                    end: End::Captured { declared: false },
                },
                900,
            )],
            O::Paid,
            900,
            0,
        ),
        (
            vec![truth(
                Flow::Manual {
                    share: ORDER_AMOUNT,
                    end: End::Captured { declared: true },
                },
                900,
            )],
            O::Paid,
            900,
            0,
        ),
        // Voided: nothing held, nothing paid.
        (
            vec![truth(
                Flow::Manual {
                    share: ORDER_AMOUNT,
                    end: End::Voided,
                },
                0,
            )],
            O::Expired,
            0,
            0,
        ),
        // One paid, the other's share held.
        (
            vec![
                truth(Flow::Auto { share: half }, 0),
                truth(
                    Flow::Manual {
                        share: half,
                        end: End::Open,
                    },
                    0,
                ),
            ],
            O::Authorized,
            0,
            half,
        ),
        // Paid twice: a double charge.
        (
            vec![
                truth(
                    Flow::Auto {
                        share: ORDER_AMOUNT
                    },
                    0
                );
                2
            ],
            O::NeedsReview,
            0,
            0,
        ),
        // A tip over the limit.
        (
            vec![truth(
                Flow::Auto {
                    share: ORDER_AMOUNT,
                },
                3500,
            )],
            O::NeedsReview,
            3500,
            0,
        ),
    ];
    for (truths, status, tip, held) in cases {
        let events: Vec<Ev> = truths
            .iter()
            .enumerate()
            .flat_map(|(pi, t)| events_of(pi as u8, t, &[]))
            .collect();
        let stamped = stamp(events);
        for seed in 0..20 {
            let mut books = Books::new();
            for (e, t) in &shuffle(&stamped, seed) {
                let _ = books.apply(e, *t);
            }
            let o = books.order();
            assert_eq!(
                (o.status, o.tip_amount, o.amount_authorized),
                (status, tip, held),
                "{truths:?}"
            );
        }
    }
}
