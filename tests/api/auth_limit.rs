//! Admin API brute force: failed authentications are limited per client address (429 with
//! `Retry-After` once an address spent its budget, the token then not even looked at), other
//! addresses keep working, `X-Forwarded-For` counts only behind a trusted proxy, metrics show it.
use crate::helpers::TestApp;
use crate::operations::metric;
use reqwest::StatusCode;
use std::net::IpAddr;
use std::time::Duration;

crate::backend_tests!(
    failed_authentications_are_limited_per_address,
    behind_a_trusted_proxy_the_forwarded_client_counts,
);

/// A client whose requests leave from `source` (any 127.x address reaches the gateway).
fn client_from(source: &str) -> reqwest::Client {
    reqwest::Client::builder()
        .local_address(source.parse::<IpAddr>().unwrap())
        .build()
        .unwrap()
}

async fn list_tenants(
    app: &TestApp,
    client: &reqwest::Client,
    token: &str,
    forwarded_for: Option<&str>,
) -> reqwest::Response {
    let mut req = client
        .get(format!("{}/v1/tenants", app.base))
        .bearer_auth(token);
    if let Some(f) = forwarded_for {
        req = req.header("X-Forwarded-For", f);
    }
    req.send().await.unwrap()
}

async fn assert_limited(resp: reqwest::Response) -> u64 {
    assert_eq!(resp.status(), StatusCode::TOO_MANY_REQUESTS);
    let wait: u64 = resp.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=3).contains(&wait), "Retry-After {wait}");
    let body: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(body["code"], "too_many_auth_failures", "{body}");
    wait
}

async fn failed_authentications_are_limited_per_address(app: TestApp) {
    let app = app
        .restart(|c| {
            c.auth_failures_per_minute = 60;
            c.auth_failures_burst = 3;
        })
        .await;
    let limited0 = metric(&app, "gateway_rate_limited_total", &[r#"scope="auth""#]).await;
    let failures0 = metric(&app, "gateway_auth_failures_total", &[]).await;
    let (a, b) = (client_from("127.0.0.1"), client_from("127.0.0.2"));
    // Successes never count.
    for _ in 0..10 {
        assert_eq!(list_tenants(&app, &a, app.op(), None).await.status(), 200);
    }
    // Three wrong guesses are answered 401 — rotating X-Forwarded-For (no trusted proxy) does
    // not make them count elsewhere — the fourth 429.
    for i in 0..3 {
        let r = list_tenants(
            &app,
            &a,
            "gwk_wrong_guess_000000",
            Some(&format!("203.0.113.{i}")),
        )
        .await;
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    }
    let wait = assert_limited(list_tenants(&app, &a, "gwk_wrong_guess_000000", None).await).await;
    // While limited, the address learns nothing: even the right token gets 429.
    assert_limited(list_tenants(&app, &a, app.op(), None).await).await;
    // Another address is untouched: its valid token works and its own budget is whole.
    assert_eq!(list_tenants(&app, &b, app.op(), None).await.status(), 200);
    for _ in 0..3 {
        let r = list_tenants(&app, &b, "not-even-a-key-format", None).await;
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    }
    // The webhook route and unauthenticated probes are not behind the bearer check.
    assert_eq!(
        a.get(format!("{}/health", app.base))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    // Once the budget refills, the valid token works again from the limited address.
    tokio::time::sleep(Duration::from_millis(wait * 1000 + 100)).await;
    assert_eq!(list_tenants(&app, &a, app.op(), None).await.status(), 200);
    assert!(
        metric(&app, "gateway_rate_limited_total", &[r#"scope="auth""#]).await >= limited0 + 2.0
    );
    assert!(metric(&app, "gateway_auth_failures_total", &[]).await >= failures0 + 7.0);
}

async fn behind_a_trusted_proxy_the_forwarded_client_counts(app: TestApp) {
    let app = app
        .restart(|c| {
            c.auth_failures_per_minute = 60;
            c.auth_failures_burst = 2;
            c.trusted_proxies = gateway::config::parse_trusted_proxies("127.0.0.0/8").unwrap();
        })
        .await;
    let lb = client_from("127.0.0.1");
    let attacker = Some("198.51.100.7");
    for _ in 0..2 {
        let r = list_tenants(&app, &lb, "gwk_wrong_guess_000000", attacker).await;
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    }
    assert_limited(list_tenants(&app, &lb, "gwk_wrong_guess_000000", attacker).await).await;
    // The same balancer forwarding someone else: not limited.
    let r = list_tenants(&app, &lb, app.op(), Some("198.51.100.8")).await;
    assert_eq!(r.status(), 200);
    // A client that prepends an address of its choice is still counted as itself.
    let spoofed = list_tenants(&app, &lb, app.op(), Some("198.51.100.8, 198.51.100.7")).await;
    assert_limited(spoofed).await;
}
