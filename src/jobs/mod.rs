//! Jobs layer: work over many tenants that runs beside requests (key rewrap, start-up checks,
//! reconciliation against Stripe, retention, routing Connect events that waited for a tenant,
//! asking Stripe again for refunds it did not answer).
pub mod authorizations;
pub mod keys;
pub mod reconcile;
pub mod refunds;
pub mod retention;
pub mod unrouted;
