//! Entity: one Stripe event received by a tenant; (tenant, Stripe event id) is the idempotency key.
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "webhook_events")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub stripe_event_id: String,
    pub event_type: String,
    pub api_version: Option<String>,
    pub livemode: bool,
    /// Stripe `created` (unix seconds).
    pub stripe_created: i64,
    pub status: crate::status::EventStatus,
    pub attempts: i32,
    pub last_error: Option<String>,
    /// Raw body as received; cleared by retention.
    pub payload: Option<String>,
    pub received_at: DateTimeUtc,
    pub processed_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
