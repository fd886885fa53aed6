//! Store: a tenant's Stripe config (encrypted key) and webhook secrets (encrypted), changed together.
pub use super::credentials::{AddSecret, DeleteSecret, SealedConfig, SealedWebhookSecret};
use super::credentials::{has_room, outlives};
use super::scope::ScopedTenant;
use chrono::{DateTime, Utc};
use entity::{stripe_configs, webhook_secrets};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, DbErr, EntityTrait,
    QueryFilter, QueryOrder, QuerySelect, Set,
};
use uuid::Uuid;

pub type ConfigView = (stripe_configs::Model, Vec<webhook_secrets::Model>);

/// The tenant's Stripe config and webhook secrets, if it has a config.
pub async fn get<C: ConnectionTrait>(
    db: &C,
    tenant: &ScopedTenant,
) -> Result<Option<ConfigView>, DbErr> {
    load(db, tenant.id).await
}

/// [`get`] by id, for the paths that act for a tenant a verified signature or a stored row
/// names: the webhook tenant cache, the Stripe client cache, reconciliation runs.
pub async fn load<C: ConnectionTrait>(
    db: &C,
    tenant_id: Uuid,
) -> Result<Option<ConfigView>, DbErr> {
    let Some(config) = stripe_configs::Entity::find_by_id(tenant_id)
        .one(db)
        .await?
    else {
        return Ok(None);
    };
    let secrets = webhook_secrets::Entity::find()
        .filter(webhook_secrets::Column::TenantId.eq(tenant_id))
        .order_by_asc(webhook_secrets::Column::Id)
        .all(db)
        .await?;
    Ok(Some((config, secrets)))
}

fn secret_row(
    tenant_id: Uuid,
    secret: SealedWebhookSecret,
    now: DateTime<Utc>,
) -> webhook_secrets::ActiveModel {
    webhook_secrets::ActiveModel {
        id: Set(secret.id),
        tenant_id: Set(tenant_id),
        secret_ciphertext: Set(secret.ciphertext),
        hint: Set(secret.hint),
        created_at: Set(now),
        expires_at: Set(None),
    }
}

/// Replaces the key and makes `secret` the tenant's only webhook secret, in one transaction.
pub async fn put(
    db: &DatabaseConnection,
    tenant: &ScopedTenant,
    config: SealedConfig,
    secret: SealedWebhookSecret,
) -> Result<ConfigView, DbErr> {
    let now = Utc::now();
    let txn = crate::db::begin_write(db).await?;
    let existing = stripe_configs::Entity::find_by_id(tenant.id)
        .one(&txn)
        .await?;
    let row = stripe_configs::ActiveModel {
        tenant_id: Set(tenant.id),
        secret_key_ciphertext: Set(config.secret_key_ciphertext),
        secret_key_hint: Set(config.secret_key_hint),
        mode: Set(config.mode.to_owned()),
        created_at: Set(existing.as_ref().map_or(now, |e| e.created_at)),
        updated_at: Set(now),
    };
    if existing.is_some() {
        row.update(&txn).await?;
    } else {
        row.insert(&txn).await?;
    }
    webhook_secrets::Entity::delete_many()
        .filter(webhook_secrets::Column::TenantId.eq(tenant.id))
        .exec(&txn)
        .await?;
    secret_row(tenant.id, secret, now).insert(&txn).await?;
    let view = load(&txn, tenant.id).await?;
    txn.commit().await?;
    view.ok_or_else(|| DbErr::RecordNotFound("stripe config vanished".into()))
}

