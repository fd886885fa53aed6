//! API: a tenant's notification endpoints — `/v1/tenants/{tenant}/notification-endpoints`. The
//! operator or the tenant's own key registers where order changes are sent (Standard Webhooks),
//! reads them, changes and removes them, and rotates their signing secrets with an overlap. A
//! secret is shown once, when made; answers carry hints only.
use super::notification_views::*;
use super::optional_body::OptionalJson;
use super::pagination::page_request;
use super::patterns::{Cursor, Matches, Matching};
use super::{ApiTags, NoContent, scope};
use crate::app::notification_endpoints::{self as endpoints, Ask, Edit, Endpoint};
use crate::error::ApiError;
use crate::state::AppState;
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

impl From<Endpoint> for NotificationEndpointOut {
    fn from(
        Endpoint {
            endpoint: m,
            secrets,
        }: Endpoint,
    ) -> Self {
        Self {
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
        }
    }
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
        let ask = Ask {
            url: body.url.into_inner(),
            description: body
                .description
                .map(Matching::into_inner)
                .unwrap_or_default(),
            events: NotificationType::filter(body.events.as_deref().unwrap_or_default()),
            enabled: body.enabled.unwrap_or(true),
        };
        let (endpoint, secret) = endpoints::create(&state, &tenant, ask).await?;
        Ok(EndpointCreated::Created(Json(
            NotificationEndpointCreatedOut {
                endpoint: endpoint.into(),
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
        let page = endpoints::list(&state, &tenant, page_request(limit.0, cursor.0)?).await?;
        Ok(Json(NotificationEndpointPage {
            data: page.items.into_iter().map(Into::into).collect(),
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
        Ok(Json(
            endpoints::get(&state, &tenant, endpoint_id.0).await?.into(),
        ))
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
        let edit = Edit {
            url: body.url.map(Matching::into_inner),
            description: body.description.map(Matching::into_inner),
            events: body.events.as_deref().map(NotificationType::filter),
            enabled: body.enabled,
        };
        Ok(Json(
            endpoints::update(&state, &tenant, endpoint_id.0, edit)
                .await?
                .into(),
        ))
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
        endpoints::delete(&state, &tenant, endpoint_id.0).await?;
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
        let made = endpoints::rotate(&state, &tenant, endpoint_id.0, overlap).await?;
        Ok(SecretCreated::Created(Json(SecretCreatedOut {
            id: made.row.id,
            secret: made.secret.expose().to_owned(),
            hint: made.row.hint,
            created_at: made.row.created_at,
            previous_expire_at: made.previous_expire_at,
        })))
    }
}
