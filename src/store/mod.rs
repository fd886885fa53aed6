//! Store layer: tenant-scoped queries over `entity::*` — the only place that builds queries.
pub mod advisory;
pub mod api_keys;
pub mod broadcast;
mod credential_tables;
pub mod credentials;
pub mod events;
pub mod facts;
pub mod failures;
pub mod holds;
pub mod ledger;
pub mod notification_endpoints;
pub mod orders;
pub mod outbox;
pub mod owned;
pub mod payments;
pub mod pg_batch;
pub mod reconciliations;
pub mod refunds;
pub mod retention;
pub mod scope;
pub mod secrets;
pub mod tenants;
pub mod unrouted;

use base64::Engine as _;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Select,
};
use uuid::Uuid;

/// One page of a list, oldest first, and the cursor of the next page if there is one.
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
}

/// Where a page starts and how long it is, already validated.
#[derive(Clone, Copy, Debug)]
pub struct PageRequest {
    pub after: Option<Uuid>,
    pub limit: u64,
}

pub fn encode_cursor(id: Uuid) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(id.as_bytes())
}

pub fn decode_cursor(cursor: &str) -> Option<Uuid> {
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(cursor)
        .ok()?;
    Uuid::from_slice(&bytes).ok()
}

/// Runs `select` keyset-paginated on `id_col` (UUIDv7 ids sort by creation time), oldest first.
pub(crate) async fn paginate<E, C>(
    db: &C,
    select: Select<E>,
    id_col: E::Column,
    page: PageRequest,
    id_of: impl Fn(&E::Model) -> Uuid,
) -> Result<Page<E::Model>, DbErr>
where
    E: EntityTrait,
    C: ConnectionTrait,
{
    paginate_in(db, select, id_col, page, id_of, false).await
}

/// [`paginate`], newest first when `newest_first` (the cursor then leads to older rows).
pub(crate) async fn paginate_in<E, C>(
    db: &C,
    select: Select<E>,
    id_col: E::Column,
    page: PageRequest,
    id_of: impl Fn(&E::Model) -> Uuid,
    newest_first: bool,
) -> Result<Page<E::Model>, DbErr>
where
    E: EntityTrait,
    C: ConnectionTrait,
{
    let mut select = if newest_first {
        select.order_by_desc(id_col)
    } else {
        select.order_by_asc(id_col)
    }
    .limit(page.limit + 1);
    if let Some(after) = page.after {
        select = select.filter(if newest_first {
            id_col.lt(after)
        } else {
            id_col.gt(after)
        });
    }
    let mut items = select.all(db).await?;
    let next_cursor = if items.len() as u64 > page.limit {
        items.truncate(page.limit as usize);
        items.last().map(|m| encode_cursor(id_of(m)))
    } else {
        None
    };
    Ok(Page { items, next_cursor })
}

/// True when `err` is a unique-constraint violation (a duplicate slug, reference, …).
pub fn is_unique_violation(err: &DbErr) -> bool {
    matches!(
        err.sql_err(),
        Some(sea_orm::SqlErr::UniqueConstraintViolation(_))
    )
}

/// True when `err` says the row a write aimed at is gone: an update that matched no row, a row
/// that vanished inside a transaction, or a parent row (the tenant) deleted meanwhile.
pub fn is_gone(err: &DbErr) -> bool {
    matches!(err, DbErr::RecordNotUpdated | DbErr::RecordNotFound(_))
        || matches!(
            err.sql_err(),
            Some(sea_orm::SqlErr::ForeignKeyConstraintViolation(_))
        )
}
