//! Migration: `payments` (one row per tenant and PaymentIntent; linked to an order of the same tenant).
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
                    .table(Payments::Table)
                    .col(pk_uuid(Payments::Id))
                    .col(uuid(Payments::TenantId))
                    .col(uuid_null(Payments::OrderId))
                    .col(string(Payments::StripePaymentIntentId))
                    .col(string_null(Payments::StripeChargeId))
                    .col(big_integer(Payments::Amount))
                    .col(big_integer(Payments::AmountRefunded).default(0))
                    .col(string_len(Payments::Currency, 3))
                    .col(string(Payments::Status))
                    .col(string_null(Payments::CustomerId))
                    .col(string_null(Payments::CustomerEmail))
                    .col(string_null(Payments::CustomerName))
                    .col(boolean(Payments::Livemode))
                    .col(text_null(Payments::FailureReason))
                    .col(big_integer(Payments::LastEventCreated))
                    .col(timestamp_with_time_zone(Payments::CreatedAt))
                    .col(timestamp_with_time_zone(Payments::UpdatedAt))
                    .foreign_key(&mut tenant_fk(Payments::Table, Payments::TenantId))
                    .foreign_key(
                        // Composite: a payment can only ever link to an order of its own tenant.
                        ForeignKey::create()
                            .name("fk_payments_order")
                            .from_tbl(Payments::Table)
                            .from_col(Payments::TenantId)
                            .from_col(Payments::OrderId)
                            .to_tbl(Orders::Table)
                            .to_col(Orders::TenantId)
                            .to_col(Orders::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        for (suffix, cols, unique) in [
            ("tenant_id", vec![Payments::TenantId, Payments::Id], true),
            (
                "tenant_intent",
                vec![Payments::TenantId, Payments::StripePaymentIntentId],
                true,
            ),
            (
                "tenant_order",
                vec![Payments::TenantId, Payments::OrderId],
                false,
            ),
            (
                "tenant_customer",
                vec![Payments::TenantId, Payments::CustomerId],
                false,
            ),
            (
                "tenant_charge",
                vec![Payments::TenantId, Payments::StripeChargeId],
                false,
            ),
        ] {
            manager
                .create_index(index(Payments::Table, suffix, &cols, unique))
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Payments::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden, Clone)]
enum Orders {
    Table,
    Id,
    TenantId,
}

#[derive(DeriveIden, Clone)]
enum Payments {
    Table,
    Id,
    TenantId,
    OrderId,
    StripePaymentIntentId,
    StripeChargeId,
    Amount,
    AmountRefunded,
    Currency,
    Status,
    CustomerId,
    CustomerEmail,
    CustomerName,
    Livemode,
    FailureReason,
    LastEventCreated,
    CreatedAt,
    UpdatedAt,
}
