//! Notify: what one notification says and how it is signed. The body is
//! `{"type":"order.paid","timestamp":…,"data":{…}}`; the headers are Standard Webhooks'
//! (`webhook-id`, `webhook-timestamp`, `webhook-signature`), signed by the `standardwebhooks`
//! crate with every live secret of the endpoint (two during a rotation, space-separated, as the
//! spec allows), so a receiver verifies with the library of its own language.
use crate::crypto::SecretText;
use bytes::Bytes;
use chrono::{DateTime, SecondsFormat, Utc};
use entity::order_changes;
use serde::Serialize;
use uuid::Uuid;

/// The order as a notification shows it: status and amounts, no personal data.
#[derive(Serialize)]
pub struct OrderData<'a> {
    pub id: Uuid,
    pub reference: &'a str,
    pub status: &'static str,
    pub previous_status: &'static str,
    /// Minor units.
    pub amount: i64,
    pub amount_refunded: i64,
    /// Captured, tips included.
    pub amount_paid: i64,
    pub tip_amount: i64,
    /// Still to collect, tips aside.
    pub amount_due: i64,
    /// Held by authorizations not yet captured.
    pub amount_authorized: i64,
    pub currency: &'a str,
    /// The Stripe event that caused the change (null for a notice the gateway raised itself).
    pub stripe_event_id: Option<&'a str>,
    /// A notice about one authorization (`order.authorization_expiring`): which, and when
    /// Stripe cancels it unless captured. Absent otherwise.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub payment_id: Option<Uuid>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub capture_before: Option<String>,
}

#[derive(Serialize)]
struct Body<'a> {
    #[serde(rename = "type")]
    ty: String,
    timestamp: String,
    data: OrderData<'a>,
}

/// The `webhook-id` of a change: the same for every attempt and every endpoint.
pub fn webhook_id(change_id: Uuid) -> String {
    format!("msg_{}", change_id.simple())
}

/// The notification body of a change.
pub fn body(change: &order_changes::Model) -> Bytes {
    let body = Body {
        ty: change.event_type(),
        timestamp: change
            .created_at
            .to_rfc3339_opts(SecondsFormat::Millis, true),
        data: OrderData {
            id: change.order_id,
            reference: &change.reference,
            status: change.to_status.as_str(),
            previous_status: change.from_status.as_str(),
            amount: change.amount,
            amount_refunded: change.refunded_to,
            amount_paid: change.amount_paid,
            tip_amount: change.tip_amount,
            amount_due: change.amount_due,
            amount_authorized: change.amount_authorized,
            currency: &change.currency,
            stripe_event_id: change.kind.is_none().then_some(change.cause.as_str()),
            payment_id: change.payment_id,
            capture_before: change
                .capture_before
                .map(|t| t.to_rfc3339_opts(SecondsFormat::Secs, true)),
        },
    };
    // Serializing a struct of strings and integers cannot fail.
    Bytes::from(serde_json::to_vec(&body).unwrap_or_default())
}

#[derive(Debug, thiserror::Error)]
#[error("signing secret unusable: {0}")]
pub struct SignError(String);

/// The three Standard Webhooks headers for `body`, sent at `at`, signed with every secret.
pub fn headers(
    id: &str,
    at: DateTime<Utc>,
    body: &[u8],
    secrets: &[SecretText],
) -> Result<Vec<(&'static str, String)>, SignError> {
    let ts = at.timestamp();
    let mut signatures = Vec::with_capacity(secrets.len());
    for secret in secrets {
        let wh = standardwebhooks::Webhook::new(secret.expose())
            .map_err(|e| SignError(e.to_string()))?;
        signatures.push(
            wh.sign(id, ts, body)
                .map_err(|e| SignError(e.to_string()))?,
        );
    }
    Ok(vec![
        (standardwebhooks::HEADER_WEBHOOK_ID, id.to_owned()),
        (standardwebhooks::HEADER_WEBHOOK_TIMESTAMP, ts.to_string()),
        (
            standardwebhooks::HEADER_WEBHOOK_SIGNATURE,
            signatures.join(" "),
        ),
    ])
}

/// A new endpoint secret: `whsec_` and 32 random bytes in base64, as Standard Webhooks' libraries
/// take it.
pub fn new_secret() -> SecretText {
    use base64::Engine as _;
    let mut raw = zeroize::Zeroizing::new([0u8; 32]);
    crate::crypto::fill_random(raw.as_mut());
    let b64 = zeroize::Zeroizing::new(base64::engine::general_purpose::STANDARD.encode(*raw));
    SecretText::new(format!("whsec_{}", b64.as_str()))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn signed_headers_verify_with_the_crate_and_both_secrets_of_a_rotation() {
        let old = new_secret();
        let new = new_secret();
        let at = Utc::now();
        let body = br#"{"type":"order.paid"}"#;
        let headers = headers("msg_1", at, body, &[new.clone(), old.clone()]).unwrap();
        let mut map = http::HeaderMap::new();
        for (name, value) in &headers {
            map.insert(*name, value.parse().unwrap());
        }
        for secret in [&old, &new] {
            standardwebhooks::Webhook::new(secret.expose())
                .unwrap()
                .verify(body, &map)
                .unwrap();
        }
        let stranger = new_secret();
        assert!(
            standardwebhooks::Webhook::new(stranger.expose())
                .unwrap()
                .verify(body, &map)
                .is_err()
        );
        assert!(
            standardwebhooks::Webhook::new(old.expose())
                .unwrap()
                .verify(br#"{"type":"order.refunded"}"#, &map)
                .is_err()
        );
    }
}
