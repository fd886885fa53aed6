use super::*;
use chrono::Utc;
use entity::status::OrderStatus;

fn order(amount: i64, due: i64, tips: i64) -> orders::Model {
    orders::Model {
        id: Uuid::now_v7(),
        tenant_id: Uuid::nil(),
        reference: "T-1".into(),
        amount,
        currency: "usd".into(),
        status: OrderStatus::Authorized,
        amount_refunded: 0,
        customer_email: None,
        metadata: None,
        checkout_session_id: None,
        expired_at: None,
        amount_paid: amount - due + tips,
        tip_amount: tips,
        amount_due: due,
        amount_authorized: 0,
        review_reason: None,
        max_tip_bps: 2_500,
        capture_before: None,
        created_at: Utc::now(),
        updated_at: Utc::now(),
    }
}

fn hold(capturable: i64) -> payments::Model {
    payments::Model {
        amount_authorized: capturable,
        amount_capturable: capturable,
        capture_method: Some("manual".into()),
        ..crate::domain::fixtures::payment(PaymentStatus::Authorized, capturable, "usd")
    }
}

fn capture(tip: i64, payment: Option<Uuid>) -> Action {
    Action::Capture { tip, payment }
}

#[test]
fn a_capture_takes_the_share_due_plus_the_tip() {
    let tab = hold(5000);
    let plan = plan(
        &order(4200, 4200, 0),
        std::slice::from_ref(&tab),
        capture(800, None),
    )
    .unwrap();
    assert_eq!((plan.amount, plan.tip), (5000, 800));
    assert_eq!(plan.payment_intent, "pi_5000");
    // One diner of two: the share is what this hold covers.
    let mut half = hold(3000);
    half.overcapture_max = Some(3600);
    let plan = super::plan(&order(6000, 6000, 0), &[half], capture(450, None)).unwrap();
    assert_eq!(plan.amount, 3450);
    // The rest of a check someone else part paid: only what is due.
    let plan = super::plan(&order(6000, 2000, 0), &[tab], capture(0, None)).unwrap();
    assert_eq!(plan.amount, 2000);
}

#[test]
fn more_than_the_hold_only_up_to_an_offered_overcapture() {
    let o = order(4000, 4000, 0);
    let plain = hold(4000);
    assert_eq!(
        plan(&o, &[plain], capture(600, None)),
        Err(Refusal::TipExceedsAuthorization {
            most: 4000,
            share: 4000
        })
    );
    let mut offered = hold(4000);
    offered.overcapture_max = Some(4800);
    assert_eq!(
        plan(&o, std::slice::from_ref(&offered), capture(800, None))
            .unwrap()
            .amount,
        4800
    );
    assert_eq!(
        plan(&o, &[offered], capture(801, None)),
        Err(Refusal::TipExceedsAuthorization {
            most: 4800,
            share: 4000
        })
    );
}

#[test]
fn tips_the_books_would_not_take_are_refused() {
    let mut offered = hold(4000);
    offered.overcapture_max = Some(10_000);
    // 25 % of 4,000 = 1,000, of which 300 were tipped by another diner already.
    let o = order(4000, 4000, 300);
    assert_eq!(
        plan(&o, std::slice::from_ref(&offered), capture(701, None)),
        Err(Refusal::TipOverLimit { most: 700 })
    );
    assert!(plan(&o, &[offered], capture(700, None)).is_ok());
}

#[test]
fn which_authorization_is_clear_or_refused() {
    let o = order(6000, 6000, 0);
    let (a, b) = (hold(3000), hold(3000));
    match plan(&o, &[a.clone(), b.clone()], capture(0, None)) {
        Err(Refusal::Ambiguous(ids)) => assert_eq!(ids, vec![a.id, b.id]),
        other => panic!("{other:?}"),
    }
    assert_eq!(
        plan(&o, &[a.clone(), b.clone()], capture(0, Some(b.id)))
            .unwrap()
            .payment_id,
        b.id
    );
    assert_eq!(
        plan(
            &o,
            std::slice::from_ref(&a),
            capture(0, Some(Uuid::now_v7()))
        ),
        Err(Refusal::NoSuchPayment)
    );
    let mut captured = a.clone();
    captured.status = PaymentStatus::Succeeded;
    assert_eq!(
        plan(&o, std::slice::from_ref(&captured), capture(0, None)),
        Err(Refusal::NothingAuthorized)
    );
    assert_eq!(
        plan(
            &o,
            &[captured.clone()],
            Action::Cancel {
                payment: captured.id
            }
        ),
        Err(Refusal::NothingAuthorized)
    );
    assert_eq!(
        plan(
            &order(6000, 0, 0),
            std::slice::from_ref(&a),
            capture(0, None)
        ),
        Err(Refusal::NothingDue)
    );
    let mut euros = a;
    euros.currency = "eur".into();
    assert_eq!(
        plan(&o, &[euros], capture(0, None)),
        Err(Refusal::CurrencyMismatch)
    );
}

#[test]
fn increments_only_where_offered_and_upwards_and_voids_release_the_hold() {
    let o = order(6000, 6000, 0);
    let mut tab = hold(3000);
    let up = |p: &payments::Model, amount| Action::Increment {
        payment: p.id,
        amount,
    };
    assert_eq!(
        plan(&o, std::slice::from_ref(&tab), up(&tab, 5000)),
        Err(Refusal::IncrementNotSupported)
    );
    tab.increment_supported = true;
    assert_eq!(
        plan(&o, std::slice::from_ref(&tab), up(&tab, 3000)),
        Err(Refusal::NotAnIncrease { current: 3000 })
    );
    assert_eq!(
        plan(&o, std::slice::from_ref(&tab), up(&tab, 5000))
            .unwrap()
            .amount,
        5000
    );
    let void = plan(
        &o,
        std::slice::from_ref(&tab),
        Action::Cancel { payment: tab.id },
    )
    .unwrap();
    assert_eq!(void.amount, 3000);
}

#[test]
fn keys_dedupe_retries_and_tell_different_calls_apart() {
    let tab = hold(5000);
    let o = order(4200, 4200, 0);
    let key = |tip, caller: Option<&str>| {
        let action = capture(tip, None);
        stripe_key(
            &action,
            &plan(&o, std::slice::from_ref(&tab), action).unwrap(),
            caller,
        )
    };
    assert_eq!(key(800, None), key(800, None));
    assert_ne!(key(800, None), key(700, None));
    assert_eq!(key(800, Some("pos-1")), key(700, Some("pos-1")));
    assert_ne!(key(800, Some("pos-1")), key(800, Some("pos-2")));
    assert!(key(800, Some(&"k".repeat(255))).len() <= 255);
    assert!(!key(800, Some("secret-ish")).contains("secret-ish"));
}
