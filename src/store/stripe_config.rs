//! Store: a tenant's Stripe config (encrypted key) and webhook secrets (encrypted), changed together.
use super::scope::ScopedTenant;
use chrono::{DateTime, Utc};
use entity::{stripe_configs, webhook_secrets};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, DbErr,
    EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set,
};
use uuid::Uuid;

/// An encrypted webhook secret ready to store (its id is bound into nothing but its row).
pub struct SealedWebhookSecret {
    pub id: Uuid,
    pub ciphertext: String,
    pub hint: String,
}

/// The encrypted secret key and what may be shown of it.
pub struct SealedConfig {
    pub secret_key_ciphertext: String,
    pub secret_key_hint: String,
    pub mode: &'static str,
}

pub type ConfigView = (stripe_configs::Model, Vec<webhook_secrets::Model>);

pub enum DeleteSecret {
    Deleted,
    NotFound,
    /// It is the tenant's last unexpired secret; deleting it would refuse every webhook.
    LastCurrent,
}

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

/// The mode of the key the tenant calls Stripe with — its own, or for a `connected` tenant the
/// platform's — or `None` when it has none.
pub async fn key_mode<C: ConnectionTrait>(
    db: &C,
    tenant: &ScopedTenant,
) -> Result<Option<bool>, DbErr> {
    let mode = if tenant.kind == entity::status::TenantKind::Connected {
        super::platform_config::get(db).await?.map(|(c, _)| c.mode)
    } else {
        get(db, tenant).await?.map(|(c, _)| c.mode)
    };
    Ok(mode.map(|m| m == "live"))
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
/// `None` when the tenant has no Stripe config yet.
pub async fn add_webhook_secret(
    db: &DatabaseConnection,
    tenant: &ScopedTenant,
    secret: SealedWebhookSecret,
    expire_others_at: Option<DateTime<Utc>>,
) -> Result<Option<ConfigView>, DbErr> {
    let now = Utc::now();
    let txn = crate::db::begin_write(db).await?;
    let Some(mut config) = stripe_configs::Entity::find_by_id(tenant.id)
        .one(&txn)
        .await?
    else {
        return Ok(None);
    };
    if let Some(at) = expire_others_at {
        webhook_secrets::Entity::update_many()
            .col_expr(webhook_secrets::Column::ExpiresAt, Expr::value(at))
            .filter(webhook_secrets::Column::TenantId.eq(tenant.id))
            .filter(
                Condition::any()
                    .add(webhook_secrets::Column::ExpiresAt.is_null())
                    .add(webhook_secrets::Column::ExpiresAt.gt(at)),
            )
            .exec(&txn)
            .await?;
    }
    secret_row(tenant.id, secret, now).insert(&txn).await?;
    config = touch(&txn, config, now).await?;
    let secrets = load(&txn, tenant.id)
        .await?
        .map(|(_, s)| s)
        .unwrap_or_default();
    txn.commit().await?;
    Ok(Some((config, secrets)))
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
    if !secrets.iter().any(|s| s.id == secret_id) {
        return Ok(DeleteSecret::NotFound);
    }
    let current_others = secrets
        .iter()
        .filter(|s| s.id != secret_id && s.expires_at.is_none_or(|at| at > now))
        .count();
    let target_current = secrets
        .iter()
        .any(|s| s.id == secret_id && s.expires_at.is_none_or(|at| at > now));
    if target_current && current_others == 0 {
        return Ok(DeleteSecret::LastCurrent);
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
