//! Entity: the outbox. One row per order change (status or refunded amount moved by an event),
//! written in the same transaction as the change; fanned out to notification messages once.
use crate::status::OrderStatus;
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, serde::Serialize, serde::Deserialize)]
#[sea_orm(table_name = "order_changes")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub order_id: Uuid,
    pub reference: String,
    pub from_status: OrderStatus,
    pub to_status: OrderStatus,
    /// The order's amount, in minor units, and currency.
    pub amount: i64,
    pub currency: String,
    /// Refunded amount before and after, in minor units.
    pub refunded_from: i64,
    pub refunded_to: i64,
    /// The order's money after the change (minor units).
    pub amount_paid: i64,
    pub tip_amount: i64,
    pub amount_due: i64,
    pub amount_authorized: i64,
    /// The Stripe event that caused the change.
    pub cause: String,
    pub created_at: DateTimeUtc,
    /// Set once its notification messages exist.
    pub dispatched_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
