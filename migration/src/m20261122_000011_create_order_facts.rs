//! Migration: facts the event apply path needs — an order's checkout expiry, and the customers a
//! tenant's Stripe account deleted (so a late event cannot bring their personal data back).
use crate::common::tenant_fk;
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Orders::Table)
                    .add_column(timestamp_with_time_zone_null(Orders::ExpiredAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(ScrubbedCustomers::Table)
                    .col(uuid(ScrubbedCustomers::TenantId))
                    .col(string(ScrubbedCustomers::CustomerId))
                    .col(timestamp_with_time_zone(ScrubbedCustomers::ScrubbedAt))
                    .primary_key(
                        Index::create()
                            .col(ScrubbedCustomers::TenantId)
                            .col(ScrubbedCustomers::CustomerId),
                    )
                    .foreign_key(&mut tenant_fk(
                        ScrubbedCustomers::Table,
                        ScrubbedCustomers::TenantId,
                    ))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(ScrubbedCustomers::Table).to_owned())
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Orders::Table)
                    .drop_column(Orders::ExpiredAt)
                    .to_owned(),
            )
            .await
    }
}

#[derive(DeriveIden)]
enum Orders {
    Table,
    ExpiredAt,
}

#[derive(DeriveIden, Clone)]
enum ScrubbedCustomers {
    Table,
    TenantId,
    CustomerId,
    ScrubbedAt,
}
