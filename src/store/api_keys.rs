//! Store: tenant API keys (hashes only).
use super::scope::ScopedTenant;
use chrono::Utc;
use entity::api_keys::{ActiveModel, Column, Entity, Model};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, Set,
};
use uuid::Uuid;

pub async fn create<C: ConnectionTrait>(
    db: &C,
    tenant: &ScopedTenant,
    name: String,
    prefix: String,
    key_hash: String,
) -> Result<Model, DbErr> {
    ActiveModel {
        id: Set(Uuid::now_v7()),
        tenant_id: Set(tenant.id),
        name: Set(name),
        prefix: Set(prefix),
        key_hash: Set(key_hash),
        created_at: Set(Utc::now()),
        revoked_at: Set(None),
    }
    .insert(db)
    .await
}

/// Marks the key revoked; `None` when the tenant has no such key. Revoking twice is harmless.
pub async fn revoke<C: ConnectionTrait>(
    db: &C,
    tenant: &ScopedTenant,
    key_id: Uuid,
) -> Result<Option<Model>, DbErr> {
    let Some(key) = Entity::find_by_id(key_id)
        .filter(Column::TenantId.eq(tenant.id))
        .one(db)
        .await?
    else {
        return Ok(None);
    };
    if key.revoked_at.is_some() {
        return Ok(Some(key));
    }
    let mut active: ActiveModel = key.into();
    active.revoked_at = Set(Some(Utc::now()));
    active.update(db).await.map(Some)
}

/// The live (not revoked) key with this hash.
pub async fn find_active_by_hash<C: ConnectionTrait>(
    db: &C,
    key_hash: &str,
) -> Result<Option<Model>, DbErr> {
    Entity::find()
        .filter(Column::KeyHash.eq(key_hash))
        .filter(Column::RevokedAt.is_null())
        .one(db)
        .await
}
