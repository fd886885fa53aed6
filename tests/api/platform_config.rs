//! The Stripe Connect platform's own secrets (`/v1/platform/stripe-config`): operator only,
//! hints only, rotation with overlap, the last current secret kept, `?validate=true` against
//! Stripe, sealed at rest to the platform scope (a copy in a tenant's row does not open), and
//! covered by `keys rewrap`.
use crate::helpers::{TestApp, new_master_key};
use serde_json::json;
use wiremock::MockServer;

crate::backend_tests!(
    operator_sets_and_reads_hints_only,
    rotation_keeps_one_current_secret,
    tenant_keys_are_refused_and_change_nothing,
    validate_checks_the_platform_key_with_stripe
);

const KEY: &str = "sk_test_51PlatformSecretKey4242";
const SECRET: &str = "whsec_PlatformConnectSecret9xQa";

async fn put_platform(app: &TestApp, key: &str, secret: &str) -> serde_json::Value {
    let put = app
        .put(
            "/v1/platform/stripe-config",
            app.op(),
            json!({"secret_key": key, "webhook_secret": secret}),
        )
        .await;
    assert_eq!(put.status, 200, "{put:?}");
    assert!(!put.text.contains(&key[8..]) && !put.text.contains(&secret[6..]));
    put.json
}

/// Every stored text of the platform's secret tables, as the database returns it.
async fn platform_rows(app: &TestApp) -> String {
    use sea_orm::{ConnectionTrait, Statement};
    let db = app.sql().await;
    let backend = db.get_database_backend();
    let mut all = String::new();
    for q in [
        "SELECT secret_key_ciphertext AS v FROM platform_stripe_configs",
        "SELECT secret_key_hint AS v FROM platform_stripe_configs",
        "SELECT secret_ciphertext AS v FROM platform_webhook_secrets",
        "SELECT hint AS v FROM platform_webhook_secrets",
    ] {
        for row in db
            .query_all_raw(Statement::from_string(backend, q))
            .await
            .unwrap()
        {
            all.push_str(&row.try_get::<String>("", "v").unwrap());
            all.push('\n');
        }
    }
    all
}

async fn operator_sets_and_reads_hints_only(app: TestApp) {
    app.get("/v1/platform/stripe-config", app.op())
        .await
        .assert_problem(404, "not_found");
    let put = put_platform(&app, KEY, SECRET).await;
    assert_eq!(put["mode"], "test");
    assert_eq!(put["secret_key_hint"], "sk_test_…4242");
    assert_eq!(put["webhook_secrets"][0]["hint"], "whsec_…9xQa");
    let got = app.get("/v1/platform/stripe-config", app.op()).await;
    assert_eq!(got.json, put);
    // A second PUT replaces the key and leaves its secret the only one.
    let again = put_platform(
        &app,
        "rk_live_51PlatformRestricted07",
        "whsec_PlatformSecond000001",
    )
    .await;
    assert_eq!(again["mode"], "live");
    assert_eq!(again["webhook_secrets"].as_array().map(Vec::len), Some(1));
    // Nothing of either in the database in plaintext; a tenant's config is a different thing.
    app.create_tenant("pizzeria").await;
    app.get("/v1/tenants/pizzeria/stripe-config", app.op())
        .await
        .assert_problem(404, "not_found");
    let dump = platform_rows(&app).await;
    assert!(dump.contains("gw1:"), "ciphertexts are stored: {dump}");
    for plain in [
        KEY,
        SECRET,
        "rk_live_51PlatformRestricted07",
        "whsec_PlatformSecond000001",
    ] {
        assert!(!dump.contains(plain), "{plain} stored in plaintext");
    }
}

