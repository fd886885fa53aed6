//! Job: the reconciliation schedule (`GATEWAY_RECONCILE_INTERVAL`): every active tenant that can
//! call Stripe, one after another, through `app::reconciliations::run`.
use crate::app::Error;
use crate::app::reconciliations::{self, Since};
use crate::state::Context;

/// Reconciles every active tenant with a Stripe config, one after another, every `interval`.
pub async fn schedule(state: Context, interval: std::time::Duration) {
    let mut tick = tokio::time::interval(interval);
    tick.tick().await; // the first tick is immediate: wait a whole interval after start-up
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            () = state.tasks.stopped() => return,
        }
        let tenants = match reconciliations::reconcilable(&state).await {
            Ok(t) => t,
            Err(e) => {
                tracing::warn!(error = %e, "scheduled reconciliation: tenants not listed");
                continue;
            }
        };
        for tenant in tenants {
            if state.is_shutting_down() {
                return;
            }
            match reconciliations::run(&state, &tenant, Since::LastRun, &|_, _| {}).await {
                Ok(_) => {}
                // Another replica (or the API) runs this tenant now.
                Err(Error::Conflict {
                    code: "reconciliation_running",
                    ..
                }) => {}
                Err(e) => {
                    tracing::warn!(tenant = %tenant.slug, error = %e, "scheduled reconciliation not done")
                }
            }
        }
    }
}
