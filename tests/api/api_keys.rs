//! Tenant API keys: shown once, stored as a hash, authenticate for their tenant, revocable.
use crate::helpers::TestApp;
use sea_orm::{ConnectionTrait, Statement};
use serde_json::json;

crate::backend_tests!(issue_list_use_revoke, unknown_tokens_are_refused);

async fn issue_list_use_revoke(app: TestApp) {
    app.create_tenant("pho-house").await;
    let issued = app
        .post(
            "/v1/tenants/pho-house/api-keys",
            app.op(),
            json!({"name": "POS"}),
        )
        .await;
    assert_eq!(issued.status, 201, "{issued:?}");
    let key = issued.json["key"].as_str().unwrap().to_owned();
    assert!(key.starts_with("gwk_") && key.len() > 40);
    assert!(key.starts_with(issued.json["prefix"].as_str().unwrap()));
    assert_eq!(issued.json["name"], "POS");

    // The tenant key works on its own tenant and sees its keys, never a key's plaintext.
    let list = app.get("/v1/tenants/pho-house/api-keys", &key).await;
    assert_eq!(list.status, 200);
    assert_eq!(list.json["data"].as_array().unwrap().len(), 1);
    assert!(!list.text.contains(&key));
    assert!(list.json["data"][0]["revoked_at"].is_null());
    assert!(list.json["data"][0].get("key").is_none());

    // Stored only as a hash.
    let db = app.sql().await;
    let rows = db
        .query_all_raw(Statement::from_string(
            db.get_database_backend(),
            "SELECT key_hash, prefix FROM api_keys",
        ))
        .await
        .unwrap();
    for row in rows {
        let hash: String = row.try_get("", "key_hash").unwrap();
        assert_eq!(hash.len(), 64);
        assert!(!hash.contains(&key[4..]));
    }

    let id = issued.json["id"].as_str().unwrap();
    assert_eq!(
        app.delete(&format!("/v1/tenants/pho-house/api-keys/{id}"), app.op())
            .await
            .status,
        204
    );
    app.get("/v1/tenants/pho-house", &key)
        .await
        .assert_problem(401, "unauthorized");
    // Revoking again is harmless; an unknown key id is 404.
    assert_eq!(
        app.delete(&format!("/v1/tenants/pho-house/api-keys/{id}"), app.op())
            .await
            .status,
        204
    );
    app.delete(
        &format!("/v1/tenants/pho-house/api-keys/{}", uuid::Uuid::now_v7()),
        app.op(),
    )
    .await
    .assert_problem(404, "not_found");
    let list = app.get("/v1/tenants/pho-house/api-keys", app.op()).await;
    assert!(list.json["data"][0]["revoked_at"].is_string());
}

async fn unknown_tokens_are_refused(app: TestApp) {
    app.create_tenant("taqueria").await;
    let missing = app
        .request(reqwest::Method::GET, "/v1/tenants", None, None)
        .await;
    missing.assert_problem(401, "unauthorized");
    for token in ["nope", "gwk_doesnotexist", &format!("{}x", app.op())] {
        app.get("/v1/tenants/taqueria", token)
            .await
            .assert_problem(401, "unauthorized");
    }
}
