//! Stripe: the list pages reconciliation reads — events (kept raw, to go through the webhook
//! write path unchanged) and PaymentIntents (only the fields compared).
use super::http::{StripeCallError, TenantStripe};
use stripe_client_core::StripeRequest;
use stripe_core::event::ListEvent;
use stripe_core::payment_intent::ListPaymentIntent;
use stripe_types::{RangeBoundsTs, RangeQueryTs};

pub const PAGE_SIZE: i64 = 100;

#[derive(serde::Deserialize)]
pub struct Page<T> {
    pub data: Vec<T>,
    #[serde(default)]
    pub has_more: bool,
}

/// An event as Stripe lists it: its id, and the whole object to process like a delivery.
pub struct RawEvent {
    pub id: String,
    pub json: String,
}

#[derive(serde::Deserialize, Clone, Debug)]
pub struct ListedIntent {
    pub id: String,
    #[serde(default)]
    pub amount: i64,
    #[serde(default)]
    pub amount_received: Option<i64>,
    #[serde(default)]
    pub currency: String,
    #[serde(default)]
    pub status: String,
    #[serde(default)]
    pub created: i64,
}

fn window(from: i64, to: i64) -> RangeQueryTs {
    RangeQueryTs::Bounds(RangeBoundsTs {
        gt: None,
        gte: Some(from),
        lt: None,
        lte: Some(to),
    })
}

/// One page of the account's events of `types` created in [from, to], newest first, after
/// `starting_after`.
pub async fn events_page(
    stripe: &TenantStripe,
    types: &[&str],
    from: i64,
    to: i64,
    starting_after: Option<&str>,
) -> Result<(Vec<RawEvent>, bool), StripeCallError> {
    let mut req = ListEvent::new()
        .created(window(from, to))
        .types(types.iter().map(|t| (*t).to_owned()).collect::<Vec<_>>())
        .limit(PAGE_SIZE);
    if let Some(after) = starting_after {
        req = req.starting_after(after);
    }
    let body = stripe.call(req.build(), None).await?;
    let page: Page<serde_json::Value> =
        serde_json::from_slice(&body).map_err(|e| StripeCallError::Parse(e.to_string()))?;
    let mut events = Vec::with_capacity(page.data.len());
    for v in page.data {
        let id = v["id"]
            .as_str()
            .ok_or_else(|| StripeCallError::Parse("listed event has no id".into()))?
            .to_owned();
        events.push(RawEvent {
            id,
            json: v.to_string(),
        });
    }
    Ok((events, page.has_more))
}

/// One page of PaymentIntents created in [from, to], after `starting_after`.
pub async fn intents_page(
    stripe: &TenantStripe,
    from: i64,
    to: i64,
    starting_after: Option<&str>,
) -> Result<(Vec<ListedIntent>, bool), StripeCallError> {
    let mut req = ListPaymentIntent::new()
        .created(window(from, to))
        .limit(PAGE_SIZE);
    if let Some(after) = starting_after {
        req = req.starting_after(after);
    }
    let body = stripe.call(req.build(), None).await?;
    let page: Page<ListedIntent> =
        serde_json::from_slice(&body).map_err(|e| StripeCallError::Parse(e.to_string()))?;
    Ok((page.data, page.has_more))
}
