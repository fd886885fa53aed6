//! Stripe: refunds — `POST /v1/refunds` for a PaymentIntent, with the order id in the refund's
//! metadata and an idempotency key (a retried call gets the same refund back).
use super::http::{StripeCallError, TenantStripe};
use std::collections::HashMap;
use stripe_client_core::StripeRequest;
use stripe_core::refund::{CreateRefund, CreateRefundReason};

/// Why the refund is made, as Stripe names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    Duplicate,
    Fraudulent,
    RequestedByCustomer,
}

impl Reason {
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::Duplicate => "duplicate",
            Reason::Fraudulent => "fraudulent",
            Reason::RequestedByCustomer => "requested_by_customer",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [
            Reason::Duplicate,
            Reason::Fraudulent,
            Reason::RequestedByCustomer,
        ]
        .into_iter()
        .find(|r| r.as_str() == s)
    }
}

/// The refund as Stripe answered it.
#[derive(serde::Deserialize, Debug)]
pub struct CreatedRefund {
    pub id: String,
    pub amount: i64,
    pub currency: String,
    /// `pending`, `requires_action`, `succeeded`, `failed` or `canceled`.
    #[serde(default)]
    pub status: Option<String>,
}

pub async fn create(
    stripe: &TenantStripe,
    payment_intent: &str,
    amount: i64,
    reason: Option<Reason>,
    order_id: uuid::Uuid,
    idempotency_key: &str,
) -> Result<CreatedRefund, StripeCallError> {
    let mut request = CreateRefund::new()
        .payment_intent(payment_intent.to_owned())
        .amount(amount)
        .metadata(HashMap::from([(
            "order_id".to_owned(),
            order_id.to_string(),
        )]));
    if let Some(reason) = reason {
        request = request.reason(match reason {
            Reason::Duplicate => CreateRefundReason::Duplicate,
            Reason::Fraudulent => CreateRefundReason::Fraudulent,
            Reason::RequestedByCustomer => CreateRefundReason::RequestedByCustomer,
        });
    }
    let body = stripe.call(request.build(), Some(idempotency_key)).await?;
    serde_json::from_slice(&body).map_err(|e| StripeCallError::Parse(e.to_string()))
}
