//! API: a tenant's Stripe secrets — `/v1/tenants/{tenant}/stripe-config`.
use super::patterns::{Matches, Matching, SecretKey, WebhookSecret};
use super::{ApiTags, NoContent, scope};
use crate::admin;
use crate::crypto::{Field, SecretText, hint};
use crate::domain;
use crate::error::ApiError;
use crate::state::AppState;
use crate::store::stripe_config::{
    self, AddSecret, ConfigView, DeleteSecret, SealedConfig, SealedWebhookSecret,
};
use crate::stripe::keycheck::{self, KeyCheck};
use chrono::{DateTime, Duration, Utc};
use poem::web::Data;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Enum, Object, OpenApi};
use uuid::Uuid;

/// Longest overlap `expire_others_in_seconds` may give (7 days; Stripe's own roll allows 24 h).
const MAX_OVERLAP_SECS: i64 = 7 * 24 * 3600;

#[derive(Enum, Clone, Copy, Debug, PartialEq, Eq)]
#[oai(rename_all = "lowercase", remote = "entity::status::StripeMode")]
pub enum StripeMode {
    Test,
    Live,
}

/// A webhook signing secret, as a hint only.
#[derive(Object)]
pub struct WebhookSecretOut {
    pub id: Uuid,
    /// `whsec_…` and the last four characters.
    pub hint: String,
    pub created_at: DateTime<Utc>,
    /// After this instant the secret no longer verifies; null when it does not expire.
    #[oai(nullable)]
    pub expires_at: Option<DateTime<Utc>>,
}

/// A tenant's Stripe configuration. Secrets appear as hints only. `mode` comes from the secret
/// key's prefix; webhooks whose `livemode` differs are ignored.
#[derive(Object)]
pub struct StripeConfigOut {
    pub mode: StripeMode,
    /// `sk_test_…` (or `sk_live_`, `rk_…`) and the last four characters.
    pub secret_key_hint: String,
    pub webhook_secrets: Vec<WebhookSecretOut>,
    pub updated_at: DateTime<Utc>,
}

/// A stored webhook secret's shown parts: id, hint, created, expires.
pub type SecretRow = (Uuid, String, DateTime<Utc>, Option<DateTime<Utc>>);

impl StripeConfigOut {
    /// A config's view from its stored mode, key hint and update time, and its secrets' rows
    /// (a tenant's or the platform's: the same shape).
    pub fn new(
        mode: domain::StripeMode,
        secret_key_hint: String,
        updated_at: DateTime<Utc>,
        secrets: impl IntoIterator<Item = SecretRow>,
    ) -> Self {
        Self {
            mode: mode.into(),
            secret_key_hint,
            webhook_secrets: secrets
                .into_iter()
                .map(|(id, hint, created_at, expires_at)| WebhookSecretOut {
                    id,
                    hint,
                    created_at,
                    expires_at,
                })
                .collect(),
            updated_at,
        }
    }
}

impl From<ConfigView> for StripeConfigOut {
    fn from((config, secrets): ConfigView) -> Self {
        let rows = secrets
            .into_iter()
            .map(|s| (s.id, s.hint, s.created_at, s.expires_at));
        Self::new(config.mode, config.secret_key_hint, config.updated_at, rows)
    }
}

/// The secrets to store. Both are required; the webhook secret becomes the only one.
#[derive(Object)]
pub struct StripeConfigIn {
    /// `sk_test_…`, `sk_live_…`, `rk_test_…` or `rk_live_…`.
    #[oai(write_only, validator(custom = "Matches::new()"))]
    pub secret_key: Matching<SecretKey>,
    /// `whsec_…` from the Stripe dashboard or `stripe listen`.
    #[oai(write_only, validator(custom = "Matches::new()"))]
    pub webhook_secret: Matching<WebhookSecret>,
}

/// A further webhook secret, for rotation with overlap.
#[derive(Object)]
pub struct WebhookSecretIn {
    /// `whsec_…`.
    #[oai(write_only, validator(custom = "Matches::new()"))]
    pub secret: Matching<WebhookSecret>,
    /// If given (0–604800), every other secret stops verifying after this many seconds.
    #[oai(nullable, validator(minimum(value = "0"), maximum(value = "604800")))]
    pub expire_others_in_seconds: Option<i64>,
}

