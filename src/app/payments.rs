//! Use cases: what the gateway knows of a tenant's payments (each Stripe PaymentIntent) and
//! disputes. Read only: Stripe's events write them.
use super::{Error, Result, TenantScope};
use crate::state::Context;
pub use crate::store::payments::ByOrder;
use crate::store::{self, Page, PageRequest};
use entity::{disputes::Model as Dispute, payments::Model as Payment};
use uuid::Uuid;

/// The tenant's payments, optionally only an order's, or only those that match no order (money
/// taken that nothing books).
pub async fn list(
    state: &Context,
    scope: &TenantScope,
    by_order: Option<ByOrder>,
    page: PageRequest,
) -> Result<Page<Payment>> {
    Ok(store::payments::list(&state.db, scope, by_order, page).await?)
}

pub async fn get(state: &Context, scope: &TenantScope, payment_id: Uuid) -> Result<Payment> {
    store::owned::get::<entity::payments::Entity, _>(&state.db, scope, payment_id)
        .await?
        .ok_or(Error::NotFound("payment"))
}

pub async fn disputes(
    state: &Context,
    scope: &TenantScope,
    page: PageRequest,
) -> Result<Page<Dispute>> {
    Ok(store::owned::list::<entity::disputes::Entity, _>(&state.db, scope, page).await?)
}
