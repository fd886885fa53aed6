//! Migration: Stripe Connect routing — each tenant's kind (`own_account`, or `connected`: a
//! connected account of the platform, called with the platform's key) and the platform's fee on
//! its checkouts (`application_fee_bps`), and `unrouted_events`: events the Connect endpoint
//! verified but could give to no tenant — platform events (no `account`) and events for an
//! account no tenant has yet, kept (payload compressed like the event log's) until a tenant
//! takes the account, or retention removes them.
use crate::common::set_payload_compression;
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // SQLite adds one column per statement.
        manager
            .alter_table(
                Table::alter()
                    .table(Tenants::Table)
                    .add_column(string(Tenants::Kind).default("own_account"))
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Tenants::Table)
                    .add_column(integer(Tenants::ApplicationFeeBps).default(0))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(UnroutedEvents::Table)
                    .col(pk_uuid(UnroutedEvents::Id))
                    .col(string_uniq(UnroutedEvents::StripeEventId))
                    .col(string_null(UnroutedEvents::Account))
                    .col(string(UnroutedEvents::EventType))
                    .col(boolean(UnroutedEvents::Livemode))
                    .col(big_integer(UnroutedEvents::StripeCreated))
                    .col(text(UnroutedEvents::Payload))
                    .col(timestamp_with_time_zone(UnroutedEvents::ReceivedAt))
                    .col(uuid_null(UnroutedEvents::RoutedTenantId))
                    .col(timestamp_with_time_zone_null(UnroutedEvents::RoutedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_unrouted_events_account")
                    .table(UnroutedEvents::Table)
                    .col(UnroutedEvents::Account)
                    .col(UnroutedEvents::RoutedAt)
                    .to_owned(),
            )
            .await?;
        set_payload_compression(manager, "unrouted_events", "lz4").await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(UnroutedEvents::Table).to_owned())
            .await?;
        for column in [Tenants::ApplicationFeeBps, Tenants::Kind] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Tenants::Table)
                        .drop_column(column)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}

#[derive(DeriveIden, Clone)]
enum Tenants {
    Table,
    Kind,
    ApplicationFeeBps,
}

#[derive(DeriveIden, Clone)]
enum UnroutedEvents {
    Table,
    Id,
    StripeEventId,
    Account,
    EventType,
    Livemode,
    StripeCreated,
    Payload,
    ReceivedAt,
    RoutedTenantId,
    RoutedAt,
}
