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
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
