//! API: a tenant's Stripe secrets — `/v1/tenants/{tenant}/stripe-config`.
use super::patterns::{Matches, Matching, SecretKey, WebhookSecret};
use super::{ApiTags, NoContent, scope};
use crate::app::stripe_config::{self as credentials, Credentials, NewCredentials, Owner};
use crate::domain;
use crate::error::ApiError;
use crate::state::AppState;
use chrono::{DateTime, Utc};
use poem::web::Data;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Enum, Object, OpenApi};
use uuid::Uuid;

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

impl From<Credentials> for StripeConfigOut {
    fn from(c: Credentials) -> Self {
        Self {
            mode: c.mode.into(),
            secret_key_hint: c.secret_key_hint,
            webhook_secrets: c
                .webhook_secrets
                .into_iter()
                .map(|s| WebhookSecretOut {
                    id: s.id,
                    hint: s.hint,
                    created_at: s.created_at,
                    expires_at: s.expires_at,
                })
                .collect(),
            updated_at: c.updated_at,
        }
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

impl StripeConfigIn {
    /// The secrets, parsed; `validate`: have Stripe check the key before storing it.
    pub fn parse(self, validate: bool) -> Result<NewCredentials, crate::domain::Invalid> {
        let (secret_key, mode) = domain::parse_secret_key(self.secret_key.into_inner())?;
        let webhook_secret =
            domain::parse_webhook_secret("webhook_secret", self.webhook_secret.into_inner())?;
        Ok(NewCredentials {
            secret_key,
            mode,
            webhook_secret,
            validate,
        })
    }
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
        let new = body.0.parse(validate.0 == Some(true))?;
        let owner = Owner::Tenant(&tenant);
        Ok(Json(
            credentials::put(&state, &tenant.caller, owner, new)
                .await?
                .into(),
        ))
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
        let owner = Owner::Tenant(&tenant);
        Ok(Json(
            credentials::get(&state, &tenant.caller, owner)
                .await?
                .into(),
        ))
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
        let body = body.0;
        let secret = domain::parse_webhook_secret("secret", body.secret.into_inner())?;
        let owner = Owner::Tenant(&tenant);
        let added = credentials::add_webhook_secret(
            &state,
            &tenant.caller,
            owner,
            secret,
            body.expire_others_in_seconds,
        )
        .await?;
        Ok(WebhookSecretAdded::Created(Json(added.into())))
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
        let owner = Owner::Tenant(&tenant);
        credentials::delete_webhook_secret(&state, &tenant.caller, owner, secret_id.0).await?;
        Ok(NoContent::NoContent)
    }
}
