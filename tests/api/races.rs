//! Races between admin requests: a resource removed by one request while another changes or
//! removes it is `404` for the latecomer, never a 500; two removals of a tenant's last two
//! webhook secrets leave one.
use crate::helpers::TestApp;
use futures::future::join_all;
use serde_json::json;

crate::backend_tests!(
    changes_racing_a_tenant_delete_answer_404_never_500,
    concurrent_secret_deletes_keep_one_current_secret,
);

async fn changes_racing_a_tenant_delete_answer_404_never_500(app: TestApp) {
    let mut late_404 = 0;
    for round in 0..15 {
        let slug = format!("racer-{round}");
        app.create_tenant(&slug).await;
        let path = format!("/v1/tenants/{slug}");
        let patches = (0..6).map(|i| {
            let (app, path) = (&app, path.clone());
            async move {
                app.patch(&path, app.op(), json!({"name": format!("Racer {i}")}))
                    .await
            }
        });
        let deletes = (0..3).map(|_| {
            let (app, path) = (&app, path.clone());
            async move { app.delete(&path, app.op()).await }
        });
        let orders = (0..3).map(|i| {
            let (app, path) = (&app, path.clone());
            async move {
                app.post(
                    &format!("{path}/orders"),
                    app.op(),
                    json!({"reference": format!("R-{i}"), "amount": 100, "currency": "usd"}),
                )
                .await
            }
        });
        let (patched, deleted, ordered) =
            futures::join!(join_all(patches), join_all(deletes), join_all(orders));
        for a in patched.iter().chain(&ordered) {
            match a.status.as_u16() {
                200 | 201 => {}
                404 => {
                    a.assert_problem(404, "not_found");
                    late_404 += 1;
                }
                _ => panic!("a change racing a delete: {a:?}"),
            }
        }
        let removed = deleted.iter().filter(|a| a.status == 204).count();
        assert_eq!(
            removed, 1,
            "exactly one delete removes the tenant: {deleted:?}"
        );
        for a in deleted.iter().filter(|a| a.status != 204) {
            a.assert_problem(404, "not_found");
        }
        app.get(&path, app.op())
            .await
            .assert_problem(404, "not_found");
    }
    assert!(late_404 > 0, "some change must have come after the delete");
}

async fn concurrent_secret_deletes_keep_one_current_secret(app: TestApp) {
    for round in 0..8 {
        let slug = format!("rotator-{round}");
        app.create_tenant(&slug).await;
        app.set_stripe_config(&slug, "sk_test_rotatorKey00000", "whsec_rotatorFirst0000")
            .await;
        let added = app
            .post(
                &format!("/v1/tenants/{slug}/stripe-config/webhook-secrets"),
                app.op(),
                json!({"secret": "whsec_rotatorSecond000"}),
            )
            .await;
        assert_eq!(added.status, 201, "{added:?}");
        let ids: Vec<String> = added.json["webhook_secrets"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["id"].as_str().unwrap().to_owned())
            .collect();
        assert_eq!(ids.len(), 2);
        let answers = join_all(ids.iter().map(|id| {
            let (app, path) = (
                &app,
                format!("/v1/tenants/{slug}/stripe-config/webhook-secrets/{id}"),
            );
            async move { app.delete(&path, app.op()).await }
        }))
        .await;
        let mut statuses: Vec<u16> = answers.iter().map(|a| a.status.as_u16()).collect();
        statuses.sort();
        assert_eq!(statuses, [204, 409], "{answers:?}");
        let config = app
            .get(&format!("/v1/tenants/{slug}/stripe-config"), app.op())
            .await;
        assert_eq!(config.json["webhook_secrets"].as_array().unwrap().len(), 1);
    }
}
