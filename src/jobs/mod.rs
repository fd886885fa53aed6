//! Jobs layer: work over many tenants that runs beside requests (key rewrap, start-up checks,
//! reconciliation against Stripe, retention).
pub mod keys;
pub mod reconcile;
mod reconcile_lock;
pub mod retention;
