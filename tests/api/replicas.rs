//! Several replicas: three gateway processes on loopback ports sharing one PostgreSQL database
//! (and Redis where the test is about limits), driven the way a load balancer would — each
//! request to whichever replica. PostgreSQL only: SQLite is one process by design.
use crate::gateway_process::{GatewayProcess, TOKEN};
use crate::helpers::{Backend, TestDb, new_master_key};
use crate::stripe::{charge, event, now, payment_intent, sign};
use futures_util::StreamExt;
use reqwest::Method;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::time::{Duration, Instant};

/// The tenant every replica test uses, and its Stripe webhook secret.
pub const SLUG: &str = "rep";
pub const SECRET: &str = "whsec_replicaTestSecret00";

pub struct Cluster {
    pub db: TestDb,
    pub master: String,
    pub replicas: Vec<GatewayProcess>,
    client: reqwest::Client,
}

impl Cluster {
    /// `n` replicas on a fresh PostgreSQL schema, each with `env`; `None` without PostgreSQL.
    pub async fn start(n: usize, env: &[(&str, &str)]) -> Option<Self> {
        Some(Self::start_on(
            TestDb::new(Backend::Postgres).await?,
            n,
            env,
        ))
    }

    /// Like [`start`](Self::start), each replica's database connections named `app` (so a test
    /// can find them in `pg_stat_activity`).
    pub async fn start_named(n: usize, app: &str, env: &[(&str, &str)]) -> Option<Self> {
        let db = TestDb::new(Backend::Postgres).await?;
        let url = format!("{}&application_name={app}", db.url.as_deref()?);
        let mut env = env.to_vec();
        env.push(("DATABASE_URL", &url));
        Some(Self::start_on(db, n, &env))
    }

    fn start_on(db: TestDb, n: usize, env: &[(&str, &str)]) -> Self {
        let master = new_master_key("replicas");
        // One after the other: the first migrates, the others start on the migrated schema.
        let replicas = (0..n)
            .map(|_| GatewayProcess::start(&db, &master, env))
            .collect();
        Self {
            db,
            master,
            replicas,
            client: reqwest::Client::new(),
        }
    }

    /// `replica`'s Prometheus exposition.
    pub async fn metrics(&self, replica: usize) -> String {
        let resp = self
            .client
            .get(format!("{}/metrics", self.base(replica)))
            .send()
            .await
            .expect("the replica answers");
        resp.text().await.unwrap_or_default()
    }

    pub fn base(&self, replica: usize) -> &str {
        &self.replicas[replica % self.replicas.len()].base
    }

    /// An operator call to `replica`; the status and the JSON answer (`null` when none).
    pub async fn call(
        &self,
        replica: usize,
        method: Method,
        path: &str,
        body: Value,
    ) -> (u16, Value) {
        let mut req = self
            .client
            .request(method, format!("{}{path}", self.base(replica)))
            .bearer_auth(TOKEN);
        if !body.is_null() {
            req = req.json(&body);
        }
        let resp = req.send().await.expect("the replica answers");
        let status = resp.status().as_u16();
        (status, resp.json().await.unwrap_or(Value::Null))
    }

    /// Like [`call`](Self::call), asserting a 2xx.
    pub async fn ok(&self, replica: usize, method: Method, path: &str, body: Value) -> Value {
        let (status, answer) = self.call(replica, method, path, body).await;
        assert!((200..300).contains(&status), "{path}: {status} {answer}");
        answer
    }

    /// The test tenant with `limits` (per second, burst) and a Stripe config signed with
    /// [`SECRET`].
    pub async fn tenant(&self, limits: (u32, u32)) {
        self.tenant_named(SLUG, limits, SECRET).await;
    }

    /// Tenant `slug` with `limits` and a Stripe config signed with `secret`.
    pub async fn tenant_named(&self, slug: &str, limits: (u32, u32), secret: &str) {
        self.ok(
            0,
            Method::POST,
            "/v1/tenants",
            json!({"slug": slug, "name": "Replicas", "rate_limit_per_second": limits.0, "rate_limit_burst": limits.1}),
        )
        .await;
        self.ok(
            0,
            Method::PUT,
            &format!("/v1/tenants/{slug}/stripe-config"),
            json!({"secret_key": "sk_test_replicaTestKey00", "webhook_secret": secret}),
        )
        .await;
    }

