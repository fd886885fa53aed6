//! API: tenants — `/v1/tenants`.
use super::pagination::page_request;
use super::patterns::{AccountId, Cursor, Label, Matches, Matching, Slug};
use super::{ApiTags, BearerAuth, NoContent, scope};
use crate::app::tenants;
use crate::app::tenants::{NewTenant, TenantChanges};
use crate::domain::{self, DEFAULT_RATE_BURST, DEFAULT_RATE_PER_SECOND};
use crate::error::ApiError;
use crate::state::AppState;
use chrono::{DateTime, Utc};
use entity::tenants::Model;
use poem::web::Data;
use poem_openapi::param::Query;
use poem_openapi::payload::Json;
use poem_openapi::types::MaybeUndefined;
use poem_openapi::{ApiResponse, Enum, Object, OpenApi};
use uuid::Uuid;

#[derive(Enum, Clone, Copy, Debug, PartialEq, Eq)]
#[oai(rename_all = "lowercase", remote = "entity::status::TenantStatus")]
pub enum TenantStatus {
    Active,
    Suspended,
}

/// Whose Stripe account a tenant's payments are on: `own_account` (its own keys and webhook
/// endpoint) or `connected` (a connected account of the Connect platform: called with the
/// platform's key and `Stripe-Account`, events through `/webhooks/stripe/connect`).
#[derive(Enum, Clone, Copy, Debug, PartialEq, Eq)]
#[oai(rename_all = "snake_case", remote = "entity::status::TenantKind")]
pub enum TenantKind {
    OwnAccount,
    Connected,
}

