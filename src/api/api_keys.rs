//! API: tenant API keys — `/v1/tenants/{tenant}/api-keys`.
use super::pagination::page_request;
use super::patterns::{Cursor, Label, Matches, Matching};
use super::{ApiTags, NoContent, scope};
use crate::app::api_keys;
use crate::error::ApiError;
use crate::state::AppState;
use chrono::{DateTime, Utc};
use entity::api_keys::Model;
use poem::web::Data;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Object, OpenApi};
use uuid::Uuid;

/// A tenant API key (never the key itself).
#[derive(Object)]
pub struct ApiKeyOut {
    pub id: Uuid,
    pub name: String,
    /// The key's first characters, to recognise it.
    pub prefix: String,
    pub created_at: DateTime<Utc>,
    /// Set once revoked; a revoked key no longer authenticates.
    #[oai(nullable)]
    pub revoked_at: Option<DateTime<Utc>>,
}

impl From<Model> for ApiKeyOut {
    fn from(m: Model) -> Self {
        Self {
            id: m.id,
            name: m.name,
            prefix: m.prefix,
            created_at: m.created_at,
            revoked_at: m.revoked_at,
        }
    }
}

/// A newly issued key: the only time `key` is ever shown.
#[derive(Object)]
pub struct ApiKeyCreatedOut {
    pub id: Uuid,
    pub name: String,
    pub prefix: String,
    pub created_at: DateTime<Utc>,
    /// The bearer token. Store it now: the gateway keeps only its hash.
    pub key: String,
}

/// A key to issue.
#[derive(Object)]
pub struct ApiKeyIn {
    /// A label, 1–100 characters (e.g. "POS integration").
    #[oai(validator(max_length = 100, custom = "Matches::new()"))]
    pub name: Matching<Label>,
}

super::pagination::page_view! {
    /// A page of API keys.
    ApiKeyPage of ApiKeyOut
}

#[derive(ApiResponse)]
pub enum ApiKeyCreated {
    /// The key was issued; `key` is shown this once.
    #[oai(status = 201)]
    Created(Json<ApiKeyCreatedOut>),
}

pub struct ApiKeysApi;

#[OpenApi(tag = "ApiTags::ApiKeys")]
impl ApiKeysApi {
    /// Issue a tenant API key
    ///
    /// Operator only. The answer holds the key in plaintext this one time.
    #[oai(
        path = "/v1/tenants/:tenant/api-keys",
        method = "post",
        operation_id = "v1.api-keys.create"
    )]
    async fn create(
        &self,
        state: Data<&AppState>,
        /// Tenant slug or id.
        scope::Path(tenant): scope::Path,
        body: Json<ApiKeyIn>,
    ) -> Result<ApiKeyCreated, ApiError> {
        let api_keys::Issued {
            key: created,
            secret,
        } = api_keys::issue(&state, &tenant, &body.0.name).await?;
        Ok(ApiKeyCreated::Created(Json(ApiKeyCreatedOut {
            id: created.id,
            name: created.name,
            prefix: created.prefix,
            created_at: created.created_at,
            key: secret.expose().to_owned(),
        })))
    }

    /// List a tenant's API keys
    #[oai(
        path = "/v1/tenants/:tenant/api-keys",
        method = "get",
        operation_id = "v1.api-keys.list"
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
    ) -> Result<Json<ApiKeyPage>, ApiError> {
        let page = page_request(limit.0, cursor.0)?;
        Ok(Json(api_keys::list(&state, &tenant, page).await?.into()))
    }

    /// Revoke a tenant API key
    ///
    /// Operator only. Takes effect at once; revoking a revoked key is harmless.
    #[oai(
        path = "/v1/tenants/:tenant/api-keys/:key_id",
        method = "delete",
        operation_id = "v1.api-keys.delete"
    )]
    async fn delete(
        &self,
        state: Data<&AppState>,
        /// Tenant slug or id.
        scope::Path(tenant): scope::Path,
        /// The key's id.
        key_id: Path<Uuid>,
    ) -> Result<NoContent, ApiError> {
        api_keys::revoke(&state, &tenant, key_id.0).await?;
        Ok(NoContent::NoContent)
    }
}
