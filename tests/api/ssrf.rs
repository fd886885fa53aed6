//! The SSRF guard on order notifications, as deployed (private addresses not allowed): endpoint
//! URLs naming private, loopback, link-local or metadata addresses, or plain `http`, are refused
//! and change nothing; a host name that resolves to loopback is refused on every attempt, after
//! resolution, before any connection.
use crate::helpers::{TestDb, start_with};
use crate::receiver::Receiver;
use serde_json::json;
use std::time::Duration;

crate::backend_db_tests!(private_addresses_are_never_called);

async fn private_addresses_are_never_called(db: TestDb) {
    let keys = db
        .url
        .as_ref()
        .map(|_| crate::helpers::new_master_key("k1"));
    let app = start_with(db, keys, |c| c.outbound_allow_private = false)
        .await
        .unwrap();
    let secret = app.restaurant("guarded").await;
    let path = "/v1/tenants/guarded/notification-endpoints";
    for url in [
        "https://10.1.2.3/hook",
        "https://127.0.0.1/hook",
        "https://169.254.169.254/latest/meta-data/",
        "https://[::1]/hook",
        "https://[::ffff:192.168.1.1]/hook",
        "http://pos.example.com/hook",
    ] {
        let a = app.post(path, app.op(), json!({"url": url})).await;
        a.assert_problem(422, "validation_failed");
        assert!(
            a.json["detail"].as_str().unwrap().starts_with("url: "),
            "{a:?}"
        );
    }
    assert_eq!(app.get(path, app.op()).await.json["data"], json!([]));
    // A name is checked when called: `localhost` resolves to loopback.
    let rx = Receiver::start().await;
    let port = rx
        .url
        .split(':')
        .nth(2)
        .unwrap()
        .split('/')
        .next()
        .unwrap()
        .to_owned();
    let a = app
        .post(
            path,
            app.op(),
            json!({"url": format!("https://localhost:{port}/hook")}),
        )
        .await;
    assert_eq!(a.status, 201, "{a:?}");
    let ep = a.json["id"].as_str().unwrap().to_owned();
    let a = app
        .patch(
            &format!("{path}/{ep}"),
            app.op(),
            json!({"url": "https://10.0.0.1/"}),
        )
        .await;
    a.assert_problem(422, "validation_failed");
    let order = app.order("guarded", "G-1", 2500, "EUR").await;
    crate::notifications::pay(&app, "guarded", &secret, &order, "evt_ssrf").await;
    let mut m = serde_json::Value::Null;
    for _ in 0..200 {
        let a = app.get(&format!("{path}/{ep}/messages"), app.op()).await;
        if a.json["data"][0]["attempts"] == 1 && a.json["data"][0]["status"] == "pending" {
            m = a.json["data"][0].clone();
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let error = m["last_error"].as_str().unwrap_or_default();
    assert!(error.starts_with("address refused"), "{m}");
    assert!(m["last_response_code"].is_null());
    assert_eq!(rx.connections(), 0, "no connection was made");
    let metrics = app
        .request(reqwest::Method::GET, "/metrics", None, None)
        .await
        .text;
    assert!(
        metrics.contains("gateway_notifications_total{outcome=\"blocked\"}"),
        "counted"
    );
}
