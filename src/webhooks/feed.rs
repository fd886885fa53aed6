//! Webhooks: the committed order changes, told to whoever in this process listens — the
//! notification worker (to fan the outbox out at once instead of at its next poll), the order
//! status streams, and the metrics. The outbox row, written in the same transaction, is what
//! makes a change durable and visible to other replicas; this feed only makes it prompt here.
use super::merge::OrderChange;
use std::sync::Arc;
use tokio::sync::broadcast;

/// How many changes a slow listener may fall behind before it is told it lagged.
const BACKLOG: usize = 4096;

#[derive(Clone)]
pub struct ChangeFeed {
    tx: broadcast::Sender<Arc<OrderChange>>,
}

impl Default for ChangeFeed {
    fn default() -> Self {
        Self {
            tx: broadcast::channel(BACKLOG).0,
        }
    }
}

impl ChangeFeed {
    /// Tells every listener about changes just committed, and counts them.
    pub fn publish(&self, changes: Vec<OrderChange>) {
        for change in changes {
            crate::telemetry::order_change(change.from.as_str(), change.to.as_str());
            // No listener is fine: the outbox holds the change.
            let _ = self.tx.send(Arc::new(change));
        }
    }

    /// Changes committed from now on (a listener that lags is told so and should re-read).
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<OrderChange>> {
        self.tx.subscribe()
    }
}
