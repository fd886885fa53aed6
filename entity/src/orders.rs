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
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
