//! Migration: order notifications. `order_changes` is the outbox: one row per order change,
//! written in the transaction that made it. `notification_endpoints` (with their encrypted
//! signing secrets, several during a rotation) are where a tenant wants changes sent, and
//! `notification_messages` is one change owed to one endpoint: its delivery state and attempts.
use crate::common::{index, tenant_fk};
use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;
use sea_orm_migration::sea_orm::ConnectionTrait;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        use NotificationEndpoints as N;
        use NotificationMessages as M;
        use NotificationSecrets as S;
        use OrderChanges as C;
        manager
            .create_table(
                Table::create()
                    .table(C::Table)
                    .col(pk_uuid(C::Id))
                    .col(uuid(C::TenantId))
                    .col(uuid(C::OrderId))
                    .col(text(C::Reference))
                    .col(text(C::FromStatus))
                    .col(text(C::ToStatus))
                    .col(big_integer(C::Amount))
                    .col(text(C::Currency))
                    .col(big_integer(C::RefundedFrom))
                    .col(big_integer(C::RefundedTo))
                    .col(text(C::Cause))
                    .col(timestamp_with_time_zone(C::CreatedAt))
                    .col(timestamp_with_time_zone_null(C::DispatchedAt))
                    .foreign_key(&mut tenant_fk(C::Table, C::TenantId))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(C::Table, "order", &[C::TenantId, C::OrderId], false))
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(N::Table)
                    .col(pk_uuid(N::Id))
                    .col(uuid(N::TenantId))
                    .col(text(N::Url))
                    .col(text(N::Description))
                    .col(text(N::Events))
                    .col(boolean(N::Enabled))
                    .col(text_null(N::DisabledReason))
                    .col(timestamp_with_time_zone_null(N::FailingSince))
                    .col(timestamp_with_time_zone(N::CreatedAt))
                    .col(timestamp_with_time_zone(N::UpdatedAt))
                    .foreign_key(&mut tenant_fk(N::Table, N::TenantId))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(N::Table, "tenant", &[N::TenantId, N::Id], false))
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(S::Table)
                    .col(pk_uuid(S::Id))
                    .col(uuid(S::TenantId))
                    .col(uuid(S::EndpointId))
                    .col(text(S::SecretCiphertext))
                    .col(string(S::Hint))
                    .col(timestamp_with_time_zone(S::CreatedAt))
                    .col(timestamp_with_time_zone_null(S::ExpiresAt))
                    .foreign_key(&mut tenant_fk(S::Table, S::TenantId))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_notification_secrets_endpoint")
                            .from(S::Table, S::EndpointId)
                            .to(N::Table, N::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                S::Table,
                "endpoint",
                &[S::TenantId, S::EndpointId, S::Id],
                false,
            ))
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(M::Table)
                    .col(pk_uuid(M::Id))
                    .col(uuid(M::TenantId))
                    .col(uuid(M::EndpointId))
                    .col(uuid(M::ChangeId))
                    .col(text(M::EventType))
                    .col(text(M::Status))
                    .col(integer(M::Attempts))
                    .col(timestamp_with_time_zone(M::NextAttemptAt))
                    .col(timestamp_with_time_zone_null(M::LastAttemptAt))
                    .col(integer_null(M::LastResponseCode))
                    .col(text_null(M::LastError))
                    .col(timestamp_with_time_zone(M::CreatedAt))
                    .col(timestamp_with_time_zone_null(M::DeliveredAt))
                    .foreign_key(&mut tenant_fk(M::Table, M::TenantId))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_notification_messages_endpoint")
                            .from(M::Table, M::EndpointId)
                            .to(N::Table, N::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_notification_messages_change")
                            .from(M::Table, M::ChangeId)
                            .to(C::Table, C::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                M::Table,
                "endpoint",
                &[M::TenantId, M::EndpointId, M::Id],
                false,
            ))
            .await?;
        manager
            .create_index(index(M::Table, "change", &[M::ChangeId], false))
            .await?;
        // The workers' queues: only the rows still owed work are indexed.
        let db = manager.get_connection();
        db.execute_unprepared(
            "CREATE INDEX idx_order_changes_undispatched ON order_changes (created_at) \
             WHERE dispatched_at IS NULL",
        )
        .await?;
        // Per endpoint, so that finding the endpoints with work and claiming one endpoint's
        // oldest messages are index probes, whatever the backlog.
        db.execute_unprepared(
            "CREATE INDEX idx_notification_messages_due ON notification_messages \
             (endpoint_id, next_attempt_at) WHERE status IN ('pending', 'delivering')",
        )
        .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            NotificationMessages::Table.into_iden(),
            NotificationSecrets::Table.into_iden(),
            NotificationEndpoints::Table.into_iden(),
            OrderChanges::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}

#[derive(DeriveIden, Clone)]
enum OrderChanges {
    Table,
    Id,
    TenantId,
    OrderId,
    Reference,
    FromStatus,
    ToStatus,
    Amount,
    Currency,
    RefundedFrom,
    RefundedTo,
    Cause,
    CreatedAt,
    DispatchedAt,
}

#[derive(DeriveIden, Clone)]
enum NotificationEndpoints {
    Table,
    Id,
    TenantId,
    Url,
    Description,
    Events,
    Enabled,
    DisabledReason,
    FailingSince,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden, Clone)]
enum NotificationSecrets {
    Table,
    Id,
    TenantId,
    EndpointId,
    SecretCiphertext,
    Hint,
    CreatedAt,
    ExpiresAt,
}

#[derive(DeriveIden, Clone)]
enum NotificationMessages {
    Table,
    Id,
    TenantId,
    EndpointId,
    ChangeId,
    EventType,
    Status,
    Attempts,
    NextAttemptAt,
    LastAttemptAt,
    LastResponseCode,
    LastError,
    CreatedAt,
    DeliveredAt,
}
