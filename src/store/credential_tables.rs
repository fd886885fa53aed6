//! Store: the two table pairs Stripe credentials live in, described once each so that
//! `credentials` writes every operation once. A tenant's rows carry its id (`stripe_configs`
//! keyed by `tenant_id`, `webhook_secrets.tenant_id`); the platform's are the only rows of
//! theirs (`platform_stripe_configs` keyed by the nil id, `platform_webhook_secrets`). The row
//! types both pairs are written from and read into are here too.
use chrono::{DateTime, Utc};
use entity::{platform_stripe_configs, platform_webhook_secrets, stripe_configs, webhook_secrets};
use sea_orm::{ColumnTrait, Condition, EntityTrait, Set};
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

/// A stored key, whichever owner's.
pub struct StoredKey {
    pub secret_key_ciphertext: String,
    pub secret_key_hint: String,
    pub mode: crate::domain::StripeMode,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A stored webhook secret, whichever owner's.
pub struct StoredSecret {
    pub id: Uuid,
    pub ciphertext: String,
    pub hint: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
}

/// One owner kind's key table and secrets table.
pub(super) trait Tables {
    type Key: EntityTrait;
    type Secret: EntityTrait;

    /// The key table's owner column (its primary key).
    fn key_id() -> <Self::Key as EntityTrait>::Column;
    fn key_updated_at() -> <Self::Key as EntityTrait>::Column;
    /// What a put replaces in an existing key row (not when it was created).
    fn replaced_on_put() -> [<Self::Key as EntityTrait>::Column; 4];
    fn key_row(
        owner: Uuid,
        config: SealedConfig,
        now: DateTime<Utc>,
    ) -> <Self::Key as EntityTrait>::ActiveModel;
    fn key(model: <Self::Key as EntityTrait>::Model) -> StoredKey;

    fn secret_id() -> <Self::Secret as EntityTrait>::Column;
    fn secret_expires_at() -> <Self::Secret as EntityTrait>::Column;
    /// The owner's rows of the secrets table.
    fn secrets_of(owner: Uuid) -> Condition;
    fn secret_row(
        owner: Uuid,
        secret: SealedWebhookSecret,
        now: DateTime<Utc>,
    ) -> <Self::Secret as EntityTrait>::ActiveModel;
    fn secret(model: <Self::Secret as EntityTrait>::Model) -> StoredSecret;
}

/// A tenant's own credentials.
pub(super) struct TenantOwned;
/// The Connect platform's credentials.
pub(super) struct Platform;

/// The same columns under two entities: each impl only names its own.
macro_rules! tables {
    ($owner:ty, $keys:ident, $key_id:ident, $secrets:ident, |$id:ident| $secrets_of:expr,
     $key_owner:ident, [$($secret_owner:ident)?]) => {
        impl Tables for $owner {
            type Key = $keys::Entity;
            type Secret = $secrets::Entity;

            fn key_id() -> $keys::Column {
                $keys::Column::$key_id
            }
            fn key_updated_at() -> $keys::Column {
                $keys::Column::UpdatedAt
            }
            fn replaced_on_put() -> [$keys::Column; 4] {
                use $keys::Column as C;
                [C::SecretKeyCiphertext, C::SecretKeyHint, C::Mode, C::UpdatedAt]
            }
            fn key_row(owner: Uuid, config: SealedConfig, now: DateTime<Utc>) -> $keys::ActiveModel {
                $keys::ActiveModel {
                    $key_owner: Set(owner),
                    secret_key_ciphertext: Set(config.secret_key_ciphertext),
                    secret_key_hint: Set(config.secret_key_hint),
                    mode: Set(config.mode),
                    created_at: Set(now),
                    updated_at: Set(now),
                }
            }
            fn key(m: $keys::Model) -> StoredKey {
                StoredKey {
                    secret_key_ciphertext: m.secret_key_ciphertext,
                    secret_key_hint: m.secret_key_hint,
                    mode: m.mode,
                    created_at: m.created_at,
                    updated_at: m.updated_at,
                }
            }

            fn secret_id() -> $secrets::Column {
                $secrets::Column::Id
            }
            fn secret_expires_at() -> $secrets::Column {
                $secrets::Column::ExpiresAt
            }
            fn secrets_of($id: Uuid) -> Condition {
                $secrets_of
            }
            fn secret_row(
                #[allow(unused_variables)] owner: Uuid,
                secret: SealedWebhookSecret,
                now: DateTime<Utc>,
            ) -> $secrets::ActiveModel {
                $secrets::ActiveModel {
                    id: Set(secret.id),
                    secret_ciphertext: Set(secret.ciphertext),
                    hint: Set(secret.hint),
                    created_at: Set(now),
                    expires_at: Set(None),
                    $($secret_owner: Set(owner),)?
                }
            }
            fn secret(m: $secrets::Model) -> StoredSecret {
                StoredSecret {
                    id: m.id,
                    ciphertext: m.secret_ciphertext,
                    hint: m.hint,
                    created_at: m.created_at,
                    expires_at: m.expires_at,
                }
            }
        }
    };
}

tables!(
    TenantOwned,
    stripe_configs,
    TenantId,
    webhook_secrets,
    |owner| Condition::all().add(webhook_secrets::Column::TenantId.eq(owner)),
    tenant_id,
    [tenant_id]
);
// The platform's secrets table holds only its secrets: every row is the owner's.
tables!(
    Platform,
    platform_stripe_configs,
    Id,
    platform_webhook_secrets,
    |_owner| Condition::all(),
    id,
    []
);
