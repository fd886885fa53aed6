//! The write path's storage seam (`store::facts::FactStore`): the same cases against every
//! implementation — sea-orm's statements on SQLite and on PostgreSQL, and PostgreSQL's
//! two-statement batch — must record, find earlier copies, load (through every key) and write
//! the same facts. The tenant and its order are made through the HTTP API.
use crate::helpers::TestApp;
use chrono::{SubsecRound, Utc};
use entity::status::{EventStatus, OrderStatus, PaymentStatus};
use entity::{order_changes, orders, payments};
use gateway::store::events::{EventRow, NewEvent};
use gateway::store::facts::{FactStore, Keys, Recorded, SeaFacts};
use gateway::store::pg_batch::PgFacts;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, DbBackend, EntityTrait, QueryFilter,
    TransactionTrait,
};
use uuid::Uuid;

crate::backend_tests!(
    every_fact_store_records_loads_and_writes_alike,
    an_unknown_stored_status_is_an_error_not_a_default,
);

/// Which implementation a case runs against.
#[derive(Clone, Copy, Debug)]
enum Impl {
    Sea,
    Pg,
}

/// What a store answered, without the ids it generated.
#[derive(Clone, Debug, PartialEq)]
struct Seen {
    inserted: usize,
    earlier: Vec<(String, String)>,
    payments: Vec<(String, Option<String>, String, i64)>,
    orders: Vec<(Uuid, String)>,
    disputes: usize,
}

fn seen(r: &Recorded) -> Seen {
    let mut earlier: Vec<_> = r
        .earlier
        .iter()
        .map(|e| (e.stripe_event_id.clone(), e.status.to_string()))
        .collect();
    earlier.sort();
    let mut payments: Vec<_> = r
        .payments
        .iter()
        .map(|p| {
            let charge = p.stripe_charge_id.clone();
            (
                p.stripe_payment_intent_id.clone(),
                charge,
                p.status.to_string(),
                p.amount,
            )
        })
        .collect();
    payments.sort();
    let mut orders: Vec<_> = r
        .orders
        .iter()
        .map(|o| (o.id, o.status.to_string()))
        .collect();
    orders.sort();
    Seen {
        inserted: r.inserted.len(),
        earlier,
        payments,
        orders,
        disputes: r.disputes.len(),
    }
}

fn row<'a>(tenant: Uuid, event: &'a str, now: chrono::DateTime<Utc>) -> EventRow<'a> {
    EventRow {
        id: Uuid::now_v7(),
        event: NewEvent {
            tenant_id: tenant,
            stripe_event_id: event,
            event_type: "payment_intent.succeeded",
            api_version: None,
            livemode: false,
            stripe_created: now.timestamp(),
            payload: "{}",
            received_at: now,
        },
        status: EventStatus::Completed,
        last_error: None,
    }
}