#[derive(ApiResponse)]
pub enum WebhookSecretAdded {
    /// The secret was added; the whole configuration.
    #[oai(status = 201)]
    Created(Json<StripeConfigOut>),
}

/// `secret` sealed for `tenant_id` (the nil UUID with a platform field) as `field`.
pub fn seal_webhook_secret(
    state: &AppState,
    tenant_id: Uuid,
    field: Field,
    secret: &SecretText,
) -> SealedWebhookSecret {
    SealedWebhookSecret {
        id: Uuid::now_v7(),
        ciphertext: state.keyring.seal(tenant_id, field, secret),
        hint: hint(secret.expose()),
    }
}

/// `?validate=true`: the key checked with Stripe (`GET /v1/balance`); an invalid key, or one for
/// the other mode than its prefix says, is refused (422).
pub async fn validate_key(
    state: &AppState,
    secret_key: &SecretText,
    mode: domain::StripeMode,
) -> Result<(), ApiError> {
    let live = mode == domain::StripeMode::Live;
    let client = state.stripe.with_key(secret_key.clone(), live);
    match keycheck::check(&client, live).await? {
        KeyCheck::Ok => Ok(()),
        KeyCheck::Invalid(why) => Err(ApiError::unprocessable("stripe_key_invalid", why)),
        KeyCheck::WrongMode { livemode } => Err(ApiError::unprocessable(
            "stripe_key_wrong_mode",
            format!(
                "the key's prefix says {} mode but Stripe answered for {} mode",
                mode.as_str(),
                if livemode { "live" } else { "test" }
            ),
        )),
    }
}

/// When the other secrets expire, from `expire_others_in_seconds` (0–604800).
pub fn expire_others_at(seconds: Option<i64>) -> Result<Option<DateTime<Utc>>, ApiError> {
    match seconds {
        None => Ok(None),
        Some(s) if (0..=MAX_OVERLAP_SECS).contains(&s) => {
            Ok(Some(Utc::now() + Duration::seconds(s)))
        }
        Some(_) => Err(crate::domain::invalid(
            "expire_others_in_seconds",
            "must be between 0 and 604800",
        )
        .into()),
    }
}

/// 409 `connected_tenant`: a connected tenant has no Stripe secrets of its own to set.
fn refuse_connected(tenant: &crate::store::scope::ScopedTenant) -> Result<(), ApiError> {
    if tenant.kind == entity::status::TenantKind::Connected {
        return Err(ApiError::conflict(
            "connected_tenant",
            "a connected tenant has no Stripe keys or webhook secrets of its own: the platform's key and Connect endpoint serve it",
        ));
    }
    Ok(())
}

/// 409 `too_many_secrets`: the cap on live webhook secrets is reached.
pub(super) fn too_many_secrets() -> ApiError {
    ApiError::conflict(
        "too_many_secrets",
        format!(
            "at most {} webhook secrets may be live at once: delete one, or add this one with expire_others_in_seconds",
            crate::domain::MAX_LIVE_WEBHOOK_SECRETS
        ),
    )
}

pub struct StripeConfigApi;

