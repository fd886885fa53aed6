//! Entity: rejected webhook deliveries, counted per (scope, hour, reason) — never a row per request.
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "delivery_failures")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    /// Null for requests naming no known tenant.
    pub tenant_id: Option<Uuid>,
    /// The tenant id as text, or `unknown`; part of the unique counter key.
    pub scope: String,
    pub hour: DateTimeUtc,
    pub reason: String,
    pub count: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
