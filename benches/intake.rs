//! Micro-benchmarks of the webhook hot path before the database: signature verification,
//! event parsing (envelope + observation), and the tenant cache lookup, with 1 to 10,000
//! tenants in memory. `cargo bench --bench intake`.
#![allow(clippy::unwrap_used)]
use chrono::Utc;
use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use gateway::crypto::SecretText;
use gateway::stripe::credentials::{ActiveSecret, OpenCredentials};
use gateway::webhooks::intake::signature::{sign, verify};
use gateway::webhooks::intake::tenants::{TenantCache, TenantRuntime};
use gateway::webhooks::rules::event::Envelope;
use gateway::webhooks::rules::observe;
use serde_json::{Value, json};
use std::hint::black_box;
use std::sync::Arc;
use uuid::Uuid;

/// A ~3 KB `payment_intent.succeeded` event from Stripe's fixture, as the load tool sends.
fn event_body() -> String {
    let fixtures: Value =
        serde_json::from_str(include_str!("../tests/fixtures/stripe_objects.json")).unwrap();
    let mut pi = fixtures["payment_intent"].clone();
    pi["id"] = json!("pi_bench");
    pi["status"] = json!("succeeded");
    pi["amount_received"] = pi["amount"].clone();
    pi["latest_charge"] = json!("ch_bench");
    pi["metadata"] = json!({"order_id": Uuid::now_v7().to_string()});
    let items: Vec<String> = (0..70)
        .map(|k| format!("item {k:04}: margherita"))
        .collect();
    pi["description"] = json!(items.join(", "));
    json!({"id": "evt_bench", "object": "event", "api_version": "2024-06-20", "created": 1_700_000_000,
        "livemode": false, "type": "payment_intent.succeeded", "data": {"object": pi}})
    .to_string()
}

fn signature(c: &mut Criterion) {
    let body = event_body();
    let now = Utc::now().timestamp();
    let header = sign("whsec_current0000000000", now, body.as_bytes());
    let secrets = ["whsec_previous000000000", "whsec_current0000000000"];
    c.bench_function(&format!("verify {} B, 2 secrets", body.len()), |b| {
        b.iter(|| {
            verify(
                Some(black_box(&header)),
                black_box(body.as_bytes()),
                secrets,
                now,
                300,
            )
        })
    });
}

fn parse(c: &mut Criterion) {
    let body = event_body();
    c.bench_function(&format!("parse + observe {} B", body.len()), |b| {
        b.iter(|| {
            let env = Envelope::parse(black_box(body.as_bytes())).unwrap();
            observe(&env.event_type, &env.data.object).unwrap()
        })
    });
}

fn cache(c: &mut Criterion) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let mut group = c.benchmark_group("tenant cache lookup by slug");
    for tenants in [1usize, 16, 1_000, 10_000] {
        let cache = TenantCache::default();
        rt.block_on(async {
            for n in 0..tenants {
                cache
                    .remember(TenantRuntime {
                        id: Uuid::now_v7(),
                        slug: format!("restaurant-{n}"),
                        suspended: false,
                        connected: false,
                        rate_limit_per_second: 100,
                        rate_limit_burst: 200,
                        credentials: Some(Arc::new(OpenCredentials {
                            secret_key: SecretText::new(format!("sk_test_tenant{n}")),
                            key_hint: "sk_test_…".into(),
                            livemode: false,
                            webhook_secrets: vec![ActiveSecret {
                                secret: SecretText::new(format!("whsec_tenant{n}secret")),
                                expires_at: None,
                            }],
                        })),
                    })
                    .await;
            }
        });
        let slugs: Vec<String> = (0..tenants).map(|n| format!("restaurant-{n}")).collect();
        let mut i = 0;
        group.bench_with_input(BenchmarkId::from_parameter(tenants), &tenants, |b, _| {
            b.to_async(&rt).iter(|| {
                i = (i + 7919) % slugs.len();
                let slug = &slugs[i];
                let cache = &cache;
                async move { cache.cached(slug).await.unwrap() }
            })
        });
    }
    group.finish();
}

criterion_group!(benches, signature, parse, cache);
criterion_main!(benches);
