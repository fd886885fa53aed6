//! Master keyring and AES-256-GCM sealing. The newest key encrypts, every key decrypts; each blob
//! names the key that made it and is bound by associated data to its tenant and field.
use super::secret::{SecretText, fill_random};
use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Key, Nonce};
use base64::Engine as _;
use std::fmt;
use uuid::Uuid;
use zeroize::Zeroizing;

const BLOB_VERSION: &str = "gw1";
const NONCE_LEN: usize = 12;

/// Which secret a ciphertext holds; part of the associated data.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Field {
    StripeSecretKey,
    WebhookSecret,
    /// A notification endpoint's signing secret: bound to the endpoint as well as the tenant.
    NotificationSecret(Uuid),
    /// The Stripe Connect platform's secret key: bound to the platform scope, no tenant.
    PlatformSecretKey,
    /// A signing secret of the platform's Connect endpoint: the platform scope, no tenant.
    PlatformWebhookSecret,
}

impl Field {
    fn name(self) -> &'static str {
        match self {
            Field::StripeSecretKey => "stripe_secret_key",
            Field::WebhookSecret => "webhook_secret",
            Field::NotificationSecret(_) => "notification_secret",
            Field::PlatformSecretKey => "stripe_secret_key",
            Field::PlatformWebhookSecret => "webhook_secret",
        }
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum KeyringError {
    #[error("no master key given")]
    Empty,
    #[error("master key entry {0} is not `id:base64(32 bytes)`")]
    Malformed(usize),
    #[error("master key id {0:?} must be 1–32 characters of A–Z, a–z, 0–9, `_` or `-`")]
    BadId(String),
    #[error("master key {0:?} is listed twice")]
    Duplicate(String),
    #[error("stored secret is not a gateway ciphertext")]
    BadBlob,
    #[error("stored secret was encrypted with master key {0:?}, which is not in the keyring")]
    UnknownKey(String),
    #[error(
        "stored secret does not decrypt with master key {0:?} (wrong key, or moved between tenants or fields)"
    )]
    Decrypt(String),
}

struct MasterKey {
    id: String,
    cipher: Aes256Gcm,
    /// HMAC-SHA256(master key, "gateway/v1|capability"): signs capability tokens (`capability`),
    /// so no encryption key is ever used for anything else.
    capability_key: Zeroizing<[u8; 32]>,
}

/// The master keys, newest first.
pub struct Keyring {
    keys: Vec<MasterKey>,
}

impl fmt::Debug for Keyring {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ids: Vec<&str> = self.keys.iter().map(|k| k.id.as_str()).collect();
        f.debug_struct("Keyring").field("key_ids", &ids).finish()
    }
}

/// A parsed stored blob: `gw1:<key id>:<base64url(nonce ‖ ciphertext ‖ tag)>`.
pub struct SealedBlob<'a> {
    pub key_id: &'a str,
    body: &'a str,
}

impl<'a> SealedBlob<'a> {
    pub fn parse(blob: &'a str) -> Result<Self, KeyringError> {
        let mut parts = blob.splitn(3, ':');
        match (parts.next(), parts.next(), parts.next()) {
            (Some(BLOB_VERSION), Some(key_id), Some(body)) if !key_id.is_empty() => {
                Ok(Self { key_id, body })
            }
            _ => Err(KeyringError::BadBlob),
        }
    }
}

