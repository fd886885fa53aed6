//! Webhooks: tolerant event structs. Only the fields the gateway needs, every one optional where
//! any Stripe API version may omit it; unknown fields are ignored, and expandable references are
//! accepted as an id or as the expanded object.
use serde::Deserialize;
use serde_json::value::RawValue;

/// The event envelope. `data.object` stays raw until its type is known.
#[derive(Deserialize)]
pub struct Envelope {
    pub id: String,
    #[serde(rename = "type")]
    pub event_type: String,
    pub created: i64,
    #[serde(default)]
    pub livemode: bool,
    #[serde(default)]
    pub api_version: Option<String>,
    /// The connected account the event happened on (Connect events only).
    #[serde(default)]
    pub account: Option<String>,
    pub data: EventData,
}

#[derive(Deserialize)]
pub struct EventData {
    pub object: Box<RawValue>,
}

impl Envelope {
    /// Parses an event body; the error names what is wrong, never echoes the body.
    pub fn parse(body: &[u8]) -> Result<Self, String> {
        let env: Envelope = serde_json::from_slice(body)
            .map_err(|e| format!("not a Stripe event: {}", e.classify_name()))?;
        if !env.id.starts_with("evt_") || env.id.len() > 255 {
            return Err("not a Stripe event: id must be evt_…".to_owned());
        }
        if env.event_type.is_empty() || env.event_type.len() > 255 {
            return Err("not a Stripe event: bad type".to_owned());
        }
        Ok(env)
    }
}

trait Classify {
    fn classify_name(&self) -> &'static str;
}

impl Classify for serde_json::Error {
    fn classify_name(&self) -> &'static str {
        match self.classify() {
            serde_json::error::Category::Io => "unreadable body",
            serde_json::error::Category::Syntax | serde_json::error::Category::Eof => {
                "body is not JSON"
            }
            serde_json::error::Category::Data => {
                "missing or mistyped id, type, created or data.object"
            }
        }
    }
}

/// An expandable reference: `"cus_123"` or `{"id": "cus_123", …}`.
#[derive(Deserialize, Clone, Debug)]
#[serde(untagged)]
pub enum Expandable {
    Id(String),
    Object { id: String },
}

impl Expandable {
    pub fn id(&self) -> &str {
        match self {
            Expandable::Id(id) | Expandable::Object { id } => id,
        }
    }
}

pub fn id_of(e: &Option<Expandable>) -> Option<String> {
    e.as_ref().map(|e| e.id().to_owned())
}

/// The metadata keys the gateway reads; values of other keys may be anything.
#[derive(Deserialize, Default, Clone, Debug)]
pub struct Metadata {
    #[serde(default)]
    pub order_id: Option<String>,
    /// A declared tip in minor units, as Stripe's metadata holds it (a decimal string).
    #[serde(default, deserialize_with = "lenient")]
    pub tip_amount: Option<MinorUnits>,
}

impl Metadata {
    pub fn tip(m: &Option<Metadata>) -> Option<i64> {
        m.as_ref().and_then(|m| m.tip_amount).map(|t| t.0)
    }
}

/// An amount in minor units written as a JSON number or a decimal string, never negative.
#[derive(Clone, Copy, Debug)]
pub struct MinorUnits(pub i64);

impl<'de> Deserialize<'de> for MinorUnits {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Number(i64),
            Text(String),
        }
        let n = match Raw::deserialize(d)? {
            Raw::Number(n) => n,
            Raw::Text(s) => s
                .trim()
                .parse::<i64>()
                .map_err(|_| serde::de::Error::custom("not a whole number"))?,
        };
        if n < 0 {
            return Err(serde::de::Error::custom("negative"));
        }
        Ok(Self(n))
    }
}

/// An optional field the gateway reads but does not require: a value of another shape (an
/// older or newer API version's) reads as absent instead of making the whole object unusable.
fn lenient<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: serde::de::DeserializeOwned,
{
    let value = serde_json::Value::deserialize(d)?;
    Ok(serde_json::from_value(value).ok())
}

/// `amount_details` of a PaymentIntent: the tip Terminal collected on the reader, or the API set.
#[derive(Deserialize, Clone, Debug, Default)]
pub struct AmountDetails {
    #[serde(default, deserialize_with = "lenient")]
    pub tip: Option<Tip>,
}

#[derive(Deserialize, Clone, Debug, Default)]
pub struct Tip {
    #[serde(default)]
    pub amount: Option<i64>,
}

/// `payment_method_details` of a charge: what the card (online or on a reader) allows.
#[derive(Deserialize, Clone, Debug, Default)]
pub struct PaymentMethodDetails {
    #[serde(default, deserialize_with = "lenient")]
    pub card: Option<CardDetails>,
    #[serde(default, deserialize_with = "lenient")]
    pub card_present: Option<CardDetails>,
}

impl PaymentMethodDetails {
    pub fn card(d: &Option<PaymentMethodDetails>) -> Option<&CardDetails> {
        d.as_ref()
            .and_then(|d| d.card.as_ref().or(d.card_present.as_ref()))
    }
}

