//! Migration: the Stripe Connect platform's own config — `platform_stripe_configs` (one row, id
//! the nil UUID: the platform's secret key, encrypted) and `platform_webhook_secrets` (its Connect
//! endpoint's signing secrets, encrypted, several during a rotation).
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(PlatformStripeConfigs::Table)
                    .col(pk_uuid(PlatformStripeConfigs::Id))
                    .col(text(PlatformStripeConfigs::SecretKeyCiphertext))
                    .col(string(PlatformStripeConfigs::SecretKeyHint))
                    .col(string(PlatformStripeConfigs::Mode))
                    .col(timestamp_with_time_zone(PlatformStripeConfigs::CreatedAt))
                    .col(timestamp_with_time_zone(PlatformStripeConfigs::UpdatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(PlatformWebhookSecrets::Table)
                    .col(pk_uuid(PlatformWebhookSecrets::Id))
                    .col(text(PlatformWebhookSecrets::SecretCiphertext))
                    .col(string(PlatformWebhookSecrets::Hint))
                    .col(timestamp_with_time_zone(PlatformWebhookSecrets::CreatedAt))
                    .col(timestamp_with_time_zone_null(
                        PlatformWebhookSecrets::ExpiresAt,
                    ))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(
                Table::drop()
                    .table(PlatformWebhookSecrets::Table)
                    .to_owned(),
            )
            .await?;
        manager
            .drop_table(Table::drop().table(PlatformStripeConfigs::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden, Clone)]
enum PlatformStripeConfigs {
    Table,
    Id,
    SecretKeyCiphertext,
    SecretKeyHint,
    Mode,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden, Clone)]
enum PlatformWebhookSecrets {
    Table,
    Id,
    SecretCiphertext,
    Hint,
    CreatedAt,
    ExpiresAt,
}
