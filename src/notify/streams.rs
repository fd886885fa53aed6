//! Notify: order status streams for customers' browsers. Every stream of one order shares a
//! `watch` channel holding the order's public view; one task per process refreshes the views
//! of watched orders — at once when this process commits a change to one of them (the change
//! feed), and every [`REFRESH`] for changes other replicas committed — with one query for all
//! watched orders. Bounded: [`PER_ORDER`] streams per order (per token), and the configured
//! total per process.
use crate::store;
use crate::webhooks::feed::ChangeFeed;
use chrono::{DateTime, Utc};
use entity::orders;
use entity::status::OrderStatus;
use sea_orm::DatabaseConnection;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;
use tokio::sync::{Notify, watch};
use uuid::Uuid;

/// Streams one order (one status token) may have open at once.
pub const PER_ORDER: usize = 5;
/// How often watched orders are re-read for changes committed elsewhere.
const REFRESH: Duration = Duration::from_millis(400);

/// What a status URL shows: status and amounts, no personal data.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StatusView {
    pub status: OrderStatus,
    pub amount: i64,
    pub amount_refunded: i64,
    pub currency: String,
    pub updated_at: DateTime<Utc>,
}

impl From<&orders::Model> for StatusView {
    fn from(o: &orders::Model) -> Self {
        Self {
            status: o.status,
            amount: o.amount,
            amount_refunded: o.amount_refunded,
            currency: o.currency.clone(),
            updated_at: o.updated_at,
        }
    }
}

/// Why a stream was not opened.
#[derive(Debug, PartialEq, Eq)]
pub enum Refused {
    /// This order already has [`PER_ORDER`] streams.
    OrderBusy,
    /// The process has its most streams open.
    Full,
}

struct Watched {
    tx: watch::Sender<StatusView>,
    streams: usize,
}

struct Hub {
    watched: Mutex<HashMap<Uuid, Watched>>,
    max_total: usize,
    /// A stream opened: the refresher may have been idle.
    opened: Notify,
}

impl Hub {
    fn watched(&self) -> MutexGuard<'_, HashMap<Uuid, Watched>> {
        self.watched.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[derive(Clone)]
pub struct StatusStreams(Arc<Hub>);

/// One open stream; dropping it closes its slot.
pub struct Subscription {
    pub rx: watch::Receiver<StatusView>,
    hub: Arc<Hub>,
    order_id: Uuid,
}

impl Drop for Subscription {
    fn drop(&mut self) {
        let mut watched = self.hub.watched();
        if let Some(w) = watched.get_mut(&self.order_id) {
            w.streams -= 1;
            if w.streams == 0 {
                watched.remove(&self.order_id);
            }
        }
        crate::telemetry::status_streams(watched.values().map(|w| w.streams).sum());
    }
}

impl StatusStreams {
    pub fn new(max_total: usize) -> Self {
        Self(Arc::new(Hub {
            watched: Mutex::default(),
            max_total,
            opened: Notify::new(),
        }))
    }

    /// Opens a stream of `order`, whose view is `now`.
    pub fn open(&self, order_id: Uuid, now: StatusView) -> Result<Subscription, Refused> {
        let mut watched = self.0.watched();
        let total: usize = watched.values().map(|w| w.streams).sum();
        if total >= self.0.max_total {
            return Err(Refused::Full);
        }
        let rx = match watched.get_mut(&order_id) {
            Some(w) if w.streams >= PER_ORDER => return Err(Refused::OrderBusy),
            Some(w) => {
                w.streams += 1;
                w.tx.subscribe()
            }
            None => {
                let (tx, rx) = watch::channel(now);
                watched.insert(order_id, Watched { tx, streams: 1 });
                rx
            }
        };
        crate::telemetry::status_streams(total + 1);
        drop(watched);
        self.0.opened.notify_one();
        Ok(Subscription {
            rx,
            hub: self.0.clone(),
            order_id,
        })
    }

    /// Keeps the watched orders' views current until dropped.
    pub async fn run(self, db: DatabaseConnection, feed: ChangeFeed) {
        let mut changes = feed.subscribe();
        loop {
            let ids: Vec<Uuid> = self.0.watched().keys().copied().collect();
            if ids.is_empty() {
                self.0.opened.notified().await;
                continue;
            }
            match store::orders::by_ids(&db, ids).await {
                Ok(found) => self.publish(&found),
                Err(e) => tracing::warn!(error = %e, "order status streams not refreshed"),
            }
            tokio::select! {
                () = tokio::time::sleep(REFRESH) => {}
                () = self.0.opened.notified() => {}
                () = async {
                    // Only changes to watched orders cut the wait short.
                    loop {
                        match changes.recv().await {
                            Ok(c) if self.0.watched().contains_key(&c.order_id) => return,
                            Ok(_) => {}
                            Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => return,
                            Err(tokio::sync::broadcast::error::RecvError::Closed) => {
                                std::future::pending::<()>().await;
                            }
                        }
                    }
                } => {}
            }
        }
    }

    fn publish(&self, found: &[orders::Model]) {
        let watched = self.0.watched();
        for order in found {
            if let Some(w) = watched.get(&order.id) {
                let view = StatusView::from(order);
                w.tx.send_if_modified(|current| {
                    let changed = *current != view;
                    if changed {
                        *current = view;
                    }
                    changed
                });
            }
        }
    }
}
