//! Entity: an event the Connect endpoint verified but gave to no tenant — a platform event
//! (`account` is `None`), or an event for an account no tenant had when it arrived (kept until a
//! tenant takes the account: then `routed_tenant_id`/`routed_at` say where it went).
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "unrouted_events")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    #[sea_orm(unique)]
    pub stripe_event_id: String,
    pub account: Option<String>,
    pub event_type: String,
    pub livemode: bool,
    pub stripe_created: i64,
    pub payload: String,
    pub received_at: DateTimeUtc,
    pub routed_tenant_id: Option<Uuid>,
    pub routed_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
