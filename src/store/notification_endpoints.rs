//! Store: a tenant's notification endpoints and their encrypted signing secrets.
use super::scope::ScopedTenant;
use chrono::{DateTime, Utc};
use entity::{notification_endpoints as endpoints, notification_secrets as secrets};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, Condition, ConnectionTrait,
    DatabaseConnection, DbErr, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect,
};
use uuid::Uuid;

/// A new endpoint: its row, and its first secret (sealed for this endpoint's id).
pub struct NewEndpoint {
    pub id: Uuid,
    pub url: String,
    pub description: String,
    pub events: String,
    pub enabled: bool,
    pub secret_ciphertext: String,
    pub secret_hint: String,
}

/// What a PATCH changes (`None`: unchanged).
#[derive(Default)]
pub struct EndpointPatch {
    pub url: Option<String>,
    pub description: Option<String>,
    pub events: Option<String>,
    pub enabled: Option<bool>,
}

/// Registers an endpoint; `None` (nothing changed) when the tenant has
/// [`MAX_ENDPOINTS_PER_TENANT`](crate::domain::notification::MAX_ENDPOINTS_PER_TENANT) already.
pub async fn create(
    db: &DatabaseConnection,
    tenant: &ScopedTenant,
    new: NewEndpoint,
) -> Result<Option<endpoints::Model>, DbErr> {
    let now = Utc::now();
    // Takes SQLite's write lock up front (a read then a write in a deferred transaction fails
    // when another writer holds it); on PostgreSQL the tenant's row is locked, so two creates
    // at once cannot both count the room left before the other's insert.
    let txn = crate::db::begin_write(db).await?;
    entity::tenants::Entity::find_by_id(tenant.id)
        .lock_exclusive()
        .one(&txn)
        .await?;
    let count = endpoints::Entity::find()
        .filter(endpoints::Column::TenantId.eq(tenant.id))
        .count(&txn)
        .await?;
    if count >= crate::domain::notification::MAX_ENDPOINTS_PER_TENANT as u64 {
        return Ok(None);
    }
    let endpoint = endpoints::ActiveModel {
        id: Set(new.id),
        tenant_id: Set(tenant.id),
        url: Set(new.url),
        description: Set(new.description),
        events: Set(new.events),
        enabled: Set(new.enabled),
        disabled_reason: Set(None),
        failing_since: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(&txn)
    .await?;
    insert_secret(&txn, &endpoint, new.secret_ciphertext, new.secret_hint, now).await?;
    txn.commit().await?;
    Ok(Some(endpoint))
}

async fn insert_secret<C: ConnectionTrait>(
    db: &C,
    endpoint: &endpoints::Model,
    ciphertext: String,
    hint: String,
    now: DateTime<Utc>,
) -> Result<secrets::Model, DbErr> {
    secrets::ActiveModel {
        id: Set(Uuid::now_v7()),
        tenant_id: Set(endpoint.tenant_id),
        endpoint_id: Set(endpoint.id),
        secret_ciphertext: Set(ciphertext),
        hint: Set(hint),
        created_at: Set(now),
        expires_at: Set(None),
    }
    .insert(db)
    .await
}

/// Applies `patch`; `None` when the tenant has no such endpoint. Enabling clears the reason the
/// gateway disabled it and its failing run.
pub async fn update<C: ConnectionTrait>(
    db: &C,
    tenant: &ScopedTenant,
    id: Uuid,
    patch: EndpointPatch,
) -> Result<Option<endpoints::Model>, DbErr> {
    let Some(found) = super::owned::get::<endpoints::Entity, _>(db, tenant, id).await? else {
        return Ok(None);
    };
    let mut active: endpoints::ActiveModel = found.into();
    if let Some(url) = patch.url {
        active.url = Set(url);
    }
    if let Some(description) = patch.description {
        active.description = Set(description);
    }
    if let Some(events) = patch.events {
        active.events = Set(events);
    }
    if let Some(enabled) = patch.enabled {
        active.enabled = Set(enabled);
        if enabled {
            active.disabled_reason = Set(None);
            active.failing_since = Set(None);
        }
    }
    active.updated_at = Set(Utc::now());
    match active.update(db).await {
        Ok(m) => Ok(Some(m)),
        Err(e) if super::is_gone(&e) => Ok(None),
        Err(e) => Err(e),
    }
}

/// Deletes the endpoint with its secrets and messages; false when there was none.
pub async fn delete<C: ConnectionTrait>(
    db: &C,
    tenant: &ScopedTenant,
    id: Uuid,
) -> Result<bool, DbErr> {
    let res = endpoints::Entity::delete_many()
        .filter(endpoints::Column::TenantId.eq(tenant.id))
        .filter(endpoints::Column::Id.eq(id))
        .exec(db)
        .await?;
    Ok(res.rows_affected > 0)
}

/// What a rotation did.
pub enum Rotated {
    Added(secrets::Model),
    NoEndpoint,
    /// [`MAX_LIVE_SECRETS_PER_ENDPOINT`](crate::domain::notification::MAX_LIVE_SECRETS_PER_ENDPOINT)
    /// would be live after it: nothing changed.
    AtCap,
}

/// Adds a secret and sets every other live secret of the endpoint to expire at `expire_others`.
pub async fn rotate(
    db: &DatabaseConnection,
    tenant: &ScopedTenant,
    id: Uuid,
    ciphertext: String,
    hint: String,
    expire_others: DateTime<Utc>,
) -> Result<Rotated, DbErr> {
    // Takes SQLite's write lock up front (a read then a write in a deferred transaction fails
    // when another writer holds it); on PostgreSQL the endpoint's row is locked.
    let txn = crate::db::begin_write(db).await?;
    let Some(endpoint) = endpoints::Entity::find_by_id(id)
        .filter(endpoints::Column::TenantId.eq(tenant.id))
        .lock_exclusive()
        .one(&txn)
        .await?
    else {
        return Ok(Rotated::NoEndpoint);
    };
    let now = Utc::now();
    secrets::Entity::update_many()
        .col_expr(secrets::Column::ExpiresAt, Expr::value(expire_others))
        .filter(secrets::Column::EndpointId.eq(id))
        .filter(live(now))
        .filter(
            Condition::any()
                .add(secrets::Column::ExpiresAt.is_null())
                .add(secrets::Column::ExpiresAt.gt(expire_others)),
        )
        .exec(&txn)
        .await?;
    let live_now = secrets::Entity::find()
        .filter(secrets::Column::EndpointId.eq(id))
        .filter(live(now))
        .count(&txn)
        .await?;
    if live_now >= crate::domain::notification::MAX_LIVE_SECRETS_PER_ENDPOINT as u64 {
        return Ok(Rotated::AtCap);
    }
    let secret = insert_secret(&txn, &endpoint, ciphertext, hint, now).await?;
    txn.commit().await?;
    Ok(Rotated::Added(secret))
}

fn live(now: DateTime<Utc>) -> Condition {
    Condition::any()
        .add(secrets::Column::ExpiresAt.is_null())
        .add(secrets::Column::ExpiresAt.gt(now))
}

/// The endpoint's secrets still signing at `now`, newest first.
pub async fn live_secrets<C: ConnectionTrait>(
    db: &C,
    endpoint_id: Uuid,
    now: DateTime<Utc>,
) -> Result<Vec<secrets::Model>, DbErr> {
    secrets::Entity::find()
        .filter(secrets::Column::EndpointId.eq(endpoint_id))
        .filter(live(now))
        .order_by_desc(secrets::Column::Id)
        .all(db)
        .await
}

/// An endpoint by id alone (the delivery worker, which works across tenants).
pub async fn by_id<C: ConnectionTrait>(
    db: &C,
    id: Uuid,
) -> Result<Option<endpoints::Model>, DbErr> {
    endpoints::Entity::find_by_id(id).one(db).await
}

/// The tenant's endpoints that are failing or disabled (at most 100).
pub async fn unhealthy<C: ConnectionTrait>(
    db: &C,
    tenant: &ScopedTenant,
) -> Result<Vec<endpoints::Model>, DbErr> {
    use sea_orm::QuerySelect;
    endpoints::Entity::find()
        .filter(endpoints::Column::TenantId.eq(tenant.id))
        .filter(
            Condition::any()
                .add(endpoints::Column::Enabled.eq(false))
                .add(endpoints::Column::FailingSince.is_not_null()),
        )
        .order_by_asc(endpoints::Column::Id)
        .limit(100)
        .all(db)
        .await
}
