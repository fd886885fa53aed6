//! API: the Stripe Connect platform's own secrets — `/v1/platform/stripe-config`. Operator only:
//! the platform's secret key (calls to Stripe for connected restaurants) and the signing secrets
//! of its Connect webhook endpoint, sealed like a tenant's but bound to the platform scope.
use super::stripe_config::{StripeConfigIn, StripeConfigOut, WebhookSecretAdded, WebhookSecretIn};
use super::{ApiTags, BearerAuth, NoContent};
use crate::app::stripe_config::{self as credentials, Owner};
use crate::domain;
use crate::error::ApiError;
use crate::state::AppState;
use poem::web::Data;
use poem_openapi::OpenApi;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use uuid::Uuid;

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
        let new = body.0.parse(validate.0 == Some(true))?;
        Ok(Json(
            credentials::put(&state, &auth.0, Owner::Platform, new)
                .await?
                .into(),
        ))
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
        Ok(Json(
            credentials::get(&state, &auth.0, Owner::Platform)
                .await?
                .into(),
        ))
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
        let body = body.0;
        let secret = domain::parse_webhook_secret("secret", body.secret.into_inner())?;
        let added = credentials::add_webhook_secret(
            &state,
            &auth.0,
            Owner::Platform,
            secret,
            body.expire_others_in_seconds,
        )
        .await?;
        Ok(WebhookSecretAdded::Created(Json(added.into())))
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
        credentials::delete_webhook_secret(&state, &auth.0, Owner::Platform, secret_id.0).await?;
        Ok(NoContent::NoContent)
    }
}
