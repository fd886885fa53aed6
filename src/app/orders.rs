//! Use cases: a tenant's orders — created by the restaurant's systems (the reference is the
//! POS's own id, unique per tenant), listed, read with their payments. Their status follows
//! from Stripe's events (the write path), never from here.
use super::{Error, Result, TenantScope};
use crate::state::Context;
pub use crate::store::orders::{NewOrder, OrderFilter};
use crate::store::{self, Page, PageRequest};
use entity::{orders::Model as Order, payments::Model as Payment};
use uuid::Uuid;

/// Creates the order; a reference the tenant used already is refused with the existing order's
/// id, so that a retried create finds what the first one made.
pub async fn create(state: &Context, scope: &TenantScope, new: NewOrder) -> Result<Order> {
    let reference = new.reference.as_str().to_owned();
    match store::orders::create(&state.db, scope, new).await {
        Ok(order) => Ok(order),
        Err(e) if store::is_unique_violation(&e) => {
            let existing = store::orders::by_reference(&state.db, scope, &reference)
                .await?
                .ok_or(Error::Store(e))?;
            Err(Error::Taken {
                code: "reference_taken",
                detail: format!(
                    "the tenant already has an order with this reference: {}",
                    existing.id
                ),
                existing_id: existing.id,
            })
        }
        Err(e) => Err(e.into()),
    }
}

pub async fn list(
    state: &Context,
    scope: &TenantScope,
    filter: OrderFilter,
    page: PageRequest,
) -> Result<Page<Order>> {
    Ok(store::orders::list(&state.db, scope, filter, page).await?)
}

/// The order named by its id or its reference (the restaurant's own id), with its payments. An
/// id is looked up first; a reference shaped like a UUID is found when no order has that id.
pub async fn get(
    state: &Context,
    scope: &TenantScope,
    id_or_reference: &str,
) -> Result<(Order, Vec<Payment>)> {
    let by_id = match Uuid::parse_str(id_or_reference) {
        Ok(id) => store::owned::get::<entity::orders::Entity, _>(&state.db, scope, id).await?,
        Err(_) => None,
    };
    let order = match by_id {
        Some(order) => order,
        None => store::orders::by_reference(&state.db, scope, id_or_reference)
            .await?
            .ok_or(Error::NotFound("order"))?,
    };
    let payments = store::payments::of_order(&state.db, scope, order.id).await?;
    Ok((order, payments))
}

/// What the token of an order's status URL is a capability for (its MAC's purpose).
const STATUS_PURPOSE: &str = "order-status";

/// Where an order's status is served (the token follows).
pub const STATUS_PATH: &str = "/v1/order-status/";

/// The status URL of an order: its token opens that one order's status, without a bearer (a
/// customer's browser). Absolute: `serve` sets the public address (`Config::public_base`).
pub fn status_url(state: &Context, order_id: Uuid) -> String {
    let token = state.keyring.capability(STATUS_PURPOSE, order_id);
    let base = state
        .config
        .public_url
        .as_deref()
        .unwrap_or("")
        .trim_end_matches('/');
    format!("{base}{STATUS_PATH}{token}")
}

/// The order a status token opens; one the keyring did not sign, or of an order gone, is not
/// found.
pub async fn by_status_token(state: &Context, token: &str) -> Result<Order> {
    let order_id = state
        .keyring
        .check_capability(STATUS_PURPOSE, token)
        .ok_or(Error::NotFound("order status"))?;
    store::orders::by_ids(&state.db, vec![order_id])
        .await?
        .into_iter()
        .next()
        .ok_or(Error::NotFound("order status"))
}
