//! Load generator for `POST /webhooks/stripe/{tenant}`.
//!
//! Creates `--tenants` tenants (with Stripe secrets and orders) through the admin API, pre-signs
//! `--events` realistic `payment_intent.succeeded` events (Stripe's PaymentIntent fixture, each
//! linked to its own order), then keeps `--concurrency` requests in flight until all are sent,
//! and prints throughput, latency percentiles, status counts and the gateway's peak RSS.
//!
//! ```sh
//! cargo run --release --example loadgen -- --base http://127.0.0.1:8080 \
//!     --token "$(cat data/admin-token)" --tenants 16 --events 20000 --concurrency 32 --pid <gateway pid> \
//!     [--duplicates 0.1] [--payload-bytes 3000] [--notify] [--rate 500] [--limit 100]
//! ```
//!
//! Several replicas: `--base` and `--pid` take comma-separated lists (the admin calls go to the
//! first base; each connection in flight is bound to one base, in turn, so the load spreads
//! evenly; CPU and RSS are summed over the pids). `--limit N` creates the tenants limited to N
//! events/s (burst N) and reports how many deliveries were admitted against that allowance.
//!
//! `--connect`: the tenants are connected accounts of a Connect platform (set up here), and every
//! event goes to `POST /webhooks/stripe/connect` signed with the platform's secret, naming its
//! tenant's account — the Connect endpoint's cost against the tenant endpoint's.
//!
//! `--notify` (the gateway run with `GATEWAY_OUTBOUND_ALLOW_PRIVATE=true`): every tenant gets a
//! notification endpoint on a receiver here, and the order notifications' latency (the answer
//! to the paying event → the notification's arrival) and rate are reported too.
mod notify;
mod wire;

use gateway::webhooks::intake::signature::sign;
use serde_json::{Value, json};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

struct Args {
    bases: Vec<String>,
    token: String,
    tenants: usize,
    events: usize,
    concurrency: usize,
    duplicates: f64,
    pids: Vec<u32>,
    payload_bytes: usize,
    mark: Option<String>,
    notify: bool,
    /// Through the Connect endpoint, the tenants connected accounts.
    connect: bool,
    /// Events per second to send at (0: as fast as the in-flight limit allows).
    rate: f64,
    /// Each tenant's rate limit (and burst); unlimited if not given.
    limit: Option<u32>,
}

fn args() -> Args {
    let mut a = Args {
        bases: vec!["http://127.0.0.1:8080".into()],
        token: String::new(),
        tenants: 16,
        events: 20_000,
        concurrency: 32,
        duplicates: 0.0,
        pids: Vec::new(),
        payload_bytes: 3000,
        mark: None,
        notify: false,
        connect: false,
        rate: 0.0,
        limit: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        if flag == "--notify" {
            a.notify = true;
            continue;
        }
        if flag == "--connect" {
            a.connect = true;
            continue;
        }
        let v = it.next().unwrap_or_default();
        match flag.as_str() {
            "--base" => a.bases = v.split(',').map(str::to_owned).collect(),
            "--token" => a.token = v,
            "--tenants" => a.tenants = v.parse().expect("--tenants N"),
            "--events" => a.events = v.parse().expect("--events N"),
            "--concurrency" => a.concurrency = v.parse().expect("--concurrency N"),
            "--duplicates" => a.duplicates = v.parse().expect("--duplicates FRACTION"),
            "--pid" => {
                a.pids = v
                    .split(',')
                    .map(|p| p.parse().expect("--pid PID[,PID…]"))
                    .collect()
            }
            "--limit" => a.limit = Some(v.parse().expect("--limit EVENTS_PER_SECOND")),
            "--payload-bytes" => a.payload_bytes = v.parse().expect("--payload-bytes N"),
            "--rate" => a.rate = v.parse().expect("--rate EVENTS_PER_SECOND"),
            // A file created when the load starts (so a profiler can attach to that phase only).
            "--mark" => a.mark = Some(v),
            other => panic!("unknown flag {other}"),
        }
    }
    assert!(!a.token.is_empty(), "--token <operator token> is required");
    a
}

