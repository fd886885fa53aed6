//! Store: Stripe credentials — a secret key (encrypted) and the webhook signing secrets
//! (encrypted) that verify its deliveries — of their one of two owners: a tenant (its own
//! account; rows in `stripe_configs` and `webhook_secrets`) or the Connect platform (one key row
//! whose id is the nil UUID in `platform_stripe_configs`, its Connect endpoint's secrets in
//! `platform_webhook_secrets`). The two table pairs have the same columns; every operation and
//! rule (put replaces both, a rotation adds, at most `MAX_LIVE_WEBHOOK_SECRETS` live, never
//! delete the last current one) is written once below, over [`Tables`].
use super::credential_tables::{Platform, Tables, TenantOwned};
pub use super::credential_tables::{SealedConfig, SealedWebhookSecret, StoredKey, StoredSecret};
use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, DbErr, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect,
};
use uuid::Uuid;

/// The platform's key row's id, and the id its secrets are sealed for.
pub const PLATFORM: Uuid = Uuid::nil();

/// Whose credentials. A tenant's id comes from a scope the application layer checked, or from a
/// row or verified signature that names it (the caches).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Owner {
    Tenant(Uuid),
    Platform,
}

impl Owner {
    /// The id the owner's secrets are sealed for (the tenant's, or [`PLATFORM`]).
    pub fn id(self) -> Uuid {
        match self {
            Owner::Tenant(id) => id,
            Owner::Platform => PLATFORM,
        }
    }
}

/// An owner's key and its webhook secrets (oldest first).
pub struct Stored {
    pub key: StoredKey,
    pub secrets: Vec<StoredSecret>,
}

/// What adding a webhook secret did.
pub enum AddSecret<V> {
    Added(V),
    /// There is no config to add it to.
    NoConfig,
    /// [`MAX_LIVE_WEBHOOK_SECRETS`](crate::domain::MAX_LIVE_WEBHOOK_SECRETS) are live
    /// already (after the expiry the request asked for): nothing was changed.
    AtCap,
}

impl<V> AddSecret<V> {
    /// The same outcome with the added view mapped.
    pub fn map<W>(self, f: impl FnOnce(V) -> W) -> AddSecret<W> {
        match self {
            AddSecret::Added(view) => AddSecret::Added(f(view)),
            AddSecret::NoConfig => AddSecret::NoConfig,
            AddSecret::AtCap => AddSecret::AtCap,
        }
    }
}

pub enum DeleteSecret {
    Deleted,
    NotFound,
    /// It is the owner's last unexpired secret; deleting it would refuse every webhook.
    LastCurrent,
}

/// The owner's key and webhook secrets, if it has a key.
pub async fn get<C: ConnectionTrait>(db: &C, owner: Owner) -> Result<Option<Stored>, DbErr> {
    match owner {
        Owner::Tenant(id) => load::<TenantOwned, _>(db, id).await,
        Owner::Platform => load::<Platform, _>(db, PLATFORM).await,
    }
}

/// Replaces the key and makes `secret` the owner's only webhook secret, in one transaction.
pub async fn put(
    db: &DatabaseConnection,
    owner: Owner,
    config: SealedConfig,
    secret: SealedWebhookSecret,
) -> Result<Stored, DbErr> {
    match owner {
        Owner::Tenant(id) => put_in::<TenantOwned>(db, id, config, secret).await,
        Owner::Platform => put_in::<Platform>(db, PLATFORM, config, secret).await,
    }
}

/// Adds a secret; with `expire_others_at`, every other secret expires by then at the latest.
/// Refused (nothing changed) when the owner has no key or would have too many secrets live.
pub async fn add_webhook_secret(
    db: &DatabaseConnection,
    owner: Owner,
    secret: SealedWebhookSecret,
    expire_others_at: Option<DateTime<Utc>>,
) -> Result<AddSecret<Stored>, DbErr> {
    match owner {
        Owner::Tenant(id) => add_in::<TenantOwned>(db, id, secret, expire_others_at).await,
        Owner::Platform => add_in::<Platform>(db, PLATFORM, secret, expire_others_at).await,
    }
}

