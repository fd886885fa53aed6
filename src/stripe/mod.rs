//! Stripe layer: calls to Stripe's API with each tenant's own key — the per-tenant client cache,
//! Checkout Sessions, key checks, and the list pages reconciliation reads.
pub mod authorizations;
pub mod checkout;
pub mod clients;
pub mod credentials;
pub mod http;
pub mod keycheck;
pub mod lists;
pub mod refunds;

pub use clients::StripeClients;
pub use http::{StripeCallError, TenantStripe};
