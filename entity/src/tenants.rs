//! Entity: a restaurant (tenant) with its own Stripe account.
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "tenants")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    #[sea_orm(unique)]
    pub slug: String,
    pub name: String,
    pub status: crate::status::TenantStatus,
    pub rate_limit_per_second: i64,
    pub rate_limit_burst: i64,
    pub stripe_account_id: Option<String>,
    pub kind: crate::status::TenantKind,
    /// The platform's fee on a connected tenant's checkouts, in basis points (0–10,000).
    pub application_fee_bps: i32,
    /// The largest tip taken as a tip, in basis points of an order's amount (0–100,000).
    pub max_tip_bps: i32,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
