//! API layer (poem-openapi only): extract, authorize, call down to the store, map to `*Out` views.
mod allow;
mod api_keys;
mod auth;
mod authorizations;
mod checkout;
mod events;
mod idempotency;
pub mod middleware;
mod notification_endpoints;
mod notification_messages;
mod notification_views;
mod optional_body;
pub mod order_status;
mod orders;
mod pagination;
mod patterns;
mod payments;
mod platform_config;
mod reconciliations;
mod refunds;
pub mod scope;
pub mod status_cors;
mod strict;
mod stripe_config;
mod tenants;
mod unrouted_events;
pub mod webhook;
mod webhook_refusal;
pub mod words;

pub use api_keys::ApiKeysApi;
pub use auth::{BearerAuth, Principal};
pub use authorizations::AuthorizationsApi;
pub use checkout::CheckoutApi;
pub use events::EventsApi;
pub use notification_endpoints::NotificationEndpointsApi;
pub use notification_messages::NotificationMessagesApi;
pub use order_status::OrderStatusApi;
pub use orders::OrdersApi;
pub use patterns::compile_all as compile_patterns;
pub use payments::{DisputesApi, PaymentsApi};
pub use platform_config::PlatformConfigApi;
pub use reconciliations::ReconciliationsApi;
pub use refunds::RefundsApi;
pub use stripe_config::StripeConfigApi;
pub use tenants::TenantsApi;
pub use unrouted_events::UnroutedEventsApi;

use poem_openapi::{ApiResponse, Tags};

#[derive(Tags)]
pub enum ApiTags {
    /// Restaurants (tenants): create, read, change, suspend, remove. Operator.
    Tenants,
    /// Tenant API keys: shown once, stored as a hash, revocable. Operator issues and revokes.
    ApiKeys,
    /// A tenant's Stripe secret key and webhook signing secrets, encrypted at rest.
    StripeConfig,
    /// A tenant's orders; their status follows from Stripe's events.
    Orders,
    /// What the gateway knows of each Stripe PaymentIntent.
    Payments,
    /// Chargebacks on the tenant's charges.
    Disputes,
    /// The log of received Stripe events, replay, and webhook health.
    WebhookEvents,
    /// Runs that replay Stripe's events and compare its PaymentIntents with the books.
    Reconciliations,
    /// Where order changes are sent (signed Standard Webhooks), and what each endpoint was sent.
    Notifications,
    /// The Stripe Connect platform's own secrets (its key, its Connect endpoint's signing
    /// secrets). Operator only.
    Platform,
}

/// 204 No Content.
#[derive(ApiResponse)]
pub enum NoContent {
    /// Done; nothing to return.
    #[oai(status = 204)]
    NoContent,
}
