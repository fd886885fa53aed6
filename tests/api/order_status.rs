//! Order status URLs: a capability for one order, JSON or Server-Sent Events, no bearer, no
//! personal data; a stream sees each change within a second, on any replica.
use crate::helpers::{Backend, TestApp, TestDb};
use crate::notifications::pay;
use reqwest::Method;
use serde_json::{Value, json};
use std::time::{Duration, Instant};

crate::backend_tests!(
    a_status_url_shows_one_order_and_nothing_personal,
    a_stream_gets_each_change_within_a_second,
);

mod limits {
    crate::backend_db_tests!(
        streams_are_shared_fairly_and_end_by_themselves,
        sigterm_with_streams_open_exits_at_once,
        a_page_on_another_origin_reads_the_status
    );
    use super::*;
}

async fn create_order(app: &TestApp, tenant: &str, reference: &str) -> (String, String) {
    let a = app
        .post(
            &format!("/v1/tenants/{tenant}/orders"),
            app.op(),
            json!({"reference": reference, "amount": 2500, "currency": "EUR",
                   "customer_email": "jenny@example.com", "metadata": {"table": "7"}}),
        )
        .await;
    assert_eq!(a.status, 201, "{a:?}");
    (
        a.json["id"].as_str().unwrap().to_owned(),
        a.json["status_url"].as_str().unwrap().to_owned(),
    )
}

async fn a_status_url_shows_one_order_and_nothing_personal(app: TestApp) {
    let secret = app.restaurant("pizzeria").await;
    let (order, url) = create_order(&app, "pizzeria", "P-1").await;
    let (_, other_url) = create_order(&app, "pizzeria", "P-2").await;
    // Absolute, on the address the gateway listens on (no GATEWAY_PUBLIC_URL in tests).
    assert!(url.starts_with(&format!("{}/v1/order-status/", app.base)) && url != other_url);
    let a = app.request(Method::GET, &url, None, None).await;
    assert_eq!(a.status, 200, "{a:?}");
    // Any origin may read it by default (GATEWAY_STATUS_CORS_ORIGINS=*).
    let page = "https://any-restaurant.example";
    let cross = app
        .client
        .get(&url)
        .header("origin", page)
        .send()
        .await
        .unwrap();
    assert_eq!(cross.headers()["access-control-allow-origin"], page);
    let keys: Vec<&String> = a.json.as_object().unwrap().keys().collect();
    assert_eq!(
        keys,
        [
            "amount",
            "amount_authorized",
            "amount_due",
            "amount_paid",
            "amount_refunded",
            "currency",
            "status",
            "tip_amount",
            "updated_at"
        ]
    );
    assert_eq!(a.json["status"], "PAYMENT_PENDING");
    assert!(!a.text.contains("jenny") && !a.text.contains("P-1") && !a.text.contains(&order));
    pay(&app, "pizzeria", &secret, &order, "evt_st1").await;
    assert_eq!(
        app.request(Method::GET, &url, None, None).await.json["status"],
        "PAID"
    );
    assert_eq!(
        app.request(Method::GET, &other_url, None, None).await.json["status"],
        "PAYMENT_PENDING",
        "one order's token shows nothing of another"
    );
    // A token changed by one character, made up, or too long: 404, the same for each.
    let token = url.rsplit('/').next().unwrap();
    let mut forged = token.to_owned().into_bytes();
    forged[20] = if forged[20] == b'A' { b'B' } else { b'A' };
    let forged = String::from_utf8(forged).unwrap();
    for bad in [forged.as_str(), "nope", &"A".repeat(43)] {
        let a = app
            .request(Method::GET, &format!("/v1/order-status/{bad}"), None, None)
            .await;
        a.assert_problem(404, "not_found");
    }
    let a = app
        .request(
            Method::GET,
            &format!("/v1/order-status/{}", "A".repeat(65)),
            None,
            None,
        )
        .await;
    assert_eq!(a.status, 422, "{a:?}");
    // The order's tenant removed: the token shows nothing.
    assert_eq!(
        app.delete("/v1/tenants/pizzeria", app.op()).await.status,
        204
    );
    app.request(Method::GET, &url, None, None)
        .await
        .assert_problem(404, "not_found");
}

/// An open event stream: reads events as they come.
pub struct Stream {
    resp: reqwest::Response,
    buf: String,
}

impl Stream {
    pub async fn open(base: &str, url: &str) -> Result<Self, reqwest::Response> {
        let resp = reqwest::Client::new()
            .get(if url.starts_with("http") {
                url.to_owned()
            } else {
                format!("{base}{url}")
            })
            .header("accept", "text/event-stream")
            .send()
            .await
            .unwrap();
        if resp.status() != 200 {
            return Err(resp);
        }
        assert!(
            resp.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/event-stream")
        );
        Ok(Self {
            resp,
            buf: String::new(),
        })
    }

