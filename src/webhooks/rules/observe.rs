//! Webhooks: reading an event, as a pure function (no I/O). An event's object becomes an
//! [`Observation`]: what it says about one payment, one dispute, an expired checkout or a deleted
//! customer. Only the fields the gateway needs are read, from tolerant structs, so every API
//! version's shape is taken.
use super::event::{self, id_of};
use serde_json::value::RawValue;
use uuid::Uuid;

pub use entity::status::{DisputeStatus, PaymentStatus};

/// What one event says about one payment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PaymentObs {
    /// The payment's key: its PaymentIntent's id, or for a charge made with the legacy Charges
    /// API (no PaymentIntent) the charge's own id (see [`is_legacy_charge_key`]).
    pub payment_intent: String,
    pub charge_id: Option<String>,
    pub status: PaymentStatus,
    pub amount: Option<i64>,
    pub currency: Option<String>,
    pub amount_refunded: Option<i64>,
    pub customer_id: Option<String>,
    pub email: Option<String>,
    pub name: Option<String>,
    pub failure_reason: Option<String>,
    /// Order ids the object names (`metadata.order_id`, `client_reference_id`).
    pub order_refs: Vec<Uuid>,
    pub checkout_session_id: Option<String>,
    /// The tip the object declares (`amount_details.tip.amount`, else `metadata.tip_amount`).
    pub tip: Option<i64>,
    /// What it says about an authorization.
    pub hold: Hold,
}

/// What an object says about a payment's authorization; every field optional.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Hold {
    /// The amount authorized.
    pub authorized: Option<i64>,
    /// What is still capturable.
    pub capturable: Option<i64>,
    /// `automatic` or `manual`.
    pub capture_method: Option<String>,
    /// When Stripe cancels it uncaptured: (exact from the card, unix seconds).
    pub capture_before: Option<(bool, i64)>,
    /// The most a capture may take, when overcapture is available.
    pub overcapture_max: Option<i64>,
    pub increment_supported: bool,
}

/// Stripe cancels an uncaptured card authorization after 7 days unless the card says otherwise.
const DEFAULT_HOLD_SECONDS: i64 = 7 * 24 * 3600;

fn capture_method(raw: Option<&str>) -> Option<String> {
    raw.map(|m| if m == "manual" { "manual" } else { "automatic" }.to_owned())
}

/// A charge's authorization facts: the card's own (online or Terminal), the deadline exact from
/// the card or created + 7 days.
fn charge_hold(c: &event::Charge, uncaptured: bool) -> Hold {
    let card = event::PaymentMethodDetails::card(&c.payment_method_details);
    let exact = card.and_then(|d| d.capture_before);
    let capture_before = match (exact, c.created) {
        (Some(at), _) => Some((true, at)),
        (None, Some(created)) if uncaptured => Some((false, created + DEFAULT_HOLD_SECONDS)),
        _ => None,
    };
    let authorized = card
        .and_then(|d| d.amount_authorized)
        .or(c.amount.filter(|_| uncaptured));
    Hold {
        authorized,
        capturable: authorized.filter(|_| uncaptured),
        capture_method: uncaptured.then(|| "manual".to_owned()),
        capture_before,
        overcapture_max: card.and_then(|d| {
            event::Availability::available(&d.overcapture)
                .then(|| {
                    d.overcapture
                        .as_ref()
                        .and_then(|o| o.maximum_amount_capturable)
                })
                .flatten()
        }),
        increment_supported: card.is_some_and(|d| {
            event::Availability::available(&d.incremental_authorization)
                || d.incremental_authorization_supported == Some(true)
        }),
    }
}

/// What one event says about one dispute.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DisputeObs {
    pub dispute_id: String,
    pub charge_id: Option<String>,
    pub payment_intent: Option<String>,
    pub amount: i64,
    pub currency: String,
    pub reason: Option<String>,
    pub status: DisputeStatus,
}

// Observations live one per event for the length of a batch; boxing the common variant would
// cost an allocation per event to save bytes on the rare ones.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Observation {
    Payment(PaymentObs),
    Dispute(DisputeObs),
    CheckoutExpired {
        order_refs: Vec<Uuid>,
    },
    CustomerDeleted {
        customer_id: String,
    },
    /// Recorded, no effect: an event type the gateway does not handle, or an object it cannot use.
    Ignored(String),
}

