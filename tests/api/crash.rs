//! Fault: `kill -9` of the gateway process while webhooks are in flight, then a restart on the
//! same database and a redelivery of every event (as Stripe retries). Every event answered 2xx
//! before the kill was durable before its answer (its redelivery says `duplicate`), and after
//! the redelivery every event is recorded once and applied once.
use crate::gateway_process::{GatewayProcess, TOKEN};
use crate::helpers::{TestDb, new_master_key};
use crate::stripe::{event, now, payment_intent, sign};
use serde_json::{Value, json};
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

crate::backend_db_tests!(kill_9_under_load_loses_nothing_answered);

const EVENTS: usize = 240;
const IN_FLIGHT: usize = 16;

/// Delivers `events` with `IN_FLIGHT` requests at a time; the answer to each (status, outcome),
/// `None` where the connection died first.
async fn deliver_all(
    base: &str,
    secret: &str,
    events: &Arc<Vec<String>>,
    answered: &Arc<AtomicUsize>,
) -> Vec<Option<(u16, String)>> {
    let client = reqwest::Client::new();
    let next = Arc::new(AtomicUsize::new(0));
    let mut workers = Vec::new();
    for _ in 0..IN_FLIGHT {
        let (client, next, events, answered) = (
            client.clone(),
            next.clone(),
            events.clone(),
            answered.clone(),
        );
        let (url, secret) = (format!("{base}/webhooks/stripe/crash"), secret.to_owned());
        workers.push(tokio::spawn(async move {
            let mut got = Vec::new();
            loop {
                let i = next.fetch_add(1, Ordering::SeqCst);
                let Some(body) = events.get(i) else { break };
                let resp = client
                    .post(&url)
                    .header("Stripe-Signature", sign(&secret, now(), body))
                    .header("content-type", "application/json")
                    .body(body.clone())
                    .send()
                    .await;
                let answer = match resp {
                    Ok(r) => {
                        let status = r.status().as_u16();
                        let v: Value = r.json().await.unwrap_or(Value::Null);
                        Some((status, v["status"].as_str().unwrap_or("").to_owned()))
                    }
                    Err(_) => None,
                };
                if answer.is_some() {
                    answered.fetch_add(1, Ordering::SeqCst);
                }
                got.push((i, answer));
            }
            got
        }));
    }
    let mut all = vec![None; events.len()];
    for w in workers {
        for (i, a) in w.await.unwrap() {
            all[i] = a;
        }
    }
    all
}

/// Every item of a paginated list.
async fn list_all(base: &str, path: &str) -> Vec<Value> {
    let client = reqwest::Client::new();
    let (mut all, mut cursor) = (Vec::new(), None::<String>);
    loop {
        let url = match &cursor {
            Some(c) => format!("{base}{path}?limit=100&cursor={c}"),
            None => format!("{base}{path}?limit=100"),
        };
        let v: Value = client
            .get(url)
            .bearer_auth(TOKEN)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        all.extend(v["data"].as_array().unwrap().iter().cloned());
        match v["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => return all,
        }
    }
}

async fn kill_9_under_load_loses_nothing_answered(db: TestDb) {
    let master = new_master_key("crash");
    let gw = GatewayProcess::start(&db, &master, &[]);
    let client = reqwest::Client::new();
    let call = |m: reqwest::Method, p: String, body: Option<Value>| {
        let mut r = client.request(m, p).bearer_auth(TOKEN);
        if let Some(b) = body {
            r = r.json(&b);
        }
        async move {
            let resp = r.send().await.unwrap();
            let status = resp.status().as_u16();
            (status, resp.json::<Value>().await.unwrap_or(Value::Null))
        }
    };
    use reqwest::Method as M;
    let base = gw.base.clone();
    let (s, _) = call(
        M::POST,
        format!("{base}/v1/tenants"),
        Some(json!({"slug": "crash", "name": "Crash Pizza", "rate_limit_per_second": 100000, "rate_limit_burst": 100000})),
    )
    .await;
    assert_eq!(s, 201);
    let secret = "whsec_crashTestSecret0000";
    let (s, _) = call(
        M::PUT,
        format!("{base}/v1/tenants/crash/stripe-config"),
        Some(json!({"secret_key": "sk_test_crashTestKey0000", "webhook_secret": secret})),
    )
    .await;
    assert_eq!(s, 200);
    let mut bodies = Vec::new();
    for i in 0..EVENTS {
        let (s, order) = call(
            M::POST,
            format!("{base}/v1/tenants/crash/orders"),
            Some(json!({"reference": format!("crash-{i}"), "amount": 1000 + i, "currency": "usd"})),
        )
        .await;
        assert_eq!(s, 201);
        let order_id = order["id"].as_str().unwrap();
        let pi = payment_intent(
            &format!("pi_crash{i}"),
            1000 + i as i64,
            "usd",
            "succeeded",
            Some(order_id),
        );
        bodies.push(
            event(
                &format!("evt_crash{i}"),
                "payment_intent.succeeded",
                now(),
                pi,
            )
            .to_string(),
        );
    }
    let bodies = Arc::new(bodies);

    // Deliver everything; kill -9 once a third has been answered.
    let answered = Arc::new(AtomicUsize::new(0));
    let mut gw = gw;
    let killer = {
        let answered = answered.clone();
        let pid = gw.child.id();
        tokio::spawn(async move {
            while answered.load(Ordering::SeqCst) < EVENTS / 3 {
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
            // SIGKILL: no shutdown hook runs.
            let _ = Command::new("kill").args(["-9", &pid.to_string()]).status();
        })
    };
    let first = deliver_all(&gw.base, secret, &bodies, &answered).await;
    killer.await.unwrap();
    let _ = gw.child.wait();
    let ok_before: Vec<usize> = (0..EVENTS)
        .filter(|i| matches!(&first[*i], Some((200, _))))
        .collect();
    let lost = first.iter().filter(|a| a.is_none()).count();
    assert!(
        !ok_before.is_empty() && lost > 0,
        "the kill must land mid-load: {} answered 200, {lost} cut off",
        ok_before.len()
    );

    // Restart on the same database; Stripe redelivers everything.
    let gw = GatewayProcess::start(&db, &master, &[]);
    let again = deliver_all(&gw.base, secret, &bodies, &Arc::new(AtomicUsize::new(0))).await;
    for i in &ok_before {
        assert_eq!(
            again[*i],
            Some((200, "duplicate".to_owned())),
            "evt_crash{i} was answered 200 before the kill but was not recorded"
        );
    }
    for (i, a) in again.iter().enumerate() {
        let (status, outcome) = a.clone().expect("answered after restart");
        assert!(
            status == 200 && (outcome == "processed" || outcome == "duplicate"),
            "evt_crash{i}: {status} {outcome}"
        );
    }

    // Exactly once: one event row each, one payment each, every order paid.
    let base = gw.base.clone();
    let events = list_all(&base, "/v1/tenants/crash/webhook-events").await;
    assert_eq!(events.len(), EVENTS);
    assert!(events.iter().all(|e| e["status"] == "completed"));
    assert_eq!(
        list_all(&base, "/v1/tenants/crash/payments").await.len(),
        EVENTS
    );
    let orders = list_all(&base, "/v1/tenants/crash/orders").await;
    assert_eq!(
        orders.iter().filter(|o| o["status"] == "PAID").count(),
        EVENTS
    );
}
