//! Migration: disputes are looked up by PaymentIntent when a payment's events are applied (to
//! link disputes that arrived first and to derive the order's status); without this index that
//! lookup scanned all of a tenant's disputes.
use crate::common::index;
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_index(index(
                Disputes::Table,
                "tenant_intent",
                &[Disputes::TenantId, Disputes::StripePaymentIntentId],
                false,
            ))
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop()
                    .name("idx_disputes_tenant_intent")
                    .table(Disputes::Table)
                    .to_owned(),
            )
            .await
    }
}

#[derive(DeriveIden, Clone)]
enum Disputes {
    Table,
    TenantId,
    StripePaymentIntentId,
}
