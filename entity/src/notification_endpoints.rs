//! Entity: where a tenant wants its order changes sent (a Standard Webhooks receiver).
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "notification_endpoints")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub url: String,
    pub description: String,
    /// Space-separated event types sent; empty means every type.
    pub events: String,
    pub enabled: bool,
    /// Why the gateway disabled it (`failing`), if it did.
    pub disabled_reason: Option<String>,
    /// When its current run of failed attempts began.
    pub failing_since: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