/// The event types whose effects the gateway applies.
pub const HANDLED_TYPES: &[&str] = &[
    "checkout.session.completed",
    "checkout.session.async_payment_succeeded",
    "checkout.session.async_payment_failed",
    "checkout.session.expired",
    "payment_intent.succeeded",
    "payment_intent.amount_capturable_updated",
    "payment_intent.payment_failed",
    "payment_intent.canceled",
    "charge.succeeded",
    "charge.captured",
    "charge.failed",
    "charge.refunded",
    "charge.expired",
    "charge.dispute.created",
    "charge.dispute.closed",
    "customer.deleted",
];

fn parse<T: serde::de::DeserializeOwned>(object: &RawValue, what: &str) -> Result<T, String> {
    serde_json::from_str(object.get()).map_err(|e| format!("{what} object unusable: {e}"))
}

fn order_refs(candidates: [Option<&str>; 2]) -> Vec<Uuid> {
    let mut refs: Vec<Uuid> = candidates
        .into_iter()
        .flatten()
        .filter_map(|s| Uuid::parse_str(s.trim()).ok())
        .collect();
    refs.dedup();
    refs
}

fn lower(currency: Option<String>) -> Option<String> {
    currency.map(|c| c.to_ascii_lowercase())
}

fn meta_order(m: &Option<event::Metadata>) -> Option<&str> {
    m.as_ref().and_then(|m| m.order_id.as_deref())
}