    /// Reads until the server ends the stream (within 10 s).
    pub async fn await_end(&mut self) {
        let ended = tokio::time::timeout(Duration::from_secs(10), async {
            while let Ok(Some(_)) = self.resp.chunk().await {}
        })
        .await;
        assert!(ended.is_ok(), "the stream did not end");
    }

    /// The next event (name, data), skipping keep-alive comments.
    pub async fn next(&mut self, timeout: Duration) -> (String, Value) {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(end) = self.buf.find("\n\n") {
                let block: String = self.buf.drain(..end + 2).collect();
                let mut name = String::new();
                let mut data = String::new();
                for line in block.lines() {
                    if let Some(v) = line.strip_prefix("event:") {
                        name = v.trim().to_owned();
                    } else if let Some(v) = line.strip_prefix("data:") {
                        data.push_str(v.trim());
                    }
                }
                if !name.is_empty() {
                    return (name, serde_json::from_str(&data).unwrap());
                }
                continue;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            let chunk = tokio::time::timeout(left, self.resp.chunk())
                .await
                .expect("an event within the timeout")
                .unwrap()
                .expect("the stream stays open");
            self.buf.push_str(&String::from_utf8_lossy(&chunk));
        }
    }
}

async fn a_stream_gets_each_change_within_a_second(app: TestApp) {
    let secret = app.restaurant("ramen").await;
    let (order, url) = create_order(&app, "ramen", "R-1").await;
    let mut s = Stream::open(&app.base, &url).await.unwrap();
    let (name, data) = s.next(Duration::from_secs(5)).await;
    assert_eq!(name, "order.payment_pending");
    assert_eq!(data["status"], "PAYMENT_PENDING");
    let mut more = Vec::new();
    for _ in 0..4 {
        more.push(Stream::open(&app.base, &url).await.unwrap());
    }
    // A sixth stream of the same token is refused.
    let refused = Stream::open(&app.base, &url).await.err().unwrap();
    assert_eq!(refused.status(), 429);
    let started = Instant::now();
    pay(&app, "ramen", &secret, &order, "evt_sse1").await;
    let (name, data) = s.next(Duration::from_secs(1)).await;
    assert_eq!(name, "order.paid", "{data}");
    assert_eq!(data["status"], "PAID");
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );
    for m in &mut more {
        assert_eq!(
            m.next(Duration::from_secs(1)).await.0,
            "order.payment_pending"
        );
        assert_eq!(m.next(Duration::from_secs(1)).await.0, "order.paid");
    }
    // Closed streams free their slots.
    drop(more);
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(Stream::open(&app.base, &url).await.is_ok());
}

/// Two gateways on one PostgreSQL database: a stream on one sees a change the other commits.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_on_one_replica_sees_a_change_committed_on_another() {
    let Some(a) = crate::helpers::spawn(Backend::Postgres).await else {
        return;
    };
    let b_db = TestDb {
        backend: Backend::Postgres,
        dir: tempfile::tempdir().unwrap(),
        url: a.db.url.clone(),
    };
    let b = crate::helpers::start(b_db, a.master_keys.clone())
        .await
        .unwrap();
    let secret = a.restaurant("udon").await;
    let (order, url) = create_order(&a, "udon", "U-1").await;
    // Made by replica a, followed on replica b: the same path on b.
    let path = &url[url.find("/v1/").unwrap()..];
    let mut s = Stream::open(&b.base, path).await.unwrap();
    assert_eq!(
        s.next(Duration::from_secs(5)).await.0,
        "order.payment_pending"
    );
    let started = Instant::now();
    pay(&a, "udon", &secret, &order, "evt_sse2").await;
    assert_eq!(s.next(Duration::from_secs(1)).await.0, "order.paid");
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );
}

async fn streams_are_shared_fairly_and_end_by_themselves(db: TestDb) {
    let keys = db
        .url
        .as_ref()
        .map(|_| crate::helpers::new_master_key("k1"));
    // 12 streams in all: a tenant's share is 3; one address may hold 4; each lasts 2 s.
    let app = crate::helpers::start_with(db, keys, |c| {
        c.status_streams_max = 12;
        c.status_streams_per_address = 4;
        c.status_stream_lifetime = Duration::from_secs(2);
    })
    .await
    .unwrap();
    app.restaurant("busy").await;
    app.restaurant("quiet").await;
    let mut held = Vec::new();
    for n in 0..3 {
        let (_, url) = create_order(&app, "busy", &format!("B-{n}")).await;
        held.push(Stream::open(&app.base, &url).await.unwrap());
    }
    let (_, fourth) = create_order(&app, "busy", "B-3").await;
    let refused = Stream::open(&app.base, &fourth).await.err().unwrap();
    assert_eq!(refused.status(), 503, "the busy tenant's share is taken");
    let body: Value = refused.json().await.unwrap();
    assert_eq!(body["code"], "streams_full");
    // Another restaurant's customer still gets one …
    let (_, quiet) = create_order(&app, "quiet", "Q-1").await;
    let mut other = Stream::open(&app.base, &quiet).await.unwrap();
    assert_eq!(
        other.next(Duration::from_secs(5)).await.0,
        "order.payment_pending"
    );
    // … but not a fifth from this one address.
    let (_, quiet2) = create_order(&app, "quiet", "Q-2").await;
    let refused = Stream::open(&app.base, &quiet2).await.err().unwrap();
    assert_eq!(refused.status(), 429);
    let body: Value = refused.json().await.unwrap();
    assert_eq!(body["code"], "too_many_streams");
    assert!(
        body["detail"].as_str().unwrap().contains("address"),
        "{body}"
    );
    // Every stream ends by itself after its lifetime, which frees its slots.
    let started = Instant::now();
    other.await_end().await;
    assert!(started.elapsed() < Duration::from_secs(5));
    drop(held);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(Stream::open(&app.base, &fourth).await.is_ok());
}

