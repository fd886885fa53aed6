//! Every task the process runs beside its requests starts here, on the state's one owner
//! (`Tasks`), so what runs, and for whom, is read in one place:
//! - always: the refused-delivery flusher and the database breaker's probe (both end with the
//!   state: they hold it weakly);
//! - when serving: payload retention, the change notices from other replicas, routing Connect
//!   events that waited for a tenant, refunds Stripe did not answer, expiring authorizations,
//!   the Redis connection of the shared rate limits, the notification worker, the order status
//!   streams, and the reconciliation schedule if set.
//!
//! The writer's shards are not here: they live as long as the state that sends them events
//! (`Writer::spawn`), so requests still in flight during the shutdown grace are written.
use crate::state::AppState;
use crate::{changes, jobs};
use std::sync::Arc;
use std::time::Duration;

/// How often refused-delivery counts are written to the database.
const FAILURE_FLUSH: Duration = Duration::from_secs(2);

/// What the process is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// `gateway serve`: everything.
    Server,
    /// A command of the CLI (reconcile, check-config, tenants): what its use cases need.
    Command,
}

pub fn start(state: &AppState, role: Role) {
    let tasks = &state.tasks;
    let flusher = Arc::downgrade(&state.failures);
    let flush_db = state.db.clone();
    tasks.spawn_until_stopped(async move {
        let mut tick = tokio::time::interval(FAILURE_FLUSH);
        loop {
            tick.tick().await;
            let Some(failures) = flusher.upgrade() else {
                break;
            };
            if let Err(e) = failures.flush(&flush_db).await {
                tracing::warn!(error = %e, "refused-delivery counts not flushed; will retry");
            }
        }
    });
    tasks.spawn_until_stopped(crate::breaker::probe_while_open(
        Arc::downgrade(&state.breaker),
        state.db.clone(),
    ));
    if role == Role::Command {
        return;
    }
    let app = &state.app;
    tasks.spawn_until_stopped(jobs::retention::run(app.clone()));
    tasks.spawn_until_stopped(changes::listen(app.clone()));
    tasks.spawn_until_stopped(jobs::unrouted::run(app.clone()));
    tasks.spawn_until_stopped(jobs::refunds::run(app.clone()));
    tasks.spawn_until_stopped(jobs::authorizations::run(app.clone()));
    let shared_limits = state.clone();
    tasks.spawn_until_stopped(async move {
        if let Some(shared) = shared_limits.limiters.shared() {
            match shared.connect().await {
                Ok(()) => tracing::info!("tenants' webhook rate limits are shared through Redis"),
                Err(e) => tracing::warn!(error = %e, "Redis does not answer yet: each replica limits tenants alone until it does"),
            }
        }
    });
    let feed = state.writer.feed().clone();
    tasks.spawn_until_stopped(state.notifier.clone().run(feed.clone()));
    tasks.spawn_until_stopped(state.status_streams.clone().run(state.db.clone(), feed));
    let interval = state.config.reconcile_interval;
    if !interval.is_zero() {
        tasks.spawn(jobs::reconcile::schedule(app.clone(), interval));
    }
}
