//! Entity: one reconciliation run of a tenant against Stripe's API.
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "reconciliation_runs")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub status: crate::status::RunStatus,
    pub window_start: DateTimeUtc,
    pub window_end: DateTimeUtc,
    pub created_count: i64,
    pub updated_count: i64,
    pub unchanged_count: i64,
    pub failed_count: i64,
    /// JSON array of `{kind, stripe_id, detail}` as text.
    pub discrepancies: String,
    pub error: Option<String>,
    /// Stripe list cursor of the last page fully applied (progress survives a stop).
    pub cursor: Option<String>,
    pub started_at: DateTimeUtc,
    pub finished_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
