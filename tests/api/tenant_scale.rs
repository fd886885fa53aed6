//! Many tenants: the shared lookup budget for cache misses (there against floods of made-up
//! names) never refuses a tenant that exists, even right after a restart with thousands of
//! tenants and an empty cache.
use crate::helpers::TestApp;
use chrono::Utc;
use entity::tenants;
use futures::StreamExt;
use sea_orm::{EntityTrait, Set};

crate::backend_tests!(known_tenants_skip_the_lookup_budget_after_a_restart);

/// More than the budget's burst (2,000) plus what it refills while they are sent.
const TENANTS: usize = 5_000;

async fn known_tenants_skip_the_lookup_budget_after_a_restart(app: TestApp) {
    // Created behind this gateway's back (as by another replica), then a restart.
    let sql = app.sql().await;
    let now = Utc::now();
    let slugs: Vec<String> = (0..TENANTS).map(|n| format!("scale-{n}")).collect();
    for chunk in slugs.chunks(500) {
        tenants::Entity::insert_many(chunk.iter().map(|slug| tenants::ActiveModel {
            id: Set(uuid::Uuid::now_v7()),
            slug: Set(slug.clone()),
            name: Set(slug.clone()),
            status: Set(entity::status::TenantStatus::Active),
            rate_limit_per_second: Set(100),
            rate_limit_burst: Set(200),
            stripe_account_id: Set(None),
            kind: Set(entity::status::TenantKind::OwnAccount),
            application_fee_bps: Set(0),
            max_tip_bps: Set(10_000),
            created_at: Set(now),
            updated_at: Set(now),
        }))
        .exec_without_returning(&sql)
        .await
        .unwrap();
    }
    let app = app.restart(|_| {}).await;
    let app = &app;
    // Every tenant's first webhook misses the cache; none may be refused for the budget.
    let answers: Vec<u16> = futures::stream::iter(&slugs)
        .map(|slug| async move { app.post_webhook(slug, None, "{}").await.status.as_u16() })
        .buffer_unordered(64)
        .collect()
        .await;
    let refused = answers.iter().filter(|s| **s == 429).count();
    assert_eq!(
        refused, 0,
        "{refused} of {TENANTS} existing tenants refused"
    );
    // They exist but have no Stripe config yet: 409, each after its own lookup.
    assert!(answers.iter().all(|s| *s == 409), "{:?}", &answers[..5]);
}
