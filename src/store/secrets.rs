//! Store: every encrypted secret across tenants (Stripe keys, webhook secrets, notification
//! endpoints' secrets), in batches — for `keys rewrap` and the start-up
//! check that the keyring opens what is stored.
use entity::{
    notification_secrets, platform_stripe_configs, platform_webhook_secrets, stripe_configs,
    webhook_secrets,
};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
};
use uuid::Uuid;

/// One stored ciphertext: the row's key, its tenant and the blob.
pub struct StoredBlob {
    pub row_id: Uuid,
    pub tenant_id: Uuid,
    /// The notification endpoint a notification secret is bound to.
    pub endpoint_id: Option<Uuid>,
    pub ciphertext: String,
}

/// Rows of `E` after `after` by `key` (a UUID column), at most `limit`, as blobs.
async fn blobs_after<E, C>(
    db: &C,
    key: E::Column,
    after: Option<Uuid>,
    limit: u64,
    blob: impl Fn(E::Model) -> StoredBlob,
) -> Result<Vec<StoredBlob>, DbErr>
where
    E: EntityTrait,
    C: ConnectionTrait,
{
    let mut q = E::find().order_by_asc(key).limit(limit);
    if let Some(after) = after {
        q = q.filter(key.gt(after));
    }
    Ok(q.all(db).await?.into_iter().map(blob).collect())
}

/// Stripe secret keys after `after` (by tenant id), at most `limit`.
pub async fn secret_keys_after<C: ConnectionTrait>(
    db: &C,
    after: Option<Uuid>,
    limit: u64,
) -> Result<Vec<StoredBlob>, DbErr> {
    use stripe_configs::{Column, Entity};
    blobs_after::<Entity, _>(db, Column::TenantId, after, limit, |m| StoredBlob {
        row_id: m.tenant_id,
        tenant_id: m.tenant_id,
        endpoint_id: None,
        ciphertext: m.secret_key_ciphertext,
    })
    .await
}

/// Webhook secrets after `after` (by id), at most `limit`.
pub async fn webhook_secrets_after<C: ConnectionTrait>(
    db: &C,
    after: Option<Uuid>,
    limit: u64,
) -> Result<Vec<StoredBlob>, DbErr> {
    use webhook_secrets::{Column, Entity};
    blobs_after::<Entity, _>(db, Column::Id, after, limit, |m| StoredBlob {
        row_id: m.id,
        tenant_id: m.tenant_id,
        endpoint_id: None,
        ciphertext: m.secret_ciphertext,
    })
    .await
}

/// Notification endpoints' signing secrets after `after` (by id), at most `limit`.
pub async fn notification_secrets_after<C: ConnectionTrait>(
    db: &C,
    after: Option<Uuid>,
    limit: u64,
) -> Result<Vec<StoredBlob>, DbErr> {
    use notification_secrets::{Column, Entity};
    blobs_after::<Entity, _>(db, Column::Id, after, limit, |m| StoredBlob {
        row_id: m.id,
        tenant_id: m.tenant_id,
        endpoint_id: Some(m.endpoint_id),
        ciphertext: m.secret_ciphertext,
    })
    .await
}

/// Replaces the ciphertext in `blob` of the row of `E` whose `key` is `id`, only if it is still
/// `old` (a concurrent write wins); true when it was replaced.
async fn swap<E, C>(
    db: &C,
    key: E::Column,
    blob: E::Column,
    id: Uuid,
    old: &str,
    new: String,
) -> Result<bool, DbErr>
where
    E: EntityTrait,
    C: ConnectionTrait,
{
    let res = E::update_many()
        .col_expr(blob, Expr::value(new))
        .filter(key.eq(id))
        .filter(blob.eq(old))
        .exec(db)
        .await?;
    Ok(res.rows_affected == 1)
}

/// Replaces a secret key's ciphertext only if it is still `old` (a concurrent PUT wins).
pub async fn swap_secret_key<C: ConnectionTrait>(
    db: &C,
    tenant_id: Uuid,
    old: &str,
    new: String,
) -> Result<bool, DbErr> {
    use stripe_configs::{Column, Entity};
    swap::<Entity, _>(
        db,
        Column::TenantId,
        Column::SecretKeyCiphertext,
        tenant_id,
        old,
        new,
    )
    .await
}

/// Replaces a webhook secret's ciphertext only if it is still `old`.
pub async fn swap_webhook_secret<C: ConnectionTrait>(
    db: &C,
    id: Uuid,
    old: &str,
    new: String,
) -> Result<bool, DbErr> {
    use webhook_secrets::{Column, Entity};
    swap::<Entity, _>(db, Column::Id, Column::SecretCiphertext, id, old, new).await
}

/// Replaces a notification secret's ciphertext only if it is still `old`.
pub async fn swap_notification_secret<C: ConnectionTrait>(
    db: &C,
    id: Uuid,
    old: &str,
    new: String,
) -> Result<bool, DbErr> {
    use notification_secrets::{Column, Entity};
    swap::<Entity, _>(db, Column::Id, Column::SecretCiphertext, id, old, new).await
}

/// The platform's secret key (at most one; `after` any id means none left), as a blob.
pub async fn platform_secret_keys_after<C: ConnectionTrait>(
    db: &C,
    after: Option<Uuid>,
    limit: u64,
) -> Result<Vec<StoredBlob>, DbErr> {
    use platform_stripe_configs::{Column, Entity};
    blobs_after::<Entity, _>(db, Column::Id, after, limit, |m| StoredBlob {
        row_id: m.id,
        tenant_id: Uuid::nil(),
        endpoint_id: None,
        ciphertext: m.secret_key_ciphertext,
    })
    .await
}

/// The platform's Connect webhook secrets after `after` (by id), at most `limit`.
pub async fn platform_webhook_secrets_after<C: ConnectionTrait>(
    db: &C,
    after: Option<Uuid>,
    limit: u64,
) -> Result<Vec<StoredBlob>, DbErr> {
    use platform_webhook_secrets::{Column, Entity};
    blobs_after::<Entity, _>(db, Column::Id, after, limit, |m| StoredBlob {
        row_id: m.id,
        tenant_id: Uuid::nil(),
        endpoint_id: None,
        ciphertext: m.secret_ciphertext,
    })
    .await
}

/// Replaces the platform's secret key ciphertext only if it is still `old`.
pub async fn swap_platform_secret_key<C: ConnectionTrait>(
    db: &C,
    id: Uuid,
    old: &str,
    new: String,
) -> Result<bool, DbErr> {
    use platform_stripe_configs::{Column, Entity};
    swap::<Entity, _>(db, Column::Id, Column::SecretKeyCiphertext, id, old, new).await
}

/// Replaces a platform webhook secret's ciphertext only if it is still `old`.
pub async fn swap_platform_webhook_secret<C: ConnectionTrait>(
    db: &C,
    id: Uuid,
    old: &str,
    new: String,
) -> Result<bool, DbErr> {
    use platform_webhook_secrets::{Column, Entity};
    swap::<Entity, _>(db, Column::Id, Column::SecretCiphertext, id, old, new).await
}