async fn sigterm_with_streams_open_exits_at_once(db: TestDb) {
    let master = crate::helpers::new_master_key("k1");
    let mut gw = crate::gateway_process::GatewayProcess::start(&db, &master, &[]);
    let client = reqwest::Client::new();
    let token = crate::gateway_process::TOKEN;
    let r = client
        .post(format!("{}/v1/tenants", gw.base))
        .bearer_auth(token)
        .json(&json!({"slug": "late", "name": "Late"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let r = client
        .post(format!("{}/v1/tenants/late/orders", gw.base))
        .bearer_auth(token)
        .json(&json!({"reference": "L-1", "amount": 900, "currency": "EUR"}))
        .send()
        .await
        .unwrap();
    let order: Value = r.json().await.unwrap();
    let url = order["status_url"].as_str().unwrap();
    let mut streams = Vec::new();
    for _ in 0..3 {
        let mut s = Stream::open(&gw.base, url).await.unwrap();
        s.next(Duration::from_secs(5)).await;
        streams.push(s);
    }
    let started = Instant::now();
    assert!(
        gw.terminate(Duration::from_secs(2)),
        "SIGTERM with streams open did not exit within 2 s"
    );
    assert!(started.elapsed() < Duration::from_secs(2));
    for s in &mut streams {
        s.await_end().await;
    }
}

/// A restaurant's page on another origin may read the status URL (JSON and the stream) and its
/// preflight is answered; no other route is readable cross-origin; with a list of origins set,
/// an origin not on it gets no CORS permission.
async fn a_page_on_another_origin_reads_the_status(db: TestDb) {
    let keys = db
        .url
        .as_ref()
        .map(|_| crate::helpers::new_master_key("k1"));
    let shop = "https://shop.example.com";
    let app = crate::helpers::start_with(db, keys, |c| {
        c.status_cors_origins = vec![shop.to_owned(), "https://kiosk.example.com".to_owned()];
    })
    .await
    .unwrap();
    app.restaurant("corsica").await;
    let (_, url) = create_order(&app, "corsica", "C-1").await;
    let allowed = |r: &reqwest::Response| {
        r.headers()
            .get("access-control-allow-origin")
            .map(|v| v.to_str().unwrap().to_owned())
    };
    let get = |origin: &'static str, accept: &'static str| {
        let (client, url) = (app.client.clone(), url.clone());
        async move {
            client
                .get(url)
                .header("origin", origin)
                .header("accept", accept)
                .send()
                .await
                .unwrap()
        }
    };
    let json_answer = get(shop, "application/json").await;
    assert_eq!(json_answer.status(), 200);
    assert_eq!(allowed(&json_answer).as_deref(), Some(shop));
    let stream = get(shop, "text/event-stream").await;
    assert_eq!(stream.status(), 200);
    assert_eq!(allowed(&stream).as_deref(), Some(shop));
    drop(stream);
    let preflight = app
        .client
        .request(Method::OPTIONS, &url)
        .header("origin", shop)
        .header("access-control-request-method", "GET")
        .header("access-control-request-headers", "last-event-id")
        .send()
        .await
        .unwrap();
    assert!(preflight.status().is_success(), "{preflight:?}");
    assert_eq!(allowed(&preflight).as_deref(), Some(shop));
    let methods = preflight.headers()["access-control-allow-methods"]
        .to_str()
        .unwrap();
    assert!(methods.contains("GET"), "{methods}");
    // An origin not on the list is given no permission.
    let stranger = get("https://evil.example.net", "application/json").await;
    assert_eq!(allowed(&stranger), None);
    // The admin API is not readable cross-origin.
    let admin = app
        .client
        .get(format!("{}/v1/tenants", app.base))
        .bearer_auth(app.op())
        .header("origin", shop)
        .send()
        .await
        .unwrap();
    assert_eq!(admin.status(), 200);
    assert_eq!(allowed(&admin), None);
}
