//! Job: refunds whose caller got no answer from Stripe (a timeout, Stripe down) stay `pending`;
//! every minute each replica asks Stripe again for those older than two minutes, with the key
//! first sent, and settles them with the answer (`app::refunds::retry_pending`). Stripe's
//! idempotency makes a second ask, or two replicas asking at once, harmless.
use crate::state::Context;
use std::time::Duration;

const EVERY: Duration = Duration::from_secs(60);

pub async fn run(state: Context) {
    let mut tick = tokio::time::interval(EVERY);
    loop {
        tick.tick().await;
        match crate::app::refunds::retry_pending(&state).await {
            Ok(0) => {}
            Ok(settled) => tracing::info!(settled, "pending refunds settled with Stripe"),
            Err(e) => tracing::warn!(error = ?e, "pending refunds not retried"),
        }
    }
}