/// The authorization facts of a card charge (`card`, or `card_present` on Terminal).
#[derive(Deserialize, Clone, Debug, Default)]
pub struct CardDetails {
    /// Unix seconds: Stripe cancels the authorization if it is not captured by then.
    #[serde(default)]
    pub capture_before: Option<i64>,
    #[serde(default)]
    pub amount_authorized: Option<i64>,
    /// Online cards: `{status, maximum_amount_capturable}`.
    #[serde(default, deserialize_with = "lenient")]
    pub overcapture: Option<Availability>,
    #[serde(default, deserialize_with = "lenient")]
    pub incremental_authorization: Option<Availability>,
    /// Terminal cards say it with booleans.
    #[serde(default)]
    pub overcapture_supported: Option<bool>,
    #[serde(default)]
    pub incremental_authorization_supported: Option<bool>,
}

#[derive(Deserialize, Clone, Debug, Default)]
pub struct Availability {
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub maximum_amount_capturable: Option<i64>,
}

impl Availability {
    pub fn available(a: &Option<Availability>) -> bool {
        a.as_ref()
            .is_some_and(|a| a.status.as_deref() == Some("available"))
    }
}

#[derive(Deserialize, Default, Clone, Debug)]
pub struct Contact {
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
}

#[derive(Deserialize, Default, Clone, Debug)]
pub struct PaymentError {
    #[serde(default)]
    pub message: Option<String>,
    #[serde(default)]
    pub code: Option<String>,
}

#[derive(Deserialize, Clone, Debug)]
pub struct PaymentIntent {
    pub id: String,
    #[serde(default)]
    pub amount: Option<i64>,
    #[serde(default)]
    pub amount_received: Option<i64>,
    #[serde(default)]
    pub amount_capturable: Option<i64>,
    #[serde(default)]
    pub capture_method: Option<String>,
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub created: Option<i64>,
    #[serde(default, deserialize_with = "lenient")]
    pub amount_details: Option<AmountDetails>,
    #[serde(default)]
    pub currency: Option<String>,
    #[serde(default)]
    pub customer: Option<Expandable>,
    #[serde(default)]
    pub metadata: Option<Metadata>,
    #[serde(default)]
    pub latest_charge: Option<Expandable>,
    #[serde(default)]
    pub receipt_email: Option<String>,
    #[serde(default)]
    pub last_payment_error: Option<PaymentError>,
    /// Older API versions (before 2022-11-15) list charges here instead of `latest_charge`.
    #[serde(default)]
    pub charges: Option<ChargeList>,
}

#[derive(Deserialize, Clone, Debug, Default)]
pub struct ChargeList {
    #[serde(default)]
    pub data: Vec<ChargeRef>,
}

#[derive(Deserialize, Clone, Debug)]
pub struct ChargeRef {
    pub id: String,
}

#[derive(Deserialize, Clone, Debug)]
pub struct Charge {
    pub id: String,
    #[serde(default)]
    pub payment_intent: Option<Expandable>,
    #[serde(default)]
    pub amount: Option<i64>,
    #[serde(default)]
    pub amount_captured: Option<i64>,
    /// False while the charge is only an authorization (manual capture).
    #[serde(default)]
    pub captured: Option<bool>,
    #[serde(default)]
    pub amount_refunded: Option<i64>,
    #[serde(default)]
    pub currency: Option<String>,
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub paid: Option<bool>,
    #[serde(default)]
    pub customer: Option<Expandable>,
    #[serde(default)]
    pub billing_details: Option<Contact>,
    #[serde(default)]
    pub receipt_email: Option<String>,
    #[serde(default)]
    pub metadata: Option<Metadata>,
    #[serde(default)]
    pub failure_message: Option<String>,
    #[serde(default)]
    pub created: Option<i64>,
    #[serde(default, deserialize_with = "lenient")]
    pub payment_method_details: Option<PaymentMethodDetails>,
}

#[derive(Deserialize, Clone, Debug)]
pub struct CheckoutSession {
    pub id: String,
    #[serde(default)]
    pub client_reference_id: Option<String>,
    #[serde(default)]
    pub metadata: Option<Metadata>,
    #[serde(default)]
    pub payment_intent: Option<Expandable>,
    #[serde(default)]
    pub amount_total: Option<i64>,
    #[serde(default)]
    pub currency: Option<String>,
    #[serde(default)]
    pub customer: Option<Expandable>,
    #[serde(default)]
    pub customer_details: Option<Contact>,
    #[serde(default)]
    pub customer_email: Option<String>,
    #[serde(default)]
    pub payment_status: Option<String>,
}

#[derive(Deserialize, Clone, Debug)]
pub struct Dispute {
    pub id: String,
    #[serde(default)]
    pub charge: Option<Expandable>,
    #[serde(default)]
    pub payment_intent: Option<Expandable>,
    #[serde(default)]
    pub amount: Option<i64>,
    #[serde(default)]
    pub currency: Option<String>,
    #[serde(default)]
    pub reason: Option<String>,
    #[serde(default)]
    pub status: Option<String>,
}

#[derive(Deserialize, Clone, Debug)]
pub struct Customer {
    pub id: String,
}
