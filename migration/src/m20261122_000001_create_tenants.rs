//! Migration: `tenants`.
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Tenants::Table)
                    .col(pk_uuid(Tenants::Id))
                    .col(string_uniq(Tenants::Slug))
                    .col(string(Tenants::Name))
                    .col(string(Tenants::Status))
                    .col(big_integer(Tenants::RateLimitPerSecond))
                    .col(big_integer(Tenants::RateLimitBurst))
                    .col(string_null(Tenants::StripeAccountId).unique_key())
                    .col(timestamp_with_time_zone(Tenants::CreatedAt))
                    .col(timestamp_with_time_zone(Tenants::UpdatedAt))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Tenants::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum Tenants {
    Table,
    Id,
    Slug,
    Name,
    Status,
    RateLimitPerSecond,
    RateLimitBurst,
    StripeAccountId,
    CreatedAt,
    UpdatedAt,
}
