//! Use cases: a tenant's orders — created by the restaurant's systems (the reference is the
//! POS's own id, unique per tenant), listed, read with their payments. Their status follows
//! from Stripe's events (the write path), never from here.
use super::{Error, Result, TenantScope};
use crate::state::AppState;
use crate::store::orders::{NewOrder, OrderFilter};
use crate::store::{self, Page, PageRequest};
use entity::{orders::Model as Order, payments::Model as Payment};
use uuid::Uuid;

pub async fn create(state: &AppState, scope: &TenantScope, new: NewOrder) -> Result<Order> {
    match store::orders::create(&state.db, scope, new).await {
        Ok(order) => Ok(order),
        Err(e) if store::is_unique_violation(&e) => Err(Error::conflict(
            "reference_taken",
            "the tenant already has an order with this reference",
        )),
        Err(e) => Err(e.into()),
    }
}

pub async fn list(
    state: &AppState,
    scope: &TenantScope,
    filter: OrderFilter,
    page: PageRequest,
) -> Result<Page<Order>> {
    Ok(store::orders::list(&state.db, scope, filter, page).await?)
}

/// The order and its payments.
pub async fn get(
    state: &AppState,
    scope: &TenantScope,
    order_id: Uuid,
) -> Result<(Order, Vec<Payment>)> {
    let order = store::orders::get(&state.db, scope, order_id)
        .await?
        .ok_or(Error::NotFound("order"))?;
    let payments = store::payments::of_order(&state.db, scope, order.id).await?;
    Ok((order, payments))
}
