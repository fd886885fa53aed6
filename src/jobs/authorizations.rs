//! Job: authorizations about to lapse. Every `GATEWAY_AUTHORIZATION_SCAN_INTERVAL` each replica
//! looks for live holds whose deadline falls within `GATEWAY_AUTHORIZATION_WARNING` and
//! announces each once (`order.authorization_expiring`; the store's conditional update makes it
//! once across replicas), and sets the gauge of holds lapsing within the window.
use crate::state::Context;

pub async fn run(state: Context) {
    let mut tick = tokio::time::interval(state.config.authorization_scan_interval);
    loop {
        tick.tick().await;
        match crate::app::authorizations::announce_lapsing(&state).await {
            Ok(0) => {}
            Ok(announced) => tracing::info!(announced, "authorizations about to lapse announced"),
            Err(e) => {
                tracing::warn!(error = %e, "authorizations about to lapse not looked for; will retry")
            }
        }
    }
}
