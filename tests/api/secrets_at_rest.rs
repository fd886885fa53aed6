//! Secrets at rest: no plaintext in any answer or in the database; ciphertexts are bound to their
//! tenant and field, so one copied elsewhere fails to decrypt (and the gateway refuses to start).
use crate::helpers::{Backend, TestApp, check_start};
use entity::{stripe_configs as configs, webhook_secrets as secrets};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Statement};

crate::backend_tests!(
    plaintext_never_leaves_or_rests,
    copied_ciphertext_does_not_decrypt,
    notification_secrets_are_sealed_to_their_endpoint
);

const KEY_A: &str = "sk_test_AlphaPlainSecretKeyZ9";
const HOOK_A: &str = "whsec_AlphaPlainWebhookSecretQ7";
const KEY_B: &str = "sk_live_BravoPlainSecretKeyY8";
const HOOK_B: &str = "whsec_BravoPlainWebhookSecretW6";

/// Every stored text of the secret tables, as the database returns it.
async fn stored_rows(app: &TestApp) -> String {
    let db = app.sql().await;
    let backend = db.get_database_backend();
    let mut all = String::new();
    for q in [
        "SELECT secret_key_ciphertext AS v FROM stripe_configs",
        "SELECT secret_key_hint AS v FROM stripe_configs",
        "SELECT secret_ciphertext AS v FROM webhook_secrets",
        "SELECT hint AS v FROM webhook_secrets",
    ] {
        for row in db
            .query_all_raw(Statement::from_string(backend, q))
            .await
            .unwrap()
        {
            let v: String = row.try_get("", "v").unwrap();
            all.push_str(&v);
            all.push('\n');
        }
    }
    all
}

async fn plaintext_never_leaves_or_rests(app: TestApp) {
    app.create_tenant("alpha").await;
    app.create_tenant("bravo").await;
    let mut answers = Vec::new();
    answers
        .push(serde_json::to_string(&app.set_stripe_config("alpha", KEY_A, HOOK_A).await).unwrap());
    answers
        .push(serde_json::to_string(&app.set_stripe_config("bravo", KEY_B, HOOK_B).await).unwrap());
    let extra = app
        .post(
            "/v1/tenants/alpha/stripe-config/webhook-secrets",
            app.op(),
            serde_json::json!({"secret": HOOK_B}),
        )
        .await;
    answers.push(extra.text);
    for path in [
        "/v1/tenants/alpha/stripe-config",
        "/v1/tenants/bravo/stripe-config",
        "/v1/tenants",
        "/v1/tenants/alpha",
    ] {
        answers.push(app.get(path, app.op()).await.text);
    }
    let stored = stored_rows(&app).await;
    assert!(stored.contains("gw1:"), "ciphertexts are stored: {stored}");
    for secret in [KEY_A, HOOK_A, KEY_B, HOOK_B] {
        let body = &secret[secret.len() - 16..]; // beyond any hint
        for a in &answers {
            assert!(!a.contains(body), "an API answer holds a secret: {a}");
        }
        assert!(
            !stored.contains(body),
            "the database holds a plaintext secret"
        );
    }
    if app.db.backend == Backend::Sqlite {
        // The raw database files, WAL included, hold no plaintext either.
        let dir = app.db.data_dir();
        let mut raw = Vec::new();
        for f in ["gateway.db", "gateway.db-wal"] {
            raw.extend(std::fs::read(dir.join(f)).unwrap_or_default());
        }
        assert!(raw.len() > 4096);
        let raw = String::from_utf8_lossy(&raw);
        for secret in [KEY_A, HOOK_A, KEY_B, HOOK_B] {
            assert!(
                !raw.contains(&secret[secret.len() - 16..]),
                "database file holds a plaintext secret"
            );
        }
    }
}

