//! What a flood of forged webhook deliveries costs everyone else: creates a tenant with the most
//! live webhook secrets allowed (5), then keeps `--concurrency` forged deliveries of
//! `--body-bytes` in flight against it for `--seconds` (each well-formed, timestamped now, signed
//! with nothing: every one costs an HMAC of its body per live secret before its 400), while a
//! prober asks `GET /health` every 20 ms. Prints the forged deliveries' rate and status counts and
//! `/health`'s latency percentiles, and the gateway's CPU per forged delivery with `--pid`.
//!
//! ```sh
//! cargo run --release --example forged_flood -- --base http://127.0.0.1:8080 \
//!     --token "$(cat data/admin-token)" --concurrency 32 --seconds 20 --body-bytes 1048576 --pid <gateway pid>
//! ```
use serde_json::json;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

fn arg(name: &str, default: &str) -> String {
    let mut it = std::env::args().skip_while(|a| a != name);
    it.nth(1).unwrap_or_else(|| default.to_owned())
}

fn cpu_ticks(pid: &str) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let f: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    Some(f[11].parse::<u64>().ok()? + f[12].parse::<u64>().ok()?)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

#[tokio::main]
async fn main() {
    let base = arg("--base", "http://127.0.0.1:8080");
    let token = arg("--token", "");
    let concurrency: usize = arg("--concurrency", "32").parse().expect("--concurrency N");
    let seconds: u64 = arg("--seconds", "20").parse().expect("--seconds N");
    let body_bytes: usize = arg("--body-bytes", "1048576")
        .parse()
        .expect("--body-bytes N");
    let pid = arg("--pid", "");
    assert!(!token.is_empty(), "--token <operator token> is required");
    let client = reqwest::Client::new();
    let admin = |path: &str, body: serde_json::Value| {
        client
            .post(format!("{base}{path}"))
            .bearer_auth(&token)
            .json(&body)
            .send()
    };
    let r = admin("/v1/tenants", json!({"slug": "flooded", "name": "Flooded"}))
        .await
        .expect("create tenant");
    assert!(r.status().is_success(), "create tenant: {}", r.status());
    let r = client
        .put(format!("{base}/v1/tenants/flooded/stripe-config"))
        .bearer_auth(&token)
        .json(&json!({"secret_key": "sk_test_51FloodedKey000000", "webhook_secret": "whsec_FloodedSecret00000"}))
        .send()
        .await
        .expect("stripe config");
    assert!(r.status().is_success(), "stripe config: {}", r.status());
    for n in 1..gateway::domain::MAX_LIVE_WEBHOOK_SECRETS {
        let r = admin(
            "/v1/tenants/flooded/stripe-config/webhook-secrets",
            json!({"secret": format!("whsec_FloodedRotation{n:05}")}),
        )
        .await
        .expect("add secret");
        assert!(r.status().is_success(), "add secret: {}", r.status());
    }

    let body = bytes::Bytes::from(vec![b'x'; body_bytes]);
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let statuses: Arc<Mutex<BTreeMap<u16, usize>>> = Arc::default();
    let cpu_before = cpu_ticks(&pid);
    let started = Instant::now();
    let senders: Vec<_> = (0..concurrency)
        .map(|_| {
            let (client, base, body, statuses) =
                (client.clone(), base.clone(), body.clone(), statuses.clone());
            tokio::spawn(async move {
                while Instant::now() < deadline {
                    let t = chrono::Utc::now().timestamp();
                    let signature = format!("t={t},v1={}", "0".repeat(64));
                    let status = client
                        .post(format!("{base}/webhooks/stripe/flooded"))
                        .header("stripe-signature", signature)
                        .body(body.clone())
                        .send()
                        .await
                        .map_or(0, |r| r.status().as_u16());
                    *statuses
                        .lock()
                        .expect("statuses")
                        .entry(status)
                        .or_default() += 1;
                }
            })
        })
        .collect();
    let prober = {
        let (client, base) = (reqwest::Client::new(), base.clone());
        tokio::spawn(async move {
            let mut latencies = Vec::new();
            while Instant::now() < deadline {
                let at = Instant::now();
                let ok = client
                    .get(format!("{base}/health"))
                    .send()
                    .await
                    .is_ok_and(|r| r.status().is_success());
                if ok {
                    latencies.push(at.elapsed());
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            latencies
        })
    };
    for s in senders {
        s.await.expect("sender");
    }
    let elapsed = started.elapsed();
    let mut health = prober.await.expect("prober");
    health.sort();
    let statuses = statuses.lock().expect("statuses").clone();
    let sent: usize = statuses.values().sum();
    println!(
        "forged deliveries: {sent} in {:.1} s ({:.0}/s, {} B each, {} live secrets), statuses {statuses:?}",
        elapsed.as_secs_f64(),
        sent as f64 / elapsed.as_secs_f64(),
        body_bytes,
        gateway::domain::MAX_LIVE_WEBHOOK_SECRETS
    );
    println!(
        "/health during the flood: {} probes, p50 {:.1} ms, p90 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        health.len(),
        percentile(&health, 0.5).as_secs_f64() * 1e3,
        percentile(&health, 0.9).as_secs_f64() * 1e3,
        percentile(&health, 0.99).as_secs_f64() * 1e3,
        health.last().copied().unwrap_or_default().as_secs_f64() * 1e3,
    );
    if let (Some(before), Some(after)) = (cpu_before, cpu_ticks(&pid)) {
        let cpu_ms = (after - before) as f64 * 10.0;
        println!(
            "gateway CPU: {:.0} ms in all, {:.2} ms per forged delivery",
            cpu_ms,
            cpu_ms / sent.max(1) as f64
        );
    }
}
