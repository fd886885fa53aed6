//! Use cases: Stripe credentials — a secret key and the webhook signing secrets that verify its
//! deliveries — for their one of two owners: a tenant (its own account) or the Connect platform
//! (its key serves connected tenants, its secrets the Connect endpoint). Sealed here
//! (AES-256-GCM, bound to the owner and the field), stored, and announced to every replica's
//! caches only when something changed. Secrets are never shown again, only hinted.
use super::{Error, Principal, Result, TenantScope};
use crate::changes::{Change, announce};
use crate::crypto::{SecretText, hint};
use crate::domain::{self, MAX_LIVE_WEBHOOK_SECRETS, StripeMode};
use crate::state::Context;
use crate::store::credentials::{
    self, AddSecret, DeleteSecret, SealedConfig, SealedWebhookSecret, Stored,
};
use crate::stripe::credentials::fields;
use crate::stripe::keycheck::{self, KeyCheck};
use chrono::{DateTime, Duration, Utc};
use entity::status::TenantKind;
use uuid::Uuid;

/// Longest overlap `expire_others_in_seconds` may give (7 days; Stripe's own roll allows 24 h).
const MAX_OVERLAP_SECS: i64 = 7 * 24 * 3600;

/// Whose credentials.
#[derive(Clone, Copy)]
pub enum Owner<'a> {
    Tenant(&'a TenantScope),
    /// The Connect platform: the operator's alone.
    Platform,
}

/// What may be shown of stored credentials.
pub struct Credentials {
    pub mode: StripeMode,
    pub secret_key_hint: String,
    pub updated_at: DateTime<Utc>,
    pub webhook_secrets: Vec<SecretShown>,
}

/// A webhook secret as shown: its hint, never its text.
pub struct SecretShown {
    pub id: Uuid,
    pub hint: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
}

/// New credentials, parsed (`domain::parse_secret_key`, `parse_webhook_secret`).
pub struct NewCredentials {
    pub secret_key: SecretText,
    pub mode: StripeMode,
    /// Becomes the only webhook secret.
    pub webhook_secret: SecretText,
    /// Ask Stripe first (`GET /v1/balance`): an invalid key, or one for the other mode, is
    /// refused and nothing is stored.
    pub validate: bool,
}

impl Owner<'_> {
    /// The owner as the store and the caches name it.
    fn stored(self) -> credentials::Owner {
        match self {
            Owner::Tenant(t) => credentials::Owner::Tenant(t.id),
            Owner::Platform => credentials::Owner::Platform,
        }
    }

    fn whose(self) -> &'static str {
        match self {
            Owner::Tenant(_) => "tenant's",
            Owner::Platform => "platform's",
        }
    }

    /// Who may change them: a connected tenant has none of its own; the platform's are the
    /// operator's.
    fn may_change(self, caller: &Principal, action: &'static str) -> Result<()> {
        match self {
            Owner::Tenant(t) if t.kind == TenantKind::Connected => Err(Error::conflict(
                "connected_tenant",
                "a connected tenant has no Stripe keys or webhook secrets of its own: the platform's key and Connect endpoint serve it",
            )),
            Owner::Tenant(_) => Ok(()),
            Owner::Platform => caller.require_operator(action),
        }
    }

    async fn announce(self, state: &Context) {
        match self {
            Owner::Tenant(t) => announce(state, t.id, &t.slug, Change::Changed).await,
            Owner::Platform => announce(state, credentials::PLATFORM, "", Change::Platform).await,
        }
    }

    fn seal_webhook_secret(self, state: &Context, secret: &SecretText) -> SealedWebhookSecret {
        let (_, field) = fields(self.stored());
        SealedWebhookSecret {
            id: Uuid::now_v7(),
            ciphertext: state.keyring.seal(self.stored().id(), field, secret),
            hint: hint(secret.expose()),
        }
    }
}

/// Replaces the key and makes the given webhook secret the only one.
pub async fn put(
    state: &Context,
    caller: &Principal,
    owner: Owner<'_>,
    new: NewCredentials,
) -> Result<Credentials> {
    owner.may_change(caller, "set the platform's Stripe secrets")?;
    if new.validate {
        validate_key(state, &new.secret_key, new.mode).await?;
    }
    let (key_field, _) = fields(owner.stored());
    let config = SealedConfig {
        secret_key_ciphertext: state
            .keyring
            .seal(owner.stored().id(), key_field, &new.secret_key),
        secret_key_hint: hint(new.secret_key.expose()),
        mode: new.mode,
    };
    let secret = owner.seal_webhook_secret(state, &new.webhook_secret);
    let shown = shown(credentials::put(&state.db, owner.stored(), config, secret).await?);
    owner.announce(state).await;
    match owner {
        Owner::Tenant(t) => {
            tracing::info!(tenant = %t.slug, mode = %new.mode, "Stripe config replaced")
        }
        Owner::Platform => tracing::info!(mode = %new.mode, "platform Stripe config replaced"),
    }
    Ok(shown)
}

pub async fn get(state: &Context, caller: &Principal, owner: Owner<'_>) -> Result<Credentials> {
    if let Owner::Platform = owner {
        caller.require_operator("read the platform's Stripe config")?;
    }
    let found = credentials::get(&state.db, owner.stored()).await?;
    found.map(shown).ok_or(Error::NotFound(match owner {
        Owner::Tenant(_) => "Stripe config",
        Owner::Platform => "platform Stripe config",
    }))
}

