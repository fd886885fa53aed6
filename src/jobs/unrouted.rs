//! Job: routing the Connect events that waited for a tenant — a pass of
//! `app::unrouted::route_now` every minute on every replica (which catches what a stopped process
//! or a concurrent change left).
use crate::app::unrouted::route_now;
use crate::state::Context;
use std::time::Duration;

const EVERY: Duration = Duration::from_secs(60);

/// A pass every minute until the process stops.
pub async fn run(state: Context) {
    let mut tick = tokio::time::interval(EVERY);
    loop {
        tick.tick().await;
        route_now(&state).await;
    }
}
