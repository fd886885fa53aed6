//! Migration: on PostgreSQL, raw event payloads are compressed with lz4 instead of pglz where the
//! server supports it (PostgreSQL 14+ built with lz4): pglz was a visible share of the database's
//! CPU per webhook. Existing rows keep their compression; SQLite has nothing to change.
use crate::common::set_payload_compression;
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        set_payload_compression(manager, "webhook_events", "lz4").await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        set_payload_compression(manager, "webhook_events", "pglz").await
    }
}
