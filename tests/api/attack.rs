//! The public port under attack, as an attacker would try it: headers that never finish,
//! silent and idle connections, bodies that trickle, oversized headers, floods of open
//! connections and running out of file descriptors. Each is cut off by the server; the process
//! stays small; a legitimate webhook is answered within a second all the while.
use crate::gateway_process::{GatewayProcess, TOKEN};
use crate::helpers::{TestApp, TestDb, new_master_key};
use crate::stripe::{event, now, payment_intent, sign};
use serde_json::json;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

crate::backend_tests!(slow_idle_and_trickling_connections_are_cut_off);

mod process {
    crate::backend_db_tests!(
        a_flood_of_unfinished_requests_keeps_rss_bounded_and_webhooks_answered,
        out_of_file_descriptors_it_neither_spins_nor_stops_serving,
        large_admin_bodies_keep_rss_flat,
    );
    use super::*;
}

/// How long until the server closes `conn` (reading and discarding whatever it sends first),
/// or `None` if it is still open after `within`.
async fn closed_within(conn: &mut TcpStream, within: Duration) -> Option<Duration> {
    let started = Instant::now();
    let mut buf = [0u8; 4096];
    loop {
        match tokio::time::timeout_at((started + within).into(), conn.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return Some(started.elapsed()),
            Ok(Ok(_)) => {}
            Err(_) => return None,
        }
    }
}

async fn connect(base: &str) -> TcpStream {
    TcpStream::connect(base.trim_start_matches("http://"))
        .await
        .unwrap()
}

fn signed_event(secret: &str, id: &str) -> (String, String) {
    let body = event(
        id,
        "payment_intent.succeeded",
        now(),
        payment_intent(&format!("pi_{id}"), 100, "usd", "succeeded", None),
    )
    .to_string();
    (sign(secret, now(), &body), body)
}

/// Delivers a fresh signed event over a new connection and returns how long the 200 took.
async fn legit_webhook(
    client: &reqwest::Client,
    base: &str,
    slug: &str,
    secret: &str,
    id: &str,
) -> Duration {
    let (signature, body) = signed_event(secret, id);
    let started = Instant::now();
    let r = client
        .post(format!("{base}/webhooks/stripe/{slug}"))
        .header("Stripe-Signature", signature)
        .body(body)
        .send()
        .await
        .unwrap();
    let took = started.elapsed();
    assert_eq!(r.status(), 200, "{:?}", r.text().await);
    took
}

async fn slow_idle_and_trickling_connections_are_cut_off(app: TestApp) {
    let app = app
        .restart(|c| {
            c.http_header_timeout = Duration::from_secs(1);
            c.http_body_timeout = Duration::from_secs(1);
        })
        .await;
    let secret = app.restaurant("besieged").await;
    let limit = Duration::from_secs(4);

    // Headers that never finish, and a connection that never says anything.
    let mut half = connect(&app.base).await;
    half.write_all(b"POST /webhooks/stripe/besieged HTTP/1.1\r\nHost: gw\r\nContent-Le")
        .await
        .unwrap();
    let mut silent = connect(&app.base).await;
    // Meanwhile a real delivery is answered at once.
    let client = reqwest::Client::new();
    assert!(
        legit_webhook(&client, &app.base, "besieged", &secret, "evt_legit1").await
            < Duration::from_secs(1)
    );
    assert!(
        closed_within(&mut half, limit).await.is_some(),
        "half-sent headers were not cut off"
    );
    assert!(
        closed_within(&mut silent, limit).await.is_some(),
        "a silent connection stayed open"
    );

    // An idle keep-alive connection is closed after its answer.
    let mut idle = connect(&app.base).await;
    idle.write_all(b"GET /health HTTP/1.1\r\nHost: gw\r\n\r\n")
        .await
        .unwrap();
    let mut buf = [0u8; 1024];
    let n = idle.read(&mut buf).await.unwrap();
    assert!(String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 200"));
    assert!(
        closed_within(&mut idle, limit).await.is_some(),
        "an idle keep-alive connection stayed open"
    );

    // A body that trickles: 408, connection closed, nothing recorded.
    let (signature, body) = signed_event(&secret, "evt_trickle");
    let mut slow = connect(&app.base).await;
    let head = format!(
        "POST /webhooks/stripe/besieged HTTP/1.1\r\nHost: gw\r\nContent-Type: application/json\r\nStripe-Signature: {signature}\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    slow.write_all(head.as_bytes()).await.unwrap();
    let started = Instant::now();
    let mut answer = Vec::new();
    for byte in body.as_bytes() {
        if slow.write_all(&[*byte]).await.is_err() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
        let mut chunk = [0u8; 2048];
        if let Ok(Ok(n)) =
            tokio::time::timeout(Duration::from_millis(1), slow.read(&mut chunk)).await
        {
            answer.extend_from_slice(&chunk[..n]);
            if n == 0 || !answer.is_empty() {
                break;
            }
        }
        assert!(
            started.elapsed() < limit,
            "a trickling body was never cut off"
        );
    }
    let _ = tokio::time::timeout(limit, slow.read_to_end(&mut answer)).await;
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(
        answer.contains("request_timeout")
            && answer.to_ascii_lowercase().contains("connection: close"),
        "{answer}"
    );
    assert!(
        app.events("besieged")
            .await
            .iter()
            .all(|e| e["stripe_event_id"] != "evt_trickle")
    );

    // Headers larger than the read buffer: refused (431) and closed, not buffered.
    let mut huge = connect(&app.base).await;
    let filler = format!("X-Filler: {}\r\n", "a".repeat(1000)).repeat(40);
    let _ = huge
        .write_all(format!("GET /health HTTP/1.1\r\nHost: gw\r\n{filler}\r\n").as_bytes())
        .await;
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(limit, huge.read_to_end(&mut answer)).await;
    assert!(
        String::from_utf8_lossy(&answer).starts_with("HTTP/1.1 431"),
        "{}",
        String::from_utf8_lossy(&answer)
    );

    // Every answer says not to sniff its type nor to frame it; /docs included.
    for path in [
        "/health",
        "/docs",
        "/openapi.json",
        "/no/such/path",
        "/v1/tenants",
    ] {
        let r = client
            .get(format!("{}{path}", app.base))
            .send()
            .await
            .unwrap();
        let h = r.headers();
        assert_eq!(h["x-content-type-options"], "nosniff", "{path}");
        assert_eq!(h["x-frame-options"], "DENY", "{path}");
        assert!(
            h["content-security-policy"]
                .to_str()
                .unwrap()
                .contains("frame-ancestors 'none'"),
            "{path}"
        );
    }
    let (signature, body) = signed_event(&secret, "evt_headers");
    let r = client
        .post(format!("{}/webhooks/stripe/besieged", app.base))
        .header("Stripe-Signature", signature)
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["x-content-type-options"], "nosniff");
}

/// VmRSS of a process, in KiB.
fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap()
}

