//! Migration: `webhook_events` (unique per tenant and Stripe event id: the idempotency key).
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
                    .table(WebhookEvents::Table)
                    .col(pk_uuid(WebhookEvents::Id))
                    .col(uuid(WebhookEvents::TenantId))
                    .col(string(WebhookEvents::StripeEventId))
                    .col(string(WebhookEvents::EventType))
                    .col(string_null(WebhookEvents::ApiVersion))
                    .col(boolean(WebhookEvents::Livemode))
                    .col(big_integer(WebhookEvents::StripeCreated))
                    .col(string(WebhookEvents::Status))
                    .col(integer(WebhookEvents::Attempts).default(0))
                    .col(text_null(WebhookEvents::LastError))
                    .col(text_null(WebhookEvents::Payload))
                    .col(timestamp_with_time_zone(WebhookEvents::ReceivedAt))
                    .col(timestamp_with_time_zone_null(WebhookEvents::ProcessedAt))
                    .foreign_key(&mut tenant_fk(
                        WebhookEvents::Table,
                        WebhookEvents::TenantId,
                    ))
                    .to_owned(),
            )
            .await?;
        for (suffix, cols, unique) in [
            (
                "tenant_event",
                vec![WebhookEvents::TenantId, WebhookEvents::StripeEventId],
                true,
            ),
            (
                "tenant_id",
                vec![WebhookEvents::TenantId, WebhookEvents::Id],
                true,
            ),
            (
                "tenant_status",
                vec![
                    WebhookEvents::TenantId,
                    WebhookEvents::Status,
                    WebhookEvents::Id,
                ],
                false,
            ),
            ("received", vec![WebhookEvents::ReceivedAt], false),
        ] {
            manager
                .create_index(index(WebhookEvents::Table, suffix, &cols, unique))
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(WebhookEvents::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden, Clone)]
enum WebhookEvents {
    Table,
    Id,
    TenantId,
    StripeEventId,
    EventType,
    ApiVersion,
    Livemode,
    StripeCreated,
    Status,
    Attempts,
    LastError,
    Payload,
    ReceivedAt,
    ProcessedAt,
}
