//! Migration: `webhook_secrets` (encrypted `whsec_…`, several per tenant during a rotation).
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
                    .table(WebhookSecrets::Table)
                    .col(pk_uuid(WebhookSecrets::Id))
                    .col(uuid(WebhookSecrets::TenantId))
                    .col(text(WebhookSecrets::SecretCiphertext))
                    .col(string(WebhookSecrets::Hint))
                    .col(timestamp_with_time_zone(WebhookSecrets::CreatedAt))
                    .col(timestamp_with_time_zone_null(WebhookSecrets::ExpiresAt))
                    .foreign_key(&mut tenant_fk(
                        WebhookSecrets::Table,
                        WebhookSecrets::TenantId,
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                WebhookSecrets::Table,
                "tenant",
                &[WebhookSecrets::TenantId, WebhookSecrets::Id],
                false,
            ))
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(WebhookSecrets::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden, Clone)]
enum WebhookSecrets {
    Table,
    Id,
    TenantId,
    SecretCiphertext,
    Hint,
    CreatedAt,
    ExpiresAt,
}
