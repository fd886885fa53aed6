//! Notify: order status streams for customers' browsers. Every stream of one order shares a
//! `watch` channel holding the order's public view; one task per process refreshes the views
//! of watched orders — at once when this process commits a change to one of them (the change
//! feed), and every [`REFRESH`] for changes other replicas committed — with one query for all
//! watched orders. Bounded: [`PER_ORDER`] streams per order (per token), the configured number
//! per client address, a quarter of the process's streams per tenant (so one restaurant's
//! customers, or one client, cannot take every slot from the others' customers), and the
//! configured total per process. Each stream also ends after its lifetime and when shutdown
//! begins (the API layer's concern); browsers reconnect.
use crate::domain::changes::ChangeFeed;
use crate::store;
use chrono::{DateTime, Utc};
use entity::orders;
use entity::status::OrderStatus;
use sea_orm::DatabaseConnection;
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;
use tokio::sync::{Notify, watch};
use uuid::Uuid;

/// Streams one order (one status token) may have open at once.
pub const PER_ORDER: usize = 5;
/// A tenant's orders may hold at most 1/this of the process's streams.
pub const TENANT_SHARE: usize = 4;
/// How often watched orders are re-read for changes committed elsewhere.
const REFRESH: Duration = Duration::from_millis(400);

/// What a status URL shows: status and amounts, no personal data.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StatusView {
    pub status: OrderStatus,
    pub amount: i64,
    pub amount_refunded: i64,
    pub amount_paid: i64,
    pub tip_amount: i64,
    pub amount_due: i64,
    pub amount_authorized: i64,
    pub currency: String,
    pub updated_at: DateTime<Utc>,
}

impl From<&orders::Model> for StatusView {
    fn from(o: &orders::Model) -> Self {
        Self {
            status: o.status,
            amount: o.amount,
            amount_refunded: o.amount_refunded,
            amount_paid: o.amount_paid,
            tip_amount: o.tip_amount,
            amount_due: o.amount_due,
            amount_authorized: o.amount_authorized,
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
    /// This client address has its most streams open.
    AddressBusy,
    /// The order's tenant holds its share (a quarter) of the process's streams.
    TenantBusy,
}

/// Who a stream is for: counted per client address and per tenant.
#[derive(Clone, Copy, Debug)]
pub struct Holder {
    pub tenant_id: Uuid,
    /// `None` when the address is not known (the stream is then counted per tenant only).
    pub address: Option<IpAddr>,
}

struct Watched {
    tx: watch::Sender<StatusView>,
    streams: usize,
}

#[derive(Default)]
struct Counts {
    watched: HashMap<Uuid, Watched>,
    per_address: HashMap<IpAddr, usize>,
    per_tenant: HashMap<Uuid, usize>,
}

/// Counts one stream more (`up`) or less for `key`, forgetting it at zero.
fn count<K: std::hash::Hash + Eq + Copy>(map: &mut HashMap<K, usize>, key: K, up: bool) {
    if up {
        *map.entry(key).or_default() += 1;
    } else if let Some(n) = map.get_mut(&key) {
        *n = n.saturating_sub(1);
        if *n == 0 {
            map.remove(&key);
        }
    }
}

struct Hub {
    counts: Mutex<Counts>,
    max_total: usize,
    max_per_address: usize,
    /// A stream opened: the refresher may have been idle.
    opened: Notify,
}

impl Hub {
    fn counts(&self) -> MutexGuard<'_, Counts> {
        self.counts.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[derive(Clone)]
pub struct StatusStreams(Arc<Hub>);

/// One open stream; dropping it closes its slot.
pub struct Subscription {
    pub rx: watch::Receiver<StatusView>,
    hub: Arc<Hub>,
    order_id: Uuid,
    holder: Holder,
}

impl Drop for Subscription {
    fn drop(&mut self) {
        let mut counts = self.hub.counts();
        if let Some(w) = counts.watched.get_mut(&self.order_id) {
            w.streams -= 1;
            if w.streams == 0 {
                counts.watched.remove(&self.order_id);
            }
        }
        if let Some(address) = self.holder.address {
            count(&mut counts.per_address, address, false);
        }
        count(&mut counts.per_tenant, self.holder.tenant_id, false);
        crate::telemetry::status_streams(counts.per_tenant.values().sum());
    }
}

impl StatusStreams {
    pub fn new(max_total: usize, max_per_address: usize) -> Self {
        Self(Arc::new(Hub {
            counts: Mutex::default(),
            max_total,
            max_per_address,
            opened: Notify::new(),
        }))
    }

    /// Opens a stream of `order`, whose view is `now`, for `holder`.
    pub fn open(
        &self,
        order_id: Uuid,
        holder: Holder,
        now: StatusView,
    ) -> Result<Subscription, Refused> {
        let mut counts = self.0.counts();
        let total: usize = counts.per_tenant.values().sum();
        if total >= self.0.max_total {
            return Err(Refused::Full);
        }
        if let Some(address) = holder.address
            && counts.per_address.get(&address).copied().unwrap_or(0) >= self.0.max_per_address
        {
            return Err(Refused::AddressBusy);
        }
        let tenant_share = (self.0.max_total / TENANT_SHARE).max(1);
        if counts
            .per_tenant
            .get(&holder.tenant_id)
            .copied()
            .unwrap_or(0)
            >= tenant_share
        {
            return Err(Refused::TenantBusy);
        }
        let rx = match counts.watched.get_mut(&order_id) {
            Some(w) if w.streams >= PER_ORDER => return Err(Refused::OrderBusy),
            Some(w) => {
                w.streams += 1;
                w.tx.subscribe()
            }
            None => {
                let (tx, rx) = watch::channel(now);
                counts.watched.insert(order_id, Watched { tx, streams: 1 });
                rx
            }
        };
        if let Some(address) = holder.address {
            count(&mut counts.per_address, address, true);
        }
        count(&mut counts.per_tenant, holder.tenant_id, true);
        crate::telemetry::status_streams(total + 1);
        drop(counts);
        self.0.opened.notify_one();
        Ok(Subscription {
            rx,
            hub: self.0.clone(),
            order_id,
            holder,
        })
    }

    /// Keeps the watched orders' views current until dropped.
    pub async fn run(self, db: DatabaseConnection, feed: ChangeFeed) {
        let mut changes = feed.subscribe();
        loop {
            let ids: Vec<Uuid> = self.0.counts().watched.keys().copied().collect();
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
                            Ok(c) if self.0.counts().watched.contains_key(&c.order_id) => return,
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
        let counts = self.0.counts();
        for order in found {
            if let Some(w) = counts.watched.get(&order.id) {
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