/// CPU time (user + system) of a process, in clock ticks (10 ms).
fn cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let f: Vec<&str> = stat
        .rsplit_once(')')
        .unwrap()
        .1
        .split_whitespace()
        .collect();
    f[11].parse::<u64>().unwrap() + f[12].parse::<u64>().unwrap()
}

/// A tenant on a running process, with limits that take a flood, and its webhook secret.
async fn besieged(client: &reqwest::Client, base: &str) -> String {
    let r = client
        .post(format!("{base}/v1/tenants"))
        .bearer_auth(TOKEN)
        .json(&json!({"slug": "besieged", "name": "Besieged", "rate_limit_per_second": 10000, "rate_limit_burst": 10000}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let secret = "whsec_besiegedSecret0000";
    let r = client
        .put(format!("{base}/v1/tenants/besieged/stripe-config"))
        .bearer_auth(TOKEN)
        .json(&json!({"secret_key": "sk_test_besiegedKey0000", "webhook_secret": secret}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    secret.to_owned()
}

async fn a_flood_of_unfinished_requests_keeps_rss_bounded_and_webhooks_answered(db: TestDb) {
    let gw = GatewayProcess::start(
        &db,
        &new_master_key("k1"),
        &[
            ("GATEWAY_HTTP_HEADER_TIMEOUT", "3s"),
            ("GATEWAY_HTTP_BODY_TIMEOUT", "3s"),
        ],
    );
    let client = reqwest::Client::new();
    let secret = besieged(&client, &gw.base).await;
    legit_webhook(&client, &gw.base, "besieged", &secret, "evt_warm").await;
    let before = rss_kib(gw.pid());

    // 500 connections each holding 12 KB of headers that never end, 500 sending 200 KB of
    // headers (more than any request needs: refused at the buffer's limit, not buffered), 500
    // that say nothing, 200 whose bodies trickle.
    let mut flood = Vec::new();
    let filler = format!("X-Filler: {}\r\n", "b".repeat(200)).repeat(60);
    let oversized = format!("X-Filler: {}\r\n", "c".repeat(1000)).repeat(200);
    for i in 0..1700 {
        let mut c = connect(&gw.base).await;
        if i < 1000 {
            let headers = if i < 500 { &filler } else { &oversized };
            let _ = c
                .write_all(format!("GET /health HTTP/1.1\r\nHost: gw\r\n{headers}").as_bytes())
                .await;
        } else if i >= 1500 {
            let _ = c
                .write_all(b"POST /webhooks/stripe/besieged HTTP/1.1\r\nHost: gw\r\nStripe-Signature: t=1,v1=00\r\nContent-Length: 100000\r\n\r\n{\"id\":")
                .await;
        }
        flood.push(c);
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let during = rss_kib(gw.pid());
    let mut slowest = Duration::ZERO;
    for i in 0..20 {
        slowest = slowest.max(
            legit_webhook(
                &client,
                &gw.base,
                "besieged",
                &secret,
                &format!("evt_during{i}"),
            )
            .await,
        );
    }
    assert!(
        slowest < Duration::from_secs(1),
        "a legitimate webhook took {slowest:?} during the flood"
    );
    assert!(
        during < before + 64 * 1024,
        "1,700 unfinished or oversized requests grew the gateway from {before} KiB to {during} KiB"
    );
    // The server cuts every one of them off by itself.
    let mut still_open = 0;
    for c in &mut flood {
        if closed_within(c, Duration::from_secs(8)).await.is_none() {
            still_open += 1;
        }
    }
    assert_eq!(still_open, 0, "connections the server never closed");
    assert!(rss_kib(gw.pid()) < before + 64 * 1024);
    legit_webhook(&client, &gw.base, "besieged", &secret, "evt_after").await;
}

async fn out_of_file_descriptors_it_neither_spins_nor_stops_serving(db: TestDb) {
    // A hard limit of 256 open files that the gateway cannot raise; it must fit its
    // connection limit under it (256 less a quarter kept for the database and logs: 192).
    let gw = GatewayProcess::start_with(
        &db,
        &new_master_key("k1"),
        &[("GATEWAY_HTTP_HEADER_TIMEOUT", "2s")],
        Some(("prlimit", &["--nofile=256:256", "--"])),
    );
    let client = reqwest::Client::new();
    let secret = besieged(&client, &gw.base).await;
    // 400 idle connections: more than it may hold.
    let mut flood = Vec::new();
    for _ in 0..400 {
        flood.push(connect(&gw.base).await);
    }
    let (cpu0, t0) = (cpu_ticks(gw.pid()), Instant::now());
    tokio::time::sleep(Duration::from_secs(2)).await;
    let busy = Duration::from_millis((cpu_ticks(gw.pid()) - cpu0) * 10);
    assert!(
        busy < t0.elapsed() / 4,
        "the gateway used {busy:?} of CPU in {:?} holding idle connections",
        t0.elapsed()
    );
    // Served once the idle ones are cut off (each wave after the header timeout).
    let took = legit_webhook(&client, &gw.base, "besieged", &secret, "evt_fd").await;
    assert!(took < Duration::from_secs(10), "{took:?}");
    drop(flood);
    assert!(
        legit_webhook(&client, &gw.base, "besieged", &secret, "evt_fd2").await
            < Duration::from_secs(1)
    );
    assert!(
        gw.log_contains("GATEWAY_MAX_CONNECTIONS lowered to fit the open-files limit"),
        "the lowered limit is logged"
    );
}

/// Sends a chunked `PATCH` of `total` bytes (never declaring its length) and returns the first
/// line of the answer, if one could be read (the server may close before taking it all).
async fn chunked_patch(base: &str, path: &str, total: usize) -> Option<String> {
    let mut c = connect(base).await;
    let head = format!(
        "PATCH {path} HTTP/1.1\r\nHost: gw\r\nAuthorization: Bearer {TOKEN}\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
    );
    c.write_all(head.as_bytes()).await.ok()?;
    let chunk = format!("{:x}\r\n{}\r\n", 64 * 1024, "y".repeat(64 * 1024));
    let mut sent = 0;
    while sent < total {
        if c.write_all(chunk.as_bytes()).await.is_err() {
            break;
        }
        sent += 64 * 1024;
    }
    let _ = c.write_all(b"0\r\n\r\n").await;
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), c.read_to_end(&mut answer)).await;
    let text = String::from_utf8_lossy(&answer);
    text.lines().next().map(str::to_owned)
}

async fn large_admin_bodies_keep_rss_flat(db: TestDb) {
    let gw = GatewayProcess::start(&db, &new_master_key("k1"), &[]);
    let client = reqwest::Client::new();
    besieged(&client, &gw.base).await;
    let before = rss_kib(gw.pid());
    // 24 bodies of 8 MiB at once, none declaring its length: each is cut off at the API's
    // limit (64 KiB) instead of being read whole.
    let sends: Vec<_> = (0..24)
        .map(|_| {
            let base = gw.base.clone();
            tokio::spawn(async move { chunked_patch(&base, "/v1/tenants/besieged", 8 << 20).await })
        })
        .collect();
    let mut refused = 0;
    for s in sends {
        if s.await.unwrap().is_some_and(|l| l.contains(" 413 ")) {
            refused += 1;
        }
    }
    let after = rss_kib(gw.pid());
    assert!(refused > 0, "no 413 could be read");
    assert!(
        after < before + 24 * 1024,
        "24 large admin bodies grew the gateway from {before} KiB to {after} KiB"
    );
    let r = client
        .get(format!("{}/v1/tenants/besieged", gw.base))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(
        r.json::<serde_json::Value>().await.unwrap()["name"],
        "Besieged"
    );
}
