//! Migration layer: the schema, one sea-orm migration per file, correct on SQLite and PostgreSQL.
//! Tenant-owned tables carry `tenant_id` (foreign key, cascade) and indexes that lead with it.
pub use sea_orm_migration::prelude::*;

mod common;
mod m20261122_000001_create_tenants;
mod m20261122_000002_create_api_keys;
mod m20261122_000003_create_stripe_configs;
mod m20261122_000004_create_webhook_secrets;
mod m20261122_000005_create_orders;
mod m20261122_000006_create_payments;
mod m20261122_000007_create_disputes;
mod m20261122_000008_create_webhook_events;
mod m20261122_000009_create_delivery_failures;
mod m20261122_000010_create_reconciliation_runs;
mod m20261122_000011_create_order_facts;
mod m20261122_000012_add_payment_amount_conflict;
mod m20261122_000013_event_payload_lz4;
mod m20261122_000014_index_disputes_intent;
mod m20261129_000015_index_unfinished_events;
mod m20261202_000016_create_notifications;
mod m20261203_000017_create_platform_config;
mod m20261204_000018_connect_routing;
mod m20261205_000019_create_refund_requests;
mod m20261205_000020_restaurant_payments;
mod m20261205_000021_split_refunds;
mod m20261205_000022_authorization_warnings;
mod m20261205_000023_hot_deadline_indexes;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261122_000001_create_tenants::Migration),
            Box::new(m20261122_000002_create_api_keys::Migration),
            Box::new(m20261122_000003_create_stripe_configs::Migration),
            Box::new(m20261122_000004_create_webhook_secrets::Migration),
            Box::new(m20261122_000005_create_orders::Migration),
            Box::new(m20261122_000006_create_payments::Migration),
            Box::new(m20261122_000007_create_disputes::Migration),
            Box::new(m20261122_000008_create_webhook_events::Migration),
            Box::new(m20261122_000009_create_delivery_failures::Migration),
            Box::new(m20261122_000010_create_reconciliation_runs::Migration),
            Box::new(m20261122_000011_create_order_facts::Migration),
            Box::new(m20261122_000012_add_payment_amount_conflict::Migration),
            Box::new(m20261122_000013_event_payload_lz4::Migration),
            Box::new(m20261122_000014_index_disputes_intent::Migration),
            Box::new(m20261129_000015_index_unfinished_events::Migration),
            Box::new(m20261202_000016_create_notifications::Migration),
            Box::new(m20261203_000017_create_platform_config::Migration),
            Box::new(m20261204_000018_connect_routing::Migration),
            Box::new(m20261205_000019_create_refund_requests::Migration),
            Box::new(m20261205_000020_restaurant_payments::Migration),
            Box::new(m20261205_000021_split_refunds::Migration),
            Box::new(m20261205_000022_authorization_warnings::Migration),
            Box::new(m20261205_000023_hot_deadline_indexes::Migration),
        ]
    }
}
