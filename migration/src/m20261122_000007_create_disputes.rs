//! Migration: `disputes` (one row per tenant and Stripe dispute).
use crate::common::{index, tenant_fk};
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Disputes::Table)
                    .col(pk_uuid(Disputes::Id))
                    .col(uuid(Disputes::TenantId))
                    .col(uuid_null(Disputes::PaymentId))
                    .col(uuid_null(Disputes::OrderId))
                    .col(string(Disputes::StripeDisputeId))
                    .col(string_null(Disputes::StripeChargeId))
                    .col(string_null(Disputes::StripePaymentIntentId))
                    .col(big_integer(Disputes::Amount))
                    .col(string_len(Disputes::Currency, 3))
                    .col(string_null(Disputes::Reason))
                    .col(string(Disputes::Status))
                    .col(big_integer(Disputes::LastEventCreated))
                    .col(timestamp_with_time_zone(Disputes::CreatedAt))
                    .col(timestamp_with_time_zone(Disputes::UpdatedAt))
                    .foreign_key(&mut tenant_fk(Disputes::Table, Disputes::TenantId))
                    .to_owned(),
            )
            .await?;
        for (suffix, cols, unique) in [
            ("tenant_id", vec![Disputes::TenantId, Disputes::Id], true),
            (
                "tenant_dispute",
                vec![Disputes::TenantId, Disputes::StripeDisputeId],
                true,
            ),
            (
                "tenant_charge",
                vec![Disputes::TenantId, Disputes::StripeChargeId],
                false,
            ),
        ] {
            manager
                .create_index(index(Disputes::Table, suffix, &cols, unique))
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Disputes::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden, Clone)]
enum Disputes {
    Table,
    Id,
    TenantId,
    PaymentId,
    OrderId,
    StripeDisputeId,
    StripeChargeId,
    StripePaymentIntentId,
    Amount,
    Currency,
    Reason,
    Status,
    LastEventCreated,
    CreatedAt,
    UpdatedAt,
}
