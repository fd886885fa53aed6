//! Use case engine: reconciliation against Stripe's API, per tenant (`app::reconciliations`
//! starts it for the API, the command line and the schedule). Pages through the events Stripe kept
//! for the window (since the last successful run, at most 30 days) and feeds every one not yet
//! completed here through the webhook writer — the same path and idempotency as a delivery —
//! then compares the window's PaymentIntents with the tenant's payments and reports what
//! differs. Progress is saved after every page. One run per tenant at a time: an in-process
//! guard, and on PostgreSQL a session advisory lock, so replicas never run a tenant together.
use super::TenantScope;
use super::reconcile_lock::RunLock;
use crate::state::Context;
use crate::store::{events, payments, reconciliations};
use crate::stripe::StripeCallError;
use crate::stripe::clients::ClientError;
use crate::stripe::credentials::LoadError;
use crate::stripe::lists;
use crate::webhooks::incoming::{Incoming, Outcome};
use crate::webhooks::rules::event::Envelope;
use crate::webhooks::rules::{HANDLED_TYPES, PaymentStatus};
use chrono::{DateTime, TimeDelta, Utc};
use entity::reconciliation_runs::Model as Run;
use entity::status::{EventStatus, RunStatus};
use sea_orm::DbErr;
use uuid::Uuid;

