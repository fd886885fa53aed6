//! The gateway's TCP connections to PostgreSQL set `TCP_NODELAY` (sqlx 0.9.0 dropped it, 0.9.1
//! sets it again; without it every batch waits on delayed ACKs, up to 40 ms). Read off the running
//! binary's own sockets: every socket the process holds to the database's port, the shared pool's
//! and each writer shard's, has the option set.
use crate::gateway_process::{GatewayProcess, TOKEN};
use crate::helpers::{Backend, TestDb, new_master_key};
use crate::stripe::{event, now, payment_intent, sign};
use rustix::process::{Pid, PidfdFlags, PidfdGetfdFlags, pidfd_getfd, pidfd_open};
use serde_json::{Value, json};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_postgres_socket_sets_tcp_nodelay() {
    let Some(db) = TestDb::new(Backend::Postgres).await else {
        return;
    };
    let url = db.url.clone().expect("a PostgreSQL URL");
    assert!(
        !url.contains("host=/"),
        "this test is about TCP: TEST_DATABASE_URL must not name a Unix socket"
    );
    let port = pg_port(&url);
    let gw = GatewayProcess::start(
        &db,
        &new_master_key("k1"),
        &[("GATEWAY_WRITER_SHARDS", "2")],
    );
    let client = reqwest::Client::new();
    let call = |m: reqwest::Method, path: String, body: Value| {
        let r = client
            .request(m, format!("{}{path}", gw.base))
            .bearer_auth(TOKEN)
            .json(&body);
        async move {
            let resp = r.send().await.unwrap();
            let status = resp.status().as_u16();
            (status, resp.json::<Value>().await.unwrap_or(Value::Null))
        }
    };
    // Tenants until both writer shards (tenant id mod 2) have one, and a webhook to each, so
    // that both shards open their own connection.
    let mut shards_seen = [false; 2];
    let mut n = 0;
    while !shards_seen.iter().all(|s| *s) {
        n += 1;
        let slug = format!("nodelay-{n}");
        let (s, tenant) = call(
            reqwest::Method::POST,
            "/v1/tenants".into(),
            json!({"slug": slug, "name": "No Delay"}),
        )
        .await;
        assert_eq!(s, 201, "{tenant}");
        let id = uuid::Uuid::parse_str(tenant["id"].as_str().unwrap()).unwrap();
        let shard = (id.as_u128() % 2) as usize;
        if shards_seen[shard] {
            continue;
        }
        shards_seen[shard] = true;
        let secret = "whsec_noDelaySecret0000";
        let (s, _) = call(
            reqwest::Method::PUT,
            format!("/v1/tenants/{slug}/stripe-config"),
            json!({"secret_key": "sk_test_noDelayKey0000", "webhook_secret": secret}),
        )
        .await;
        assert_eq!(s, 200);
        let body = event(
            &format!("evt_nodelay{n}"),
            "payment_intent.succeeded",
            now(),
            payment_intent(&format!("pi_nodelay{n}"), 100, "usd", "succeeded", None),
        )
        .to_string();
        let r = client
            .post(format!("{}/webhooks/stripe/{slug}", gw.base))
            .header("Stripe-Signature", sign(secret, now(), &body))
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
    }

    let sockets = sockets_to_port(gw.pid(), port);
    assert!(
        sockets.len() >= 3,
        "the shared pool and two writer shards hold connections: found {sockets:?}"
    );
    let pidfd = pidfd_open(Pid::from_raw(gw.pid() as i32).unwrap(), PidfdFlags::empty())
        .expect("pidfd_open");
    for fd in &sockets {
        let ours = pidfd_getfd(&pidfd, *fd, PidfdGetfdFlags::empty()).expect("pidfd_getfd");
        assert!(
            rustix::net::sockopt::tcp_nodelay(&ours).expect("getsockopt"),
            "fd {fd} of the gateway, a connection to PostgreSQL, has Nagle's algorithm on"
        );
    }
}

/// The connection to Redis (shared rate limits) sets `TCP_NODELAY` too: redis-rs leaves it off
/// by default, and each limit check is one small request waiting for its answer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_redis_socket_sets_tcp_nodelay() {
    let Some(redis) = crate::replica_limits::PrivateRedis::start() else {
        return;
    };
    let Some(db) = TestDb::new(Backend::Postgres).await else {
        return;
    };
    let url = redis.url();
    let gw = GatewayProcess::start(&db, &new_master_key("k1"), &[("GATEWAY_REDIS_URL", &url)]);
    // Connected at start-up.
    assert!(gw.wait_log("shared through Redis", std::time::Duration::from_secs(10)));
    let sockets = sockets_to_port(gw.pid(), redis.port);
    assert_eq!(sockets.len(), 1, "one multiplexed connection: {sockets:?}");
    let pidfd = pidfd_open(Pid::from_raw(gw.pid() as i32).unwrap(), PidfdFlags::empty())
        .expect("pidfd_open");
    let ours = pidfd_getfd(&pidfd, sockets[0], PidfdGetfdFlags::empty()).expect("pidfd_getfd");
    assert!(
        rustix::net::sockopt::tcp_nodelay(&ours).expect("getsockopt"),
        "the gateway's connection to Redis has Nagle's algorithm on"
    );
}

/// The port of a `postgres://…@host:port/…` URL (5432 when it names none).
fn pg_port(url: &str) -> u16 {
    let authority = url
        .split("://")
        .nth(1)
        .and_then(|rest| rest.split('/').next())
        .unwrap();
    let hostport = authority.rsplit('@').next().unwrap();
    hostport
        .rsplit_once(':')
        .and_then(|(_, p)| p.parse().ok())
        .unwrap_or(5432)
}

/// The file descriptors of process `pid` that are TCP sockets connected to `port`: the socket
/// inodes of its `/proc/<pid>/net/tcp{,6}` entries with that remote port, matched against its
/// `/proc/<pid>/fd` links.
fn sockets_to_port(pid: u32, port: u16) -> Vec<i32> {
    let mut inodes = std::collections::HashSet::new();
    for table in ["tcp", "tcp6"] {
        let Ok(text) = std::fs::read_to_string(format!("/proc/{pid}/net/{table}")) else {
            continue;
        };
        for line in text.lines().skip(1) {
            let cols: Vec<&str> = line.split_whitespace().collect();
            let remote_port = cols
                .get(2)
                .and_then(|a| a.rsplit(':').next())
                .and_then(|p| u16::from_str_radix(p, 16).ok());
            // State 01 is ESTABLISHED.
            if remote_port == Some(port) && cols.get(3) == Some(&"01") {
                inodes.insert(cols[9].to_owned());
            }
        }
    }
    let mut fds = Vec::new();
    for entry in std::fs::read_dir(format!("/proc/{pid}/fd")).unwrap() {
        let entry = entry.unwrap();
        let Ok(link) = std::fs::read_link(entry.path()) else {
            continue;
        };
        let link = link.to_string_lossy();
        if let Some(inode) = link
            .strip_prefix("socket:[")
            .and_then(|s| s.strip_suffix(']'))
            && inodes.contains(inode)
        {
            fds.push(entry.file_name().to_string_lossy().parse().unwrap());
        }
    }
    fds
}
