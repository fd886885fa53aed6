//! Migration: on PostgreSQL, raw event payloads are compressed with lz4 instead of pglz where the
//! server supports it (PostgreSQL 14+ built with lz4): pglz was a visible share of the database's
//! CPU per webhook. Existing rows keep their compression; SQLite has nothing to change.
use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DbBackend};

#[derive(DeriveMigrationName)]
pub struct Migration;

const SUPPORTED: &str = "SELECT 1 FROM pg_settings \
     WHERE name = 'default_toast_compression' AND 'lz4' = ANY(enumvals)";

async fn set_compression(manager: &SchemaManager<'_>, method: &str) -> Result<(), DbErr> {
    let db = manager.get_connection();
    if db.get_database_backend() != DbBackend::Postgres
        || db
            .query_one_raw(sea_orm_migration::sea_orm::Statement::from_string(
                DbBackend::Postgres,
                SUPPORTED,
            ))
            .await?
            .is_none()
    {
        return Ok(());
    }
    db.execute_unprepared(&format!(
        "ALTER TABLE webhook_events ALTER COLUMN payload SET COMPRESSION {method}"
    ))
    .await
    .map(|_| ())
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        set_compression(manager, "lz4").await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        set_compression(manager, "pglz").await
    }
}
