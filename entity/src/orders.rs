//! Entity: an order a tenant takes payment for. Money in minor units.
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, serde::Serialize, serde::Deserialize)]
#[sea_orm(table_name = "orders")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub reference: String,
    pub amount: i64,
    pub currency: String,
    pub status: crate::status::OrderStatus,
    pub amount_refunded: i64,
    pub customer_email: Option<String>,
    /// JSON object as text.
    pub metadata: Option<String>,
    pub checkout_session_id: Option<String>,
    /// Set when its Checkout Session expired (a fact; the status is derived).
    pub expired_at: Option<DateTimeUtc>,
    /// Captured by its succeeded payments, tips included (minor units).
    pub amount_paid: i64,
    /// The tips those payments declare.
    pub tip_amount: i64,
    /// `amount` − (`amount_paid` − `tip_amount`), never below 0.
    pub amount_due: i64,
    /// Held by authorizations not yet captured.
    pub amount_authorized: i64,
    /// Why it needs review (`NEEDS_REVIEW` only).
    pub review_reason: Option<crate::status::ReviewReason>,
    /// The tenant's tip limit when the order was made, in basis points of `amount`.
    pub max_tip_bps: i32,
    /// The soonest deadline of its live authorizations.
    pub capture_before: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
