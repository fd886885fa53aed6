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
        // Prefixes that reach IPv4 (or nowhere) through a tunnel or translation.
        "https://[2002:7f00:1::1]/hook",
        "https://[64:ff9b:1::a00:1]/hook",
        "https://[::ffff:0:7f00:1]/hook",
        "https://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/hook",
        "https://[100::1]/hook",
        "http://pos.example.com/hook",
    ] {
        let a = app.post(path, app.op(), json!({"url": url})).await;
        a.assert_problem(422, "validation_failed");
        let detail = a.json["detail"].as_str().unwrap();
        assert!(detail.starts_with("url: "), "{a:?}");
        // The refusal names the setting that allows receivers on a private network.
        assert!(
            detail.contains("GATEWAY_OUTBOUND_ALLOW_PRIVATE=true"),
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
    // A name that does not resolve at all is refused with the same words: the tenant cannot
    // tell an internal name (resolves, privately) from one that does not exist.
    let a = app
        .post(
            path,
            app.op(),
            json!({"url": "https://no-such-host.invalid/hook"}),
        )
        .await;
    assert_eq!(a.status, 201, "{a:?}");
    let unknown = a.json["id"].as_str().unwrap().to_owned();
    let order = app.order("guarded", "G-1", 2500, "EUR").await;
    crate::notifications::pay(&app, "guarded", &secret, &order, "evt_ssrf").await;
    let first_attempt = |ep: String| {
        let app = &app;
        async move {
            for _ in 0..200 {
                let a = app.get(&format!("{path}/{ep}/messages"), app.op()).await;
                if a.json["data"][0]["attempts"] == 1 && a.json["data"][0]["status"] == "pending" {
                    return a.json["data"][0].clone();
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            serde_json::Value::Null
        }
    };
    let m = first_attempt(ep).await;
    let error = m["last_error"].as_str().unwrap_or_default();
    assert_eq!(
        error, "address refused: the host name does not resolve to a public address",
        "{m}"
    );
    assert!(m["last_response_code"].is_null());
    let n = first_attempt(unknown).await;
    assert_eq!(
        n["last_error"], m["last_error"],
        "one refusal for both: {n}"
    );
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
