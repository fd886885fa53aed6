//! Entity: a refund the gateway asked Stripe for (see the migration that creates the table).
//! `state`: `pending` (asked, outcome not known), `made` (Stripe made it: `stripe_refund_id`),
//! `failed` (Stripe refused: `failure`; its amount no longer counts against the payment).
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "refund_requests")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub order_id: Uuid,
    pub payment_id: Uuid,
    pub payment_intent: String,
    pub amount: i64,
    pub currency: String,
    pub reason: Option<String>,
    pub caller_key: Option<String>,
    #[sea_orm(unique)]
    pub stripe_key: String,
    pub stripe_refund_id: Option<String>,
    pub stripe_status: Option<String>,
    pub state: crate::status::RefundState,
    pub failure: Option<String>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