    /// Delivers `body` to `replica` signed with `secret`, as Stripe would; the status and answer.
    pub async fn deliver(&self, replica: usize, secret: &str, body: &str) -> (u16, Value) {
        self.deliver_as(replica, SLUG, secret, body).await
    }

    /// Like [`deliver`](Self::deliver), to tenant `slug`.
    pub async fn deliver_as(
        &self,
        replica: usize,
        slug: &str,
        secret: &str,
        body: &str,
    ) -> (u16, Value) {
        let resp = self
            .client
            .post(format!("{}/webhooks/stripe/{slug}", self.base(replica)))
            .header("Stripe-Signature", sign(secret, now(), body))
            .header("content-type", "application/json")
            .body(body.to_owned())
            .send()
            .await
            .expect("the replica answers");
        let status = resp.status().as_u16();
        (status, resp.json().await.unwrap_or(Value::Null))
    }
}

/// Two events per order (the PaymentIntent and its charge succeeded), each a row the other
/// also locks: copies of them committed at once on different replicas contend for the same
/// event, payment and order rows.
async fn paying_events(cluster: &Cluster, orders: usize) -> (Vec<String>, Vec<String>) {
    let mut order_ids = Vec::new();
    let mut bodies = Vec::new();
    for i in 0..orders {
        let order = cluster
            .ok(
                i,
                Method::POST,
                &format!("/v1/tenants/{SLUG}/orders"),
                json!({"reference": format!("rep-{i}"), "amount": 1800, "currency": "eur"}),
            )
            .await;
        let order = order["id"].as_str().expect("order id").to_owned();
        let pi = format!("pi_rep{i:04}");
        let t = now();
        bodies.push(
            event(
                &format!("evt_rep{i:04}a"),
                "payment_intent.succeeded",
                t,
                payment_intent(&pi, 1800, "eur", "succeeded", Some(&order)),
            )
            .to_string(),
        );
        bodies.push(
            event(
                &format!("evt_rep{i:04}b"),
                "charge.succeeded",
                t,
                charge(&pi, 1800, "eur", 0, Some(&order)),
            )
            .to_string(),
        );
        order_ids.push(order);
    }
    (order_ids, bodies)
}

/// Each order, read through the replicas in turn, is PAID by exactly one payment; their views.
async fn paid_once(cluster: &Cluster, orders: &[String]) -> Vec<Value> {
    let mut views = Vec::new();
    for (i, order) in orders.iter().enumerate() {
        let path = format!("/v1/tenants/{SLUG}/orders/{order}");
        let o = cluster.ok(i, Method::GET, &path, json!(null)).await;
        assert_eq!(o["status"], "PAID", "{o}");
        assert_eq!(o["payments"].as_array().map(Vec::len), Some(1), "{o}");
        views.push(o);
    }
    views
}

/// 200 events, each delivered 5 times, the 1,000 deliveries shuffled and sent 50 at a time over
/// three replicas: each event applied once, and every delivery answered 200 the first time — no
/// 5xx from write batches of two replicas locking the same rows in opposite orders.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_copies_over_three_replicas_apply_once_without_errors() {
    const ORDERS: usize = 100;
    const COPIES: usize = 5;
    let Some(cluster) = Cluster::start(3, &[]).await else {
        return;
    };
    cluster.tenant((100_000, 100_000)).await;
    let (orders, bodies) = paying_events(&cluster, ORDERS).await;
    // Ten events (five orders) at a time, their 50 copies shuffled: the copies of one event, and
    // the two events of one order, land at once on different replicas.
    let mut deliveries: Vec<(usize, uuid::Uuid, usize)> = (0..bodies.len() * COPIES)
        .map(|i| {
            let at = i % bodies.len();
            (at / 10, uuid::Uuid::new_v4(), at)
        })
        .collect();
    deliveries.sort();
    let cluster = std::sync::Arc::new(cluster);
    let bodies = std::sync::Arc::new(bodies);
    let answers = futures_util::stream::iter(deliveries.into_iter().enumerate())
        .map(|(n, (_, _, at))| {
            let cluster = cluster.clone();
            let bodies = bodies.clone();
            async move {
                let (status, answer) = cluster.deliver(n, SECRET, &bodies[at]).await;
                (at, status, answer)
            }
        })
        .buffer_unordered(50)
        .collect::<Vec<_>>()
        .await;
    let mut processed: HashMap<usize, usize> = HashMap::new();
    for (at, status, answer) in &answers {
        assert_eq!(*status, 200, "delivery of event {at}: {answer}");
        match answer["status"].as_str() {
            Some("processed") => *processed.entry(*at).or_default() += 1,
            Some("duplicate") => {}
            other => panic!("event {at}: {other:?}"),
        }
    }
    assert_eq!(processed.len(), bodies.len(), "every event processed");
    assert!(processed.values().all(|n| *n == 1), "each processed once");
    for (i, o) in paid_once(&cluster, &orders).await.iter().enumerate() {
        assert_eq!(
            o["payments"][0]["stripe_charge_id"],
            format!("ch_rep{i:04}")
        );
    }
}

