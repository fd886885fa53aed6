//! The OpenAPI spec: committed copy matches the code, is served, and is fit for client generation.
use crate::helpers::TestApp;
use serde_json::Value;

crate::backend_tests!(served_spec_and_docs);

const COMMITTED: &str = "openapi/gateway.json";
const COMMITTED_YAML: &str = "openapi/gateway.yaml";

#[test]
fn committed_spec_matches_code() {
    for (file, generated) in [
        (COMMITTED, gateway::spec_json()),
        (COMMITTED_YAML, gateway::spec_yaml()),
    ] {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(file);
        if std::env::var_os("OPENAPI_OVERWRITE").is_some() {
            std::fs::write(&path, format!("{}\n", generated.trim_end())).unwrap();
        }
        let committed = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            committed.trim_end() == generated.trim_end(),
            "{file} differs from the spec the code generates. Refresh both with \
             `OPENAPI_OVERWRITE=1 cargo test committed_spec` and commit them."
        );
    }
}

#[test]
fn openapi_command_prints_the_spec() {
    let out = crate::keys::gateway(&["openapi"], &[]);
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8(out.stdout).unwrap().trim_end(),
        gateway::spec_json().trim_end()
    );
}

#[test]
fn every_operation_is_fit_for_generated_clients() {
    let spec: Value = serde_json::from_str(&gateway::spec_json()).unwrap();
    let schemes = &spec["components"]["securitySchemes"]["bearerAuth"];
    assert_eq!(schemes["type"], "http");
    assert_eq!(schemes["scheme"], "bearer");
    let mut ids = std::collections::HashSet::new();
    let mut count = 0;
    for (path, item) in spec["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            count += 1;
            let id = op["operationId"]
                .as_str()
                .unwrap_or_else(|| panic!("{method} {path}: no operationId"));
            let parts: Vec<&str> = id.split('.').collect();
            assert!(
                parts.len() == 3 && parts[0] == "v1",
                "{id} is not v1.<resource>.<verb>"
            );
            assert!(ids.insert(id.to_owned()), "duplicate operationId {id}");
            assert!(
                op["tags"].as_array().is_some_and(|t| !t.is_empty()),
                "{id}: no tag"
            );
            assert!(
                op["summary"].as_str().is_some_and(|s| !s.is_empty()),
                "{id}: no summary"
            );
            // The one public operation: a customer's browser follows an order by its capability.
            let public = id == "v1.order-status.get";
            if public {
                assert!(op.get("security").is_none(), "{id}: must need no bearer");
            } else {
                assert_eq!(
                    op["security"][0]["bearerAuth"],
                    Value::Array(vec![]),
                    "{id}: not bearer"
                );
            }
            let responses = op["responses"].as_object().unwrap();
            let documented: &[&str] = if public {
                &["404", "422", "500"]
            } else {
                &["401", "404", "422", "500"]
            };
            for status in documented {
                let problem =
                    &responses[*status]["content"]["application/problem+json"]["schema"]["$ref"];
                assert_eq!(
                    problem, "#/components/schemas/Problem",
                    "{id}: {status} is not documented as a Problem"
                );
            }
            for (status, resp) in responses {
                for media in resp["content"]
                    .as_object()
                    .into_iter()
                    .flat_map(|c| c.values())
                {
                    let schema = &media["schema"];
                    assert!(
                        schema.get("$ref").is_some() || schema["type"] == "array",
                        "{id} {status}: anonymous schema"
                    );
                }
            }
            if let Some(body) = op.get("requestBody") {
                let schema = &body["content"]["application/json; charset=utf-8"]["schema"];
                assert!(
                    schema.get("$ref").is_some(),
                    "{id}: anonymous request schema"
                );
            }
        }
    }
    assert!(count >= 12, "only {count} operations");
    // A field's doc comment on an enum-typed field makes poem-openapi emit
    // `allOf: [$ref, {description}]`, which openapi-python-client cannot generate (it drops the
    // whole schema). Document such fields on the struct instead.
    let text = gateway::spec_json();
    assert!(
        !text.contains("\"allOf\""),
        "the spec wraps a field in allOf: move its doc to the struct"
    );
}

async fn served_spec_and_docs(app: TestApp) {
    let served = app
        .request(reqwest::Method::GET, "/openapi.json", None, None)
        .await;
    assert_eq!(served.status, 200);
    let expected: Value = serde_json::from_str(&gateway::spec_json()).unwrap();
    assert_eq!(served.json, expected);
    let docs = app
        .request(reqwest::Method::GET, "/docs/", None, None)
        .await;
    assert_eq!(docs.status, 200);
    assert!(docs.text.to_lowercase().contains("swagger"));
    let health = app
        .request(reqwest::Method::GET, "/health", None, None)
        .await;
    assert_eq!(health.json["status"], "ok");
    let ready = app
        .request(reqwest::Method::GET, "/ready", None, None)
        .await;
    assert_eq!(ready.json["status"], "ready");
}