/// A restaurant using the gateway.
#[derive(Object)]
pub struct TenantOut {
    pub id: Uuid,
    /// Unique; usable in every path in place of the id.
    pub slug: String,
    pub name: String,
    pub status: TenantStatus,
    /// Webhooks accepted per second (token bucket refill).
    pub rate_limit_per_second: i64,
    /// Webhooks accepted in a burst (token bucket size).
    pub rate_limit_burst: i64,
    /// Stripe Connect account (`acct_…`) routed to this tenant, if any.
    #[oai(nullable)]
    pub stripe_account_id: Option<String>,
    pub kind: TenantKind,
    /// The platform's fee on a connected tenant's checkouts, in basis points (250 = 2.5 %).
    pub application_fee_bps: i32,
    /// The largest tip taken as a tip, in basis points of an order's amount (10,000 = a tip
    /// as large as the order). More is `NEEDS_REVIEW` / `tip_over_limit`. Orders keep the
    /// limit they were made under.
    pub max_tip_bps: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<Model> for TenantOut {
    fn from(m: Model) -> Self {
        Self {
            id: m.id,
            slug: m.slug,
            name: m.name,
            status: m.status.into(),
            rate_limit_per_second: m.rate_limit_per_second,
            rate_limit_burst: m.rate_limit_burst,
            stripe_account_id: m.stripe_account_id,
            kind: m.kind.into(),
            application_fee_bps: m.application_fee_bps,
            max_tip_bps: m.max_tip_bps,
            created_at: m.created_at,
            updated_at: m.updated_at,
        }
    }
}

/// A new tenant. `kind` defaults to `own_account`; a `connected` tenant needs its
/// `stripe_account_id`.
#[derive(Object)]
pub struct TenantIn {
    /// `^[a-z0-9][a-z0-9-]{1,62}$`, unique, not a UUID.
    #[oai(validator(custom = "Matches::new()"))]
    pub slug: Matching<Slug>,
    /// Display name, 1–200 characters.
    #[oai(validator(max_length = 200, custom = "Matches::new()"))]
    pub name: Matching<Label>,
    /// 1–100,000; default 100.
    #[oai(nullable, validator(minimum(value = "1"), maximum(value = "100000")))]
    pub rate_limit_per_second: Option<i64>,
    /// 1–1,000,000; default 200.
    #[oai(nullable, validator(minimum(value = "1"), maximum(value = "1000000")))]
    pub rate_limit_burst: Option<i64>,
    /// `acct_…` of the tenant's Stripe Connect account; required for `connected`.
    #[oai(nullable, validator(custom = "Matches::new()"))]
    pub stripe_account_id: Option<Matching<AccountId>>,
    #[oai(deserialize_with = "super::strict::optional")]
    pub kind: Option<TenantKind>,
    /// 0–10,000 basis points of each checkout's amount, taken as the platform's fee on a
    /// connected tenant's payments (rounded down); default 0.
    #[oai(nullable, validator(minimum(value = "0"), maximum(value = "10000")))]
    pub application_fee_bps: Option<i32>,
    /// 0–100,000 basis points of an order's amount: the largest tip taken as a tip; default
    /// 10,000.
    #[oai(nullable, validator(minimum(value = "0"), maximum(value = "100000")))]
    pub max_tip_bps: Option<i32>,
}

/// Changes to a tenant; absent fields stay. A tenant key may change `name` only; `status`, the
/// rate limits, `stripe_account_id`, `kind` and `application_fee_bps` are operator only; a
/// `connected` tenant needs a `stripe_account_id`. `status: suspended`
/// refuses the tenant's webhooks (423) until set back to `active`.
#[derive(Object)]
pub struct TenantPatch {
    #[oai(nullable, validator(max_length = 200, custom = "Matches::new()"))]
    pub name: Option<Matching<Label>>,
    #[oai(deserialize_with = "super::strict::optional")]
    pub status: Option<TenantStatus>,
    /// Operator only.
    #[oai(nullable, validator(minimum(value = "1"), maximum(value = "100000")))]
    pub rate_limit_per_second: Option<i64>,
    /// Operator only.
    #[oai(nullable, validator(minimum(value = "1"), maximum(value = "1000000")))]
    pub rate_limit_burst: Option<i64>,
    /// Operator only; `null` clears it (not for a `connected` tenant).
    #[oai(nullable, validator(custom = "Matches::new()"))]
    pub stripe_account_id: MaybeUndefined<Matching<AccountId>>,
    #[oai(deserialize_with = "super::strict::optional")]
    pub kind: Option<TenantKind>,
    /// Operator only; 0–10,000.
    #[oai(nullable, validator(minimum(value = "0"), maximum(value = "10000")))]
    pub application_fee_bps: Option<i32>,
    /// 0–100,000; the tenant's own policy (a tenant key may set it). Applies to orders made
    /// after the change.
    #[oai(nullable, validator(minimum(value = "0"), maximum(value = "100000")))]
    pub max_tip_bps: Option<i32>,
}

super::pagination::page_view! {
    /// A page of tenants.
    TenantPage of TenantOut
}

#[derive(ApiResponse)]
pub enum TenantCreated {
    /// The tenant was created.
    #[oai(status = 201)]
    Created(Json<TenantOut>),
}

pub struct TenantsApi;

#[OpenApi(tag = "ApiTags::Tenants")]
impl TenantsApi {
    /// Create a tenant
    ///
    /// Operator only. The slug must be unique.
    #[oai(
        path = "/v1/tenants",
        method = "post",
        operation_id = "v1.tenants.create"
    )]
    async fn create(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        body: Json<TenantIn>,
    ) -> Result<TenantCreated, ApiError> {
        let body = body.0;
        let kind = body
            .kind
            .map_or(entity::status::TenantKind::OwnAccount, Into::into);
        let new = NewTenant {
            slug: domain::Slug::parse(&body.slug)?,
            name: domain::parse_name(&body.name)?,
            rate_limit_per_second: domain::parse_rate(
                body.rate_limit_per_second
                    .unwrap_or(DEFAULT_RATE_PER_SECOND),
            )?,
            rate_limit_burst: domain::parse_burst(
                body.rate_limit_burst.unwrap_or(DEFAULT_RATE_BURST),
            )?,
            stripe_account_id: body
                .stripe_account_id
                .as_deref()
                .map(domain::parse_account_id)
                .transpose()?,
            kind,
            application_fee_bps: domain::parse_fee_bps(body.application_fee_bps.unwrap_or(0))?,
            max_tip_bps: domain::parse_max_tip_bps(
                body.max_tip_bps.unwrap_or(domain::DEFAULT_MAX_TIP_BPS),
            )?,
        };
        let created = tenants::create(&state, &auth.0, new).await?;
        Ok(TenantCreated::Created(Json(created.into())))
    }

    /// List tenants
    ///
    /// The operator sees every tenant; a tenant key sees its own tenant only.
    #[oai(path = "/v1/tenants", method = "get", operation_id = "v1.tenants.list")]
    async fn list(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        /// Page size, 1–100 (default 20).
        #[oai(validator(minimum(value = "1"), maximum(value = "100")))]
        limit: Query<Option<u64>>,
        /// `next_cursor` of the previous page.
        #[oai(validator(custom = "Matches::new()"))]
        cursor: Query<Option<Matching<Cursor>>>,
    ) -> Result<Json<TenantPage>, ApiError> {
        let page = page_request(limit.0, cursor.0)?;
        Ok(Json(tenants::list(&state, &auth.0, page).await?.into()))
    }

    /// Get a tenant
    #[oai(
        path = "/v1/tenants/:tenant",
        method = "get",
        operation_id = "v1.tenants.get"
    )]
    async fn get(
        &self,
        /// Tenant slug or id.
        scope::Path(tenant): scope::Path,
    ) -> Result<Json<TenantOut>, ApiError> {
        Ok(Json(tenant.tenant.into_model().into()))
    }

    /// Change a tenant
    ///
    /// Status, rate limits and the Stripe account are operator only; a new rate limit applies
    /// without restart.
    #[oai(
        path = "/v1/tenants/:tenant",
        method = "patch",
        operation_id = "v1.tenants.update"
    )]
    async fn update(
        &self,
        state: Data<&AppState>,
        /// Tenant slug or id.
        scope::Path(tenant): scope::Path,
        body: Json<TenantPatch>,
    ) -> Result<Json<TenantOut>, ApiError> {
        let body = body.0;
        let changes = TenantChanges {
            name: body.name.as_deref().map(domain::parse_name).transpose()?,
            status: body.status.map(Into::into),
            rate_limit_per_second: body
                .rate_limit_per_second
                .map(domain::parse_rate)
                .transpose()?,
            rate_limit_burst: body.rate_limit_burst.map(domain::parse_burst).transpose()?,
            stripe_account_id: match body.stripe_account_id {
                MaybeUndefined::Undefined => None,
                MaybeUndefined::Null => Some(None),
                MaybeUndefined::Value(v) => Some(Some(domain::parse_account_id(&v)?)),
            },
            kind: body.kind.map(Into::into),
            application_fee_bps: body
                .application_fee_bps
                .map(domain::parse_fee_bps)
                .transpose()?,
            max_tip_bps: body
                .max_tip_bps
                .map(domain::parse_max_tip_bps)
                .transpose()?,
        };
        let updated = tenants::update(&state, tenant, changes).await?;
        Ok(Json(updated.into()))
    }

    /// Remove a tenant and all its data
    ///
    /// Operator only. Deletes the tenant with its keys, secrets, orders, payments, disputes and
    /// events; this cannot be undone. To stop a tenant's webhooks but keep its data, PATCH its
    /// `status` to `suspended` instead.
    #[oai(
        path = "/v1/tenants/:tenant",
        method = "delete",
        operation_id = "v1.tenants.delete"
    )]
    async fn delete(
        &self,
        state: Data<&AppState>,
        /// Tenant slug or id.
        scope::Path(tenant): scope::Path,
    ) -> Result<NoContent, ApiError> {
        tenants::delete(&state, &tenant).await?;
        Ok(NoContent::NoContent)
    }
}