/// Polls `check` every 20 ms until it holds; how long that took, or a failure after `within`.
pub async fn within<F, Fut>(within: Duration, what: &str, mut check: F) -> Duration
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let start = Instant::now();
    loop {
        if check().await {
            return start.elapsed();
        }
        assert!(start.elapsed() < within, "{what}: not within {within:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A fresh event (a new id each call) for the test tenant, as JSON text.
pub fn ping_event() -> String {
    let id = format!("evt_ping{}", uuid::Uuid::new_v4().simple());
    event(
        &id,
        "payment_intent.created",
        now(),
        payment_intent("pi_ping0", 500, "eur", "requires_payment_method", None),
    )
    .to_string()
}

/// Sets the tenant's `status` through replica A; B and C answer `expected` to a delivery signed
/// with `secret` within a second.
async fn set_status_through_a(cluster: &Cluster, status: &str, secret: &str, expected: u16) {
    let path = format!("/v1/tenants/{SLUG}");
    cluster
        .ok(0, Method::PATCH, &path, json!({ "status": status }))
        .await;
    for r in [1, 2] {
        within(Duration::from_secs(1), status, || async {
            cluster.deliver(r, secret, &ping_event()).await.0 == expected
        })
        .await;
    }
}

/// Admin changes made through replica A reach replicas B and C within a second: a rotated
/// webhook secret (the new one verifies, the expired old one is refused), a suspension (423), a
/// revoked API key (401) — each one after B and C had the tenant cached. Then the connections
/// that listen for changes are terminated in PostgreSQL: each replica subscribes again, and a
/// change made after that is still seen within a second.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_changes_reach_every_replica_within_a_second() {
    const APP: &str = "gw_replicas_changes";
    let Some(cluster) = Cluster::start_named(3, APP, &[]).await else {
        return;
    };
    cluster.tenant((100_000, 100_000)).await;
    let second = Duration::from_secs(1);
    // B and C cache the tenant with its first secret.
    for r in [1, 2] {
        assert_eq!(cluster.deliver(r, SECRET, &ping_event()).await.0, 200);
    }
    // Rotation through A, the old secret expiring at once.
    const NEW: &str = "whsec_replicaTestSecret01";
    cluster
        .ok(
            0,
            Method::POST,
            &format!("/v1/tenants/{SLUG}/stripe-config/webhook-secrets"),
            json!({"secret": NEW, "expire_others_in_seconds": 0}),
        )
        .await;
    for r in [1, 2] {
        let took = within(second, "the new secret verifies", || async {
            cluster.deliver(r, NEW, &ping_event()).await.0 == 200
        })
        .await;
        eprintln!("replica {r}: new secret verifies after {took:?}");
        let (status, answer) = cluster.deliver(r, SECRET, &ping_event()).await;
        assert_eq!(status, 400, "the expired secret is refused: {answer}");
        assert_eq!(answer["code"], "bad_signature");
    }
    // Suspension through A.
    set_status_through_a(&cluster, "suspended", NEW, 423).await;
    // An API key used on B and C, revoked through A.
    let key = cluster
        .ok(
            0,
            Method::POST,
            &format!("/v1/tenants/{SLUG}/api-keys"),
            json!({"name": "pos"}),
        )
        .await;
    let (token, key_id) = (key["key"].as_str().unwrap(), key["id"].as_str().unwrap());
    let with_key = |r: usize| {
        cluster
            .client
            .get(format!("{}/v1/tenants/{SLUG}/orders", cluster.base(r)))
            .bearer_auth(token)
            .send()
    };
    for r in [1, 2] {
        assert_eq!(with_key(r).await.unwrap().status(), 200);
    }
    cluster
        .ok(
            0,
            Method::DELETE,
            &format!("/v1/tenants/{SLUG}/api-keys/{key_id}"),
            json!(null),
        )
        .await;
    for r in [1, 2] {
        within(second, "the revoked key refused everywhere", || async {
            with_key(r).await.map(|a| a.status().as_u16()).ok() == Some(401)
        })
        .await;
    }
    // The listening connections terminated: each replica listens again (and says so).
    let admin = sea_orm::Database::connect(cluster.db.url.as_deref().unwrap())
        .await
        .unwrap();
    use sea_orm::ConnectionTrait;
    let listeners = format!(
        "SELECT pid FROM pg_stat_activity WHERE application_name = '{APP}' AND query LIKE 'LISTEN%'"
    );
    let before = admin
        .query_all_raw(sea_orm::Statement::from_string(
            admin.get_database_backend(),
            listeners.clone(),
        ))
        .await
        .unwrap();
    assert_eq!(before.len(), 3, "one listener per replica");
    admin
        .execute_unprepared(&format!(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = '{APP}' AND query LIKE 'LISTEN%'"
        ))
        .await
        .unwrap();
    within(
        Duration::from_secs(10),
        "every replica listens again",
        || async {
            let now = admin
                .query_all_raw(sea_orm::Statement::from_string(
                    admin.get_database_backend(),
                    listeners.clone(),
                ))
                .await
                .unwrap();
            now.len() == 3
                && cluster
                    .replicas
                    .iter()
                    .all(|r| r.log_contains("listening again"))
        },
    )
    .await;
    // B and C hold the tenant (suspended) again; activation through A reaches them.
    for r in [1, 2] {
        assert_eq!(cluster.deliver(r, NEW, &ping_event()).await.0, 423);
    }
    set_status_through_a(&cluster, "active", NEW, 200).await;
    let metrics = cluster.metrics(1).await;
    assert!(
        metrics
            .lines()
            .any(|l| l.starts_with("gateway_change_notices_total{what=\"received\"}")),
        "notices counted"
    );
    assert!(
        metrics
            .lines()
            .any(|l| l.starts_with("gateway_change_notices_total{what=\"listener_lost\"} 1")),
        "the lost listener counted"
    );
}

/// Delivers `body` to the tenant through the replica at `base`; the status (`None` when the
/// replica did not answer: it was stopping or stopped).
async fn deliver_to(client: &reqwest::Client, base: &str, body: &str) -> Option<u16> {
    let resp = client
        .post(format!("{base}/webhooks/stripe/{SLUG}"))
        .header("Stripe-Signature", sign(SECRET, now(), body))
        .header("content-type", "application/json")
        .body(body.to_owned())
        .send()
        .await
        .ok()?;
    Some(resp.status().as_u16())
}

/// Rolling restart under load: 600 events paced at 200/s over three replicas, each delivered
/// until it is answered 2xx (as Stripe retries), to whichever replica is up; meanwhile each
/// replica in turn gets SIGTERM and is started again. Every event ends up recorded once and
/// applied: nothing answered 2xx is lost, nothing is applied twice.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rolling_restart_under_load_loses_nothing() {
    const EVENTS: usize = 600;
    let Some(mut cluster) = Cluster::start(3, &[]).await else {
        return;
    };
    cluster.tenant((100_000, 100_000)).await;
    let (orders, bodies) = paying_events(&cluster, EVENTS / 2).await;
    let live = std::sync::Arc::new(std::sync::RwLock::new(
        cluster
            .replicas
            .iter()
            .map(|r| r.base.clone())
            .collect::<Vec<_>>(),
    ));
    let client = reqwest::Client::new();
    let mut sends = Vec::new();
    let mut pace = tokio::time::interval(Duration::from_millis(5));
    let load = async {
        for (n, body) in bodies.iter().cloned().enumerate() {
            pace.tick().await;
            let (live, client) = (live.clone(), client.clone());
            sends.push(tokio::spawn(async move {
                let mut attempts = 0;
                loop {
                    let base = {
                        let live = live.read().unwrap();
                        live[(n + attempts) % live.len()].clone()
                    };
                    attempts += 1;
                    if let Some(200) = deliver_to(&client, &base, &body).await {
                        return attempts;
                    }
                    assert!(attempts < 200, "event {n} never accepted");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }));
        }
    };
    // The orchestrator, on a thread of its own: each replica in turn stopped, then started again.
    let restarts = {
        let live = live.clone();
        tokio::task::spawn_blocking(move || {
            for r in 0..3 {
                std::thread::sleep(Duration::from_millis(700));
                assert!(
                    cluster.replicas[r].terminate(Duration::from_secs(20)),
                    "replica {r} stops within its grace period"
                );
                assert!(
                    cluster.replicas[r].wait_log("gateway stopped", Duration::from_secs(5)),
                    "replica {r} stopped gracefully"
                );
                let started = GatewayProcess::start(&cluster.db, &cluster.master, &[]);
                live.write().unwrap()[r] = started.base.clone();
                cluster.replicas[r] = started;
            }
            cluster
        })
    };
    load.await;
    let cluster = restarts.await.expect("every replica restarted");
    let mut retried = 0;
    for send in sends {
        retried += usize::from(send.await.expect("every event accepted") > 1);
    }
    eprintln!("{retried} of {EVENTS} events needed more than one delivery");
    assert!(retried > 0, "the restarts happened under load");
    // Every event recorded once, and every order paid once.
    let mut seen = std::collections::HashSet::new();
    let mut cursor = String::new();
    loop {
        let page = cluster
            .ok(
                0,
                Method::GET,
                &format!("/v1/tenants/{SLUG}/webhook-events?limit=100{cursor}"),
                json!(null),
            )
            .await;
        for e in page["data"].as_array().unwrap() {
            assert!(
                seen.insert(e["stripe_event_id"].as_str().unwrap().to_owned()),
                "{e}"
            );
            assert_eq!(e["status"], "completed", "{e}");
        }
        match page["next_cursor"].as_str() {
            Some(next) => cursor = format!("&cursor={next}"),
            None => break,
        }
    }
    assert_eq!(seen.len(), EVENTS, "every event recorded once");
    paid_once(&cluster, &orders).await;
}

/// A tenant is reconciled by one replica at a time: the same tenant's reconciliation asked of
/// all three replicas at once starts on exactly one (the others answer 409), and the missed
/// payment it finds is applied once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_replica_reconciles_a_tenant_at_a_time() {
    let stripe = wiremock::MockServer::start().await;
    let base = format!("{}/", stripe.uri());
    let Some(cluster) = Cluster::start(3, &[("GATEWAY_STRIPE_API_BASE", &base)]).await else {
        return;
    };
    cluster.tenant((100_000, 100_000)).await;
    let (orders, _) = paying_events(&cluster, 1).await;
    let missed = event(
        "evt_missed0",
        "payment_intent.succeeded",
        now() - 60,
        payment_intent("pi_missed0", 1800, "eur", "succeeded", Some(&orders[0])),
    );
    crate::stripe_api::slow_events_listing(&stripe, missed).await;
    let path = format!("/v1/tenants/{SLUG}/reconciliations");
    let asks = futures_util::future::join_all(
        (0..3).map(|r| cluster.call(r, Method::POST, &path, json!({}))),
    )
    .await;
    let started: Vec<_> = asks.iter().filter(|(s, _)| *s == 202).collect();
    assert_eq!(started.len(), 1, "{asks:?}");
    for (status, answer) in asks.iter().filter(|(s, _)| *s != 202) {
        assert_eq!(*status, 409, "{answer}");
        assert_eq!(answer["code"], "reconciliation_running");
    }
    let run = started[0].1["id"].as_str().unwrap().to_owned();
    within(Duration::from_secs(20), "the run finishes", || async {
        let (_, r) = cluster
            .call(1, Method::GET, &format!("{path}/{run}"), json!(null))
            .await;
        r["status"] != "running"
    })
    .await;
    paid_once(&cluster, &orders).await;
}