/// Stripe keeps events for 30 days.
const MAX_WINDOW_DAYS: i64 = 30;

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("the tenant has no Stripe config")]
    NoConfig,
    #[error("a reconciliation of this tenant is already running")]
    AlreadyRunning,
    #[error(transparent)]
    Db(#[from] DbErr),
    #[error(transparent)]
    Credentials(#[from] crate::stripe::credentials::LoadError),
}

/// Where a run's window starts.
#[derive(Clone, Copy, Debug)]
pub enum Since {
    /// `GATEWAY_RECONCILE_OVERLAP` before the end of the last successful run (its first run:
    /// `GATEWAY_RECONCILE_FIRST_WINDOW` back). An event Stripe stamped just before that end but
    /// listed only after it (clock skew, a late listing) is still seen; dedupe makes the overlap
    /// free.
    LastRun,
    /// From this instant (recovery after an outage); at most 30 days back, not in the future.
    At(DateTime<Utc>),
}

/// Checks a requested window start: not in the future, at most Stripe's 30 days back.
pub fn check_since(at: DateTime<Utc>, now: DateTime<Utc>) -> Result<Since, String> {
    if at > now {
        return Err("since: must not be in the future".into());
    }
    if at < now - TimeDelta::days(MAX_WINDOW_DAYS) {
        return Err(format!(
            "since: must be within the last {MAX_WINDOW_DAYS} days (Stripe keeps events that long)"
        ));
    }
    Ok(Since::At(at))
}

/// Takes the tenant's lock and records a new run for its window (see [`Since`]).
pub async fn begin(
    state: &Context,
    tenant: &TenantScope,
    since: Since,
) -> Result<(Run, RunLock), StartError> {
    if super::stripe_config::livemode(state, tenant)
        .await?
        .is_none()
    {
        return Err(StartError::NoConfig);
    }
    let guard = super::reconcile_lock::lock(state, tenant.id)
        .await?
        .ok_or(StartError::AlreadyRunning)?;
    let now = Utc::now();
    let oldest = now - TimeDelta::days(MAX_WINDOW_DAYS);
    let first = now
        - TimeDelta::from_std(state.config.reconcile_first_window).unwrap_or(TimeDelta::days(3));
    let overlap = TimeDelta::from_std(state.config.reconcile_overlap).unwrap_or_default();
    let start = match since {
        Since::At(at) => at,
        Since::LastRun => match reconciliations::last_succeeded(&state.db, tenant).await? {
            Some(last) => last.window_end - overlap,
            None => first,
        },
    }
    .max(oldest);
    let run = reconciliations::create(&state.db, tenant, start, now).await?;
    Ok((run, guard))
}

/// One line of progress, for the CLI.
pub type Progress<'a> = &'a (dyn Fn(&Run, &str) + Send + Sync);

/// Runs a begun reconciliation to its end and returns the finished run (succeeded or failed).
pub async fn execute(
    state: &Context,
    mut run: Run,
    guard: RunLock,
    progress: Progress<'_>,
) -> Result<Run, DbErr> {
    let mut discrepancies = Vec::new();
    let outcome = steps(state, &mut run, &mut discrepancies, progress).await;
    run.discrepancies = serde_json::to_string(&discrepancies).unwrap_or_else(|_| "[]".into());
    let kinds: Vec<&'static str> = discrepancies.iter().map(|d| d.kind).collect();
    run.finished_at = Some(Utc::now());
    match outcome {
        Ok(()) => run.status = RunStatus::Succeeded,
        Err(e) => {
            tracing::warn!(tenant = %run.tenant_id, run = %run.id, error = %e, "reconciliation failed");
            run.status = RunStatus::Failed;
            run.error = Some(e.to_string());
        }
    }
    crate::telemetry::reconciliation(run.status.as_str(), &kinds);
    let saved = reconciliations::save(&state.db, run).await;
    guard.release().await;
    saved
}

#[derive(Debug, thiserror::Error)]
enum RunError {
    #[error("Stripe rejected the tenant's secret key: {0}")]
    Auth(StripeCallError),
    #[error("{0}")]
    Stripe(StripeCallError),
    #[error("database error: {0}")]
    Db(#[from] DbErr),
    #[error("the tenant's Stripe key could not be decrypted")]
    Crypto,
    #[error("the tenant has no Stripe config")]
    NoConfig,
    #[error("the gateway's writer is unavailable (database down)")]
    Writer,
    #[error("stopped by a shutdown after saving its progress; the next run covers the rest")]
    ShuttingDown,
}

impl From<StripeCallError> for RunError {
    fn from(e: StripeCallError) -> Self {
        if e.is_auth() {
            RunError::Auth(e)
        } else {
            RunError::Stripe(e)
        }
    }
}

#[derive(serde::Serialize)]
pub struct Discrepancy {
    pub kind: &'static str,
    pub stripe_id: String,
    pub detail: String,
}

async fn steps(
    state: &Context,
    run: &mut Run,
    found: &mut Vec<Discrepancy>,
    progress: Progress<'_>,
) -> Result<(), RunError> {
    let client = match state
        .stripe
        .for_tenant(&state.db, &state.keyring, &state.credentials, run.tenant_id)
        .await
    {
        Ok(Some(c)) => c,
        Ok(None) => return Err(RunError::NoConfig),
        Err(ClientError::Db(e) | ClientError::Credentials(LoadError::Db(e))) => {
            return Err(e.into());
        }
        Err(ClientError::Credentials(LoadError::Crypto(_))) => return Err(RunError::Crypto),
        Err(ClientError::Shared(why)) => {
            return Err(sea_orm::DbErr::Custom(why).into());
        }
    };
    let (from, to) = (run.window_start.timestamp(), run.window_end.timestamp());

    // 1. Stripe's events: every one not completed here goes through the webhook writer.
    let mut after: Option<String> = None;
    loop {
        let (page, more) =
            lists::events_page(&client.stripe, HANDLED_TYPES, from, to, after.as_deref()).await?;
        for event in &page {
            apply_event(state, run, client.livemode, event).await?;
        }
        after = page.last().map(|e| e.id.clone()).or(after);
        run.cursor = after.clone();
        *run = reconciliations::save(&state.db, run.clone()).await?;
        progress(run, &format!("events: {} on this page", page.len()));
        if !more || page.is_empty() {
            break;
        }
        if state.is_shutting_down() {
            return Err(RunError::ShuttingDown);
        }
    }

    // 2. Stripe's PaymentIntents in the window against the tenant's payments.
    let mut after: Option<String> = None;
    let mut compared = 0usize;
    loop {
        let (page, more) = lists::intents_page(&client.stripe, from, to, after.as_deref()).await?;
        for pi in &page {
            compare_intent(state, run.tenant_id, pi, found).await?;
        }
        compared += page.len();
        after = page.last().map(|p| p.id.clone()).or(after);
        progress(
            run,
            &format!(
                "payment intents: {compared} compared, {} discrepancies",
                found.len()
            ),
        );
        if !more || page.is_empty() {
            break;
        }
    }
    Ok(())
}

async fn apply_event(
    state: &Context,
    run: &mut Run,
    livemode: bool,
    event: &lists::RawEvent,
) -> Result<(), RunError> {
    let known = events::find(&state.db, run.tenant_id, &event.id).await?;
    if known
        .as_ref()
        .is_some_and(|k| matches!(k.status, EventStatus::Completed | EventStatus::Ignored))
    {
        run.unchanged_count += 1;
        return Ok(());
    }
    let Ok(envelope) = Envelope::parse(event.json.as_bytes()) else {
        run.failed_count += 1;
        return Ok(());
    };
    let incoming = Incoming {
        tenant_id: run.tenant_id,
        tenant_livemode: livemode,
        envelope,
        payload: event.json.clone(),
        replay: false,
    };
    match state
        .writer
        .submit(incoming)
        .await
        .map_err(|_| RunError::Writer)?
    {
        Outcome::Processed | Outcome::Ignored(_) if known.is_some() => run.updated_count += 1,
        Outcome::Processed | Outcome::Ignored(_) => run.created_count += 1,
        Outcome::Duplicate => run.unchanged_count += 1,
        Outcome::Failed(_) => run.failed_count += 1,
    }
    Ok(())
}

fn stripe_status(status: &str) -> Option<PaymentStatus> {
    match status {
        "succeeded" => Some(PaymentStatus::Succeeded),
        "processing" => Some(PaymentStatus::Processing),
        "requires_capture" => Some(PaymentStatus::Authorized),
        "canceled" => Some(PaymentStatus::Canceled),
        _ => None,
    }
}

async fn compare_intent(
    state: &Context,
    tenant_id: Uuid,
    pi: &lists::ListedIntent,
    found: &mut Vec<Discrepancy>,
) -> Result<(), DbErr> {
    let Some(theirs) = stripe_status(&pi.status) else {
        return Ok(()); // never paid: nothing the books should hold yet
    };
    let Some(ours) = payments::by_intent(&state.db, tenant_id, &pi.id).await? else {
        if theirs != PaymentStatus::Canceled {
            found.push(Discrepancy {
                kind: "missing_payment",
                stripe_id: pi.id.clone(),
                detail: format!(
                    "Stripe has this PaymentIntent {} ({} {}); the gateway has no payment for it",
                    pi.status, pi.amount, pi.currency
                ),
            });
        }
        return Ok(());
    };
    if ours.order_id.is_none() && theirs != PaymentStatus::Canceled {
        found.push(Discrepancy {
            kind: "unmatched_payment",
            stripe_id: pi.id.clone(),
            detail: format!(
                "Stripe has this PaymentIntent {} ({} {}); it names no order of this tenant (metadata.order_id absent or unknown)",
                pi.status, pi.amount, pi.currency
            ),
        });
    }
    let local = ours.status;
    if theirs > local {
        found.push(Discrepancy {
            kind: "status_mismatch",
            stripe_id: pi.id.clone(),
            detail: format!("Stripe: {}, gateway: {}", pi.status, ours.status),
        });
    }
    let amount = if theirs == PaymentStatus::Succeeded {
        pi.amount_received.filter(|a| *a > 0).unwrap_or(pi.amount)
    } else {
        pi.amount
    };
    if amount != ours.amount || !pi.currency.eq_ignore_ascii_case(&ours.currency) {
        found.push(Discrepancy {
            kind: "amount_mismatch",
            stripe_id: pi.id.clone(),
            detail: format!(
                "Stripe: {} {}, gateway: {} {}",
                amount, pi.currency, ours.amount, ours.currency
            ),
        });
    }
    Ok(())
}

/// Starts a run in the background and returns it at once (for the API).
pub async fn spawn(state: &Context, tenant: &TenantScope, since: Since) -> Result<Run, StartError> {
    let (run, guard) = begin(state, tenant, since).await?;
    let (task_state, task_run) = (state.clone(), run.clone());
    state.tasks.spawn(async move {
        if let Err(e) = execute(&task_state, task_run, guard, &|_, _| {}).await {
            tracing::error!(error = %e, "reconciliation result not saved");
        }
    });
    Ok(run)
}
