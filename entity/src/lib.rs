//! Entity layer: sea-orm models, one module per table. Queries live in the gateway's `store`.

pub mod api_keys;
pub mod delivery_failures;
pub mod disputes;
pub mod notification_endpoints;
pub mod notification_messages;
pub mod notification_secrets;
pub mod order_changes;
pub mod orders;
pub mod payments;
pub mod platform_stripe_configs;
pub mod platform_webhook_secrets;
pub mod reconciliation_runs;
pub mod refund_requests;
pub mod scrubbed_customers;
pub mod status;
pub mod stripe_configs;
pub mod tenants;
pub mod unrouted_events;
pub mod webhook_events;
pub mod webhook_secrets;
