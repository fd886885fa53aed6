//! API: reconciliation runs — `/v1/tenants/{tenant}/reconciliations`.
use super::optional_body::OptionalJson;
use super::pagination::page_request;
use super::patterns::{Cursor, Matches, Matching};
use super::{ApiTags, scope};
use crate::app::reconciliations;
use crate::error::ApiError;
use crate::state::AppState;
use chrono::{DateTime, Utc};
use entity::reconciliation_runs::Model as Run;
use poem::web::Data;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Enum, Object, OpenApi};
use uuid::Uuid;

#[derive(Enum, Clone, Copy, Debug, PartialEq, Eq)]
#[oai(rename_all = "lowercase", remote = "entity::status::RunStatus")]
pub enum RunStatus {
    Running,
    Succeeded,
    Failed,
}

/// What a run did with Stripe's events.
#[derive(Object)]
pub struct ReconciliationCounts {
    /// Events the gateway had not received, now applied.
    pub created: i64,
    /// Events that had failed here, now applied.
    pub updated: i64,
    /// Events already applied; left alone.
    pub unchanged: i64,
    /// Events that failed to apply (see the webhook event log).
    pub failed: i64,
}

/// A difference between Stripe and the tenant's books.
#[derive(Object, serde::Deserialize)]
pub struct DiscrepancyOut {
    /// `missing_payment`, `status_mismatch` or `amount_mismatch`.
    pub kind: String,
    /// The PaymentIntent concerned.
    pub stripe_id: String,
    pub detail: String,
}

/// One reconciliation of a tenant against Stripe.
#[derive(Object)]
pub struct ReconciliationRunOut {
    pub id: Uuid,
    pub status: RunStatus,
    pub window_start: DateTime<Utc>,
    pub window_end: DateTime<Utc>,
    pub counts: ReconciliationCounts,
    pub discrepancies: Vec<DiscrepancyOut>,
    /// Why the run failed.
    #[oai(nullable)]
    pub error: Option<String>,
    pub started_at: DateTime<Utc>,
    #[oai(nullable)]
    pub finished_at: Option<DateTime<Utc>>,
}

impl From<Run> for ReconciliationRunOut {
    fn from(r: Run) -> Self {
        Self {
            id: r.id,
            status: r.status.into(),
            window_start: r.window_start,
            window_end: r.window_end,
            counts: ReconciliationCounts {
                created: r.created_count,
                updated: r.updated_count,
                unchanged: r.unchanged_count,
                failed: r.failed_count,
            },
            discrepancies: serde_json::from_str(&r.discrepancies).unwrap_or_default(),
            error: r.error,
            started_at: r.started_at,
            finished_at: r.finished_at,
        }
    }
}

super::pagination::page_view! {
    /// A page of reconciliation runs.
    ReconciliationRunPage of ReconciliationRunOut
}

/// Options of a run; the body may be omitted.
#[derive(Object, Default)]
pub struct ReconciliationIn {
    /// Start the window here instead of just before the last successful run ended: for
    /// recovery after an outage. At most 30 days back (Stripe keeps events that long), not in
    /// the future.
    pub since: Option<DateTime<Utc>>,
}

#[derive(ApiResponse)]
pub enum RunStarted {
    /// The run started; poll it with `GET …/reconciliations/{run_id}`.
    #[oai(status = 202)]
    Accepted(Json<ReconciliationRunOut>),
}

pub struct ReconciliationsApi;

#[OpenApi]
impl ReconciliationsApi {
    /// Start a reconciliation
    ///
    /// Replays every Stripe event of the window that the gateway has not completed, through the
    /// same path as webhooks, then compares the window's PaymentIntents with the tenant's
    /// payments. The window starts `since` if given, else 10 minutes
    /// (`GATEWAY_RECONCILE_OVERLAP`) before the last successful run ended (a first run: 3 days
    /// back), never more than 30 days back. Answers at once; 409 while one runs.
    #[oai(
        path = "/v1/tenants/:tenant/reconciliations",
        method = "post",
        operation_id = "v1.reconciliations.create",
        tag = "ApiTags::Reconciliations"
    )]
    async fn start(
        &self,
        state: Data<&AppState>,
        /// Tenant slug or id.
        scope::Path(tenant): scope::Path,
        body: OptionalJson<ReconciliationIn>,
    ) -> Result<RunStarted, ApiError> {
        let since = body.0.unwrap_or_default().since;
        let run = reconciliations::start(&state, &tenant, since).await?;
        Ok(RunStarted::Accepted(Json(run.into())))
    }

    /// Get a reconciliation run (progress and result)
    #[oai(
        path = "/v1/tenants/:tenant/reconciliations/:run_id",
        method = "get",
        operation_id = "v1.reconciliations.get",
        tag = "ApiTags::Reconciliations"
    )]
    async fn get(
        &self,
        state: Data<&AppState>,
        /// Tenant slug or id.
        scope::Path(tenant): scope::Path,
        /// The run's id.
        run_id: Path<Uuid>,
    ) -> Result<Json<ReconciliationRunOut>, ApiError> {
        Ok(Json(
            reconciliations::get(&state, &tenant, run_id.0)
                .await?
                .into(),
        ))
    }

    /// List reconciliation runs
    #[oai(
        path = "/v1/tenants/:tenant/reconciliations",
        method = "get",
        operation_id = "v1.reconciliations.list",
        tag = "ApiTags::Reconciliations"
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
    ) -> Result<Json<ReconciliationRunPage>, ApiError> {
        let page = page_request(limit.0, cursor.0)?;
        let p = reconciliations::list(&state, &tenant, page).await?;
        Ok(Json(p.into()))
    }
}
