//! Store: the Stripe Connect platform's config — its secret key (encrypted, one row whose id is
//! the nil UUID) and its Connect endpoint's webhook secrets (encrypted) — with the same shapes and
//! rules as a tenant's (`stripe_config`): put replaces both, secrets are added for a rotation, the
//! last current one cannot be deleted.
use super::credentials::{
    AddSecret, DeleteSecret, SealedConfig, SealedWebhookSecret, has_room, outlives,
};
use chrono::{DateTime, Utc};
use entity::{platform_stripe_configs as configs, platform_webhook_secrets as secrets};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ConnectionTrait, DatabaseConnection, DbErr, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect, Set,
};
use uuid::Uuid;

/// The platform's config row's id.
pub const PLATFORM: Uuid = Uuid::nil();

pub type PlatformView = (configs::Model, Vec<secrets::Model>);

/// The platform's config and webhook secrets, if it has a config.
pub async fn get<C: ConnectionTrait>(db: &C) -> Result<Option<PlatformView>, DbErr> {
    let Some(config) = configs::Entity::find_by_id(PLATFORM).one(db).await? else {
        return Ok(None);
    };
    let secrets = secrets::Entity::find()
        .order_by_asc(secrets::Column::Id)
        .all(db)
        .await?;
    Ok(Some((config, secrets)))
}

fn secret_row(secret: SealedWebhookSecret, now: DateTime<Utc>) -> secrets::ActiveModel {
    secrets::ActiveModel {
        id: Set(secret.id),
        secret_ciphertext: Set(secret.ciphertext),
        hint: Set(secret.hint),
        created_at: Set(now),
        expires_at: Set(None),
    }
}

/// Replaces the key and makes `secret` the only webhook secret, in one transaction.
pub async fn put(
    db: &DatabaseConnection,
    config: SealedConfig,
    secret: SealedWebhookSecret,
) -> Result<PlatformView, DbErr> {
    let now = Utc::now();
    let txn = crate::db::begin_write(db).await?;
    let existing = configs::Entity::find_by_id(PLATFORM)
        .lock_exclusive()
        .one(&txn)
        .await?;
    let row = configs::ActiveModel {
        id: Set(PLATFORM),
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
    secrets::Entity::delete_many().exec(&txn).await?;
    secret_row(secret, now).insert(&txn).await?;
    let view = get(&txn).await?;
    txn.commit().await?;
    view.ok_or_else(|| DbErr::RecordNotFound("platform config vanished".into()))
}

/// Adds a secret; with `expire_others_at`, every other secret expires by then at the latest.
/// Refused (nothing changed) when the platform has no config or would have too many live.
pub async fn add_webhook_secret(
    db: &DatabaseConnection,
    secret: SealedWebhookSecret,
    expire_others_at: Option<DateTime<Utc>>,
) -> Result<AddSecret<PlatformView>, DbErr> {
    let now = Utc::now();
    let txn = crate::db::begin_write(db).await?;
    let Some(config) = configs::Entity::find_by_id(PLATFORM)
        .lock_exclusive()
        .one(&txn)
        .await?
    else {
        return Ok(AddSecret::NoConfig);
    };
    if let Some(at) = expire_others_at {
        secrets::Entity::update_many()
            .col_expr(secrets::Column::ExpiresAt, Expr::value(at))
            .filter(outlives(secrets::Column::ExpiresAt, at))
            .exec(&txn)
            .await?;
    }
    let expiries: Vec<Option<DateTime<Utc>>> = secrets::Entity::find()
        .select_only()
        .column(secrets::Column::ExpiresAt)
        .into_tuple()
        .all(&txn)
        .await?;
    if !has_room(expiries.into_iter(), now) {
        return Ok(AddSecret::AtCap);
    }
    secret_row(secret, now).insert(&txn).await?;
    touch(&txn, config, now).await?;
    let view = get(&txn).await?;
    txn.commit().await?;
    Ok(view.map_or(AddSecret::NoConfig, AddSecret::Added))
}

async fn touch<C: ConnectionTrait>(
    db: &C,
    config: configs::Model,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    let mut active: configs::ActiveModel = config.into();
    active.updated_at = Set(now);
    active.update(db).await.map(drop)
}

/// Deletes one webhook secret unless it is the last one still current.
pub async fn delete_webhook_secret(
    db: &DatabaseConnection,
    secret_id: Uuid,
) -> Result<DeleteSecret, DbErr> {
    let now = Utc::now();
    let txn = crate::db::begin_write(db).await?;
    // Two deletes at once must not both see the other's secret as the one that stays.
    let config = configs::Entity::find_by_id(PLATFORM)
        .lock_exclusive()
        .one(&txn)
        .await?;
    let all = secrets::Entity::find().all(&txn).await?;
    let sealed = all.iter().map(|s| (s.id, s.expires_at));
    if let Some(refusal) = DeleteSecret::refusal(sealed, secret_id, now) {
        return Ok(refusal);
    }
    secrets::Entity::delete_by_id(secret_id).exec(&txn).await?;
    if let Some(config) = config {
        touch(&txn, config, now).await?;
    }
    txn.commit().await?;
    Ok(DeleteSecret::Deleted)
}
