//! Store: what every table of a tenant's rows answers alike — one row by id, and the rows a
//! page at a time (oldest first) — written once, for each table that has a `tenant_id` and a
//! UUIDv7 `id`. Always within the tenant's scope: another tenant's id finds nothing.
use super::scope::ScopedTenant;
use super::{Page, PageRequest, paginate};
use entity::{api_keys, disputes, notification_endpoints, orders, payments, reconciliation_runs};
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, Select};
use uuid::Uuid;

/// A table whose rows each belong to one tenant.
pub trait TenantRows: EntityTrait {
    fn tenant_id() -> Self::Column;
    fn id() -> Self::Column;
    fn id_of(row: &Self::Model) -> Uuid;
}

macro_rules! tenant_rows {
    ($($table:ident),*) => {$(
        impl TenantRows for $table::Entity {
            fn tenant_id() -> $table::Column {
                $table::Column::TenantId
            }
            fn id() -> $table::Column {
                $table::Column::Id
            }
            fn id_of(row: &$table::Model) -> Uuid {
                row.id
            }
        }
    )*};
}
tenant_rows!(
    api_keys,
    disputes,
    notification_endpoints,
    orders,
    payments,
    reconciliation_runs
);

/// The tenant's rows of `E`, to narrow further.
pub fn of<E: TenantRows>(tenant: &ScopedTenant) -> Select<E> {
    E::find().filter(E::tenant_id().eq(tenant.id))
}

/// The tenant's row of `E` with `id`, if it has one.
pub async fn get<E: TenantRows, C: ConnectionTrait>(
    db: &C,
    tenant: &ScopedTenant,
    id: Uuid,
) -> Result<Option<E::Model>, DbErr> {
    of::<E>(tenant).filter(E::id().eq(id)).one(db).await
}

/// A page of the tenant's rows of `E`, oldest first.
pub async fn list<E: TenantRows, C: ConnectionTrait>(
    db: &C,
    tenant: &ScopedTenant,
    page: PageRequest,
) -> Result<Page<E::Model>, DbErr> {
    paginate(db, of::<E>(tenant), E::id(), page, E::id_of).await
}
