//! Entity: a Stripe dispute (chargeback) on one of a tenant's charges.
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, serde::Serialize, serde::Deserialize)]
#[sea_orm(table_name = "disputes")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub payment_id: Option<Uuid>,
    pub order_id: Option<Uuid>,
    pub stripe_dispute_id: String,
    pub stripe_charge_id: Option<String>,
    pub stripe_payment_intent_id: Option<String>,
    pub amount: i64,
    pub currency: String,
    pub reason: Option<String>,
    pub status: crate::status::DisputeStatus,
    /// Stripe `created` (unix seconds) of the newest event applied.
    pub last_event_created: i64,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
