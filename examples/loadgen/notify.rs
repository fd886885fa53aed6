//! `--notify`: the restaurants' receiver of order notifications, on loopback. Each tenant gets an
//! endpoint here before the load; every `order.paid` that arrives is matched to the event that
//! paid its order, and the time from the gateway's answer to that event (its commit) to the
//! notification's arrival is its delivery latency.
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub struct Notified {
    /// Order id → index of the event that pays it.
    orders: HashMap<String, usize>,
    /// When each event's answer arrived, in ns after `epoch` (0: not yet).
    pub answered: Vec<AtomicU64>,
    /// When each event's notification arrived, in ns after `epoch` (0: not yet).
    received: Vec<AtomicU64>,
    /// Notifications that arrived more than once (at-least-once retries).
    pub repeats: AtomicU64,
    epoch: Instant,
    count: AtomicU64,
    signed: Mutex<usize>,
}

impl Notified {
    pub fn new(order_ids: Vec<String>, epoch: Instant) -> Arc<Self> {
        let n = order_ids.len();
        Arc::new(Self {
            orders: order_ids
                .into_iter()
                .enumerate()
                .map(|(i, o)| (o, i))
                .collect(),
            answered: (0..n).map(|_| AtomicU64::new(0)).collect(),
            received: (0..n).map(|_| AtomicU64::new(0)).collect(),
            repeats: AtomicU64::new(0),
            epoch,
            count: AtomicU64::new(0),
            signed: Mutex::new(0),
        })
    }

    pub fn now(&self) -> u64 {
        self.epoch.elapsed().as_nanos() as u64
    }

    fn arrived(&self, body: &[u8], signed: bool) {
        let at = self.now();
        let Ok(v) = serde_json::from_slice::<serde_json::Value>(body) else {
            return;
        };
        let Some(&i) = v["data"]["id"].as_str().and_then(|id| self.orders.get(id)) else {
            return;
        };
        if signed && let Ok(mut s) = self.signed.lock() {
            *s += 1;
        }
        if self.received[i]
            .compare_exchange(0, at, Ordering::SeqCst, Ordering::SeqCst)
            .is_ok()
        {
            self.count.fetch_add(1, Ordering::SeqCst);
        } else {
            self.repeats.fetch_add(1, Ordering::SeqCst);
        }
    }

    /// Waits until every order's notification arrived, or `timeout`; true if all did.
    pub async fn wait_all(&self, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        while (self.count.load(Ordering::SeqCst) as usize) < self.received.len() {
            if Instant::now() > deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        true
    }

    /// Prints delivery latency percentiles and the notification rate.
    pub fn report(&self, load_started: u64) {
        let mut lat: Vec<f64> = Vec::new();
        let (mut first, mut last) = (u64::MAX, 0);
        for (a, r) in self.answered.iter().zip(&self.received) {
            let (a, r) = (a.load(Ordering::SeqCst), r.load(Ordering::SeqCst));
            if a > 0 && r > 0 {
                lat.push(r.saturating_sub(a) as f64 / 1e6);
                first = first.min(r);
                last = last.max(r);
            }
        }
        lat.sort_by(f64::total_cmp);
        let pct = |p: f64| {
            lat.get(((lat.len() as f64 * p).ceil() as usize).saturating_sub(1))
                .copied()
                .unwrap_or(f64::NAN)
        };
        let span = (last.saturating_sub(load_started)) as f64 / 1e9;
        println!(
            "notifications {} of {}  (signed {}, repeats {})",
            lat.len(),
            self.received.len(),
            self.signed.lock().map(|s| *s).unwrap_or(0),
            self.repeats.load(Ordering::SeqCst)
        );
        println!(
            "notification latency ms (answer → received)  p50 {:.1}  p90 {:.1}  p99 {:.1}  max {:.1}",
            pct(0.5),
            pct(0.9),
            pct(0.99),
            pct(1.0)
        );
        println!(
            "notification throughput {:.0} /s  (last one {:.2}s after the load began)",
            lat.len() as f64 / span.max(1e-9),
            span
        );
    }
}

/// Starts the receiver on a free loopback port; returns its URL.
pub async fn receiver(notified: Arc<Notified>) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}/orders", listener.local_addr().expect("addr"));
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            let notified = notified.clone();
            tokio::spawn(async move {
                let svc = service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
                    let notified = notified.clone();
                    async move {
                        let signed = req.headers().contains_key("webhook-signature");
                        let body = req
                            .into_body()
                            .collect()
                            .await
                            .map(|b| b.to_bytes())
                            .unwrap_or_default();
                        notified.arrived(&body, signed);
                        hyper::Response::builder()
                            .status(204)
                            .body(Full::new(Bytes::new()))
                    }
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), svc)
                    .await;
            });
        }
    });
    url
}
