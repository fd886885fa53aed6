//! Application layer: the use cases the API handlers, the CLI and the jobs call, each once — a
//! handler extracts, calls one of these and answers. Each takes the application's state, a
//! [`TenantScope`] where it acts for a tenant (made only where access was decided) and domain
//! values, and answers a domain result or an [`Error`].
pub mod api_keys;
pub mod authorizations;
pub mod checkout;
pub mod error;
pub mod events;
pub mod notification_endpoints;
pub mod notification_messages;
pub mod orders;
pub mod payments;
mod reconcile;
mod reconcile_lock;
pub mod reconciliations;
pub mod refunds;
pub mod scope;
pub mod stripe_config;
pub mod tenants;
pub mod unrouted;

use crate::state::Context;
pub use crate::store::{Page, PageRequest, decode_cursor};
use crate::stripe::clients::TenantClient;
pub use error::{Error, Result};
pub use scope::{Principal, TenantScope};
use std::sync::Arc;
use uuid::Uuid;

/// 409 `no_stripe_config`: the tenant has no key to call Stripe with.
pub fn no_stripe_key() -> Error {
    Error::conflict(
        "no_stripe_config",
        "the tenant has no Stripe key to call with: set its Stripe config first (or, for a connected tenant, the platform's)",
    )
}

/// The tenant's Stripe client (its own key, or the platform's for a connected tenant); 409
/// `no_stripe_config` without one.
pub async fn tenant_stripe(state: &Context, tenant_id: Uuid) -> Result<Arc<TenantClient>> {
    state
        .stripe
        .for_tenant(&state.db, &state.keyring, &state.credentials, tenant_id)
        .await
        .map_err(|e| {
            tracing::error!(error = %e, "tenant Stripe client unavailable");
            Error::Internal
        })?
        .ok_or_else(no_stripe_key)
}

/// 409 `tip_over_limit`: a tip past what the order's limit still takes (`most`).
pub(crate) fn tip_over_limit(most: i64) -> Error {
    Error::conflict(
        "tip_over_limit",
        format!(
            "tip_amount: at most {most} more is taken as a tip on this order (the tenant's max_tip_bps of its amount, less tips already paid)"
        ),
    )
}
