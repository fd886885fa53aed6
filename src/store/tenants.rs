//! Store: tenants.
use super::scope::ScopedTenant;
use super::{Page, PageRequest, paginate};
use crate::domain::Slug;
use chrono::Utc;
use entity::status::{TenantKind, TenantStatus};
use entity::tenants::{self, ActiveModel, Column, Entity, Model};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QuerySelect,
    Set,
};
use uuid::Uuid;

pub struct NewTenant {
    pub slug: Slug,
    pub name: String,
    pub rate_limit_per_second: i64,
    pub rate_limit_burst: i64,
    pub stripe_account_id: Option<String>,
    pub kind: TenantKind,
    pub application_fee_bps: i32,
    pub max_tip_bps: i32,
}

/// Changes to apply; `None` leaves a field alone. `stripe_account_id: Some(None)` clears it.
#[derive(Default)]
pub struct TenantChanges {
    pub name: Option<String>,
    pub status: Option<TenantStatus>,
    pub rate_limit_per_second: Option<i64>,
    pub rate_limit_burst: Option<i64>,
    pub stripe_account_id: Option<Option<String>>,
    pub kind: Option<TenantKind>,
    pub application_fee_bps: Option<i32>,
    pub max_tip_bps: Option<i32>,
}

pub async fn create<C: ConnectionTrait>(db: &C, new: NewTenant) -> Result<Model, DbErr> {
    let now = Utc::now();
    ActiveModel {
        id: Set(Uuid::now_v7()),
        slug: Set(new.slug.into_string()),
        name: Set(new.name),
        status: Set(TenantStatus::Active),
        rate_limit_per_second: Set(new.rate_limit_per_second),
        rate_limit_burst: Set(new.rate_limit_burst),
        stripe_account_id: Set(new.stripe_account_id),
        kind: Set(new.kind),
        application_fee_bps: Set(new.application_fee_bps),
        max_tip_bps: Set(new.max_tip_bps),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(db)
    .await
}

/// The tenant named by `reference`: its id (a UUID) or its slug.
pub async fn find<C: ConnectionTrait>(db: &C, reference: &str) -> Result<Option<Model>, DbErr> {
    match Uuid::parse_str(reference) {
        Ok(id) => Entity::find_by_id(id).one(db).await,
        Err(_) => {
            Entity::find()
                .filter(Column::Slug.eq(reference))
                .one(db)
                .await
        }
    }
}

pub async fn list<C: ConnectionTrait>(db: &C, page: PageRequest) -> Result<Page<Model>, DbErr> {
    paginate(db, Entity::find(), Column::Id, page, |m| m.id).await
}

/// Applies `changes`. A tenant that becomes `connected` loses its own Stripe config and webhook
/// secrets in the same transaction: from then on only the platform's key and Connect endpoint
/// serve it (its own secrets would let its key sign events outside Connect verification).
pub async fn update(
    db: &sea_orm::DatabaseConnection,
    tenant: ScopedTenant,
    changes: TenantChanges,
) -> Result<Model, DbErr> {
    let retire_own_config = changes.kind == Some(TenantKind::Connected);
    let tenant_id = tenant.id;
    let txn = crate::db::begin_write(db).await?;
    let updated = apply(&txn, tenant, changes).await?;
    if retire_own_config {
        super::credentials::retire_tenant(&txn, tenant_id).await?;
    }
    txn.commit().await?;
    Ok(updated)
}

async fn apply<C: ConnectionTrait>(
    db: &C,
    tenant: ScopedTenant,
    changes: TenantChanges,
) -> Result<Model, DbErr> {
    let mut active: ActiveModel = tenant.into_model().into();
    if let Some(name) = changes.name {
        active.name = Set(name);
    }
    if let Some(status) = changes.status {
        active.status = Set(status);
    }
    if let Some(rate) = changes.rate_limit_per_second {
        active.rate_limit_per_second = Set(rate);
    }
    if let Some(burst) = changes.rate_limit_burst {
        active.rate_limit_burst = Set(burst);
    }
    if let Some(account) = changes.stripe_account_id {
        active.stripe_account_id = Set(account);
    }
    if let Some(kind) = changes.kind {
        active.kind = Set(kind);
    }
    if let Some(bps) = changes.application_fee_bps {
        active.application_fee_bps = Set(bps);
    }
    if let Some(bps) = changes.max_tip_bps {
        active.max_tip_bps = Set(bps);
    }
    active.updated_at = Set(Utc::now());
    active.update(db).await
}

/// The id of the tenant whose Stripe account is `account` (Connect routing: the account named
/// by a verified Connect event).
pub async fn by_account<C: ConnectionTrait>(db: &C, account: &str) -> Result<Option<Uuid>, DbErr> {
    Entity::find()
        .select_only()
        .column(Column::Id)
        .filter(Column::StripeAccountId.eq(account))
        .into_tuple()
        .one(db)
        .await
}

/// Every tenant's id and slug (the webhook intake's list of names that exist).
pub async fn references<C: ConnectionTrait>(db: &C) -> Result<Vec<(Uuid, String)>, DbErr> {
    Entity::find()
        .select_only()
        .columns([Column::Id, Column::Slug])
        .into_tuple()
        .all(db)
        .await
}

/// Removes the tenant and, by cascade, every row it owns; false when it was already gone.
pub async fn delete<C: ConnectionTrait>(db: &C, tenant: &ScopedTenant) -> Result<bool, DbErr> {
    let deleted = tenants::Entity::delete_by_id(tenant.id).exec(db).await?;
    Ok(deleted.rows_affected > 0)
}

/// The tenant `reference` (slug or id) names, for the operator's command line (whoever can run
/// it holds the database and the master keys).
pub async fn for_operator<C: ConnectionTrait>(
    db: &C,
    reference: &str,
) -> Result<Option<ScopedTenant>, DbErr> {
    Ok(find(db, reference).await?.map(ScopedTenant::checked))
}

/// Active tenants that can call Stripe — those with a Stripe config of their own, and connected
/// ones when the platform has a config: the scheduled reconciliation's list, in the scope of the
/// job that acts for every tenant.
pub async fn active_with_config<C: ConnectionTrait>(db: &C) -> Result<Vec<ScopedTenant>, DbErr> {
    let platform = super::credentials::get(db, super::credentials::Owner::Platform)
        .await?
        .is_some();
    let configured = super::credentials::tenants_with_keys(db).await?;
    let mut can_call = sea_orm::Condition::any().add(Column::Id.is_in(configured));
    if platform {
        can_call = can_call.add(Column::Kind.eq(TenantKind::Connected));
    }
    Ok(Entity::find()
        .filter(Column::Status.eq(TenantStatus::Active))
        .filter(can_call)
        .all(db)
        .await?
        .into_iter()
        .map(ScopedTenant::checked)
        .collect())
}
