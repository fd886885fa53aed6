//! Entity: the gateway's facts about one Stripe PaymentIntent of a tenant.
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, serde::Serialize, serde::Deserialize)]
#[sea_orm(table_name = "payments")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub order_id: Option<Uuid>,
    pub stripe_payment_intent_id: String,
    pub stripe_charge_id: Option<String>,
    pub amount: i64,
    pub amount_refunded: i64,
    /// Two successful observations disagreed on amount or currency.
    pub amount_conflict: bool,
    pub currency: String,
    pub status: crate::status::PaymentStatus,
    pub customer_id: Option<String>,
    pub customer_email: Option<String>,
    pub customer_name: Option<String>,
    pub livemode: bool,
    pub failure_reason: Option<String>,
    /// Stripe `created` (unix seconds) of the newest event applied.
    pub last_event_created: i64,
    /// The tip this payment carries, in minor units: the declared one, else what a capture took
    /// beyond the authorization (an overcapture). Derived from the fields below.
    pub tip_amount: i64,
    /// The tip Stripe declares (`amount_details.tip.amount`) or metadata does (`tip_amount`).
    pub tip_declared: i64,
    /// The most an authorization of this payment held.
    pub amount_authorized: i64,
    /// What the authorization still holds (0 unless `authorized`).
    pub amount_capturable: i64,
    /// `automatic` or `manual`, as Stripe says.
    pub capture_method: Option<String>,
    /// When Stripe cancels the authorization if it is not captured.
    pub capture_before: Option<DateTimeUtc>,
    /// `capture_before` is the card's own deadline, not the created + 7 days default.
    pub capture_before_exact: bool,
    /// The most that can be captured, when Stripe offers overcapture on this authorization.
    pub overcapture_max: Option<i64>,
    /// Stripe offers incremental authorization on it.
    pub increment_supported: bool,
    /// When `order.authorization_expiring` was announced for it.
    pub expiry_warned_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
