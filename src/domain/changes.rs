//! Domain: what changed in a tenant's books — [`OrderChange`], an order whose status or money one
//! event moved, produced by the write path's merge in the transaction that commits it (and
//! stored there as an outbox row) — and [`ChangeFeed`], which tells whoever in this process
//! listens once the change is committed: the notification worker (to fan the outbox out at once
//! instead of at its next poll), the order status streams, the metrics. The outbox row is what
//! makes a change durable and visible to other replicas; the feed only makes it prompt here.
use entity::status::OrderStatus;
use std::sync::Arc;
use tokio::sync::broadcast;
use uuid::Uuid;

/// An order whose status or money one event moved.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OrderChange {
    pub tenant_id: Uuid,
    pub order_id: Uuid,
    pub reference: String,
    /// Status before and after the event.
    pub from: OrderStatus,
    pub to: OrderStatus,
    /// The order's amount and currency (they never change).
    pub amount: i64,
    pub currency: String,
    /// Refunded amount before and after the event, in minor units.
    pub refunded_from: i64,
    pub refunded_to: i64,
    /// The order's money after the event (minor units).
    pub amount_paid: i64,
    pub tip_amount: i64,
    pub amount_due: i64,
    pub amount_authorized: i64,
    /// The Stripe event that caused it.
    pub cause: String,
}

impl OrderChange {
    /// The change as the outbox stores it, recorded at `now`.
    pub fn outbox_row(&self, now: chrono::DateTime<chrono::Utc>) -> entity::order_changes::Model {
        entity::order_changes::Model {
            id: Uuid::now_v7(),
            tenant_id: self.tenant_id,
            order_id: self.order_id,
            reference: self.reference.clone(),
            from_status: self.from,
            to_status: self.to,
            amount: self.amount,
            currency: self.currency.clone(),
            refunded_from: self.refunded_from,
            refunded_to: self.refunded_to,
            amount_paid: self.amount_paid,
            tip_amount: self.tip_amount,
            amount_due: self.amount_due,
            amount_authorized: self.amount_authorized,
            cause: self.cause.clone(),
            created_at: now,
            dispatched_at: None,
            kind: None,
            payment_id: None,
            capture_before: None,
        }
    }
}

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
    /// Tells every listener about changes just committed.
    pub fn publish(&self, changes: Vec<OrderChange>) {
        for change in changes {
            // No listener is fine: the outbox holds the change.
            let _ = self.tx.send(Arc::new(change));
        }
    }

    /// Changes committed from now on (a listener that lags is told so and should re-read).
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<OrderChange>> {
        self.tx.subscribe()
    }
}
