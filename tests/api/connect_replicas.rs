//! Connect over several replicas: a change to the platform's Connect secrets, or a tenant's
//! account moved, made through one replica, is what every other replica routes by within a
//! second (the `gateway_changes` notice), not after its cache expires. PostgreSQL only.
use crate::replicas::{Cluster, ping_event, within};
use reqwest::Method;
use serde_json::{Value, json};
use std::time::Duration;

const OLD: &str = "whsec_connectReplicas000";
const NEW: &str = "whsec_connectReplicas001";

/// `ping_event()` as the Connect endpoint receives it, naming `account`.
fn on(account: &str) -> String {
    let mut e: Value = serde_json::from_str(&ping_event()).unwrap();
    e["account"] = json!(account);
    e.to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connect_changes_reach_every_replica_within_a_second() {
    let Some(cluster) = Cluster::start(2, &[]).await else {
        return;
    };
    let second = Duration::from_secs(1);
    cluster
        .ok(
            0,
            Method::PUT,
            "/v1/platform/stripe-config",
            json!({"secret_key": "sk_test_connectReplicas0", "webhook_secret": OLD}),
        )
        .await;
    cluster
        .ok(
            0,
            Method::POST,
            "/v1/tenants",
            json!({"slug": "linked", "name": "Linked", "kind": "connected", "stripe_account_id": "acct_1Linked"}),
        )
        .await;
    // B holds the platform's secrets and the account's tenant (a type the tenant path records
    // and ignores: routed, not unrouted).
    let (status, answer) = cluster
        .deliver_as(1, "connect", OLD, &on("acct_1Linked"))
        .await;
    assert_eq!(
        (status, &answer["status"]),
        (200, &json!("ignored")),
        "{answer}"
    );

    // The Connect secret rotated through A, the old one expiring at once.
    cluster
        .ok(
            0,
            Method::POST,
            "/v1/platform/stripe-config/webhook-secrets",
            json!({"secret": NEW, "expire_others_in_seconds": 0}),
        )
        .await;
    let took = within(second, "B verifies the new Connect secret", || async {
        cluster
            .deliver_as(1, "connect", NEW, &on("acct_1Linked"))
            .await
            .0
            == 200
    })
    .await;
    eprintln!("new Connect secret verifies on B after {took:?}");
    let (status, answer) = cluster
        .deliver_as(1, "connect", OLD, &on("acct_1Linked"))
        .await;
    assert_eq!(
        (status, &answer["code"]),
        (400, &json!("bad_signature")),
        "{answer}"
    );

    // The tenant's account moved through A: B stops routing the old account to it.
    cluster
        .ok(
            0,
            Method::PATCH,
            "/v1/tenants/linked",
            json!({"stripe_account_id": "acct_1Moved"}),
        )
        .await;
    within(second, "B routes by the new account", || async {
        let (_, old) = cluster
            .deliver_as(1, "connect", NEW, &on("acct_1Linked"))
            .await;
        let (_, new) = cluster
            .deliver_as(1, "connect", NEW, &on("acct_1Moved"))
            .await;
        old["status"] == "unrouted" && new["status"] == "ignored"
    })
    .await;
}
