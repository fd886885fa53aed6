//! Job: re-encrypt every stored secret under the newest master key (`gateway keys rewrap`), and
//! check at start-up that the keyring opens every stored secret.
use crate::crypto::{Field, Keyring, KeyringError, SealedBlob};
use crate::store::secrets::{self, StoredBlob};
use sea_orm::{DatabaseConnection, DbErr};
use uuid::Uuid;

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct RewrapReport {
    /// Secrets re-encrypted under the newest key.
    pub rewrapped: u64,
    /// Secrets already under the newest key.
    pub current: u64,
    /// Secrets changed by someone else between read and write (already under the newest key).
    pub raced: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum KeysError {
    #[error(transparent)]
    Db(#[from] DbErr),
    #[error("{what} of tenant {tenant_id}: {source}")]
    Crypto {
        what: &'static str,
        tenant_id: Uuid,
        source: KeyringError,
    },
}

#[derive(Clone, Copy)]
enum Kind {
    SecretKey,
    WebhookSecret,
    NotificationSecret,
    PlatformSecretKey,
    PlatformWebhookSecret,
}

impl Kind {
    fn field(self, blob: &StoredBlob) -> Field {
        match self {
            Kind::SecretKey => Field::StripeSecretKey,
            Kind::WebhookSecret => Field::WebhookSecret,
            Kind::NotificationSecret => {
                Field::NotificationSecret(blob.endpoint_id.unwrap_or_default())
            }
            Kind::PlatformSecretKey => Field::PlatformSecretKey,
            Kind::PlatformWebhookSecret => Field::PlatformWebhookSecret,
        }
    }
    fn what(self) -> &'static str {
        match self {
            Kind::SecretKey => "Stripe secret key",
            Kind::WebhookSecret => "webhook secret",
            Kind::NotificationSecret => "notification endpoint secret",
            Kind::PlatformSecretKey => "platform Stripe secret key",
            Kind::PlatformWebhookSecret => "platform Connect webhook secret",
        }
    }
    async fn batch(
        self,
        db: &DatabaseConnection,
        after: Option<Uuid>,
        n: u64,
    ) -> Result<Vec<StoredBlob>, DbErr> {
        match self {
            Kind::SecretKey => secrets::secret_keys_after(db, after, n).await,
            Kind::WebhookSecret => secrets::webhook_secrets_after(db, after, n).await,
            Kind::NotificationSecret => secrets::notification_secrets_after(db, after, n).await,
            Kind::PlatformSecretKey => secrets::platform_secret_keys_after(db, after, n).await,
            Kind::PlatformWebhookSecret => {
                secrets::platform_webhook_secrets_after(db, after, n).await
            }
        }
    }
    async fn swap(
        self,
        db: &DatabaseConnection,
        blob: &StoredBlob,
        new: String,
    ) -> Result<bool, DbErr> {
        match self {
            Kind::SecretKey => {
                secrets::swap_secret_key(db, blob.row_id, &blob.ciphertext, new).await
            }
            Kind::WebhookSecret => {
                secrets::swap_webhook_secret(db, blob.row_id, &blob.ciphertext, new).await
            }
            Kind::NotificationSecret => {
                secrets::swap_notification_secret(db, blob.row_id, &blob.ciphertext, new).await
            }
            Kind::PlatformSecretKey => {
                secrets::swap_platform_secret_key(db, blob.row_id, &blob.ciphertext, new).await
            }
            Kind::PlatformWebhookSecret => {
                secrets::swap_platform_webhook_secret(db, blob.row_id, &blob.ciphertext, new).await
            }
        }
    }
}

/// Visits every stored secret in batches of `batch`.
async fn for_each_blob<F>(db: &DatabaseConnection, batch: u64, mut f: F) -> Result<(), KeysError>
where
    F: AsyncFnMut(Kind, StoredBlob) -> Result<(), KeysError>,
{
    for kind in [
        Kind::SecretKey,
        Kind::WebhookSecret,
        Kind::NotificationSecret,
        Kind::PlatformSecretKey,
        Kind::PlatformWebhookSecret,
    ] {
        let mut after = None;
        loop {
            let rows = kind.batch(db, after, batch).await?;
            let Some(last) = rows.last().map(|b| b.row_id) else {
                break;
            };
            for blob in rows {
                f(kind, blob).await?;
            }
            after = Some(last);
        }
    }
    Ok(())
}

/// Re-encrypts, in batches, every secret not yet under the newest key. Each row is swapped only
/// if unchanged since it was read, so it is safe while `serve` runs.
pub async fn rewrap(
    db: &DatabaseConnection,
    keyring: &Keyring,
    batch: u64,
) -> Result<RewrapReport, KeysError> {
    let mut report = RewrapReport::default();
    for_each_blob(db, batch.max(1), async |kind, blob| {
        let crypto = |source| KeysError::Crypto {
            what: kind.what(),
            tenant_id: blob.tenant_id,
            source,
        };
        let sealed = SealedBlob::parse(&blob.ciphertext).map_err(crypto)?;
        if sealed.key_id == keyring.current_id() {
            report.current += 1;
            return Ok(());
        }
        let plain = keyring
            .open(blob.tenant_id, kind.field(&blob), &blob.ciphertext)
            .map_err(crypto)?;
        let resealed = keyring.seal(blob.tenant_id, kind.field(&blob), &plain);
        if kind.swap(db, &blob, resealed).await? {
            report.rewrapped += 1;
        } else {
            report.raced += 1;
        }
        Ok(())
    })
    .await?;
    Ok(report)
}

/// Opens every stored secret; the first that does not open is the error. Returns how many opened.
pub async fn verify_all(db: &DatabaseConnection, keyring: &Keyring) -> Result<u64, KeysError> {
    let mut opened = 0u64;
    for_each_blob(db, 500, async |kind, blob| {
        keyring
            .open(blob.tenant_id, kind.field(&blob), &blob.ciphertext)
            .map_err(|source| KeysError::Crypto {
                what: kind.what(),
                tenant_id: blob.tenant_id,
                source,
            })?;
        opened += 1;
        Ok(())
    })
    .await?;
    Ok(opened)
}
