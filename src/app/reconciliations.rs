//! Use cases: reconciliation runs of a tenant — started in the background (the API) or run to
//! their end (the command line, the schedule), read, listed. The run itself is
//! `app::reconcile`.
use super::reconcile::{self, Progress, StartError};
use super::{Error, Result, TenantScope};
use crate::state::Context;
use crate::store::{self, Page, PageRequest};
use chrono::{DateTime, Utc};
use entity::reconciliation_runs::Model as Run;
use uuid::Uuid;

pub use super::reconcile::{Since, check_since};

/// Starts a run in the background from `since` (at most 30 days back, not in the future), or
/// from the last successful run; refused while one runs.
pub async fn start(
    state: &Context,
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
        .map_err(not_started)
}

/// The progress line a run gives once it has begun (its window is set).
pub const STARTED: &str = "started";

/// Runs a reconciliation here to its end, with a line of progress once begun ([`STARTED`]) and
/// after each page; the finished run (succeeded or failed).
pub async fn run(
    state: &Context,
    scope: &TenantScope,
    since: Since,
    progress: Progress<'_>,
) -> Result<Run> {
    let (run, guard) = reconcile::begin(state, scope, since)
        .await
        .map_err(not_started)?;
    progress(&run, STARTED);
    Ok(reconcile::execute(state, run, guard, progress).await?)
}

/// The tenants the schedule (and `gateway reconcile --all`) reconciles: active, and able to call
/// Stripe (a config of their own, or connected with the platform's).
pub async fn reconcilable(state: &Context) -> Result<Vec<TenantScope>> {
    Ok(store::tenants::active_with_config(&state.db)
        .await?
        .into_iter()
        .map(TenantScope::operator)
        .collect())
}

fn not_started(e: StartError) -> Error {
    match e {
        StartError::NoConfig => super::no_stripe_key(),
        StartError::AlreadyRunning => Error::conflict(
            "reconciliation_running",
            "a reconciliation of this tenant is already running",
        ),
        StartError::Db(e) => e.into(),
        StartError::Credentials(e) => e.into(),
    }
}

pub async fn get(state: &Context, scope: &TenantScope, run_id: Uuid) -> Result<Run> {
    store::owned::get::<entity::reconciliation_runs::Entity, _>(&state.db, scope, run_id)
        .await?
        .ok_or(Error::NotFound("reconciliation run"))
}

pub async fn list(state: &Context, scope: &TenantScope, page: PageRequest) -> Result<Page<Run>> {
    Ok(
        store::owned::list::<entity::reconciliation_runs::Entity, _>(&state.db, scope, page)
            .await?,
    )
}
