//! Entity: the outbox. One row per order change (status or refunded amount moved by an event),
//! written in the same transaction as the change, or per notice about an order (an
//! authorization about to lapse); fanned out to notification messages once.
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
    /// NULL for a status change; `authorization_expiring` for the notice that an authorization
    /// (`payment_id`) lapses at `capture_before`.
    pub kind: Option<String>,
    pub payment_id: Option<Uuid>,
    pub capture_before: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

impl Model {
    /// The notification type: `order.` and the new status lowercased, or the notice's kind.
    pub fn event_type(&self) -> String {
        match &self.kind {
            Some(kind) => format!("order.{kind}"),
            None => self.to_status.event_type(),
        }
    }
}
