//! Webhooks layer (no poem types): intake (resolve → verify → limit → parse → hand to the
//! writer), signature, tolerant event structs, pure apply rules, the batching writer, per-tenant
//! limiters, the tenant/secrets cache and the bounded failure counters.
pub mod apply;
mod batch;
pub mod connect;
pub mod derive;
pub mod event;
pub mod failures;
pub mod incoming;
pub mod intake;
pub mod limiter;
pub mod merge;
pub mod observe;
mod plan;
pub mod platform;
pub mod shared_limit;
pub mod signature;
pub mod tenants;
pub mod writer;
