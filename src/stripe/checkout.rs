//! Stripe: Checkout Sessions for orders — one line item for the order's amount, linked to the
//! order by `client_reference_id` and `metadata.order_id` (on the session and its
//! PaymentIntent), created with an idempotency key derived from the order. For a connected
//! tenant the session is a direct charge on its account (the client sends `Stripe-Account`), with
//! the platform's fee as `payment_intent_data.application_fee_amount`.
use super::http::{StripeCallError, TenantStripe};
use entity::orders;
use std::collections::HashMap;
use std::str::FromStr;
use stripe_checkout::checkout_session::{
    CreateCheckoutSession, CreateCheckoutSessionLineItems, CreateCheckoutSessionLineItemsPriceData,
    CreateCheckoutSessionPaymentIntentData, ProductData,
};
use stripe_client_core::StripeRequest;

/// The created session: its id and the URL to send the customer to.
#[derive(serde::Deserialize, Debug)]
pub struct CreatedSession {
    pub id: String,
    #[serde(default)]
    pub url: Option<String>,
}

/// The idempotency key for an order's session: a retried call gets the same session back.
pub fn idempotency_key(order: &orders::Model) -> String {
    format!("gateway-checkout-{}", order.id)
}

/// `application_fee`: the platform's fee in minor units (connected tenants; `None` or 0 sends
/// none).
pub async fn create_session(
    stripe: &TenantStripe,
    order: &orders::Model,
    application_fee: Option<i64>,
    success_url: &str,
    cancel_url: &str,
) -> Result<CreatedSession, StripeCallError> {
    let currency = stripe_types::Currency::from_str(&order.currency).map_err(|_| {
        StripeCallError::Parse(format!(
            "currency {} is not one Stripe knows",
            order.currency
        ))
    })?;
    let link: HashMap<String, String> =
        HashMap::from([("order_id".to_owned(), order.id.to_string())]);
    let mut price = CreateCheckoutSessionLineItemsPriceData::new(currency);
    price.unit_amount = Some(order.amount);
    price.product_data = Some(ProductData::new(format!("Order {}", order.reference)));
    let mut item = CreateCheckoutSessionLineItems::new();
    item.price_data = Some(price);
    item.quantity = Some(1);
    let mut intent = CreateCheckoutSessionPaymentIntentData::new();
    intent.metadata = Some(link.clone());
    intent.application_fee_amount = application_fee.filter(|fee| *fee > 0);
    let request = CreateCheckoutSession::new()
        .mode(stripe_shared::CheckoutSessionMode::Payment)
        .client_reference_id(order.id.to_string())
        .metadata(link)
        .payment_intent_data(intent)
        .line_items(vec![item])
        .success_url(success_url)
        .cancel_url(cancel_url)
        .build();
    let body = stripe.call(request, Some(&idempotency_key(order))).await?;
    serde_json::from_slice(&body).map_err(|e| StripeCallError::Parse(e.to_string()))
}