async fn copied_ciphertext_does_not_decrypt(app: TestApp) {
    let alpha = app.create_tenant("alpha").await;
    let bravo = app.create_tenant("bravo").await;
    app.set_stripe_config("alpha", KEY_A, HOOK_A).await;
    app.set_stripe_config("bravo", KEY_B, HOOK_B).await;
    let keys = app.master_keys.clone();
    let db = app.stop().await;
    check_start(&db, keys.clone())
        .await
        .expect("untouched secrets open");

    let alpha_id = uuid::Uuid::parse_str(alpha["id"].as_str().unwrap()).unwrap();
    let bravo_id = uuid::Uuid::parse_str(bravo["id"].as_str().unwrap()).unwrap();
    let conn = sea_orm::Database::connect(db.url()).await.unwrap();
    let alpha_key = configs::Entity::find_by_id(alpha_id)
        .one(&conn)
        .await
        .unwrap()
        .unwrap()
        .secret_key_ciphertext;
    let bravo_key = configs::Entity::find_by_id(bravo_id)
        .one(&conn)
        .await
        .unwrap()
        .unwrap()
        .secret_key_ciphertext;

    // Alpha's key ciphertext over bravo's (same master key, same field, other tenant).
    set_key_blob(&conn, bravo_id, &alpha_key).await;
    let msg = format!(
        "{:#}",
        check_start(&db, keys.clone())
            .await
            .expect_err("moved across tenants")
    );
    assert!(
        msg.contains(&bravo_id.to_string()) && msg.contains("does not decrypt"),
        "{msg}"
    );
    assert!(!msg.contains(KEY_A) && !msg.contains(KEY_B), "{msg}");
    set_key_blob(&conn, bravo_id, &bravo_key).await;
    check_start(&db, keys.clone()).await.expect("restored");

    // Alpha's key ciphertext into alpha's webhook-secret field (same tenant, other field).
    secrets::Entity::update_many()
        .col_expr(secrets::Column::SecretCiphertext, Expr::value(alpha_key))
        .filter(secrets::Column::TenantId.eq(alpha_id))
        .exec(&conn)
        .await
        .unwrap();
    let msg = format!(
        "{:#}",
        check_start(&db, keys)
            .await
            .expect_err("moved across fields")
    );
    assert!(
        msg.contains("webhook secret") && msg.contains(&alpha_id.to_string()),
        "{msg}"
    );
}

async fn set_key_blob(conn: &sea_orm::DatabaseConnection, tenant: uuid::Uuid, blob: &str) {
    configs::Entity::update_many()
        .col_expr(
            configs::Column::SecretKeyCiphertext,
            Expr::value(blob.to_owned()),
        )
        .filter(configs::Column::TenantId.eq(tenant))
        .exec(conn)
        .await
        .unwrap();
}

/// A notification endpoint's signing secret: shown once, stored sealed, and bound to its
/// endpoint — copied onto another endpoint of the same tenant, it does not open.
async fn notification_secrets_are_sealed_to_their_endpoint(app: TestApp) {
    use entity::notification_secrets as ns;
    app.create_tenant("alpha").await;
    let mut made = Vec::new();
    for n in 1..=2 {
        let a = app
            .post(
                "/v1/tenants/alpha/notification-endpoints",
                app.op(),
                serde_json::json!({"url": format!("https://pos{n}.example/hook")}),
            )
            .await;
        assert_eq!(a.status, 201, "{a:?}");
        made.push((
            uuid::Uuid::parse_str(a.json["id"].as_str().unwrap()).unwrap(),
            a.json["secret"].as_str().unwrap().to_owned(),
        ));
    }
    let db = app.sql().await;
    let rows = ns::Entity::find().all(&db).await.unwrap();
    assert_eq!(rows.len(), 2);
    let listed = app
        .get("/v1/tenants/alpha/notification-endpoints", app.op())
        .await
        .text;
    for (_, secret) in &made {
        let body = &secret[secret.len() - 16..];
        assert!(
            !listed.contains(body),
            "an answer holds a notification secret"
        );
        for r in &rows {
            assert!(r.secret_ciphertext.starts_with("gw1:"));
            assert!(!r.secret_ciphertext.contains(body) && !r.hint.contains(body));
        }
    }
    let keys = app.master_keys.clone();
    let test_db = app.stop().await;
    check_start(&test_db, keys.clone())
        .await
        .expect("untouched secrets open");
    let conn = sea_orm::Database::connect(test_db.url()).await.unwrap();
    let first = rows.iter().find(|r| r.endpoint_id == made[0].0).unwrap();
    ns::Entity::update_many()
        .col_expr(
            ns::Column::SecretCiphertext,
            Expr::value(first.secret_ciphertext.clone()),
        )
        .filter(ns::Column::EndpointId.eq(made[1].0))
        .exec(&conn)
        .await
        .unwrap();
    let msg = format!(
        "{:#}",
        check_start(&test_db, keys)
            .await
            .expect_err("moved across endpoints")
    );
    assert!(msg.contains("notification endpoint secret"), "{msg}");
    assert!(
        !msg.contains(&made[0].1) && !msg.contains(&made[1].1),
        "{msg}"
    );
}