/// Deletes one webhook secret unless it is the owner's last one still current.
pub async fn delete_webhook_secret(
    db: &DatabaseConnection,
    owner: Owner,
    secret_id: Uuid,
) -> Result<DeleteSecret, DbErr> {
    match owner {
        Owner::Tenant(id) => delete_in::<TenantOwned>(db, id, secret_id).await,
        Owner::Platform => delete_in::<Platform>(db, PLATFORM, secret_id).await,
    }
}

/// The tenants that have a key of their own (their ids only: no ciphertext is read).
pub(super) async fn tenants_with_keys<C: ConnectionTrait>(db: &C) -> Result<Vec<Uuid>, DbErr> {
    <TenantOwned as Tables>::Key::find()
        .select_only()
        .column(TenantOwned::key_id())
        .into_tuple()
        .all(db)
        .await
}

/// Removes a tenant's own key and secrets (it became `connected`), inside the caller's
/// transaction.
pub(super) async fn retire_tenant<C: ConnectionTrait>(
    db: &C,
    tenant_id: Uuid,
) -> Result<(), DbErr> {
    delete_secrets::<TenantOwned>(db, tenant_id).await?;
    <TenantOwned as Tables>::Key::delete_many()
        .filter(TenantOwned::key_id().eq(tenant_id))
        .exec(db)
        .await?;
    Ok(())
}

async fn load<T: Tables, C: ConnectionTrait>(db: &C, owner: Uuid) -> Result<Option<Stored>, DbErr> {
    let Some(key) = T::Key::find().filter(T::key_id().eq(owner)).one(db).await? else {
        return Ok(None);
    };
    let secrets = T::Secret::find()
        .filter(T::secrets_of(owner))
        .order_by_asc(T::secret_id())
        .all(db)
        .await?;
    Ok(Some(Stored {
        key: T::key(key),
        secrets: secrets.into_iter().map(T::secret).collect(),
    }))
}

async fn put_in<T: Tables>(
    db: &DatabaseConnection,
    owner: Uuid,
    config: SealedConfig,
    secret: SealedWebhookSecret,
) -> Result<Stored, DbErr> {
    let now = Utc::now();
    let txn = crate::db::begin_write(db).await?;
    // Created once; later puts replace what the key is and when it changed.
    T::Key::insert(T::key_row(owner, config, now))
        .on_conflict(
            OnConflict::column(T::key_id())
                .update_columns(T::replaced_on_put())
                .to_owned(),
        )
        .exec_without_returning(&txn)
        .await?;
    delete_secrets::<T>(&txn, owner).await?;
    T::Secret::insert(T::secret_row(owner, secret, now))
        .exec_without_returning(&txn)
        .await?;
    let stored = load::<T, _>(&txn, owner).await?;
    txn.commit().await?;
    stored.ok_or_else(|| DbErr::RecordNotFound("Stripe credentials vanished".into()))
}

async fn add_in<T: Tables>(
    db: &DatabaseConnection,
    owner: Uuid,
    secret: SealedWebhookSecret,
    expire_others_at: Option<DateTime<Utc>>,
) -> Result<AddSecret<Stored>, DbErr> {
    let now = Utc::now();
    let txn = crate::db::begin_write(db).await?;
    // Two adds at once must not both count the room left before the other's insert.
    if !lock_key::<T>(&txn, owner).await? {
        return Ok(AddSecret::NoConfig);
    }
    if let Some(at) = expire_others_at {
        T::Secret::update_many()
            .col_expr(T::secret_expires_at(), Expr::value(at))
            .filter(T::secrets_of(owner))
            .filter(outlives(T::secret_expires_at(), at))
            .exec(&txn)
            .await?;
    }
    let expiries: Vec<Option<DateTime<Utc>>> = T::Secret::find()
        .select_only()
        .column(T::secret_expires_at())
        .filter(T::secrets_of(owner))
        .into_tuple()
        .all(&txn)
        .await?;
    if !has_room(expiries.into_iter(), now) {
        return Ok(AddSecret::AtCap);
    }
    T::Secret::insert(T::secret_row(owner, secret, now))
        .exec_without_returning(&txn)
        .await?;
    touch::<T>(&txn, owner, now).await?;
    let stored = load::<T, _>(&txn, owner).await?;
    txn.commit().await?;
    Ok(stored.map_or(AddSecret::NoConfig, AddSecret::Added))
}

