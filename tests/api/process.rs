//! The gateway process as operators run it: a full session with JSON logs holds no secret in
//! any line, and SIGTERM with a request in flight completes it and exits 0.
use crate::stripe::*;
use serde_json::{Value, json};
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_logs_hold_no_secret_and_sigterm_drains_in_flight_requests() {
    let stripe = MockServer::start().await;
    let mut session = checkout_session("cs_test_slow", None, 0, "usd", "x", "unpaid");
    session["url"] = json!("https://checkout.stripe.com/c/pay/cs_test_slow");
    Mock::given(method("POST"))
        .and(path("/v1/checkout/sessions"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_delay(Duration::from_millis(1500))
                .set_body_json(session),
        )
        .mount(&stripe)
        .await;
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_gateway"))
        .arg("serve")
        .current_dir(dir.path())
        .env_clear()
        .env("GATEWAY_LISTEN", "127.0.0.1:0")
        .env("GATEWAY_LOG_FORMAT", "json")
        .env("RUST_LOG", "info,gateway=debug")
        .env("GATEWAY_STRIPE_API_BASE", format!("{}/", stripe.uri()))
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let lines = Arc::new(Mutex::new(Vec::<String>::new()));
    let (tx, rx) = std::sync::mpsc::channel();
    {
        let (stderr, lines) = (child.stderr.take().unwrap(), lines.clone());
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(i) = line.find("listening on http://") {
                    let rest = &line[i + "listening on http://".len()..];
                    let _ = tx.send(rest.split('"').next().unwrap_or(rest).to_owned());
                }
                lines.lock().unwrap().push(line);
            }
        });
    }
    let addr = rx
        .recv_timeout(Duration::from_secs(30))
        .expect("gateway starts");
    let base = format!("http://{addr}");
    let token = std::fs::read_to_string(dir.path().join("data/admin-token"))
        .unwrap()
        .trim()
        .to_owned();
    let master = std::fs::read_to_string(dir.path().join("data/master-keys"))
        .unwrap()
        .trim()
        .to_owned();
    let client = reqwest::Client::new();
    let call = |m: reqwest::Method, p: &str, t: &str, body: Option<Value>| {
        let mut r = client.request(m, format!("{base}{p}")).bearer_auth(t);
        if let Some(b) = body {
            r = r.json(&b);
        }
        async move {
            let resp = r.send().await.unwrap();
            (
                resp.status().as_u16(),
                resp.json::<Value>().await.unwrap_or(Value::Null),
            )
        }
    };
    use reqwest::Method as M;

    // A full session: tenant, key, secrets, order, webhook, replay, a refused token, checkout.
    let secret_key = "sk_test_51LogSessionSecretKeyZZ99";
    let webhook_secret = "whsec_LogSessionWebhookSecretQQ77";
    let email = "very.private.person@example.org";
    assert_eq!(
        call(
            M::POST,
            "/v1/tenants",
            &token,
            Some(json!({"slug": "logged", "name": "Logged"}))
        )
        .await
        .0,
        201
    );
    let (_, key) = call(
        M::POST,
        "/v1/tenants/logged/api-keys",
        &token,
        Some(json!({"name": "pos"})),
    )
    .await;
    let api_key = key["key"].as_str().unwrap().to_owned();
    let put = call(
        M::PUT,
        "/v1/tenants/logged/stripe-config",
        &api_key,
        Some(json!({"secret_key": secret_key, "webhook_secret": webhook_secret})),
    )
    .await;
    assert_eq!(put.0, 200);
    let (_, order) = call(
        M::POST,
        "/v1/tenants/logged/orders",
        &api_key,
        Some(
            json!({"reference": "L-1", "amount": 1234, "currency": "usd", "customer_email": email}),
        ),
    )
    .await;
    let order_id = order["id"].as_str().unwrap().to_owned();
    let mut pi = payment_intent("pi_logged", 1234, "usd", "succeeded", Some(&order_id));
    pi["receipt_email"] = json!(email);
    let body = event("evt_logged", "payment_intent.succeeded", now(), pi).to_string();
    let r = client
        .post(format!("{base}/webhooks/stripe/logged"))
        .header("Stripe-Signature", sign(webhook_secret, now(), &body))
        .body(body.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    client
        .post(format!("{base}/webhooks/stripe/logged"))
        .header("Stripe-Signature", "t=1,v1=ab")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(
        call(
            M::POST,
            "/v1/tenants/logged/webhook-events/evt_logged/replay",
            &api_key,
            Some(json!({}))
        )
        .await
        .0,
        200
    );
    assert_eq!(
        call(M::GET, "/v1/tenants", "gwk_not_a_real_key_at_all", None)
            .await
            .0,
        401
    );
    let order2 = call(
        M::POST,
        "/v1/tenants/logged/orders",
        &api_key,
        Some(json!({"reference": "L-2", "amount": 99, "currency": "usd"})),
    )
    .await
    .1;
    let order2_id = order2["id"].as_str().unwrap().to_owned();
    // Its status URL, as JSON and as a stream: the token is a capability, never logged.
    let status_url = order2["status_url"].as_str().unwrap().to_owned();
    let status_token = status_url.rsplit('/').next().unwrap().to_owned();
    assert!(
        status_url.starts_with(&format!("{base}/v1/order-status/")),
        "an absolute status URL on the address listened on: {status_url}"
    );
    let r = client.get(&status_url).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let r = client
        .get(&status_url)
        .header("accept", "text/event-stream")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    drop(r);

    // SIGTERM while a checkout (a 1.5 s Stripe call) is in flight: it completes, exit code 0.
    let in_flight = {
        let (client, url, key) = (
            client.clone(),
            format!("{base}/v1/tenants/logged/orders/{order2_id}/checkout-session"),
            api_key.clone(),
        );
        tokio::spawn(async move {
            let r = client.post(url).bearer_auth(key).json(&json!({"success_url": "https://a.example/ok", "cancel_url": "https://a.example/no"})).send().await.unwrap();
            (
                r.status().as_u16(),
                r.json::<Value>().await.unwrap_or(Value::Null),
            )
        })
    };
    tokio::time::sleep(Duration::from_millis(400)).await;
    let started = Instant::now();
    assert!(
        Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()
            .unwrap()
            .success()
    );
    let (status, answer) = in_flight.await.unwrap();
    assert_eq!(status, 201, "the in-flight request completed: {answer}");
    assert_eq!(answer["session_id"], "cs_test_slow");
    let exit = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "the gateway did not exit"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(exit.success(), "exit status {exit:?}");
    std::thread::sleep(Duration::from_millis(200));

    // Every log line is one JSON object; requests carry ids; no secret is anywhere.
    let lines = lines.lock().unwrap().clone();
    assert!(lines.len() > 10);
    let mut with_request_id = 0;
    for line in &lines {
        let v: Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"));
        assert!(
            v["level"].is_string() && v["timestamp"].is_string(),
            "{line}"
        );
        if line.contains("request_id") {
            with_request_id += 1;
        }
    }
    assert!(
        with_request_id >= 10,
        "{with_request_id} lines carry a request id"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.contains("evt_logged") && l.contains("payment_intent.succeeded")),
        "the event is named"
    );
    let master_key = master.split(':').nth(1).unwrap();
    let forbidden = [
        token.as_str(),
        api_key.as_str(),
        &api_key[12..],
        secret_key,
        &secret_key[8..],
        webhook_secret,
        &webhook_secret[6..],
        master_key,
        email,
        "pi_logged\",\"amount\"",
        status_token.as_str(),
    ];
    for line in &lines {
        for secret in forbidden {
            assert!(
                !line.contains(secret),
                "a log line holds a secret or payload ({secret}): {line}"
            );
        }
    }
    assert!(lines.iter().any(|l| l.contains("gateway stopped")));
    assert!(
        lines.iter().any(|l| l.contains("/v1/order-status/{token}")),
        "the status route is logged, without its token"
    );
}
