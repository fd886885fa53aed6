//! Migration: restaurant payments — tips, split checks and authorizations.
//! - `payments`: the effective tip (`tip_amount`) and the one declared by Stripe or metadata
//!   (`tip_declared`), the most an authorization held (`amount_authorized`), what it still holds
//!   (`amount_capturable`), `capture_method`, `capture_before` (exact from the card, or the
//!   created + 7 days default: `capture_before_exact` tells which), what Stripe offers on it
//!   (`overcapture_max`, `increment_supported`) and when its lapse was announced
//!   (`expiry_warned_at`).
//! - `orders`: the derived money (`amount_paid`, `tip_amount`, `amount_due`,
//!   `amount_authorized`), `review_reason`, the tip limit taken from the tenant when the order
//!   was made (`max_tip_bps`), and the soonest deadline of its authorizations (`capture_before`,
//!   indexed with the status for "authorizations about to lapse, soonest first").
//! - `order_changes`: the money after the change, for the notification.
//! - `tenants`: `max_tip_bps` (default 10,000 = 100 % of the order's amount).
//!
//! Existing rows keep their meaning: orders get `amount_paid` and `amount_due` from their
//! succeeded payments (no tips were known), everything else starts at nothing.
use crate::common::add;
use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;
use sea_orm_migration::sea_orm::ConnectionTrait;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        add(
            manager,
            Payments::Table,
            vec![
                big_integer(Payments::TipAmount).default(0).to_owned(),
                big_integer(Payments::TipDeclared).default(0).to_owned(),
                big_integer(Payments::AmountAuthorized)
                    .default(0)
                    .to_owned(),
                big_integer(Payments::AmountCapturable)
                    .default(0)
                    .to_owned(),
                string_null(Payments::CaptureMethod),
                timestamp_with_time_zone_null(Payments::CaptureBefore),
                boolean(Payments::CaptureBeforeExact)
                    .default(false)
                    .to_owned(),
                big_integer_null(Payments::OvercaptureMax),
                boolean(Payments::IncrementSupported)
                    .default(false)
                    .to_owned(),
                timestamp_with_time_zone_null(Payments::ExpiryWarnedAt),
            ],
        )
        .await?;
        add(
            manager,
            Orders::Table,
            vec![
                big_integer(Orders::AmountPaid).default(0).to_owned(),
                big_integer(Orders::TipAmount).default(0).to_owned(),
                big_integer(Orders::AmountDue).default(0).to_owned(),
                big_integer(Orders::AmountAuthorized).default(0).to_owned(),
                string_null(Orders::ReviewReason),
                integer(Orders::MaxTipBps).default(10_000).to_owned(),
                timestamp_with_time_zone_null(Orders::CaptureBefore),
            ],
        )
        .await?;
        add(
            manager,
            OrderChanges::Table,
            vec![
                big_integer(OrderChanges::AmountPaid).default(0).to_owned(),
                big_integer(OrderChanges::TipAmount).default(0).to_owned(),
                big_integer(OrderChanges::AmountDue).default(0).to_owned(),
                big_integer(OrderChanges::AmountAuthorized)
                    .default(0)
                    .to_owned(),
            ],
        )
        .await?;
        add(
            manager,
            Tenants::Table,
            vec![integer(Tenants::MaxTipBps).default(10_000).to_owned()],
        )
        .await?;
        let db = manager.get_connection();
        db.execute_unprepared(
            "UPDATE orders SET amount_paid = COALESCE((SELECT SUM(p.amount) FROM payments p \
             WHERE p.tenant_id = orders.tenant_id AND p.order_id = orders.id \
             AND p.status = 'succeeded'), 0)",
        )
        .await?;
        db.execute_unprepared(
            "UPDATE orders SET amount_due = CASE WHEN amount > amount_paid \
             THEN amount - amount_paid ELSE 0 END",
        )
        .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_orders_status_deadline")
                    .table(Orders::Table)
                    .col(Orders::TenantId)
                    .col(Orders::Status)
                    .col(Orders::CaptureBefore)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop()
                    .name("idx_orders_status_deadline")
                    .table(Orders::Table)
                    .to_owned(),
            )
            .await?;
        let drops: [(DynIden, Vec<DynIden>); 4] = [
            (
                Payments::Table.into_iden(),
                [
                    Payments::TipAmount,
                    Payments::TipDeclared,
                    Payments::AmountAuthorized,
                    Payments::AmountCapturable,
                    Payments::CaptureMethod,
                    Payments::CaptureBefore,
                    Payments::CaptureBeforeExact,
                    Payments::OvercaptureMax,
                    Payments::IncrementSupported,
                    Payments::ExpiryWarnedAt,
                ]
                .into_iter()
                .map(IntoIden::into_iden)
                .collect(),
            ),
            (
                Orders::Table.into_iden(),
                [
                    Orders::AmountPaid,
                    Orders::TipAmount,
                    Orders::AmountDue,
                    Orders::AmountAuthorized,
                    Orders::ReviewReason,
                    Orders::MaxTipBps,
                    Orders::CaptureBefore,
                ]
                .into_iter()
                .map(IntoIden::into_iden)
                .collect(),
            ),
            (
                OrderChanges::Table.into_iden(),
                [
                    OrderChanges::AmountPaid,
                    OrderChanges::TipAmount,
                    OrderChanges::AmountDue,
                    OrderChanges::AmountAuthorized,
                ]
                .into_iter()
                .map(IntoIden::into_iden)
                .collect(),
            ),
            (
                Tenants::Table.into_iden(),
                vec![Tenants::MaxTipBps.into_iden()],
            ),
        ];
        for (table, cols) in drops {
            for col in cols {
                manager
                    .alter_table(
                        Table::alter()
                            .table(table.clone())
                            .drop_column(col)
                            .to_owned(),
                    )
                    .await?;
            }
        }
        Ok(())
    }
}

#[derive(DeriveIden, Clone)]
enum Payments {
    Table,
    TipAmount,
    TipDeclared,
    AmountAuthorized,
    AmountCapturable,
    CaptureMethod,
    CaptureBefore,
    CaptureBeforeExact,
    OvercaptureMax,
    IncrementSupported,
    ExpiryWarnedAt,
}

#[derive(DeriveIden, Clone)]
enum Orders {
    Table,
    TenantId,
    Status,
    AmountPaid,
    TipAmount,
    AmountDue,
    AmountAuthorized,
    ReviewReason,
    MaxTipBps,
    CaptureBefore,
}

#[derive(DeriveIden, Clone)]
enum OrderChanges {
    Table,
    AmountPaid,
    TipAmount,
    AmountDue,
    AmountAuthorized,
}

#[derive(DeriveIden, Clone)]
enum Tenants {
    Table,
    MaxTipBps,
}