/// One step in one transaction: record `events`, load `keys`, write `payments`, `orders` and
/// the order `changes` (the outbox); then commit, or roll back when `!commit`.
#[allow(clippy::too_many_arguments)]
async fn step(
    db: &DatabaseConnection,
    which: Impl,
    events: &[EventRow<'_>],
    keys: Keys,
    payments: &[payments::Model],
    orders: &[orders::Model],
    changes: &[order_changes::Model],
    commit: bool,
) -> Recorded {
    let now = Utc::now();
    let rows: Vec<&EventRow> = events.iter().collect();
    match which {
        Impl::Sea => {
            let txn = db.begin().await.unwrap();
            let mut store = SeaFacts(&txn);
            let found = store.record_and_load(&rows, keys, now).await.unwrap();
            store.write(payments, &[], orders, changes).await.unwrap();
            if commit {
                txn.commit().await.unwrap();
            } else {
                txn.rollback().await.unwrap();
            }
            found
        }
        Impl::Pg => {
            let mut conn = db.get_postgres_connection_pool().acquire().await.unwrap();
            sea_orm::sqlx::raw_sql("BEGIN")
                .execute(&mut *conn)
                .await
                .unwrap();
            let mut store = PgFacts(&mut conn);
            let found = store.record_and_load(&rows, keys, now).await.unwrap();
            store.write(payments, &[], orders, changes).await.unwrap();
            sea_orm::sqlx::raw_sql(if commit { "COMMIT" } else { "ROLLBACK" })
                .execute(&mut *conn)
                .await
                .unwrap();
            found
        }
    }
}

/// The cases, against one implementation, on a fresh tenant; returns what the store answered.
async fn cases(app: &TestApp, db: &DatabaseConnection, which: Impl) -> Vec<Seen> {
    let slug = format!("conform-{}", format!("{which:?}").to_lowercase());
    let tenant: Uuid = app.create_tenant(&slug).await["id"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let order = app
        .post(
            &format!("/v1/tenants/{slug}/orders"),
            app.op(),
            serde_json::json!({"reference": "R-1", "amount": 700, "currency": "eur"}),
        )
        .await;
    let order_id: Uuid = order.json["id"].as_str().unwrap().parse().unwrap();
    // Both databases keep microseconds.
    let now = Utc::now().trunc_subsecs(6);
    let mut out = Vec::new();

    // 1. Two new events and the order they name: both recorded, the order loaded.
    let keys = Keys {
        orders: vec![(tenant, order_id)],
        ..Keys::default()
    };
    let first = step(
        db,
        which,
        &[row(tenant, "evt_1", now), row(tenant, "evt_2", now)],
        keys,
        &[],
        &[],
        &[],
        true,
    )
    .await;
    let mut order_row = first.orders[0].clone();
    out.push(seen(&first));

    // 2. A payment for it and the order paid, written.
    let payment = payments::Model {
        id: Uuid::now_v7(),
        tenant_id: tenant,
        order_id: Some(order_id),
        stripe_payment_intent_id: "pi_c".into(),
        stripe_charge_id: Some("ch_c".into()),
        amount: 700,
        amount_refunded: 0,
        amount_conflict: false,
        currency: "eur".into(),
        status: PaymentStatus::Succeeded,
        customer_id: None,
        customer_email: None,
        customer_name: None,
        livemode: false,
        failure_reason: None,
        last_event_created: now.timestamp(),
        // Every field round-trips on both stores: none left at its default.
        tip_amount: 70,
        tip_declared: 70,
        amount_authorized: 630,
        amount_capturable: 0,
        capture_method: Some("manual".into()),
        capture_before: Some(now + chrono::TimeDelta::days(7)),
        capture_before_exact: true,
        overcapture_max: Some(800),
        increment_supported: true,
        expiry_warned_at: Some(now),
        created_at: now,
        updated_at: now,
    };
    order_row.status = OrderStatus::Paid;
    order_row.amount_paid = 700;
    order_row.tip_amount = 70;
    order_row.amount_due = 0;
    order_row.review_reason = Some(entity::status::ReviewReason::Overpaid);
    order_row.capture_before = Some(now);
    let change = |cause: &str| order_changes::Model {
        id: Uuid::now_v7(),
        tenant_id: tenant,
        order_id,
        reference: "R-1".into(),
        from_status: OrderStatus::PaymentPending,
        to_status: OrderStatus::Paid,
        amount: 700,
        currency: "eur".into(),
        refunded_from: 0,
        refunded_to: 0,
        amount_paid: 700,
        tip_amount: 70,
        amount_due: 0,
        amount_authorized: 5,
        cause: cause.into(),
        created_at: now,
        dispatched_at: None,
        kind: Some("authorization_expiring".into()),
        payment_id: Some(payment.id),
        capture_before: Some(now),
    };
    let paid = change("evt_paid");
    out.push(seen(
        &step(
            db,
            which,
            &[],
            Keys::default(),
            std::slice::from_ref(&payment),
            std::slice::from_ref(&order_row),
            std::slice::from_ref(&paid),
            true,
        )
        .await,
    ));
    // The outbox holds the change, whole; a change written in a transaction rolled back is not
    // there (committed ⇔ announced). The app's dispatcher may already have sent it, so when is
    // not compared.
    let outbox = || async {
        let mut rows = order_changes::Entity::find()
            .filter(order_changes::Column::TenantId.eq(tenant))
            .all(db)
            .await
            .unwrap();
        for row in &mut rows {
            row.dispatched_at = None;
        }
        rows
    };
    assert_eq!(outbox().await, vec![paid.clone()], "{which:?}");
    step(
        db,
        which,
        &[],
        Keys::default(),
        std::slice::from_ref(&payment),
        &[order_row],
        &[change("evt_rolled_back")],
        false,
    )
    .await;
    assert_eq!(outbox().await, vec![paid], "{which:?}");

    // 3. A redelivery and a new event, keyed by the payment intent: one recorded, the earlier
    //    copy found; the payment and, through it, its order loaded.
    let keys = Keys {
        payment_intents: vec![(tenant, "pi_c".into())],
        ..Keys::default()
    };
    out.push(seen(
        &step(
            db,
            which,
            &[row(tenant, "evt_1", now), row(tenant, "evt_3", now)],
            keys,
            &[],
            &[],
            &[],
            true,
        )
        .await,
    ));

    // 4. Keyed by the charge only, then by the order only: the same facts.
    let keys = Keys {
        charges: vec![(tenant, "ch_c".into())],
        ..Keys::default()
    };
    out.push(seen(&step(db, which, &[], keys, &[], &[], &[], true).await));
    let keys = Keys {
        orders: vec![(tenant, order_id)],
        ..Keys::default()
    };
    let by_order = step(db, which, &[], keys, &[], &[], &[], true).await;
    assert_eq!(
        by_order.payments,
        vec![payment],
        "{which:?}: written whole, read back whole"
    );
    out.push(seen(&by_order));

    // 5. Keys naming nothing of this tenant (another tenant's id): nothing.
    let keys = Keys {
        payment_intents: vec![(Uuid::now_v7(), "pi_c".into())],
        ..Keys::default()
    };
    out.push(seen(&step(db, which, &[], keys, &[], &[], &[], true).await));
    // Order ids differ per tenant: compare them as "the tenant's order".
    for s in &mut out {
        for o in &mut s.orders {
            assert_eq!(o.0, order_id);
            o.0 = Uuid::nil();
        }
    }
    out
}

async fn every_fact_store_records_loads_and_writes_alike(app: TestApp) {
    let db = app.sql().await;
    let sea = cases(&app, &db, Impl::Sea).await;
    let nothing = Seen {
        inserted: 0,
        earlier: vec![],
        payments: vec![],
        orders: vec![],
        disputes: 0,
    };
    let paid = || Seen {
        payments: vec![("pi_c".into(), Some("ch_c".into()), "succeeded".into(), 700)],
        orders: vec![(Uuid::nil(), "PAID".into())],
        ..nothing.clone()
    };
    let expected = vec![
        Seen {
            inserted: 2,
            orders: vec![(Uuid::nil(), "PAYMENT_PENDING".into())],
            ..nothing.clone()
        },
        nothing.clone(),
        Seen {
            inserted: 1,
            earlier: vec![("evt_1".into(), "completed".into())],
            ..paid()
        },
        paid(),
        paid(),
        nothing.clone(),
    ];
    assert_eq!(sea, expected);
    if db.get_database_backend() == DbBackend::Postgres {
        assert_eq!(cases(&app, &db, Impl::Pg).await, expected);
    }
}

/// Statuses are enums from the entity layer up: a stored value outside the enum (written by
/// hand, or by a newer version) is an error that says so, never read as some default status.
async fn an_unknown_stored_status_is_an_error_not_a_default(app: TestApp) {
    app.create_tenant("odd-status").await;
    let order = app
        .post(
            "/v1/tenants/odd-status/orders",
            app.op(),
            serde_json::json!({"reference": "R-odd", "amount": 100, "currency": "usd"}),
        )
        .await;
    let id = order.json["id"].as_str().unwrap().to_owned();
    let path = format!("/v1/tenants/odd-status/orders/{id}");
    assert_eq!(
        app.get(&path, app.op()).await.json["status"],
        "PAYMENT_PENDING"
    );
    // (By reference: SQLite keeps ids as blobs.) Each test has a database of its own.
    let changed = app
        .sql()
        .await
        .execute_unprepared("UPDATE orders SET status = 'HALF_PAID' WHERE reference = 'R-odd'")
        .await
        .unwrap();
    assert_eq!(changed.rows_affected(), 1);
    app.get(&path, app.op())
        .await
        .assert_problem(500, "internal");
}
