//! Tenants: create, read by slug and id, paginate, change, suspend, remove with data.
use crate::helpers::TestApp;
use serde_json::{Value, json};

crate::backend_tests!(
    create_get_list_patch_delete,
    pagination_walks_every_tenant_once,
    duplicate_slug_conflicts,
    delete_removes_tenant_data,
    slug_refusals_read_alike
);

async fn create_get_list_patch_delete(app: TestApp) {
    let t = app.create_tenant("luigis").await;
    assert_eq!(t["slug"], "luigis");
    assert_eq!(t["status"], "active");
    assert_eq!(t["rate_limit_per_second"], 100);
    assert_eq!(t["rate_limit_burst"], 200);
    assert!(t["stripe_account_id"].is_null());
    let id = t["id"].as_str().unwrap();

    let by_slug = app.get("/v1/tenants/luigis", app.op()).await;
    let by_id = app.get(&format!("/v1/tenants/{id}"), app.op()).await;
    assert_eq!(by_slug.status, 200);
    assert_eq!(by_slug.json, by_id.json);

    let patched = app
        .patch(
            "/v1/tenants/luigis",
            app.op(),
            json!({"name": "Luigi's Trattoria", "status": "suspended", "rate_limit_per_second": 5,
                   "rate_limit_burst": 10, "stripe_account_id": "acct_1Luigi"}),
        )
        .await;
    assert_eq!(patched.status, 200, "{patched:?}");
    assert_eq!(patched.json["name"], "Luigi's Trattoria");
    assert_eq!(patched.json["status"], "suspended");
    assert_eq!(patched.json["rate_limit_per_second"], 5);
    assert_eq!(patched.json["rate_limit_burst"], 10);
    assert_eq!(patched.json["stripe_account_id"], "acct_1Luigi");
    assert_eq!(
        app.get("/v1/tenants/luigis", app.op()).await.json,
        patched.json
    );

    // null clears the account id; absent fields stay.
    let cleared = app
        .patch(
            "/v1/tenants/luigis",
            app.op(),
            json!({"stripe_account_id": null}),
        )
        .await;
    assert!(cleared.json["stripe_account_id"].is_null());
    assert_eq!(cleared.json["status"], "suspended");

    let list = app.get("/v1/tenants", app.op()).await;
    assert_eq!(list.json["data"].as_array().unwrap().len(), 1);
    assert!(list.json["next_cursor"].is_null());

    let del = app.delete("/v1/tenants/luigis", app.op()).await;
    assert_eq!(del.status, 204);
    app.get("/v1/tenants/luigis", app.op())
        .await
        .assert_problem(404, "not_found");
    app.delete("/v1/tenants/luigis", app.op())
        .await
        .assert_problem(404, "not_found");
}

async fn pagination_walks_every_tenant_once(app: TestApp) {
    for i in 0..5 {
        app.create_tenant(&format!("shop-{i}")).await;
    }
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/v1/tenants?limit=2&cursor={c}"),
            None => "/v1/tenants?limit=2".to_owned(),
        };
        let page = app.get(&path, app.op()).await;
        assert_eq!(page.status, 200, "{page:?}");
        let data = page.json["data"].as_array().unwrap();
        assert!(data.len() <= 2);
        seen.extend(data.iter().map(|t| t["slug"].as_str().unwrap().to_owned()));
        match page.json["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
    }
    assert_eq!(
        seen,
        (0..5).map(|i| format!("shop-{i}")).collect::<Vec<_>>()
    );
}

async fn duplicate_slug_conflicts(app: TestApp) {
    app.create_tenant("dup").await;
    let again = app
        .post(
            "/v1/tenants",
            app.op(),
            json!({"slug": "dup", "name": "other"}),
        )
        .await;
    again.assert_problem(409, "tenant_conflict");
    let a = app
        .post(
            "/v1/tenants",
            app.op(),
            json!({"slug": "a-one", "name": "a", "stripe_account_id": "acct_1Same"}),
        )
        .await;
    assert_eq!(a.status, 201);
    let b = app
        .post(
            "/v1/tenants",
            app.op(),
            json!({"slug": "b-two", "name": "b", "stripe_account_id": "acct_1Same"}),
        )
        .await;
    b.assert_problem(409, "tenant_conflict");
    let list = app.get("/v1/tenants", app.op()).await;
    assert_eq!(list.json["data"].as_array().unwrap().len(), 2);
}

async fn delete_removes_tenant_data(app: TestApp) {
    app.create_tenant("gone").await;
    app.create_tenant("stays").await;
    let key = app.issue_key("gone").await;
    app.set_stripe_config("gone", "sk_test_goneGONEgone1234", "whsec_goneGONEgone5678")
        .await;
    app.set_stripe_config(
        "stays",
        "sk_test_staySTAYstay1234",
        "whsec_staySTAYstay5678",
    )
    .await;
    assert_eq!(app.get("/v1/tenants/gone", &key).await.status, 200);

    assert_eq!(app.delete("/v1/tenants/gone", app.op()).await.status, 204);
    app.get("/v1/tenants/gone", &key)
        .await
        .assert_problem(401, "unauthorized");
    use sea_orm::{ConnectionTrait, Statement};
    let db = app.sql().await;
    for table in ["api_keys", "stripe_configs", "webhook_secrets"] {
        let row = db
            .query_one_raw(Statement::from_string(
                db.get_database_backend(),
                format!("SELECT COUNT(*) AS n FROM {table}"),
            ))
            .await
            .unwrap()
            .unwrap();
        let n: i64 = row.try_get("", "n").unwrap();
        let expected = if table == "api_keys" { 0 } else { 1 };
        assert_eq!(
            n, expected,
            "{table} keeps only the remaining tenant's rows"
        );
    }
    assert_eq!(
        app.get("/v1/tenants/stays/stripe-config", app.op())
            .await
            .status,
        200
    );
}

/// A slug's rule is written once: the spec's pattern, the API's check and the domain's parser
/// are the same expression, and every refusal reads `slug: rule` (422 validation_failed).
async fn slug_refusals_read_alike(app: TestApp) {
    let spec: Value = serde_json::from_str(&gateway::spec_json()).unwrap();
    let pattern = spec["components"]["schemas"]["TenantIn"]["properties"]["slug"]["pattern"]
        .as_str()
        .unwrap()
        .to_owned();
    let ans = app
        .post(
            "/v1/tenants",
            app.op(),
            json!({"slug": "Not_A_Slug", "name": "x"}),
        )
        .await;
    ans.assert_problem(422, "validation_failed");
    assert_eq!(ans.json["detail"], format!("slug: must match {pattern}"));
    // A UUID matches the pattern but is refused by the slug's other rule, in the same shape.
    let uuid = uuid::Uuid::now_v7().to_string();
    let ans = app
        .post("/v1/tenants", app.op(), json!({"slug": uuid, "name": "x"}))
        .await;
    ans.assert_problem(422, "validation_failed");
    assert_eq!(ans.json["detail"], "slug: must not be shaped like a UUID");
    assert_eq!(
        app.get("/v1/tenants", app.op()).await.json["data"],
        json!([])
    );
}
