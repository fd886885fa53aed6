//! Jobs layer: work over many tenants that runs beside requests (key rewrap, start-up checks,
//! reconciliation against Stripe).
pub mod keys;
pub mod reconcile;
