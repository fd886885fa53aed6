//! Shared pieces of the migrations: the tenants table's identifiers, index helpers, and the
//! payload columns' compression.
use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DbBackend, Statement};

const LZ4_SUPPORTED: &str = "SELECT 1 FROM pg_settings \
     WHERE name = 'default_toast_compression' AND 'lz4' = ANY(enumvals)";

/// On PostgreSQL built with lz4 (14+), compresses `table.payload` with `method` (`lz4`, or
/// `pglz` to undo): pglz was a visible share of the database's CPU per webhook. Existing rows
/// keep their compression; SQLite has nothing to change.
pub async fn set_payload_compression(
    manager: &SchemaManager<'_>,
    table: &str,
    method: &str,
) -> Result<(), DbErr> {
    let db = manager.get_connection();
    if db.get_database_backend() != DbBackend::Postgres
        || db
            .query_one_raw(Statement::from_string(DbBackend::Postgres, LZ4_SUPPORTED))
            .await?
            .is_none()
    {
        return Ok(());
    }
    db.execute_unprepared(&format!(
        "ALTER TABLE {table} ALTER COLUMN payload SET COMPRESSION {method}"
    ))
    .await
    .map(|_| ())
}

#[derive(DeriveIden)]
pub enum Tenants {
    Table,
    Id,
}

/// `FOREIGN KEY (tenant_id) REFERENCES tenants(id) ON DELETE CASCADE`.
pub fn tenant_fk<T: Iden + Clone + 'static, C: Iden + 'static>(
    table: T,
    column: C,
) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .name(format!("fk_{}_tenant", table.to_string()))
        .from(table, column)
        .to(Tenants::Table, Tenants::Id)
        .on_delete(ForeignKeyAction::Cascade)
        .to_owned()
}

/// An index named `idx_<table>_<suffix>` over `cols` (which lead with `tenant_id`).
pub fn index<T: Iden + Clone + 'static, C: Iden + Clone + 'static>(
    table: T,
    suffix: &str,
    cols: &[C],
    unique: bool,
) -> IndexCreateStatement {
    let mut idx = Index::create();
    idx.name(format!("idx_{}_{suffix}", table.to_string()))
        .table(table);
    for col in cols {
        idx.col(col.clone());
    }
    if unique {
        idx.unique();
    }
    idx.to_owned()
}

/// `ALTER TABLE … ADD COLUMN` one column at a time (SQLite takes one per statement).
pub async fn add(
    manager: &SchemaManager<'_>,
    table: impl IntoIden + Clone + 'static,
    cols: Vec<ColumnDef>,
) -> Result<(), DbErr> {
    for mut col in cols {
        manager
            .alter_table(
                Table::alter()
                    .table(table.clone())
                    .add_column(&mut col)
                    .to_owned(),
            )
            .await?;
    }
    Ok(())
}
