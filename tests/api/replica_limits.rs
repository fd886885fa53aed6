//! Shared per-tenant rate limits across three replicas through Redis (a private `redis-server`
//! on a port of its own, so the test can stop it): the limit holds for the replicas together,
//! another tenant is untouched, forged deliveries spend nothing, a stopped Redis fails no
//! webhook (each replica limits alone meanwhile), and sharing resumes when Redis is back.
use crate::replicas::{Cluster, SECRET, SLUG};
use crate::stripe::{event, now, payment_intent};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A `redis-server` of the test's own.
pub struct PrivateRedis {
    pub port: u16,
    child: Option<Child>,
}

impl PrivateRedis {
    /// `None` when `redis-server` is not installed (CI installs it: there it must run).
    pub fn start() -> Option<Self> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .ok()?
            .local_addr()
            .ok()?
            .port();
        let mut redis = Self { port, child: None };
        if !redis.resume() {
            assert!(std::env::var_os("CI").is_none(), "CI needs redis-server");
            return None;
        }
        Some(redis)
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Starts it (again) on its port; `false` if it cannot be started.
    fn resume(&mut self) -> bool {
        let Ok(child) = Command::new("redis-server")
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
        else {
            return false;
        };
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if std::net::TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                return true;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        false
    }

    fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for PrivateRedis {
    fn drop(&mut self) {
        self.stop();
    }
}

fn fresh_event() -> String {
    let id = format!("evt_lim{}", uuid::Uuid::new_v4().simple());
    let pi = payment_intent("pi_lim0", 500, "eur", "requires_payment_method", None);
    event(&id, "payment_intent.created", now(), pi).to_string()
}

/// Sends deliveries to `slug` at `per_second` for `secs`, round robin over the replicas, each
/// a fresh event; the statuses and how long the sending took.
async fn hammer(
    cluster: &Arc<Cluster>,
    slug: &'static str,
    secret: &'static str,
    per_second: u64,
    secs: u64,
) -> (Vec<u16>, Duration) {
    let mut tick = tokio::time::interval(Duration::from_micros(1_000_000 / per_second));
    let start = Instant::now();
    let mut sends = Vec::new();
    for n in 0..(per_second * secs) as usize {
        tick.tick().await;
        let cluster = cluster.clone();
        sends.push(tokio::spawn(async move {
            cluster.deliver_as(n, slug, secret, &fresh_event()).await.0
        }));
    }
    let took = start.elapsed();
    let mut statuses = Vec::new();
    for s in sends {
        statuses.push(s.await.expect("sent"));
    }
    (statuses, took)
}

fn count(statuses: &[u16], status: u16) -> usize {
    statuses.iter().filter(|s| **s == status).count()
}

/// The value of counter `name` in a Prometheus exposition (0 when absent).
fn counter(metrics: &str, name: &str) -> f64 {
    metrics
        .lines()
        .find(|l| l.starts_with(name) && l[name.len()..].starts_with(' '))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0)
}

async fn fallbacks(cluster: &Cluster) -> f64 {
    let mut total = 0.0;
    for r in 0..3 {
        total += counter(
            &cluster.metrics(r).await,
            "gateway_rate_limiter_fallback_total",
        );
    }
    total
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_limit_for_all_replicas_and_no_webhook_fails_without_redis() {
    const OTHER: &str = "other";
    const OTHER_SECRET: &str = "whsec_otherTenantSecret00";
    let Some(mut redis) = PrivateRedis::start() else {
        return;
    };
    let url = redis.url();
    let env = [
        ("GATEWAY_REDIS_URL", url.as_str()),
        ("GATEWAY_REPLICAS_HINT", "3"),
    ];
    let Some(cluster) = Cluster::start(3, &env).await else {
        return;
    };
    cluster.tenant((50, 50)).await;
    cluster
        .tenant_named(OTHER, (100_000, 100_000), OTHER_SECRET)
        .await;
    let cluster = Arc::new(cluster);

    // Forged deliveries are refused before the limit: they spend none of it.
    for n in 0..150 {
        let (status, _) = cluster
            .deliver(n, "whsec_forged0000000000000", &fresh_event())
            .await;
        assert_eq!(status, 400);
    }
    let start = Instant::now();
    let mut first = Vec::new();
    for n in 0..50 {
        first.push(cluster.deliver(n, SECRET, &fresh_event()).await.0);
    }
    assert_eq!(
        count(&first, 200),
        50,
        "the whole burst is there: {first:?}"
    );

    // Then 150/s offered for 5 s through three replicas; another tenant at 40/s meanwhile.
    let other = tokio::spawn({
        let cluster = cluster.clone();
        async move { hammer(&cluster, OTHER, OTHER_SECRET, 40, 5).await }
    });
    let (statuses, _) = hammer(&cluster, SLUG, SECRET, 150, 5).await;
    let took = start.elapsed();
    let admitted = 50 + count(&statuses, 200);
    assert_eq!(
        count(&statuses, 200) + count(&statuses, 429),
        statuses.len(),
        "{statuses:?}"
    );
    // The limit: the burst, then 50/s, for the replicas together.
    let allowed = 50.0 + 50.0 * took.as_secs_f64();
    eprintln!(
        "limited tenant: {admitted} admitted of {} in {took:?} (allowance {allowed:.0})",
        statuses.len() + 50
    );
    assert!(
        admitted as f64 <= allowed * 1.05,
        "{admitted} admitted, allowance {allowed:.0}"
    );
    assert!(
        admitted as f64 >= allowed * 0.9,
        "{admitted} admitted, allowance {allowed:.0}"
    );
    let (other, _) = other.await.unwrap();
    assert_eq!(
        count(&other, 200),
        other.len(),
        "the other tenant is untouched"
    );
    assert_eq!(fallbacks(&cluster).await, 0.0, "Redis answered every time");

    // Redis stopped: every webhook within the limit still succeeds (each replica limits alone).
    redis.stop();
    let (statuses, _) = hammer(&cluster, SLUG, SECRET, 20, 2).await;
    assert_eq!(count(&statuses, 200), statuses.len(), "{statuses:?}");
    let fell_back = fallbacks(&cluster).await;
    assert!(
        fell_back >= statuses.len() as f64,
        "every one counted: {fell_back}"
    );
    assert!(
        cluster
            .replicas
            .iter()
            .all(|r| r.log_contains("Redis does not answer"))
    );

    // Redis back: sharing resumes by itself (each replica tries again within a second).
    assert!(redis.resume(), "redis restarts");
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let (statuses, _) = hammer(&cluster, SLUG, SECRET, 30, 1).await;
    assert_eq!(count(&statuses, 200), statuses.len(), "{statuses:?}");
    let settled = fallbacks(&cluster).await;
    let (statuses, took) = hammer(&cluster, SLUG, SECRET, 150, 3).await;
    assert_eq!(
        fallbacks(&cluster).await,
        settled,
        "no fallback once Redis is back"
    );
    assert!(
        cluster
            .replicas
            .iter()
            .all(|r| r.log_contains("Redis answers again"))
    );
    // At most a burst, then the rate (one limit, not three).
    let admitted = count(&statuses, 200) as f64;
    let allowed = 50.0 * took.as_secs_f64() + 50.0;
    assert!(
        admitted <= allowed * 1.05 + 1.0,
        "{admitted} admitted, allowance {allowed:.0}"
    );
}
