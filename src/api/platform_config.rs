//! API: the Stripe Connect platform's own secrets — `/v1/platform/stripe-config`. Operator only:
//! the platform's secret key (calls to Stripe for connected restaurants) and the signing secrets
//! of its Connect webhook endpoint, sealed like a tenant's but bound to the platform scope.
use super::stripe_config::{
    StripeConfigIn, StripeConfigOut, WebhookSecretAdded, WebhookSecretIn, expire_others_at,
    seal_webhook_secret, validate_key,
};
use super::{ApiTags, BearerAuth, NoContent};
use crate::admin;
use crate::crypto::{Field, hint};
use crate::domain;
use crate::error::ApiError;
use crate::state::AppState;
use crate::store::platform_config::{self, PLATFORM, PlatformView};
use crate::store::stripe_config::{AddSecret, DeleteSecret, SealedConfig};
use poem::web::Data;
use poem_openapi::OpenApi;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use uuid::Uuid;

impl From<PlatformView> for StripeConfigOut {
    fn from((config, secrets): PlatformView) -> Self {
        let rows = secrets
            .into_iter()
            .map(|s| (s.id, s.hint, s.created_at, s.expires_at));
        Self::new(config.mode, config.secret_key_hint, config.updated_at, rows)
    }
}

pub struct PlatformConfigApi;

#[OpenApi(tag = "ApiTags::Platform")]
impl PlatformConfigApi {
    /// Set the platform's Stripe secrets
    ///
    /// Operator only. The platform's secret key and its Connect endpoint's webhook signing
    /// secret (`whsec_…` of the endpoint that receives connected accounts' events); replaces the
    /// key and makes the secret the only one. Encrypted at rest, never shown again, only hinted.
    #[oai(
        path = "/v1/platform/stripe-config",
        method = "put",
        operation_id = "v1.platform-stripe-config.put"
    )]
    async fn put(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        /// Check the key with Stripe first (`GET /v1/balance`); an invalid key or one for the
        /// other mode is refused (422) and nothing is stored.
        validate: Query<Option<bool>>,
        body: Json<StripeConfigIn>,
    ) -> Result<Json<StripeConfigOut>, ApiError> {
        auth.0
            .require_operator("set the platform's Stripe secrets")?;
        let body = body.0;
        let (secret_key, mode) = domain::parse_secret_key(body.secret_key.into_inner())?;
        let webhook_secret =
            domain::parse_webhook_secret("webhook_secret", body.webhook_secret.into_inner())?;
        if validate.0 == Some(true) {
            validate_key(&state, &secret_key, mode).await?;
        }
        let config = SealedConfig {
            secret_key_ciphertext: state.keyring.seal(
                PLATFORM,
                Field::PlatformSecretKey,
                &secret_key,
            ),
            secret_key_hint: hint(secret_key.expose()),
            mode,
        };
        let secret = seal_webhook_secret(
            &state,
            PLATFORM,
            Field::PlatformWebhookSecret,
            &webhook_secret,
        );
        let view = admin::put_platform_config(&state, config, secret).await?;
        tracing::info!(mode = mode.as_str(), "platform Stripe config replaced");
        Ok(Json(view.into()))
    }

    /// Get the platform's Stripe configuration (hints only)
    ///
    /// Operator only.
    #[oai(
        path = "/v1/platform/stripe-config",
        method = "get",
        operation_id = "v1.platform-stripe-config.get"
    )]
    async fn get(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
    ) -> Result<Json<StripeConfigOut>, ApiError> {
        auth.0
            .require_operator("read the platform's Stripe config")?;
        match platform_config::get(&state.db).await? {
            Some(view) => Ok(Json(view.into())),
            None => Err(ApiError::not_found("platform Stripe config")),
        }
    }

    /// Add a Connect webhook secret (rotation)
    ///
    /// Operator only. Every current secret keeps verifying until it expires;
    /// `expire_others_in_seconds` gives the others an expiry. Needs a platform config first (409).
    #[oai(
        path = "/v1/platform/stripe-config/webhook-secrets",
        method = "post",
        operation_id = "v1.platform-webhook-secrets.create"
    )]
    async fn add_secret(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        body: Json<WebhookSecretIn>,
    ) -> Result<WebhookSecretAdded, ApiError> {
        auth.0
            .require_operator("rotate the platform's webhook secrets")?;
        let body = body.0;
        let secret = domain::parse_webhook_secret("secret", body.secret.into_inner())?;
        let expire_at = expire_others_at(body.expire_others_in_seconds)?;
        let sealed = seal_webhook_secret(&state, PLATFORM, Field::PlatformWebhookSecret, &secret);
        match admin::add_platform_webhook_secret(&state, sealed, expire_at).await? {
            AddSecret::Added(view) => Ok(WebhookSecretAdded::Created(Json(view.into()))),
            AddSecret::NoConfig => Err(ApiError::conflict(
                "no_stripe_config",
                "set the platform's Stripe config (PUT /v1/platform/stripe-config) first",
            )),
            AddSecret::AtCap => Err(super::stripe_config::too_many_secrets()),
        }
    }

    /// Delete a Connect webhook secret
    ///
    /// Operator only. Refused (409) for the last secret that has not expired: the Connect
    /// endpoint would reject every event.
    #[oai(
        path = "/v1/platform/stripe-config/webhook-secrets/:secret_id",
        method = "delete",
        operation_id = "v1.platform-webhook-secrets.delete"
    )]
    async fn delete_secret(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        /// The secret's id.
        secret_id: Path<Uuid>,
    ) -> Result<NoContent, ApiError> {
        auth.0
            .require_operator("delete the platform's webhook secrets")?;
        match admin::delete_platform_webhook_secret(&state, secret_id.0).await? {
            DeleteSecret::Deleted => Ok(NoContent::NoContent),
            DeleteSecret::NotFound => Err(ApiError::not_found("webhook secret")),
            DeleteSecret::LastCurrent => Err(ApiError::conflict(
                "last_webhook_secret",
                "this is the platform's last current webhook secret; add another first",
            )),
        }
    }
}
