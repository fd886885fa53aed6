//! Stripe: Checkout Sessions for orders — one line item for the order's amount (or a diner's
//! share of it) and a "Tip" line when there is a tip (declared as `metadata.tip_amount`), linked
//! to the order by `client_reference_id` and `metadata.order_id` (on the session and its
//! PaymentIntent), authorize-only when asked (`capture_method: manual`), created with the
//! idempotency key the use case derived. For a connected
//! tenant the session is a direct charge on its account (the client sends `Stripe-Account`), with
//! the platform's fee as `payment_intent_data.application_fee_amount`.
use super::http::{StripeCallError, TenantStripe};
use crate::domain::checkout::Share;
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

/// `application_fee`: the platform's fee in minor units (connected tenants; `None` or 0 sends
/// none); `urls`: where Stripe sends the customer after paying, and after giving up.
pub async fn create_session(
    stripe: &TenantStripe,
    order: &orders::Model,
    share: &Share,
    application_fee: Option<i64>,
    (success_url, cancel_url): (&str, &str),
    idempotency_key: &str,
) -> Result<CreatedSession, StripeCallError> {
    let currency = stripe_types::Currency::from_str(&order.currency).map_err(|_| {
        StripeCallError::Parse(format!(
            "currency {} is not one Stripe knows",
            order.currency
        ))
    })?;
    let mut link: HashMap<String, String> =
        HashMap::from([("order_id".to_owned(), order.id.to_string())]);
    let name = if share.amount == order.amount {
        format!("Order {}", order.reference)
    } else {
        format!("Order {} (share)", order.reference)
    };
    let mut items = vec![line(currency.clone(), share.amount, name)];
    if share.tip > 0 {
        items.push(line(currency, share.tip, "Tip".to_owned()));
        link.insert("tip_amount".to_owned(), share.tip.to_string());
    }
    let mut intent = CreateCheckoutSessionPaymentIntentData::new();
    intent.metadata = Some(link.clone());
    intent.application_fee_amount = application_fee.filter(|fee| *fee > 0);
    if share.manual {
        intent.capture_method =
            Some(stripe_checkout::checkout_session::CreateCheckoutSessionPaymentIntentDataCaptureMethod::Manual);
    }
    let request = CreateCheckoutSession::new()
        .mode(stripe_shared::CheckoutSessionMode::Payment)
        .client_reference_id(order.id.to_string())
        .metadata(link)
        .payment_intent_data(intent)
        .line_items(items)
        .success_url(success_url)
        .cancel_url(cancel_url)
        .build();
    let body = stripe.call(request, Some(idempotency_key)).await?;
    serde_json::from_slice(&body).map_err(|e| StripeCallError::Parse(e.to_string()))
}

/// One line item: `amount` of `currency`, named `name`, once.
fn line(
    currency: stripe_types::Currency,
    amount: i64,
    name: String,
) -> CreateCheckoutSessionLineItems {
    let mut price = CreateCheckoutSessionLineItemsPriceData::new(currency);
    price.unit_amount = Some(amount);
    price.product_data = Some(ProductData::new(name));
    let mut item = CreateCheckoutSessionLineItems::new();
    item.price_data = Some(price);
    item.quantity = Some(1);
    item
}
