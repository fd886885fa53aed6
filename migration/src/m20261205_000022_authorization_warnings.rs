//! Migration: warnings of authorizations about to lapse. An `order_changes` row may now be a
//! notice rather than a status change: `kind` (`authorization_expiring`; NULL for a status
//! change), the authorization it is about (`payment_id`) and its deadline (`capture_before`).
//! Live authorizations are found by deadline through a partial index (only `authorized`
//! payments are in it, so the webhook path's writes of settled payments do not maintain it).
use crate::common::add;
use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;
use sea_orm_migration::sea_orm::ConnectionTrait;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden, Clone)]
enum OrderChanges {
    Table,
    Kind,
    PaymentId,
    CaptureBefore,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        use OrderChanges as C;
        add(
            manager,
            C::Table,
            vec![
                string_null(C::Kind),
                uuid_null(C::PaymentId),
                timestamp_with_time_zone_null(C::CaptureBefore),
            ],
        )
        .await?;
        // The same statement on PostgreSQL and SQLite.
        manager
            .get_connection()
            .execute_unprepared(
                "CREATE INDEX idx_payments_live_holds ON payments (capture_before) \
                 WHERE status = 'authorized'",
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        use OrderChanges as C;
        manager
            .get_connection()
            .execute_unprepared("DROP INDEX idx_payments_live_holds")
            .await?;
        for col in [C::Kind, C::PaymentId, C::CaptureBefore] {
            manager
                .alter_table(Table::alter().table(C::Table).drop_column(col).to_owned())
                .await?;
        }
        Ok(())
    }
}