async fn rotation_keeps_one_current_secret(app: TestApp) {
    app.post(
        "/v1/platform/stripe-config/webhook-secrets",
        app.op(),
        json!({"secret": "whsec_PlatformRotated00001"}),
    )
    .await
    .assert_problem(409, "no_stripe_config");
    let first = put_platform(&app, KEY, SECRET).await;
    let first_id = first["webhook_secrets"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let added = app
        .post(
            "/v1/platform/stripe-config/webhook-secrets",
            app.op(),
            json!({"secret": "whsec_PlatformRotated00001", "expire_others_in_seconds": 3600}),
        )
        .await;
    assert_eq!(added.status, 201, "{added:?}");
    let secrets = added.json["webhook_secrets"].as_array().unwrap().clone();
    assert_eq!(secrets.len(), 2);
    let old = secrets
        .iter()
        .find(|s| s["id"] == first_id.as_str())
        .unwrap();
    assert!(old["expires_at"].is_string(), "the old one expires: {old}");
    let new_id = secrets
        .iter()
        .find(|s| s["id"] != first_id.as_str())
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(!added.text.contains("Rotated00001"));
    // Out-of-range overlap: refused, nothing added.
    app.post(
        "/v1/platform/stripe-config/webhook-secrets",
        app.op(),
        json!({"secret": "whsec_PlatformRotated00002", "expire_others_in_seconds": 604801}),
    )
    .await
    .assert_problem(422, "validation_failed");
    // The old one may go; the new one is then the last current one and stays.
    let path = |id: &str| format!("/v1/platform/stripe-config/webhook-secrets/{id}");
    assert_eq!(app.delete(&path(&first_id), app.op()).await.status, 204);
    app.delete(&path(&new_id), app.op())
        .await
        .assert_problem(409, "last_webhook_secret");
    app.delete(&path(&first_id), app.op())
        .await
        .assert_problem(404, "not_found");
    let left = app.get("/v1/platform/stripe-config", app.op()).await.json;
    assert_eq!(left["webhook_secrets"].as_array().map(Vec::len), Some(1));
}

async fn tenant_keys_are_refused_and_change_nothing(app: TestApp) {
    let before = put_platform(&app, KEY, SECRET).await;
    app.create_tenant("trattoria").await;
    let key = app.issue_key("trattoria").await;
    let secret_id = before["webhook_secrets"][0]["id"].as_str().unwrap();
    let attempts = [
        app.get("/v1/platform/stripe-config", &key).await,
        app.put(
            "/v1/platform/stripe-config",
            &key,
            json!({"secret_key": "sk_test_TenantTakesOver0001", "webhook_secret": "whsec_TenantTakesOver001"}),
        )
        .await,
        app.post(
            "/v1/platform/stripe-config/webhook-secrets",
            &key,
            json!({"secret": "whsec_TenantTakesOver001"}),
        )
        .await,
        app.delete(
            &format!("/v1/platform/stripe-config/webhook-secrets/{secret_id}"),
            &key,
        )
        .await,
    ];
    for answer in attempts {
        answer.assert_problem(403, "operator_only");
    }
    assert_eq!(
        app.get("/v1/platform/stripe-config", app.op()).await.json,
        before
    );
}

async fn validate_checks_the_platform_key_with_stripe(app: TestApp) {
    let stripe = MockServer::start().await;
    let app = app.with_stripe(&stripe.uri()).await;
    crate::stripe_api::test_mode_balance_for(&stripe, &[KEY]).await;
    let put = |key: &'static str| {
        let app = &app;
        async move {
            app.put(
                "/v1/platform/stripe-config?validate=true",
                app.op(),
                json!({"secret_key": key, "webhook_secret": SECRET}),
            )
            .await
        }
    };
    let bad = put("sk_test_PlatformRevoked0002").await;
    bad.assert_problem(422, "stripe_key_invalid");
    app.get("/v1/platform/stripe-config", app.op())
        .await
        .assert_problem(404, "not_found");
    assert_eq!(put(KEY).await.status, 200);
}

/// The platform's secrets are sealed to the platform scope: its key's ciphertext copied into a
/// tenant's row does not open there (start-up refuses, naming it), and `keys rewrap` moves them
/// to a new master key with the tenants' secrets.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sealed_to_the_platform_and_rewrapped() {
    use entity::{platform_stripe_configs as platform, stripe_configs as configs};
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, sea_query::Expr};
    let Some(app) = crate::helpers::spawn(crate::helpers::Backend::Postgres).await else {
        return;
    };
    put_platform(&app, KEY, SECRET).await;
    let tenant = app.create_tenant("osteria").await;
    app.set_stripe_config(
        "osteria",
        "sk_test_OsteriaOwnKey00001",
        "whsec_OsteriaOwnSecret001",
    )
    .await;
    let keys = app.master_keys.clone();
    let db = app.stop().await;
    let conn = sea_orm::Database::connect(db.url()).await.unwrap();
    let platform_key = platform::Entity::find()
        .one(&conn)
        .await
        .unwrap()
        .unwrap()
        .secret_key_ciphertext;
    let tenant_id = uuid::Uuid::parse_str(tenant["id"].as_str().unwrap()).unwrap();
    let own = configs::Entity::find_by_id(tenant_id)
        .one(&conn)
        .await
        .unwrap()
        .unwrap()
        .secret_key_ciphertext;
    let set = |blob: String| {
        configs::Entity::update_many()
            .col_expr(configs::Column::SecretKeyCiphertext, Expr::value(blob))
            .filter(configs::Column::TenantId.eq(tenant_id))
            .exec(&conn)
    };
    set(platform_key).await.unwrap();
    let msg = format!(
        "{:#}",
        crate::helpers::check_start(&db, keys.clone())
            .await
            .expect_err("the platform's key in a tenant's row")
    );
    assert!(
        msg.contains(&tenant_id.to_string()) && msg.contains("does not decrypt"),
        "{msg}"
    );
    set(own).await.unwrap();
    // Rewrap under a new first key; the new key alone then opens everything, the platform's too.
    let old = keys.expect("PostgreSQL runs with explicit keys");
    let newest = new_master_key("k2");
    let both = format!("{newest},{old}");
    let report =
        gateway::jobs::keys::rewrap(&conn, &gateway::crypto::Keyring::parse(&both).unwrap(), 100)
            .await
            .unwrap();
    assert_eq!(
        report.rewrapped, 4,
        "two of the tenant's, two of the platform's: {report:?}"
    );
    crate::helpers::check_start(&db, Some(newest))
        .await
        .expect("the new key alone opens every stored secret");
}
