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
    pub mode: crate::domain::StripeMode,
}

pub type ConfigView = (stripe_configs::Model, Vec<webhook_secrets::Model>);

/// What adding a webhook secret did.
pub enum AddSecret<V> {
    Added(V),
    /// There is no config to add it to.
    NoConfig,
    /// [`MAX_LIVE_WEBHOOK_SECRETS`](crate::domain::MAX_LIVE_WEBHOOK_SECRETS) are live
    /// already (after the expiry the request asked for): nothing was changed.
    AtCap,
}

/// Whether `expiries` (of every secret after the request's expiry change) leave room for one more.
pub(super) fn has_room(
    expiries: impl Iterator<Item = Option<DateTime<Utc>>>,
    now: DateTime<Utc>,
) -> bool {
    let live = expiries.filter(|e| e.is_none_or(|at| at > now)).count();
    live < crate::domain::MAX_LIVE_WEBHOOK_SECRETS
}

pub enum DeleteSecret {
    Deleted,
    NotFound,
    /// It is the tenant's last unexpired secret; deleting it would refuse every webhook.
    LastCurrent,
}

impl DeleteSecret {
    /// Why `target` may not be deleted from `secrets` (id, expiry) at `now`, if it may not: it
    /// is not there, or it is the last one still current. The rule for a tenant's secrets and
    /// the platform's alike.
    pub(super) fn refusal(
        secrets: impl Iterator<Item = (Uuid, Option<DateTime<Utc>>)>,
        target: Uuid,
        now: DateTime<Utc>,
    ) -> Option<Self> {
        let current = |expires_at: Option<DateTime<Utc>>| expires_at.is_none_or(|at| at > now);
        let (mut found, mut target_current, mut others_current) = (false, false, false);
        for (id, expires_at) in secrets {
            if id == target {
                found = true;
                target_current = current(expires_at);
            } else {
                others_current |= current(expires_at);
            }
        }
        if !found {
            Some(Self::NotFound)
        } else if target_current && !others_current {
            Some(Self::LastCurrent)
        } else {
            None
        }
    }
}

/// Rows of `expires_at` that would outlive `at` (no expiry, or a later one): those a rotation
/// with an overlap ending at `at` cuts short.
pub(super) fn outlives<C: ColumnTrait>(expires_at: C, at: DateTime<Utc>) -> Condition {
    Condition::any()
        .add(expires_at.is_null())
        .add(expires_at.gt(at))
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
    Ok(mode.map(crate::domain::StripeMode::is_live))
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