/// CPU time (user + system) in clock ticks of a process, from `/proc/<pid>/stat`.
fn cpu_ticks(pid: &str) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = stat.rsplit_once(')')?.1;
    let f: Vec<&str> = rest.split_whitespace().collect();
    Some(f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?)
}

/// CPU ticks of the gateway processes (`--pid`), if given.
fn gateway_ticks(gateways: &[u32]) -> Option<u64> {
    gateways.iter().map(|p| cpu_ticks(&p.to_string())).sum()
}

/// CPU ticks of the gateway, of every `postgres` process, and of this load generator.
fn cpu_snapshot(gateways: &[u32]) -> [u64; 3] {
    let gw = gateway_ticks(gateways).unwrap_or(0);
    let mut pg = 0;
    for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.bytes().all(|b| b.is_ascii_digit())
            && std::fs::read_to_string(format!("/proc/{name}/comm"))
                .is_ok_and(|c| c.trim() == "postgres")
        {
            pg += cpu_ticks(&name).unwrap_or(0);
        }
    }
    [gw, pg, cpu_ticks("self").unwrap_or(0)]
}

fn peak_rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

/// A 200 answer's status word, found without parsing the JSON (this tool shares the machine
/// with the gateway; every microsecond here is one the gateway lacks).
fn status_word(answer: &[u8]) -> &'static str {
    let has = |w: &[u8]| answer.windows(w.len()).any(|x| x == w);
    if has(b"\"processed\"") {
        "200 processed"
    } else if has(b"\"duplicate\"") {
        "200 duplicate"
    } else if has(b"\"ignored\"") {
        "200 ignored"
    } else {
        "200 other"
    }
}

async fn post(client: &reqwest::Client, url: String, token: &str, body: Value) -> Value {
    let r = client
        .post(url)
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .expect("request");
    let status = r.status();
    let v: Value = r.json().await.unwrap_or(Value::Null);
    assert!(status.is_success(), "setup failed: {status} {v}");
    v
}

