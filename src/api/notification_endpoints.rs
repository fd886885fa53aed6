//! API: a tenant's notification endpoints — `/v1/tenants/{tenant}/notification-endpoints`. The
//! operator or the tenant's own key registers where order changes are sent (Standard Webhooks),
//! reads them, changes and removes them, and rotates their signing secrets with an overlap. A
//! secret is shown once, when made; answers carry hints only.
use super::notification_views::*;
use super::optional_body::OptionalJson;
use super::pagination::page_request;
use super::patterns::{Cursor, Matches, Matching};
use super::{ApiTags, NoContent, scope};
use crate::crypto::{Field, hint};
use crate::domain::notification as rules;
use crate::error::ApiError;
use crate::notify::message::new_secret;
use crate::state::AppState;
use crate::store::notification_endpoints::{self as store, EndpointPatch, NewEndpoint};
use crate::store::scope::ScopedTenant;
use chrono::{Duration, Utc};
use entity::notification_endpoints::Model;
use poem::web::Data;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, OpenApi};
use uuid::Uuid;

#[derive(ApiResponse)]
pub enum EndpointCreated {
    /// Registered; `secret` is shown this once.
    #[oai(status = 201)]
    Created(Json<NotificationEndpointCreatedOut>),
}

#[derive(ApiResponse)]
pub enum SecretCreated {
    /// The new secret signs from now on, beside the previous ones until they expire.
    #[oai(status = 201)]
    Created(Json<SecretCreatedOut>),
}

async fn view(state: &AppState, m: Model) -> Result<NotificationEndpointOut, ApiError> {
    let secrets = store::live_secrets(&state.db, m.id, Utc::now()).await?;
    Ok(NotificationEndpointOut {
        id: m.id,
        url: m.url,
        description: m.description,
        events: NotificationType::parse_filter(&m.events),
        enabled: m.enabled,
        disabled_reason: m.disabled_reason,
        failing_since: m.failing_since,
        secrets: secrets
            .into_iter()
            .map(|s| SecretHintOut {
                id: s.id,
                hint: s.hint,
                created_at: s.created_at,
                expires_at: s.expires_at,
            })
            .collect(),
        created_at: m.created_at,
        updated_at: m.updated_at,
    })
}

async fn found(state: &AppState, tenant: &ScopedTenant, id: Uuid) -> Result<Model, ApiError> {
    store::get(&state.db, tenant, id)
        .await?
        .ok_or_else(|| ApiError::not_found("notification endpoint"))
}

pub struct NotificationEndpointsApi;

