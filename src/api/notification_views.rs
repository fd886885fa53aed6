//! API: the shapes of notification endpoints — what is sent in and answered, and the closed set
//! of notification types (`order.` and an order status, lowercased).
use super::patterns::{Matches, Matching, Text, Url};
use crate::domain::notification as rules;
use chrono::{DateTime, Utc};
use poem_openapi::{Enum, Object};
use uuid::Uuid;

/// A notification's type: `order.` and the order's new status, lowercased; or
/// `order.authorization_expiring`, the notice that an authorization lapses within the warning
/// window (`GATEWAY_AUTHORIZATION_WARNING`).
#[derive(Enum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum NotificationType {
    #[oai(rename = "order.payment_pending")]
    PaymentPending,
    #[oai(rename = "order.paid")]
    Paid,
    #[oai(rename = "order.payment_failed")]
    PaymentFailed,
    #[oai(rename = "order.expired")]
    Expired,
    #[oai(rename = "order.needs_review")]
    NeedsReview,
    #[oai(rename = "order.partially_refunded")]
    PartiallyRefunded,
    #[oai(rename = "order.refunded")]
    Refunded,
    #[oai(rename = "order.disputed")]
    Disputed,
    #[oai(rename = "order.dispute_lost")]
    DisputeLost,
    #[oai(rename = "order.authorized")]
    Authorized,
    #[oai(rename = "order.partially_paid")]
    PartiallyPaid,
    #[oai(rename = "order.authorization_expiring")]
    AuthorizationExpiring,
}

impl NotificationType {
    /// The type's name, as notifications and stored filters carry it.
    pub(super) fn name(self) -> String {
        use entity::status::OrderStatus as S;
        let status = match self {
            Self::AuthorizationExpiring => {
                return format!("order.{}", crate::domain::notification::EXPIRING);
            }
            Self::PaymentPending => S::PaymentPending,
            Self::Paid => S::Paid,
            Self::PaymentFailed => S::PaymentFailed,
            Self::Expired => S::Expired,
            Self::NeedsReview => S::NeedsReview,
            Self::PartiallyRefunded => S::PartiallyRefunded,
            Self::Refunded => S::Refunded,
            Self::Disputed => S::Disputed,
            Self::DisputeLost => S::DisputeLost,
            Self::Authorized => S::Authorized,
            Self::PartiallyPaid => S::PartiallyPaid,
        };
        status.event_type()
    }

    /// The stored filter of these types.
    pub(super) fn filter(types: &[Self]) -> String {
        let names: Vec<String> = types.iter().map(|t| t.name()).collect();
        rules::events_filter(names.iter().map(String::as_str))
    }

    /// The types a stored filter names (empty: every type).
    pub(super) fn parse_filter(stored: &str) -> Vec<Self> {
        const ALL: [NotificationType; 12] = [
            NotificationType::PaymentPending,
            NotificationType::Paid,
            NotificationType::PaymentFailed,
            NotificationType::Expired,
            NotificationType::NeedsReview,
            NotificationType::PartiallyRefunded,
            NotificationType::Refunded,
            NotificationType::Disputed,
            NotificationType::DisputeLost,
            NotificationType::Authorized,
            NotificationType::PartiallyPaid,
            NotificationType::AuthorizationExpiring,
        ];
        stored
            .split(' ')
            .filter_map(|t| ALL.into_iter().find(|a| a.name() == t))
            .collect()
    }
}

/// A signing secret, by its hint.
#[derive(Object)]
pub struct SecretHintOut {
    pub id: Uuid,
    /// `whsec_…` and the last four characters.
    pub hint: String,
    pub created_at: DateTime<Utc>,
    /// When it stops signing (set by a rotation); null while it is the current one.
    #[oai(nullable)]
    pub expires_at: Option<DateTime<Utc>>,
}

/// A notification endpoint (never its secrets).
#[derive(Object)]
pub struct NotificationEndpointOut {
    pub id: Uuid,
    pub url: String,
    pub description: String,
    /// The types sent; empty: every type.
    pub events: Vec<NotificationType>,
    pub enabled: bool,
    /// `failing` when the gateway disabled it after five days of failed attempts.
    #[oai(nullable)]
    pub disabled_reason: Option<String>,
    /// When its current run of failed attempts began; null while it answers.
    #[oai(nullable)]
    pub failing_since: Option<DateTime<Utc>>,
    /// The secrets that sign its notifications now (two during a rotation).
    pub secrets: Vec<SecretHintOut>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A new endpoint, with its signing secret shown this once.
#[derive(Object)]
pub struct NotificationEndpointCreatedOut {
    #[oai(flatten)]
    pub endpoint: NotificationEndpointOut,
    /// `whsec_…`: verify notifications with it (Standard Webhooks). Store it now.
    pub secret: String,
}

/// An endpoint to register.
#[derive(Object)]
pub struct NotificationEndpointIn {
    /// `https://…` on a public address, at most 2048 characters.
    #[oai(validator(max_length = 2048, custom = "Matches::new()"))]
    pub url: Matching<Url>,
    /// The types to send; omitted or empty: every type.
    #[oai(deserialize_with = "super::strict::optional")]
    pub events: Option<Vec<NotificationType>>,
    /// At most 500 characters, no control characters.
    #[oai(
        deserialize_with = "super::strict::optional",
        validator(max_length = 500, custom = "Matches::new()")
    )]
    pub description: Option<Matching<Text>>,
    /// Default true.
    #[oai(deserialize_with = "super::strict::optional")]
    pub enabled: Option<bool>,
}

/// Changes to an endpoint; omitted fields stay.
#[derive(Object)]
pub struct NotificationEndpointPatch {
    #[oai(
        deserialize_with = "super::strict::optional",
        validator(max_length = 2048, custom = "Matches::new()")
    )]
    pub url: Option<Matching<Url>>,
    #[oai(deserialize_with = "super::strict::optional")]
    pub events: Option<Vec<NotificationType>>,
    #[oai(
        deserialize_with = "super::strict::optional",
        validator(max_length = 500, custom = "Matches::new()")
    )]
    pub description: Option<Matching<Text>>,
    /// Enabling an endpoint the gateway disabled clears its failing run.
    #[oai(deserialize_with = "super::strict::optional")]
    pub enabled: Option<bool>,
}

/// A rotation: how long the current secrets keep signing beside the new one.
#[derive(Object)]
pub struct SecretRotationIn {
    /// Seconds, 0–604800 (7 days); default 86400 (a day). 0: the old secrets stop at once.
    #[oai(
        deserialize_with = "super::strict::optional",
        validator(minimum(value = "0"), maximum(value = "604800"))
    )]
    pub expire_previous_in_secs: Option<u32>,
}

/// A new signing secret, shown this once.
#[derive(Object)]
pub struct SecretCreatedOut {
    pub id: Uuid,
    pub secret: String,
    pub hint: String,
    pub created_at: DateTime<Utc>,
    /// When the previous secrets stop signing.
    pub previous_expire_at: DateTime<Utc>,
}

super::pagination::page_view! {
    /// A page of endpoints.
    NotificationEndpointPage of NotificationEndpointOut
}
