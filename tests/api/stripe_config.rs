//! Stripe config: hints only, mode from the key, webhook secret rotation with overlap and expiry.
use crate::helpers::TestApp;
use chrono::{DateTime, Utc};
use serde_json::json;

crate::backend_tests!(
    put_and_get_show_hints_only,
    rotation_with_overlap_and_expiry,
    secrets_need_a_config_first
);

async fn put_and_get_show_hints_only(app: TestApp) {
    app.create_tenant("sushi").await;
    app.get("/v1/tenants/sushi/stripe-config", app.op())
        .await
        .assert_problem(404, "not_found");
    let put = app
        .set_stripe_config(
            "sushi",
            "sk_test_51SushiSecretKey4242",
            "whsec_SushiWebhookSecret9xQa",
        )
        .await;
    assert_eq!(put["mode"], "test");
    assert_eq!(put["secret_key_hint"], "sk_test_…4242");
    assert_eq!(put["webhook_secrets"][0]["hint"], "whsec_…9xQa");
    assert!(put["webhook_secrets"][0]["expires_at"].is_null());
    let got = app.get("/v1/tenants/sushi/stripe-config", app.op()).await;
    assert_eq!(got.json, put);

    // A second PUT replaces the key and leaves the new webhook secret as the only one.
    let again = app
        .set_stripe_config(
            "sushi",
            "rk_live_51SushiRestricted0007",
            "whsec_SecondSecretValue1234",
        )
        .await;
    assert_eq!(again["mode"], "live");
    assert_eq!(again["secret_key_hint"], "rk_live_…0007");
    let secrets = again["webhook_secrets"].as_array().unwrap();
    assert_eq!(secrets.len(), 1);
    assert_eq!(secrets[0]["hint"], "whsec_…1234");
}

async fn rotation_with_overlap_and_expiry(app: TestApp) {
    app.create_tenant("ramen").await;
    let first = app
        .set_stripe_config(
            "ramen",
            "sk_test_RamenKeyRamenKey01",
            "whsec_RamenFirstSecret0001",
        )
        .await;
    let first_id = first["webhook_secrets"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();

    // Add a second secret without expiry: both current.
    let added = app
        .post(
            "/v1/tenants/ramen/stripe-config/webhook-secrets",
            app.op(),
            json!({"secret": "whsec_RamenSecondSecret002"}),
        )
        .await;
    assert_eq!(added.status, 201, "{added:?}");
    let secrets = added.json["webhook_secrets"].as_array().unwrap();
    assert_eq!(secrets.len(), 2);
    assert!(secrets.iter().all(|s| s["expires_at"].is_null()));

    // A third with expire_others_in_seconds: the others expire in about an hour.
    let before = Utc::now();
    let third = app
        .post(
            "/v1/tenants/ramen/stripe-config/webhook-secrets",
            app.op(),
            json!({"secret": "whsec_RamenThirdSecret0003", "expire_others_in_seconds": 3600}),
        )
        .await;
    assert_eq!(third.status, 201);
    let secrets = third.json["webhook_secrets"].as_array().unwrap();
    assert_eq!(secrets.len(), 3);
    let third_id = secrets.iter().find(|s| s["hint"] == "whsec_…0003").unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    for s in secrets {
        if s["id"] == third_id.as_str() {
            assert!(s["expires_at"].is_null());
        } else {
            let at: DateTime<Utc> = s["expires_at"].as_str().unwrap().parse().unwrap();
            let secs = (at - before).num_seconds();
            assert!((3590..=3610).contains(&secs), "expires in {secs}s");
        }
    }

    // Deleting an old one works; the last current one is refused; then expiring the rest
    // immediately and deleting them leaves exactly the newest.
    assert_eq!(
        app.delete(
            &format!("/v1/tenants/ramen/stripe-config/webhook-secrets/{first_id}"),
            app.op()
        )
        .await
        .status,
        204
    );
    let now_expired = app
        .post(
            "/v1/tenants/ramen/stripe-config/webhook-secrets",
            app.op(),
            json!({"secret": "whsec_RamenFourthSecret004", "expire_others_in_seconds": 0}),
        )
        .await;
    let fourth_id = now_expired.json["webhook_secrets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["hint"] == "whsec_…t004")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    app.delete(
        &format!("/v1/tenants/ramen/stripe-config/webhook-secrets/{fourth_id}"),
        app.op(),
    )
    .await
    .assert_problem(409, "last_webhook_secret");
    // An expired secret may go.
    assert_eq!(
        app.delete(
            &format!("/v1/tenants/ramen/stripe-config/webhook-secrets/{third_id}"),
            app.op()
        )
        .await
        .status,
        204
    );
    app.delete(
        &format!("/v1/tenants/ramen/stripe-config/webhook-secrets/{third_id}"),
        app.op(),
    )
    .await
    .assert_problem(404, "not_found");
    let left = app.get("/v1/tenants/ramen/stripe-config", app.op()).await;
    let hints: Vec<&str> = left.json["webhook_secrets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["hint"].as_str().unwrap())
        .collect();
    assert_eq!(hints, ["whsec_…t002", "whsec_…t004"]);
}

async fn secrets_need_a_config_first(app: TestApp) {
    app.create_tenant("bakery").await;
    app.post(
        "/v1/tenants/bakery/stripe-config/webhook-secrets",
        app.op(),
        json!({"secret": "whsec_BakerySecretValue01"}),
    )
    .await
    .assert_problem(409, "no_stripe_config");
    app.get("/v1/tenants/bakery/stripe-config", app.op())
        .await
        .assert_problem(404, "not_found");
}