#[OpenApi(tag = "ApiTags::Notifications")]
impl NotificationEndpointsApi {
    /// Register a notification endpoint
    ///
    /// Order changes of the tenant are POSTed to `url`, signed per Standard Webhooks with the
    /// secret in the answer (shown this once). Only `https` to public addresses.
    #[oai(
        path = "/v1/tenants/:tenant/notification-endpoints",
        method = "post",
        operation_id = "v1.notification-endpoints.create"
    )]
    async fn create(
        &self,
        state: Data<&AppState>,
        /// Tenant slug or id.
        scope::Path(tenant): scope::Path,
        body: Json<NotificationEndpointIn>,
    ) -> Result<EndpointCreated, ApiError> {
        let body = body.0;
        let url = rules::parse_endpoint_url(&body.url, state.config.outbound_allow_private)?;
        let description = rules::parse_description(body.description.as_deref().unwrap_or(""))?;
        let id = Uuid::now_v7();
        let secret = new_secret();
        let created = store::create(
            &state.db,
            &tenant,
            NewEndpoint {
                id,
                url,
                description,
                events: NotificationType::filter(body.events.as_deref().unwrap_or_default()),
                enabled: body.enabled.unwrap_or(true),
                secret_ciphertext: state.keyring.seal(
                    tenant.id,
                    Field::NotificationSecret(id),
                    &secret,
                ),
                secret_hint: hint(secret.expose()),
            },
        )
        .await?
        .ok_or_else(|| {
            ApiError::conflict(
                "too_many_endpoints",
                format!(
                    "a tenant may have at most {} notification endpoints: delete one first",
                    crate::domain::notification::MAX_ENDPOINTS_PER_TENANT
                ),
            )
        })?;
        tracing::info!(tenant = %tenant.slug, endpoint = %id, "notification endpoint registered");
        Ok(EndpointCreated::Created(Json(
            NotificationEndpointCreatedOut {
                endpoint: view(&state, created).await?,
                secret: secret.expose().to_owned(),
            },
        )))
    }

    /// List a tenant's notification endpoints
    #[oai(
        path = "/v1/tenants/:tenant/notification-endpoints",
        method = "get",
        operation_id = "v1.notification-endpoints.list"
    )]
    async fn list(
        &self,
        state: Data<&AppState>,
        /// Tenant slug or id.
        scope::Path(tenant): scope::Path,
        /// Page size, 1–100 (default 20).
        #[oai(validator(minimum(value = "1"), maximum(value = "100")))]
        limit: Query<Option<u64>>,
        /// `next_cursor` of the previous page.
        #[oai(validator(custom = "Matches::new()"))]
        cursor: Query<Option<Matching<Cursor>>>,
    ) -> Result<Json<NotificationEndpointPage>, ApiError> {
        let page = store::list(&state.db, &tenant, page_request(limit.0, cursor.0)?).await?;
        let mut data = Vec::with_capacity(page.items.len());
        for m in page.items {
            data.push(view(&state, m).await?);
        }
        Ok(Json(NotificationEndpointPage {
            data,
            next_cursor: page.next_cursor,
        }))
    }

    /// Read a notification endpoint
    #[oai(
        path = "/v1/tenants/:tenant/notification-endpoints/:endpoint_id",
        method = "get",
        operation_id = "v1.notification-endpoints.get"
    )]
    async fn get(
        &self,
        state: Data<&AppState>,
        /// Tenant slug or id.
        scope::Path(tenant): scope::Path,
        /// The endpoint's id.
        endpoint_id: Path<Uuid>,
    ) -> Result<Json<NotificationEndpointOut>, ApiError> {
        let m = found(&state, &tenant, endpoint_id.0).await?;
        Ok(Json(view(&state, m).await?))
    }

    /// Change a notification endpoint
    #[oai(
        path = "/v1/tenants/:tenant/notification-endpoints/:endpoint_id",
        method = "patch",
        operation_id = "v1.notification-endpoints.update"
    )]
    async fn update(
        &self,
        state: Data<&AppState>,
        /// Tenant slug or id.
        scope::Path(tenant): scope::Path,
        /// The endpoint's id.
        endpoint_id: Path<Uuid>,
        body: Json<NotificationEndpointPatch>,
    ) -> Result<Json<NotificationEndpointOut>, ApiError> {
        let body = body.0;
        let allow_private = state.config.outbound_allow_private;
        let patch = EndpointPatch {
            url: body
                .url
                .map(|u| rules::parse_endpoint_url(&u, allow_private))
                .transpose()?,
            description: body
                .description
                .as_deref()
                .map(rules::parse_description)
                .transpose()?,
            events: body.events.as_deref().map(NotificationType::filter),
            enabled: body.enabled,
        };
        let m = store::update(&state.db, &tenant, endpoint_id.0, patch)
            .await?
            .ok_or_else(|| ApiError::not_found("notification endpoint"))?;
        Ok(Json(view(&state, m).await?))
    }

    /// Remove a notification endpoint
    ///
    /// Its secrets and its messages (delivered or not) go with it.
    #[oai(
        path = "/v1/tenants/:tenant/notification-endpoints/:endpoint_id",
        method = "delete",
        operation_id = "v1.notification-endpoints.delete"
    )]
    async fn delete(
        &self,
        state: Data<&AppState>,
        /// Tenant slug or id.
        scope::Path(tenant): scope::Path,
        /// The endpoint's id.
        endpoint_id: Path<Uuid>,
    ) -> Result<NoContent, ApiError> {
        if !store::delete(&state.db, &tenant, endpoint_id.0).await? {
            return Err(ApiError::not_found("notification endpoint"));
        }
        tracing::info!(tenant = %tenant.slug, endpoint = %endpoint_id.0, "notification endpoint removed");
        Ok(NoContent::NoContent)
    }

    /// Rotate a notification endpoint's signing secret
    ///
    /// A new secret signs from now on; the current ones keep signing beside it (both signatures
    /// in `webhook-signature`) until `expire_previous_in_secs` passes, so receivers can switch
    /// without a gap. The new secret is shown this once.
    #[oai(
        path = "/v1/tenants/:tenant/notification-endpoints/:endpoint_id/secrets",
        method = "post",
        operation_id = "v1.notification-endpoints.rotate-secret"
    )]
    async fn rotate(
        &self,
        state: Data<&AppState>,
        /// Tenant slug or id.
        scope::Path(tenant): scope::Path,
        /// The endpoint's id.
        endpoint_id: Path<Uuid>,
        body: OptionalJson<SecretRotationIn>,
    ) -> Result<SecretCreated, ApiError> {
        let overlap = body
            .0
            .and_then(|b| b.expire_previous_in_secs)
            .unwrap_or(86_400);
        let previous_expire_at = Utc::now() + Duration::seconds(i64::from(overlap));
        let secret = new_secret();
        let id = endpoint_id.0;
        let made = store::rotate(
            &state.db,
            &tenant,
            id,
            state
                .keyring
                .seal(tenant.id, Field::NotificationSecret(id), &secret),
            hint(secret.expose()),
            previous_expire_at,
        )
        .await?;
        let made = match made {
            store::Rotated::Added(made) => made,
            store::Rotated::NoEndpoint => return Err(ApiError::not_found("notification endpoint")),
            store::Rotated::AtCap => {
                return Err(ApiError::conflict(
                    "too_many_secrets",
                    format!(
                        "an endpoint may have at most {} live secrets: rotate with a shorter expire_previous_in_secs, or wait for one to expire",
                        crate::domain::notification::MAX_LIVE_SECRETS_PER_ENDPOINT
                    ),
                ));
            }
        };
        tracing::info!(tenant = %tenant.slug, endpoint = %id, "notification secret rotated");
        Ok(SecretCreated::Created(Json(SecretCreatedOut {
            id: made.id,
            secret: secret.expose().to_owned(),
            hint: made.hint,
            created_at: made.created_at,
            previous_expire_at,
        })))
    }
}
