//! Test support for the apply rules' property tests: how one PaymentIntent went in truth
//! (captured at once, failed, or authorized then captured, voided or left open; a tip declared
//! or not), the events Stripe sends about it, and whole histories of one order — one to three
//! payments, refunds, disputes, an expired checkout, duplicates.
use super::*;
use crate::webhooks::rules::observe::Hold;
use proptest::prelude::*;
use uuid::Uuid;

pub(super) const ORDER_AMOUNT: i64 = 6000;
/// The order's tip limit: 50 % of its amount.
pub(super) const MAX_TIP_BPS: i32 = 5000;
pub(super) const ORDER_ID: Uuid = Uuid::from_u128(7);

/// How one PaymentIntent went, in truth; its events each show part of it.
#[derive(Clone, Debug)]
pub(super) enum Flow {
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
pub(super) enum End {
    Captured { declared: bool },
    Voided,
    Open,
}

#[derive(Clone, Debug)]
pub(super) struct Truth {
    pub flow: Flow,
    pub tip: i64,
    pub currency: &'static str,
    /// The tip is on the PaymentIntent only (`amount_details`), not in the charge's metadata.
    pub tip_on_intent_only: bool,
}

/// One event's observation of a payment (`pi`), or of the order.
#[derive(Clone, Debug)]
pub(super) enum Ev {
    Payment(Box<PaymentObs>),
    Dispute {
        du: u8,
        pi: u8,
        status: DisputeStatus,
    },
    Expire,
}

pub(super) fn truth() -> impl Strategy<Value = Truth> {
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

pub(super) fn obs(pi: u8, status: PaymentStatus, amount: i64, currency: &str) -> PaymentObs {
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
pub(super) fn events_of(pi: u8, t: &Truth, refunds: &[i64]) -> Vec<Ev> {
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
pub(super) fn history() -> impl Strategy<Value = Vec<Ev>> {
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
