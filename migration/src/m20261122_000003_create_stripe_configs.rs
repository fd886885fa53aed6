//! Migration: `stripe_configs` (one row per tenant; the secret key encrypted).
use crate::common::tenant_fk;
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(StripeConfigs::Table)
                    .col(pk_uuid(StripeConfigs::TenantId))
                    .col(text(StripeConfigs::SecretKeyCiphertext))
                    .col(string(StripeConfigs::SecretKeyHint))
                    .col(string(StripeConfigs::Mode))
                    .col(timestamp_with_time_zone(StripeConfigs::CreatedAt))
                    .col(timestamp_with_time_zone(StripeConfigs::UpdatedAt))
                    .foreign_key(&mut tenant_fk(
                        StripeConfigs::Table,
                        StripeConfigs::TenantId,
                    ))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(StripeConfigs::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden, Clone)]
enum StripeConfigs {
    Table,
    TenantId,
    SecretKeyCiphertext,
    SecretKeyHint,
    Mode,
    CreatedAt,
    UpdatedAt,
}