async fn delete_in<T: Tables>(
    db: &DatabaseConnection,
    owner: Uuid,
    secret_id: Uuid,
) -> Result<DeleteSecret, DbErr> {
    let now = Utc::now();
    let txn = crate::db::begin_write(db).await?;
    // Two deletes at once must not both see the other's secret as the one that stays: the key
    // row is locked first (PostgreSQL; SQLite's write transaction is exclusive anyway).
    let has_key = lock_key::<T>(&txn, owner).await?;
    let secrets: Vec<(Uuid, Option<DateTime<Utc>>)> = T::Secret::find()
        .select_only()
        .columns([T::secret_id(), T::secret_expires_at()])
        .filter(T::secrets_of(owner))
        .into_tuple()
        .all(&txn)
        .await?;
    if let Some(refusal) = DeleteSecret::refusal(secrets.into_iter(), secret_id, now) {
        return Ok(refusal);
    }
    let deleted = T::Secret::delete_many()
        .filter(T::secrets_of(owner))
        .filter(T::secret_id().eq(secret_id))
        .exec(&txn)
        .await?;
    if deleted.rows_affected == 0 {
        return Ok(DeleteSecret::NotFound);
    }
    if has_key {
        touch::<T>(&txn, owner, now).await?;
    }
    txn.commit().await?;
    Ok(DeleteSecret::Deleted)
}

async fn delete_secrets<T: Tables>(db: &impl ConnectionTrait, owner: Uuid) -> Result<(), DbErr> {
    T::Secret::delete_many()
        .filter(T::secrets_of(owner))
        .exec(db)
        .await
        .map(drop)
}

/// Locks the owner's key row for the transaction; false when it has none.
async fn lock_key<T: Tables>(txn: &impl ConnectionTrait, owner: Uuid) -> Result<bool, DbErr> {
    let found: Option<Uuid> = T::Key::find()
        .select_only()
        .column(T::key_id())
        .filter(T::key_id().eq(owner))
        .lock_exclusive()
        .into_tuple()
        .one(txn)
        .await?;
    Ok(found.is_some())
}

/// Marks the owner's key as changed at `now` (a secret was added or deleted).
async fn touch<T: Tables>(
    db: &impl ConnectionTrait,
    owner: Uuid,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    T::Key::update_many()
        .col_expr(T::key_updated_at(), Expr::value(now))
        .filter(T::key_id().eq(owner))
        .exec(db)
        .await
        .map(drop)
}

/// Whether `expiries` (of every secret after the request's expiry change) leave room for one more.
fn has_room(expiries: impl Iterator<Item = Option<DateTime<Utc>>>, now: DateTime<Utc>) -> bool {
    let live = expiries.filter(|e| e.is_none_or(|at| at > now)).count();
    live < crate::domain::MAX_LIVE_WEBHOOK_SECRETS
}

impl DeleteSecret {
    /// Why `target` may not be deleted from `secrets` (id, expiry) at `now`, if it may not: it
    /// is not there, or it is the last one still current.
    fn refusal(
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
fn outlives<C: ColumnTrait>(expires_at: C, at: DateTime<Utc>) -> Condition {
    Condition::any()
        .add(expires_at.is_null())
        .add(expires_at.gt(at))
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