/// Adds a secret; with `expire_others_at`, every other secret expires by then at the latest.
/// Refused (nothing changed) when the tenant has no Stripe config or would have too many live.
pub async fn add_webhook_secret(
    db: &DatabaseConnection,
    tenant: &ScopedTenant,
    secret: SealedWebhookSecret,
    expire_others_at: Option<DateTime<Utc>>,
) -> Result<AddSecret<ConfigView>, DbErr> {
    let now = Utc::now();
    let txn = crate::db::begin_write(db).await?;
    // Two adds at once must not both count the room left before the other's insert.
    let Some(mut config) = stripe_configs::Entity::find_by_id(tenant.id)
        .lock_exclusive()
        .one(&txn)
        .await?
    else {
        return Ok(AddSecret::NoConfig);
    };
    if let Some(at) = expire_others_at {
        webhook_secrets::Entity::update_many()
            .col_expr(webhook_secrets::Column::ExpiresAt, Expr::value(at))
            .filter(webhook_secrets::Column::TenantId.eq(tenant.id))
            .filter(outlives(webhook_secrets::Column::ExpiresAt, at))
            .exec(&txn)
            .await?;
    }
    let expiries: Vec<Option<DateTime<Utc>>> = webhook_secrets::Entity::find()
        .select_only()
        .column(webhook_secrets::Column::ExpiresAt)
        .filter(webhook_secrets::Column::TenantId.eq(tenant.id))
        .into_tuple()
        .all(&txn)
        .await?;
    if !has_room(expiries.into_iter(), now) {
        return Ok(AddSecret::AtCap);
    }
    secret_row(tenant.id, secret, now).insert(&txn).await?;
    config = touch(&txn, config, now).await?;
    let secrets = load(&txn, tenant.id)
        .await?
        .map(|(_, s)| s)
        .unwrap_or_default();
    txn.commit().await?;
    Ok(AddSecret::Added((config, secrets)))
}

async fn touch<C: ConnectionTrait>(
    db: &C,
    config: stripe_configs::Model,
    now: DateTime<Utc>,
) -> Result<stripe_configs::Model, DbErr> {
    let mut active: stripe_configs::ActiveModel = config.into();
    active.updated_at = Set(now);
    active.update(db).await
}

/// Deletes one webhook secret unless it is the last one still current.
pub async fn delete_webhook_secret(
    db: &DatabaseConnection,
    tenant: &ScopedTenant,
    secret_id: Uuid,
) -> Result<DeleteSecret, DbErr> {
    let now = Utc::now();
    let txn = crate::db::begin_write(db).await?;
    // Two deletes at once must not both see the other's secret as the one that stays: the
    // config row is locked first (PostgreSQL; SQLite's write transaction is exclusive anyway).
    let config = stripe_configs::Entity::find_by_id(tenant.id)
        .lock_exclusive()
        .one(&txn)
        .await?;
    let secrets = webhook_secrets::Entity::find()
        .filter(webhook_secrets::Column::TenantId.eq(tenant.id))
        .all(&txn)
        .await?;
    let sealed = secrets.iter().map(|s| (s.id, s.expires_at));
    if let Some(refusal) = DeleteSecret::refusal(sealed, secret_id, now) {
        return Ok(refusal);
    }
    let deleted = webhook_secrets::Entity::delete_many()
        .filter(webhook_secrets::Column::TenantId.eq(tenant.id))
        .filter(webhook_secrets::Column::Id.eq(secret_id))
        .exec(&txn)
        .await?;
    if deleted.rows_affected == 0 {
        return Ok(DeleteSecret::NotFound);
    }
    if let Some(config) = config {
        touch(&txn, config, now).await?;
    }
    txn.commit().await?;
    Ok(DeleteSecret::Deleted)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_last_current_secret_is_kept() {
        let now = Utc::now();
        let (a, b) = (Uuid::now_v7(), Uuid::now_v7());
        let past = Some(now - chrono::TimeDelta::seconds(1));
        let refusal = |rows: &[(Uuid, Option<DateTime<Utc>>)], target| {
            DeleteSecret::refusal(rows.iter().copied(), target, now)
        };
        assert!(matches!(
            refusal(&[(a, None)], b),
            Some(DeleteSecret::NotFound)
        ));
        assert!(matches!(
            refusal(&[(a, None)], a),
            Some(DeleteSecret::LastCurrent)
        ));
        assert!(matches!(
            refusal(&[(a, None), (b, past)], a),
            Some(DeleteSecret::LastCurrent)
        ));
        assert!(
            refusal(&[(a, None), (b, past)], b).is_none(),
            "an expired one may go"
        );
        assert!(refusal(&[(a, None), (b, None)], a).is_none());
    }
}