/// Adds a webhook secret (rotation): every current one keeps verifying until it expires;
/// `expire_others_in_seconds` (0–604800) gives the others an expiry.
pub async fn add_webhook_secret(
    state: &Context,
    caller: &Principal,
    owner: Owner<'_>,
    secret: SecretText,
    expire_others_in_seconds: Option<i64>,
) -> Result<Credentials> {
    owner.may_change(caller, "rotate the platform's webhook secrets")?;
    let expire_at = expire_others_at(expire_others_in_seconds)?;
    let sealed = owner.seal_webhook_secret(state, &secret);
    let added =
        credentials::add_webhook_secret(&state.db, owner.stored(), sealed, expire_at).await?;
    match added.map(shown) {
        AddSecret::Added(shown) => {
            owner.announce(state).await;
            Ok(shown)
        }
        AddSecret::NoConfig => Err(Error::conflict(
            "no_stripe_config",
            match owner {
                Owner::Tenant(_) => "set the tenant's Stripe config (PUT …/stripe-config) first",
                Owner::Platform => {
                    "set the platform's Stripe config (PUT /v1/platform/stripe-config) first"
                }
            },
        )),
        AddSecret::AtCap => Err(Error::conflict(
            "too_many_secrets",
            format!(
                "at most {MAX_LIVE_WEBHOOK_SECRETS} webhook secrets may be live at once: delete one, or add this one with expire_others_in_seconds"
            ),
        )),
    }
}

/// Deletes a webhook secret; never the last one that has not expired (every webhook would be
/// refused).
pub async fn delete_webhook_secret(
    state: &Context,
    caller: &Principal,
    owner: Owner<'_>,
    secret_id: Uuid,
) -> Result<()> {
    owner.may_change(caller, "delete the platform's webhook secrets")?;
    let deleted = credentials::delete_webhook_secret(&state.db, owner.stored(), secret_id).await?;
    match deleted {
        DeleteSecret::Deleted => {
            owner.announce(state).await;
            Ok(())
        }
        DeleteSecret::NotFound => Err(Error::NotFound("webhook secret")),
        DeleteSecret::LastCurrent => Err(Error::conflict(
            "last_webhook_secret",
            format!(
                "this is the {} last current webhook secret; add another first",
                owner.whose()
            ),
        )),
    }
}

/// The key checked with Stripe (`GET /v1/balance`): refused when Stripe does not take it, or
/// takes it for the other mode than its prefix says.
async fn validate_key(state: &Context, secret_key: &SecretText, mode: StripeMode) -> Result<()> {
    let live = mode.is_live();
    let client = state.stripe.with_key(secret_key.clone(), live);
    match keycheck::check(&client, live).await? {
        KeyCheck::Ok => Ok(()),
        KeyCheck::Invalid(why) => Err(Error::unprocessable("stripe_key_invalid", why)),
        KeyCheck::WrongMode { livemode } => Err(Error::unprocessable(
            "stripe_key_wrong_mode",
            format!(
                "the key's prefix says {mode} mode but Stripe answered for {} mode",
                StripeMode::of_livemode(livemode)
            ),
        )),
    }
}

/// When the other secrets expire, from `expire_others_in_seconds` (0–604800).
fn expire_others_at(seconds: Option<i64>) -> Result<Option<DateTime<Utc>>> {
    match seconds {
        None => Ok(None),
        Some(s) if (0..=MAX_OVERLAP_SECS).contains(&s) => {
            Ok(Some(Utc::now() + Duration::seconds(s)))
        }
        Some(_) => {
            Err(domain::invalid("expire_others_in_seconds", "must be between 0 and 604800").into())
        }
    }
}

/// Stored credentials as shown.
fn shown(stored: Stored) -> Credentials {
    Credentials {
        mode: stored.key.mode,
        secret_key_hint: stored.key.secret_key_hint,
        updated_at: stored.key.updated_at,
        webhook_secrets: stored
            .secrets
            .into_iter()
            .map(|s| SecretShown {
                id: s.id,
                hint: s.hint,
                created_at: s.created_at,
                expires_at: s.expires_at,
            })
            .collect(),
    }
}

/// Stripe's `livemode` for the key the tenant calls Stripe with — its own, or for a connected
/// tenant the platform's — or `None` when it has none.
pub async fn livemode(
    state: &Context,
    scope: &TenantScope,
) -> std::result::Result<Option<bool>, crate::stripe::credentials::LoadError> {
    let owner = crate::stripe::credentials::key_owner(scope.id, scope.kind);
    let opened = state
        .credentials
        .get(&state.db, &state.keyring, owner)
        .await?;
    Ok(opened.map(|c| c.livemode))
}

/// What `gateway check-config` finds of the key a tenant's Stripe calls use.
pub enum KeyReport {
    /// No key to call with (a connected tenant: the platform has none).
    NoConfig,
    /// Checked with Stripe (`GET /v1/balance`). `hint`: the key's hint, and whose it is.
    Checked {
        hint: String,
        live: bool,
        result: KeyCheck,
    },
    /// Stripe could not be asked.
    Unchecked { hint: String, why: String },
}

/// Asks Stripe whether the key the tenant's calls use works, and in the mode it says.
pub async fn check(state: &Context, scope: &TenantScope) -> Result<KeyReport> {
    let client = match super::tenant_stripe(state, scope.id).await {
        Ok(client) => client,
        Err(Error::Conflict { .. }) => return Ok(KeyReport::NoConfig),
        Err(e) => return Err(e),
    };
    let hint = match &client.connected_account {
        Some(account) => format!(
            "{} (the platform's, for connected account {account})",
            client.key_hint
        ),
        None => client.key_hint.clone(),
    };
    Ok(
        match keycheck::check(&client.stripe, client.livemode).await {
            Ok(result) => KeyReport::Checked {
                hint,
                live: client.livemode,
                result,
            },
            Err(e) => KeyReport::Unchecked {
                hint,
                why: e.to_string(),
            },
        },
    )
}
