//! Use cases: reconciliation runs of a tenant — started (the run itself is `jobs::reconcile`),
//! read, listed. The API, the command line and the schedule start runs through here.
use super::{Error, Result, TenantScope};
use crate::jobs::reconcile::{self, Since, StartError};
use crate::state::AppState;
use crate::store::{self, Page, PageRequest};
use chrono::{DateTime, Utc};
use entity::reconciliation_runs::Model as Run;
use uuid::Uuid;

/// Starts a run in the background from `since` (at most 30 days back, not in the future), or
/// from the last successful run; refused while one runs.
pub async fn start(
    state: &AppState,
    scope: &TenantScope,
    since: Option<DateTime<Utc>>,
) -> Result<Run> {
    let since = match since {
        Some(at) => reconcile::check_since(at, Utc::now())
            .map_err(|why| Error::unprocessable("validation_failed", why))?,
        None => Since::LastRun,
    };
    reconcile::spawn(state, scope, since)
        .await
        .map_err(|e| match e {
            StartError::NoConfig => super::no_stripe_key(),
            StartError::AlreadyRunning => Error::conflict(
                "reconciliation_running",
                "a reconciliation of this tenant is already running",
            ),
            StartError::Db(e) => e.into(),
        })
}

pub async fn get(state: &AppState, scope: &TenantScope, run_id: Uuid) -> Result<Run> {
    store::reconciliations::get(&state.db, scope, run_id)
        .await?
        .ok_or(Error::NotFound("reconciliation run"))
}

pub async fn list(state: &AppState, scope: &TenantScope, page: PageRequest) -> Result<Page<Run>> {
    Ok(store::reconciliations::list(&state.db, scope, page).await?)
}