#[OpenApi(tag = "ApiTags::StripeConfig")]
impl StripeConfigApi {
    /// Set a tenant's Stripe secrets
    ///
    /// Replaces the secret key and makes the given webhook secret the only one. Both are
    /// encrypted at rest and never shown again, only hinted. A `connected` tenant has no keys of
    /// its own (409 `connected_tenant`): the platform's are used for it.
    #[oai(
        path = "/v1/tenants/:tenant/stripe-config",
        method = "put",
        operation_id = "v1.stripe-config.put"
    )]
    async fn put(
        &self,
        state: Data<&AppState>,
        /// Tenant slug or id.
        scope::Path(tenant): scope::Path,
        /// Check the key with Stripe first (`GET /v1/balance`); an invalid key or one for the
        /// other mode is refused (422) and nothing is stored.
        validate: Query<Option<bool>>,
        body: Json<StripeConfigIn>,
    ) -> Result<Json<StripeConfigOut>, ApiError> {
        refuse_connected(&tenant)?;
        let body = body.0;
        let (secret_key, mode) = domain::parse_secret_key(body.secret_key.into_inner())?;
        let webhook_secret =
            domain::parse_webhook_secret("webhook_secret", body.webhook_secret.into_inner())?;
        if validate.0 == Some(true) {
            validate_key(&state, &secret_key, mode).await?;
        }
        let config = SealedConfig {
            secret_key_ciphertext: state.keyring.seal(
                tenant.id,
                Field::StripeSecretKey,
                &secret_key,
            ),
            secret_key_hint: hint(secret_key.expose()),
            mode,
        };
        let secret = seal_webhook_secret(&state, tenant.id, Field::WebhookSecret, &webhook_secret);
        let view = admin::put_stripe_config(&state, &tenant, config, secret).await?;
        tracing::info!(tenant = %tenant.slug, mode = mode.as_str(), "Stripe config replaced");
        Ok(Json(view.into()))
    }

    /// Get a tenant's Stripe configuration (hints only)
    #[oai(
        path = "/v1/tenants/:tenant/stripe-config",
        method = "get",
        operation_id = "v1.stripe-config.get"
    )]
    async fn get(
        &self,
        state: Data<&AppState>,
        /// Tenant slug or id.
        scope::Path(tenant): scope::Path,
    ) -> Result<Json<StripeConfigOut>, ApiError> {
        match stripe_config::get(&state.db, &tenant).await? {
            Some(view) => Ok(Json(view.into())),
            None => Err(ApiError::not_found("Stripe config")),
        }
    }

    /// Add a webhook secret (rotation)
    ///
    /// Every current secret keeps verifying until it expires; `expire_others_in_seconds` gives
    /// the others an expiry (as Stripe's own roll does). Needs a Stripe config first (409).
    #[oai(
        path = "/v1/tenants/:tenant/stripe-config/webhook-secrets",
        method = "post",
        operation_id = "v1.webhook-secrets.create"
    )]
    async fn add_secret(
        &self,
        state: Data<&AppState>,
        /// Tenant slug or id.
        scope::Path(tenant): scope::Path,
        body: Json<WebhookSecretIn>,
    ) -> Result<WebhookSecretAdded, ApiError> {
        refuse_connected(&tenant)?;
        let body = body.0;
        let secret = domain::parse_webhook_secret("secret", body.secret.into_inner())?;
        let expire_at = expire_others_at(body.expire_others_in_seconds)?;
        let sealed = seal_webhook_secret(&state, tenant.id, Field::WebhookSecret, &secret);
        let added = admin::add_webhook_secret(&state, &tenant, sealed, expire_at).await?;
        match added {
            AddSecret::Added(view) => Ok(WebhookSecretAdded::Created(Json(view.into()))),
            AddSecret::NoConfig => Err(ApiError::conflict(
                "no_stripe_config",
                "set the tenant's Stripe config (PUT …/stripe-config) first",
            )),
            AddSecret::AtCap => Err(too_many_secrets()),
        }
    }

    /// Delete a webhook secret
    ///
    /// Refused (409) for the last secret that has not expired: the tenant would reject every webhook.
    #[oai(
        path = "/v1/tenants/:tenant/stripe-config/webhook-secrets/:secret_id",
        method = "delete",
        operation_id = "v1.webhook-secrets.delete"
    )]
    async fn delete_secret(
        &self,
        state: Data<&AppState>,
        /// Tenant slug or id.
        scope::Path(tenant): scope::Path,
        /// The secret's id.
        secret_id: Path<Uuid>,
    ) -> Result<NoContent, ApiError> {
        refuse_connected(&tenant)?;
        let deleted = admin::delete_webhook_secret(&state, &tenant, secret_id.0).await?;
        match deleted {
            DeleteSecret::Deleted => Ok(NoContent::NoContent),
            DeleteSecret::NotFound => Err(ApiError::not_found("webhook secret")),
            DeleteSecret::LastCurrent => Err(ApiError::conflict(
                "last_webhook_secret",
                "this is the tenant's last current webhook secret; add another first",
            )),
        }
    }
}