#[tokio::main]
async fn main() {
    let a = args();
    let base = a.bases[0].clone();
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(a.concurrency * 2)
        .build()
        .expect("client");
    let fixture: Value =
        serde_json::from_str(include_str!("../../tests/fixtures/stripe_objects.json"))
            .expect("fixtures");
    let run = std::process::id();

    // Setup: tenants, secrets, one order per event.
    let setup = Instant::now();
    let mut tenants = Vec::new();
    let platform_secret = format!("whsec_load{run}platformsecret");
    if a.connect {
        let r = client
            .put(format!("{base}/v1/platform/stripe-config"))
            .bearer_auth(&a.token)
            .json(&json!({"secret_key": format!("sk_test_load{run}platformkey"), "webhook_secret": platform_secret}))
            .send()
            .await
            .expect("platform config");
        assert!(r.status().is_success());
    }
    for n in 0..a.tenants {
        let slug = format!("load-{run}-{n}");
        let account = format!("acct_load{run}x{n}");
        let mut tenant = json!({"slug": slug, "name": slug, "rate_limit_per_second": a.limit.unwrap_or(100_000), "rate_limit_burst": a.limit.unwrap_or(1_000_000)});
        if a.connect {
            tenant["kind"] = json!("connected");
            tenant["stripe_account_id"] = json!(account);
            post(&client, format!("{base}/v1/tenants"), &a.token, tenant).await;
            tenants.push((slug, platform_secret.clone(), Some(account)));
            continue;
        }
        post(&client, format!("{base}/v1/tenants"), &a.token, tenant).await;
        let secret = format!("whsec_load{run}x{n}secretvalue");
        let r = client
            .put(format!("{base}/v1/tenants/{slug}/stripe-config"))
            .bearer_auth(&a.token)
            .json(&json!({"secret_key": format!("sk_test_load{run}x{n}key"), "webhook_secret": secret}))
            .send()
            .await
            .expect("config");
        assert!(r.status().is_success());
        tenants.push((slug, secret, None));
    }
    let epoch = Instant::now();
    let mut order_ids = Vec::new();
    let unique = ((a.events as f64) * (1.0 - a.duplicates)).ceil() as usize;
    let hosts: Vec<String> = a
        .bases
        .iter()
        .map(|b| {
            let host = b.strip_prefix("http://").expect("--base http://host:port");
            host.trim_end_matches('/').to_owned()
        })
        .collect();
    let mut requests: Vec<wire::Prepared> = Vec::with_capacity(a.events);
    let t = chrono::Utc::now().timestamp();
    let mut sizes = 0;
    let (orders_cpu, mut orders_time) = (gateway_ticks(&a.pids), Duration::ZERO);
    for i in 0..unique {
        let (slug, secret, account) = &tenants[i % tenants.len()];
        let t0 = Instant::now();
        let order = post(&client, format!("{base}/v1/tenants/{slug}/orders"), &a.token, json!({"reference": format!("ord-{i}"), "amount": 1000 + (i % 5000) as i64, "currency": "usd"})).await;
        orders_time += t0.elapsed();
        order_ids.push(order["id"].as_str().expect("order id").to_owned());
        let mut pi = fixture["payment_intent"].clone();
        let amount = order["amount"].as_i64().expect("amount");
        pi["id"] = json!(format!("pi_load{run}x{i}"));
        pi["amount"] = json!(amount);
        pi["amount_received"] = json!(amount);
        pi["status"] = json!("succeeded");
        pi["latest_charge"] = json!(format!("ch_load{run}x{i}"));
        pi["customer"] = json!("cus_load");
        pi["metadata"] = json!({"order_id": order["id"], "pos_ticket": format!("T-{i}")});
        pi["last_payment_error"] = Value::Null;
        let mut event = json!({"id": format!("evt_load{run}x{i}"), "object": "event", "api_version": "2024-06-20", "created": t, "livemode": false,
            "pending_webhooks": 1, "request": {"id": format!("req_{i}"), "idempotency_key": null}, "type": "payment_intent.succeeded", "data": {"object": pi}});
        if let Some(account) = account {
            event["account"] = json!(account);
        }
        let mut body = event.to_string();
        if body.len() < a.payload_bytes {
            // Real events carry descriptions, line items and expanded objects: pad to the size asked.
            let items: Vec<String> = (0..(a.payload_bytes - body.len()) / 24 + 1)
                .map(|k| format!("item {k:04}: margherita"))
                .collect();
            let mut event = event;
            event["data"]["object"]["description"] = json!(items.join(", "));
            body = event.to_string();
        }
        sizes += body.len();
        let path = if account.is_some() {
            "/webhooks/stripe/connect".to_owned()
        } else {
            format!("/webhooks/stripe/{slug}")
        };
        requests.push(wire::request(
            &path,
            &sign(secret, t, body.as_bytes()),
            bytes::Bytes::from(body),
        ));
    }
    // The admin API's cost, from the setup: order creates one at a time (CPU with `--pid` only).
    let per_order = |total: f64| total / unique.max(1) as f64;
    let orders_cpu =
        orders_cpu
            .zip(gateway_ticks(&a.pids))
            .map_or(String::new(), |(before, after)| {
                format!(
                    ", gateway cpu {:.0} us each",
                    per_order((after - before) as f64 * 10_000.0)
                )
            });
    println!(
        "orders {unique} created one at a time: {:.2} ms each{orders_cpu}",
        per_order(orders_time.as_secs_f64() * 1000.0)
    );
    for i in unique..a.events {
        requests.push(requests[i % unique].clone());
    }
    let notified = notify::Notified::new(order_ids, epoch);
    if a.notify {
        let url = notify::receiver(notified.clone()).await;
        for (slug, _, _) in &tenants {
            post(
                &client,
                format!("{base}/v1/tenants/{slug}/notification-endpoints"),
                &a.token,
                json!({"url": url, "events": ["order.paid"]}),
            )
            .await;
        }
    }
    let avg_size = sizes / unique.max(1);
    eprintln!(
        "setup: {} tenants, {} events ({} unique, avg {} bytes) in {:.1}s",
        a.tenants,
        a.events,
        unique,
        avg_size,
        setup.elapsed().as_secs_f64()
    );

    // Drive: one connection per request in flight.
    let requests = Arc::new(requests);
    let next = Arc::new(AtomicUsize::new(0));
    if let Some(mark) = &a.mark {
        std::fs::write(mark, b"load\n").expect("--mark file");
    }
    let cpu_before = cpu_snapshot(&a.pids);
    let started = Instant::now();
    let load_started = notified.now();
    let mut workers = Vec::new();
    for w in 0..a.concurrency {
        let (requests, next, notified) = (requests.clone(), next.clone(), notified.clone());
        let rate = a.rate;
        let mut conn = wire::Conn::new(&hosts[w % hosts.len()]);
        workers.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            let mut answered = std::collections::BTreeMap::<&'static str, usize>::new();
            let mut errors = std::collections::BTreeMap::<String, usize>::new();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(req) = requests.get(i) else {
                    break;
                };
                if rate > 0.0 {
                    // Paced: event i leaves at i / rate seconds (latency at a load the system
                    // sustains, rather than at saturation).
                    tokio::time::sleep_until(
                        (started + Duration::from_secs_f64(i as f64 / rate)).into(),
                    )
                    .await;
                }
                let t0 = Instant::now();
                let answer = conn.send(req).await;
                lat.push(t0.elapsed());
                if let Some(at) = notified.answered.get(i) {
                    let _ =
                        at.compare_exchange(0, notified.now(), Ordering::SeqCst, Ordering::SeqCst);
                }
                match answer {
                    Ok((200, body)) => *answered.entry(status_word(&body)).or_default() += 1,
                    Ok((code, _)) => *errors.entry(code.to_string()).or_default() += 1,
                    Err(e) => *errors.entry(format!("error {e}")).or_default() += 1,
                }
            }
            let mut statuses = errors;
            statuses.extend(answered.into_iter().map(|(k, v)| (k.to_owned(), v)));
            (lat, statuses)
        }));
    }
    let mut lat: Vec<Duration> = Vec::new();
    let mut statuses = std::collections::BTreeMap::<String, usize>::new();
    for w in workers {
        let (l, s) = w.await.expect("worker");
        lat.extend(l);
        for (k, v) in s {
            *statuses.entry(k).or_default() += v;
        }
    }
    let elapsed = started.elapsed();
    let cpu_after = cpu_snapshot(&a.pids);
    lat.sort();
    let pct = |p: f64| {
        lat.get(((lat.len() as f64 * p).ceil() as usize).saturating_sub(1))
            .copied()
            .unwrap_or_default()
    };
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "requests {}  in-flight {}  tenants {}  duplicates {:.0}%",
        lat.len(),
        a.concurrency,
        a.tenants,
        a.duplicates * 100.0
    );
    println!(
        "throughput {:.0} events/s  ({:.2}s)",
        lat.len() as f64 / elapsed.as_secs_f64(),
        elapsed.as_secs_f64()
    );
    println!(
        "latency ms  p50 {:.2}  p90 {:.2}  p99 {:.2}  max {:.2}",
        ms(pct(0.50)),
        ms(pct(0.90)),
        ms(pct(0.99)),
        ms(pct(1.0))
    );
    println!("statuses {statuses:?}");
    // Clock ticks are 10 ms on Linux (USER_HZ = 100).
    let per_event =
        |i: usize| (cpu_after[i] - cpu_before[i]) as f64 * 10_000.0 / lat.len().max(1) as f64;
    println!(
        "cpu per event us  gateway {:.0}  postgres {:.0}  loadgen {:.0}",
        per_event(0),
        per_event(1),
        per_event(2)
    );
    if a.notify {
        if !notified.wait_all(Duration::from_secs(120)).await {
            eprintln!("not every notification arrived within 120 s");
        }
        notified.report(load_started);
    }
    if let Some(limit) = a.limit {
        // Each tenant may take its burst, then `limit` per second.
        let admitted: usize = statuses
            .iter()
            .filter(|(k, _)| k.starts_with("200"))
            .map(|(_, v)| v)
            .sum();
        let allowance = a.tenants as f64 * f64::from(limit) * (1.0 + elapsed.as_secs_f64());
        println!(
            "limit admitted {admitted} allowance {allowance:.0} ratio {:.3}",
            admitted as f64 / allowance
        );
    }
    if !a.pids.is_empty() {
        let rss: Option<u64> = a.pids.iter().map(|p| peak_rss_kib(*p)).sum();
        println!(
            "gateway peak RSS {} KiB",
            rss.map_or("?".into(), |k| k.to_string())
        );
    }
}
