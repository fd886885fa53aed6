//! Migration: a refund across a split check is one Stripe refund per payment, all asked under
//! the caller's one `Idempotency-Key`: the key names one refund per payment of an order (it
//! named one refund per order).
use crate::common::index;
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden, Clone)]
enum RefundRequests {
    Table,
    TenantId,
    OrderId,
    CallerKey,
    PaymentId,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        use RefundRequests as R;
        manager
            .drop_index(
                Index::drop()
                    .name("idx_refund_requests_caller_key")
                    .table(R::Table)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                R::Table,
                "caller_key_payment",
                &[R::TenantId, R::OrderId, R::CallerKey, R::PaymentId],
                true,
            ))
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        use RefundRequests as R;
        manager
            .drop_index(
                Index::drop()
                    .name("idx_refund_requests_caller_key_payment")
                    .table(R::Table)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                R::Table,
                "caller_key",
                &[R::TenantId, R::OrderId, R::CallerKey],
                true,
            ))
            .await
    }
}
