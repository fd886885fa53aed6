//! Migration: `orders` (reference unique per tenant; money in minor units).
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
                    .table(Orders::Table)
                    .col(pk_uuid(Orders::Id))
                    .col(uuid(Orders::TenantId))
                    .col(string(Orders::Reference))
                    .col(big_integer(Orders::Amount))
                    .col(string_len(Orders::Currency, 3))
                    .col(string(Orders::Status))
                    .col(big_integer(Orders::AmountRefunded).default(0))
                    .col(string_null(Orders::CustomerEmail))
                    .col(text_null(Orders::Metadata))
                    .col(string_null(Orders::CheckoutSessionId))
                    .col(timestamp_with_time_zone(Orders::CreatedAt))
                    .col(timestamp_with_time_zone(Orders::UpdatedAt))
                    .foreign_key(&mut tenant_fk(Orders::Table, Orders::TenantId))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                Orders::Table,
                "tenant_id",
                &[Orders::TenantId, Orders::Id],
                true,
            ))
            .await?;
        manager
            .create_index(index(
                Orders::Table,
                "tenant_reference",
                &[Orders::TenantId, Orders::Reference],
                true,
            ))
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Orders::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden, Clone)]
enum Orders {
    Table,
    Id,
    TenantId,
    Reference,
    Amount,
    Currency,
    Status,
    AmountRefunded,
    CustomerEmail,
    Metadata,
    CheckoutSessionId,
    CreatedAt,
    UpdatedAt,
}