fn valid_id(id: &str) -> bool {
    (1..=32).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// What a ciphertext is bound to: the tenant and field (and endpoint), or the platform scope and
/// field — so no blob opens in another tenant's row, another field, or the other scope.
fn aad(tenant_id: Uuid, field: Field) -> String {
    match field {
        Field::PlatformSecretKey | Field::PlatformWebhookSecret => {
            format!("gateway/v1|platform|field={}", field.name())
        }
        Field::NotificationSecret(endpoint) => format!(
            "gateway/v1|tenant={tenant_id}|field={}|endpoint={endpoint}",
            field.name()
        ),
        _ => format!("gateway/v1|tenant={tenant_id}|field={}", field.name()),
    }
}

fn derive(master: &[u8], label: &[u8]) -> Zeroizing<[u8; 32]> {
    use hmac::{KeyInit as _, Mac};
    #[allow(clippy::expect_used)]
    let mut mac =
        hmac::Hmac::<sha2::Sha256>::new_from_slice(master).expect("HMAC takes a key of any length");
    mac.update(label);
    Zeroizing::new(mac.finalize().into_bytes().into())
}

impl Keyring {
    /// Parses `id:base64(32 bytes)[,id:base64(32 bytes)…]`; the first key encrypts.
    pub fn parse(spec: &str) -> Result<Self, KeyringError> {
        let mut keys: Vec<MasterKey> = Vec::new();
        for (i, entry) in spec
            .split([',', '\n'])
            .map(str::trim)
            .filter(|e| !e.is_empty() && !e.starts_with('#'))
            .enumerate()
        {
            let (id, b64) = entry
                .split_once(':')
                .ok_or(KeyringError::Malformed(i + 1))?;
            if !valid_id(id) {
                return Err(KeyringError::BadId(id.to_owned()));
            }
            if keys.iter().any(|k| k.id == id) {
                return Err(KeyringError::Duplicate(id.to_owned()));
            }
            let raw = Zeroizing::new(
                base64::engine::general_purpose::STANDARD
                    .decode(b64.trim())
                    .map_err(|_| KeyringError::Malformed(i + 1))?,
            );
            let key = Key::<Aes256Gcm>::try_from(raw.as_slice())
                .map_err(|_| KeyringError::Malformed(i + 1))?;
            keys.push(MasterKey {
                id: id.to_owned(),
                cipher: Aes256Gcm::new(&key),
                capability_key: derive(raw.as_slice(), b"gateway/v1|capability"),
            });
        }
        if keys.is_empty() {
            return Err(KeyringError::Empty);
        }
        Ok(Self { keys })
    }

    /// A new key line `id:base64(32 random bytes)` for `GATEWAY_MASTER_KEYS`.
    pub fn generate_line(id: &str) -> Result<SecretText, KeyringError> {
        if !valid_id(id) {
            return Err(KeyringError::BadId(id.to_owned()));
        }
        let mut raw = Zeroizing::new([0u8; 32]);
        fill_random(raw.as_mut_slice());
        let b64 = Zeroizing::new(base64::engine::general_purpose::STANDARD.encode(raw.as_slice()));
        Ok(SecretText::new(format!("{id}:{}", b64.as_str())))
    }

    /// The capability-signing keys, newest (the one that signs) first.
    pub(super) fn capability_keys(&self) -> impl Iterator<Item = &[u8; 32]> {
        self.keys.iter().map(|k| &*k.capability_key)
    }

    /// The id of the key that encrypts.
    pub fn current_id(&self) -> &str {
        &self.keys[0].id
    }

    pub fn key_ids(&self) -> impl Iterator<Item = &str> {
        self.keys.iter().map(|k| k.id.as_str())
    }

    /// Encrypts `plaintext` for `tenant_id`'s `field` under the newest key.
    pub fn seal(&self, tenant_id: Uuid, field: Field, plaintext: &SecretText) -> String {
        let key = &self.keys[0];
        let mut nonce = [0u8; NONCE_LEN];
        fill_random(&mut nonce);
        let aad = aad(tenant_id, field);
        #[allow(clippy::expect_used)]
        let ciphertext = key
            .cipher
            .encrypt(
                &Nonce::from(nonce),
                Payload {
                    msg: plaintext.expose().as_bytes(),
                    aad: aad.as_bytes(),
                },
            )
            // AES-GCM encryption only fails past 64 GiB of plaintext.
            .expect("AES-GCM encryption of a short secret cannot fail");
        let mut body = Vec::with_capacity(NONCE_LEN + ciphertext.len());
        body.extend_from_slice(&nonce);
        body.extend_from_slice(&ciphertext);
        format!(
            "{BLOB_VERSION}:{}:{}",
            key.id,
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(body)
        )
    }

    /// Decrypts a blob made by [`Keyring::seal`] for the same tenant and field.
    pub fn open(
        &self,
        tenant_id: Uuid,
        field: Field,
        blob: &str,
    ) -> Result<SecretText, KeyringError> {
        let sealed = SealedBlob::parse(blob)?;
        let key = self
            .keys
            .iter()
            .find(|k| k.id == sealed.key_id)
            .ok_or_else(|| KeyringError::UnknownKey(sealed.key_id.to_owned()))?;
        let body = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(sealed.body)
            .map_err(|_| KeyringError::BadBlob)?;
        if body.len() < NONCE_LEN + 16 {
            return Err(KeyringError::BadBlob);
        }
        let (nonce, ciphertext) = body.split_at(NONCE_LEN);
        let nonce = Nonce::try_from(nonce).map_err(|_| KeyringError::BadBlob)?;
        let aad = aad(tenant_id, field);
        let plain = Zeroizing::new(
            key.cipher
                .decrypt(
                    &nonce,
                    Payload {
                        msg: ciphertext,
                        aad: aad.as_bytes(),
                    },
                )
                .map_err(|_| KeyringError::Decrypt(key.id.clone()))?,
        );
        let text = std::str::from_utf8(&plain).map_err(|_| KeyringError::BadBlob)?;
        Ok(SecretText::new(text))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn ring(ids: &[&str]) -> String {
        ids.iter()
            .map(|id| Keyring::generate_line(id).unwrap().expose().to_owned())
            .collect::<Vec<_>>()
            .join(",")
    }

    #[test]
    fn round_trip_and_binding() {
        let k = Keyring::parse(&ring(&["k1"])).unwrap();
        let t1 = Uuid::new_v4();
        let t2 = Uuid::new_v4();
        let secret = SecretText::new("sk_test_abc");
        let blob = k.seal(t1, Field::StripeSecretKey, &secret);
        assert!(blob.starts_with("gw1:k1:"));
        assert!(!blob.contains("sk_test"));
        assert_eq!(
            k.open(t1, Field::StripeSecretKey, &blob).unwrap().expose(),
            "sk_test_abc"
        );
        assert!(k.open(t2, Field::StripeSecretKey, &blob).is_err());
        assert!(k.open(t1, Field::WebhookSecret, &blob).is_err());
        // Two seals of the same secret differ (random nonce).
        assert_ne!(blob, k.seal(t1, Field::StripeSecretKey, &secret));
        // The platform scope and a tenant's never open each other's blobs.
        let platform = k.seal(Uuid::nil(), Field::PlatformSecretKey, &secret);
        assert_eq!(
            k.open(Uuid::nil(), Field::PlatformSecretKey, &platform)
                .unwrap()
                .expose(),
            "sk_test_abc"
        );
        assert!(
            k.open(Uuid::nil(), Field::StripeSecretKey, &platform)
                .is_err()
        );
        assert!(k.open(t1, Field::StripeSecretKey, &platform).is_err());
        assert!(
            k.open(Uuid::nil(), Field::PlatformSecretKey, &blob)
                .is_err()
        );
        assert!(
            k.open(Uuid::nil(), Field::PlatformWebhookSecret, &platform)
                .is_err()
        );
    }

    #[test]
    fn newest_encrypts_all_decrypt() {
        let old = ring(&["old"]);
        let old_ring = Keyring::parse(&old).unwrap();
        let t = Uuid::new_v4();
        let blob = old_ring.seal(t, Field::WebhookSecret, &SecretText::new("whsec_x"));
        let both = Keyring::parse(&format!("{},{old}", ring(&["new"]))).unwrap();
        assert_eq!(both.current_id(), "new");
        assert_eq!(
            both.open(t, Field::WebhookSecret, &blob).unwrap().expose(),
            "whsec_x"
        );
        assert!(
            both.seal(t, Field::WebhookSecret, &SecretText::new("x"))
                .starts_with("gw1:new:")
        );
        let other = Keyring::parse(&ring(&["new"])).unwrap();
        assert_eq!(
            other.open(t, Field::WebhookSecret, &blob).unwrap_err(),
            KeyringError::UnknownKey("old".into())
        );
    }

    #[test]
    fn rejects_bad_specs() {
        assert_eq!(Keyring::parse("").unwrap_err(), KeyringError::Empty);
        assert!(matches!(
            Keyring::parse("k1:short").unwrap_err(),
            KeyringError::Malformed(1)
        ));
        assert!(matches!(
            Keyring::parse("nocolon").unwrap_err(),
            KeyringError::Malformed(1)
        ));
        let line = ring(&["a"]);
        assert!(matches!(
            Keyring::parse(&format!("{line},{line}")).unwrap_err(),
            KeyringError::Duplicate(_)
        ));
        assert!(format!("{:?}", Keyring::parse(&line).unwrap()).contains("key_ids"));
    }
}
