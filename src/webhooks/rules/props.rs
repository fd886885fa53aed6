//! Property tests of the apply rules: for any history of events about one order — split checks
//! (one, two or three payments), tips declared each way or taken by an overcapture,
//! authorizations captured, voided or left open, refunds across payments, disputes, an expired
//! checkout — in any delivery order and with duplicates, the order converges to one state; its
//! status always agrees with its money (a settled order is paid exactly, tips aside); refunds
//! never shrink; the order changes the merge reports chain from the first state to the last; an
//! event applied again changes nothing. They drive the write path's own merge
//! (`facts::Facts::apply`).
#![allow(clippy::unwrap_used)]
use super::books::{Books, shuffle, stamp, tracked};
use super::history::{End, Ev, Flow, ORDER_AMOUNT, ORDER_ID, Truth, events_of, history};
use entity::status::OrderStatus;
use proptest::prelude::*;

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
