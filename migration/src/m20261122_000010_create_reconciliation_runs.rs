//! Migration: `reconciliation_runs`.
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
                    .table(ReconciliationRuns::Table)
                    .col(pk_uuid(ReconciliationRuns::Id))
                    .col(uuid(ReconciliationRuns::TenantId))
                    .col(string(ReconciliationRuns::Status))
                    .col(timestamp_with_time_zone(ReconciliationRuns::WindowStart))
                    .col(timestamp_with_time_zone(ReconciliationRuns::WindowEnd))
                    .col(big_integer(ReconciliationRuns::CreatedCount).default(0))
                    .col(big_integer(ReconciliationRuns::UpdatedCount).default(0))
                    .col(big_integer(ReconciliationRuns::UnchangedCount).default(0))
                    .col(big_integer(ReconciliationRuns::FailedCount).default(0))
                    .col(text(ReconciliationRuns::Discrepancies))
                    .col(text_null(ReconciliationRuns::Error))
                    .col(string_null(ReconciliationRuns::Cursor))
                    .col(timestamp_with_time_zone(ReconciliationRuns::StartedAt))
                    .col(timestamp_with_time_zone_null(
                        ReconciliationRuns::FinishedAt,
                    ))
                    .foreign_key(&mut tenant_fk(
                        ReconciliationRuns::Table,
                        ReconciliationRuns::TenantId,
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                ReconciliationRuns::Table,
                "tenant_id",
                &[ReconciliationRuns::TenantId, ReconciliationRuns::Id],
                true,
            ))
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(ReconciliationRuns::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden, Clone)]
enum ReconciliationRuns {
    Table,
    Id,
    TenantId,
    Status,
    WindowStart,
    WindowEnd,
    CreatedCount,
    UpdatedCount,
    UnchangedCount,
    FailedCount,
    Discrepancies,
    Error,
    Cursor,
    StartedAt,
    FinishedAt,
}
