//! Master keys: `gateway keys rewrap` moves every secret to the newest key while the gateway
//! serves, after which the old key can be dropped; a wrong or missing key stops start-up clearly.
use crate::helpers::{TestApp, TestDb, check_start, new_master_key, start};
use serde_json::json;
use std::process::Command;

crate::backend_tests!(
    rewrap_while_serving_then_drop_old_key,
    wrong_or_missing_key_stops_start_up
);

fn old_keys(app: &TestApp) -> String {
    app.master_keys.clone().unwrap_or_else(|| {
        std::fs::read_to_string(app.db.data_dir().join("master-keys"))
            .unwrap()
            .trim()
            .to_owned()
    })
}

/// Runs the `gateway` binary with only the given environment (plus PATH).
pub fn gateway(args: &[&str], env: &[(&str, &str)]) -> std::process::Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_gateway"));
    cmd.args(args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default());
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("run gateway")
}

fn rewrap(db: &TestDb, keys: &str) -> String {
    let url = db.url();
    let dir = db.data_dir();
    let out = gateway(
        &["keys", "rewrap", "--batch-size", "2"],
        &[
            ("DATABASE_URL", &url),
            ("GATEWAY_MASTER_KEYS", keys),
            ("GATEWAY_DATA_DIR", dir.to_str().unwrap()),
        ],
    );
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "rewrap failed: {stdout} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

async fn rewrap_while_serving_then_drop_old_key(app: TestApp) {
    for slug in ["one", "two", "three"] {
        app.create_tenant(slug).await;
        app.set_stripe_config(
            slug,
            &format!("sk_test_{slug}SecretKey000"),
            &format!("whsec_{slug}HookSecret000"),
        )
        .await;
        app.post(
            &format!("/v1/tenants/{slug}/stripe-config/webhook-secrets"),
            app.op(),
            json!({"secret": format!("whsec_{slug}SecondHook00")}),
        )
        .await;
    }
    let k1 = old_keys(&app);
    let k2 = new_master_key("k2");
    let before: Vec<_> = configs_of(&app).await;
    let db = app.stop().await;

    // Without k1 the gateway refuses to start: the stored secrets need it.
    let msg = format!(
        "{:#}",
        check_start(&db, Some(k2.clone())).await.unwrap_err()
    );
    assert!(
        msg.contains("\"k1\"") && msg.contains("not in the keyring"),
        "{msg}"
    );

    // Restart with k2 first, k1 still there; rewrap while the gateway serves and changes secrets.
    let both = format!("{k2},{k1}");
    let app = start(db, Some(both.clone())).await.unwrap();
    let writer = {
        let (base, op) = (app.base.clone(), app.op().to_owned());
        tokio::spawn(async move {
            let client = reqwest::Client::new();
            for i in 0..10 {
                let r = client
                    .put(format!("{base}/v1/tenants/two/stripe-config"))
                    .bearer_auth(&op)
                    .json(&json!({"secret_key": format!("sk_test_twoRotated{i:04}"), "webhook_secret": format!("whsec_twoRotated{i:04}")}))
                    .send()
                    .await
                    .unwrap();
                assert_eq!(r.status(), 200);
            }
        })
    };
    let out = rewrap(&app.db, &both);
    writer.await.unwrap();
    assert!(
        out.contains("under key k2") && out.contains("verified"),
        "{out}"
    );
    let again = rewrap(&app.db, &both);
    assert!(again.starts_with("rewrapped 0 secret(s)"), "{again}");
    let after_one = app
        .get("/v1/tenants/one/stripe-config", app.op())
        .await
        .json;
    assert_eq!(after_one, before[0], "rewrap changes no visible field");
    let db = app.stop().await;

    // Every secret now opens with k2 alone: start-up decrypts them all.
    check_start(&db, Some(k2.clone()))
        .await
        .expect("k1 can be dropped after rewrap");
    let app = start(db, Some(k2)).await.unwrap();
    let two = app.get("/v1/tenants/two/stripe-config", app.op()).await;
    assert_eq!(two.json["secret_key_hint"], "sk_test_…0009");
}

async fn configs_of(app: &TestApp) -> Vec<serde_json::Value> {
    let mut out = Vec::new();
    for slug in ["one", "two", "three"] {
        out.push(
            app.get(&format!("/v1/tenants/{slug}/stripe-config"), app.op())
                .await
                .json,
        );
    }
    out
}

async fn wrong_or_missing_key_stops_start_up(app: TestApp) {
    app.create_tenant("delta").await;
    app.set_stripe_config(
        "delta",
        "sk_test_deltaSecretKey00",
        "whsec_deltaHookSecret00",
    )
    .await;
    let db = app.stop().await;
    // Same id, other bytes: a wrong key.
    let wrong = new_master_key("k1");
    let msg = format!("{:#}", check_start(&db, Some(wrong)).await.unwrap_err());
    assert!(
        msg.contains("does not decrypt with master key \"k1\""),
        "{msg}"
    );
    // A key list without the key the secrets name.
    let msg = format!(
        "{:#}",
        check_start(&db, Some(new_master_key("other")))
            .await
            .unwrap_err()
    );
    assert!(msg.contains("not in the keyring"), "{msg}");
    // Not a key list at all.
    let msg = format!(
        "{:#}",
        check_start(&db, Some("k1:not-base64!".into()))
            .await
            .unwrap_err()
    );
    assert!(msg.contains("GATEWAY_MASTER_KEYS is invalid"), "{msg}");
}
