//! Migration: `delivery_failures` (bounded counters per scope, hour and reason).
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
                    .table(DeliveryFailures::Table)
                    .col(big_pk_auto(DeliveryFailures::Id))
                    .col(uuid_null(DeliveryFailures::TenantId))
                    .col(string(DeliveryFailures::Scope))
                    .col(timestamp_with_time_zone(DeliveryFailures::Hour))
                    .col(string(DeliveryFailures::Reason))
                    .col(big_integer(DeliveryFailures::Count).default(0))
                    .foreign_key(&mut tenant_fk(
                        DeliveryFailures::Table,
                        DeliveryFailures::TenantId,
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                DeliveryFailures::Table,
                "tenant_hour",
                &[DeliveryFailures::TenantId, DeliveryFailures::Hour],
                false,
            ))
            .await?;
        manager
            .create_index(index(
                DeliveryFailures::Table,
                "counter",
                &[
                    DeliveryFailures::Scope,
                    DeliveryFailures::Hour,
                    DeliveryFailures::Reason,
                ],
                true,
            ))
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(DeliveryFailures::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden, Clone)]
enum DeliveryFailures {
    Table,
    Id,
    TenantId,
    Scope,
    Hour,
    Reason,
    Count,
}