/// Reads an event's object into what it says. Errors mean a handled type with an unusable object.
pub fn observe(event_type: &str, object: &RawValue) -> Result<Observation, String> {
    use PaymentStatus as S;
    let obs = match event_type {
        "checkout.session.completed"
        | "checkout.session.async_payment_succeeded"
        | "checkout.session.async_payment_failed" => {
            let s: event::CheckoutSession = parse(object, "checkout session")?;
            let status = match (event_type, s.payment_status.as_deref()) {
                ("checkout.session.async_payment_failed", _) => S::Failed,
                ("checkout.session.async_payment_succeeded", _) => S::Succeeded,
                (_, Some("unpaid")) => S::Processing,
                _ => S::Succeeded,
            };
            let Some(pi) = id_of(&s.payment_intent) else {
                return Ok(Observation::Ignored(
                    "checkout session has no payment_intent".into(),
                ));
            };
            let contact = s.customer_details.clone().unwrap_or_default();
            Observation::Payment(PaymentObs {
                payment_intent: pi,
                charge_id: None,
                status,
                amount: s.amount_total,
                currency: lower(s.currency),
                amount_refunded: None,
                customer_id: id_of(&s.customer),
                email: contact.email.or(s.customer_email),
                name: contact.name,
                failure_reason: None,
                order_refs: order_refs([meta_order(&s.metadata), s.client_reference_id.as_deref()]),
                checkout_session_id: Some(s.id),
                tip: event::Metadata::tip(&s.metadata),
                hold: Hold::default(),
            })
        }
        "checkout.session.expired" => {
            let s: event::CheckoutSession = parse(object, "checkout session")?;
            Observation::CheckoutExpired {
                order_refs: order_refs([meta_order(&s.metadata), s.client_reference_id.as_deref()]),
            }
        }
        "payment_intent.succeeded"
        | "payment_intent.amount_capturable_updated"
        | "payment_intent.payment_failed"
        | "payment_intent.canceled" => {
            let pi: event::PaymentIntent = parse(object, "payment intent")?;
            let status = match event_type {
                "payment_intent.succeeded" => S::Succeeded,
                "payment_intent.payment_failed" => S::Failed,
                "payment_intent.amount_capturable_updated" => S::Authorized,
                _ => S::Canceled,
            };
            let capturable = pi.amount_capturable.filter(|c| *c > 0);
            let amount = match (status, pi.amount_received, capturable) {
                (S::Succeeded, Some(received), _) if received > 0 => Some(received),
                (S::Authorized, _, Some(held)) => Some(held),
                _ => pi.amount,
            };
            let hold = if status == S::Authorized {
                Hold {
                    authorized: amount,
                    capturable: amount,
                    capture_before: pi.created.map(|c| (false, c + DEFAULT_HOLD_SECONDS)),
                    ..Hold::default()
                }
            } else {
                Hold::default()
            };
            let hold = Hold {
                capture_method: capture_method(pi.capture_method.as_deref()),
                ..hold
            };
            let tip = pi
                .amount_details
                .as_ref()
                .and_then(|d| d.tip.as_ref())
                .and_then(|t| t.amount)
                .filter(|t| *t >= 0)
                .or_else(|| event::Metadata::tip(&pi.metadata));
            let charge_id = id_of(&pi.latest_charge).or_else(|| {
                pi.charges
                    .as_ref()
                    .and_then(|c| c.data.first())
                    .map(|c| c.id.clone())
            });
            let failure = pi
                .last_payment_error
                .as_ref()
                .and_then(|e| e.message.clone().or(e.code.clone()));
            Observation::Payment(PaymentObs {
                payment_intent: pi.id,
                charge_id,
                status,
                amount,
                currency: lower(pi.currency),
                amount_refunded: None,
                customer_id: id_of(&pi.customer),
                email: pi.receipt_email,
                name: None,
                failure_reason: failure,
                order_refs: order_refs([meta_order(&pi.metadata), None]),
                checkout_session_id: None,
                tip,
                hold,
            })
        }
        "charge.succeeded" | "charge.captured" | "charge.failed" | "charge.refunded"
        | "charge.expired" => {
            let c: event::Charge = parse(object, "charge")?;
            // A charge made through a PaymentIntent belongs to it; one made with the legacy
            // Charges API has none and is a payment of its own, keyed by its charge id.
            let key = c
                .payment_intent
                .as_ref()
                .map_or_else(|| c.id.clone(), |pi| pi.id().to_owned());
            // An uncaptured charge is an authorization: no money has moved until it is
            // captured; refunding it, or letting it expire, releases it.
            let authorization = c.captured == Some(false);
            let status = match event_type {
                "charge.failed" => S::Failed,
                "charge.expired" => S::Canceled,
                "charge.refunded" if authorization => S::Canceled,
                _ if authorization => S::Authorized,
                // Captured (a refunded charge was paid first).
                _ => S::Succeeded,
            };
            let amount = match c.amount_captured {
                // A partial capture takes less than was authorized.
                Some(captured) if status == S::Succeeded && captured > 0 => Some(captured),
                _ => c.amount,
            };
            let contact = c.billing_details.clone().unwrap_or_default();
            let hold = charge_hold(&c, status == S::Authorized);
            let tip = event::Metadata::tip(&c.metadata);
            Observation::Payment(PaymentObs {
                payment_intent: key,
                charge_id: Some(c.id),
                status,
                amount,
                currency: lower(c.currency),
                amount_refunded: c.amount_refunded.filter(|_| !authorization),
                customer_id: id_of(&c.customer),
                email: contact.email.or(c.receipt_email),
                name: contact.name,
                failure_reason: c.failure_message,
                order_refs: order_refs([meta_order(&c.metadata), None]),
                checkout_session_id: None,
                tip,
                hold,
            })
        }
        "charge.dispute.created" | "charge.dispute.closed" => {
            let d: event::Dispute = parse(object, "dispute")?;
            let status = match d.status.as_deref() {
                None => DisputeStatus::NeedsResponse,
                Some(s) => DisputeStatus::parse(s)
                    .ok_or_else(|| format!("dispute status {s:?} is not one the gateway knows"))?,
            };
            Observation::Dispute(DisputeObs {
                dispute_id: d.id,
                charge_id: id_of(&d.charge),
                payment_intent: id_of(&d.payment_intent),
                amount: d.amount.unwrap_or(0),
                currency: lower(d.currency).unwrap_or_default(),
                reason: d.reason,
                status,
            })
        }
        "customer.deleted" => {
            let c: event::Customer = parse(object, "customer")?;
            Observation::CustomerDeleted { customer_id: c.id }
        }
        other => Observation::Ignored(format!("event type {other} is not handled")),
    };
    Ok(obs)
}

/// True when a payment's key is a legacy charge's id rather than a PaymentIntent's.
pub fn is_legacy_charge_key(key: &str) -> bool {
    !key.starts_with("pi_")
}

/// The `type` label of an event: one of the handled types, else `other` (bounded cardinality).
pub fn type_label(event_type: &str) -> &'static str {
    HANDLED_TYPES
        .iter()
        .find(|h| **h == event_type)
        .copied()
        .unwrap_or("other")
}
