//! Shared pieces of the migrations: the tenants table's identifiers and index helpers.
use sea_orm_migration::prelude::*;

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
