//! Stripe: acting on a PaymentIntent that holds an authorization — capture (with
//! `amount_to_capture` and the tip in `metadata[tip_amount]`, so the succeeded event declares
//! it), increment (a new total) and cancel (void), each with an idempotency key.
use super::http::{StripeCallError, TenantStripe};
use crate::domain::authorization::{Action, Plan};
use std::collections::HashMap;
use stripe_client_core::StripeRequest;
use stripe_core::payment_intent::{
    CancelPaymentIntent, CapturePaymentIntent, IncrementAuthorizationPaymentIntent,
};

/// The PaymentIntent as Stripe answered the call.
#[derive(serde::Deserialize, Debug)]
pub struct IntentAnswer {
    pub id: String,
    /// `succeeded`, `requires_capture`, `canceled`, `processing`…
    #[serde(default)]
    pub status: Option<String>,
}

/// Asks Stripe to do `action` as `plan` says.
pub async fn act(
    stripe: &TenantStripe,
    action: &Action,
    plan: &Plan,
    idempotency_key: &str,
) -> Result<IntentAnswer, StripeCallError> {
    let intent = plan.payment_intent.as_str();
    let request = match action {
        Action::Capture { .. } => CapturePaymentIntent::new(intent)
            .amount_to_capture(plan.amount)
            // One key: Stripe merges it into the intent's metadata (its `order_id` stays), and
            // the form is the same on every retry, as an idempotency key needs.
            .metadata(HashMap::from([(
                "tip_amount".to_owned(),
                plan.tip.to_string(),
            )]))
            .build(),
        Action::Increment { .. } => {
            IncrementAuthorizationPaymentIntent::new(intent, plan.amount).build()
        }
        Action::Cancel { .. } => CancelPaymentIntent::new(intent).build(),
    };
    let body = stripe.call(request, Some(idempotency_key)).await?;
    serde_json::from_slice(&body).map_err(|e| StripeCallError::Parse(e.to_string()))
}
