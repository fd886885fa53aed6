//! Migration: `refund_requests` — every refund the gateway asks Stripe for, written in the
//! transaction that locks its order, before Stripe is called: the order, the payment, the
//! amount, the caller's `Idempotency-Key` (unique per order), the key sent to Stripe (scoped to
//! this request), Stripe's refund id once it answered, and the state (`pending`: asked, outcome
//! not known yet; `made`; `failed`: refused, its amount released). Refunds are planned against
//! what the books show plus what is pending, so concurrent requests never ask for more than was
//! paid.
use crate::common::{index, tenant_fk};
use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        use RefundRequests as R;
        manager
            .create_table(
                Table::create()
                    .table(R::Table)
                    .col(pk_uuid(R::Id))
                    .col(uuid(R::TenantId))
                    .col(uuid(R::OrderId))
                    .col(uuid(R::PaymentId))
                    .col(string(R::PaymentIntent))
                    .col(big_integer(R::Amount))
                    .col(string(R::Currency))
                    .col(string_null(R::Reason))
                    .col(string_null(R::CallerKey))
                    .col(string_uniq(R::StripeKey))
                    .col(string_null(R::StripeRefundId))
                    .col(string_null(R::StripeStatus))
                    .col(string(R::State))
                    .col(string_null(R::Failure))
                    .col(timestamp_with_time_zone(R::CreatedAt))
                    .col(timestamp_with_time_zone(R::UpdatedAt))
                    .foreign_key(&mut tenant_fk(R::Table, R::TenantId))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_refund_requests_order")
                            .from(R::Table, R::OrderId)
                            .to(Orders::Table, Orders::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        // A caller's key names one refund of one order (NULLs, keyless requests, never collide).
        manager
            .create_index(index(
                R::Table,
                "caller_key",
                &[R::TenantId, R::OrderId, R::CallerKey],
                true,
            ))
            .await?;
        manager
            .create_index(index(R::Table, "state", &[R::State, R::CreatedAt], false))
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(RefundRequests::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden, Clone)]
enum RefundRequests {
    Table,
    Id,
    TenantId,
    OrderId,
    PaymentId,
    PaymentIntent,
    Amount,
    Currency,
    Reason,
    CallerKey,
    StripeKey,
    StripeRefundId,
    StripeStatus,
    State,
    Failure,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Orders {
    Table,
    Id,
}
