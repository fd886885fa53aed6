//! Store: reconciliation runs — window, counts, discrepancies, progress, outcome.
use super::scope::ScopedTenant;
use chrono::{DateTime, Utc};
use entity::reconciliation_runs::{ActiveModel, Column, Entity, Model};
use entity::status::RunStatus;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, IntoActiveModel,
    QueryFilter, QueryOrder, Set,
};
use uuid::Uuid;

pub async fn create<C: ConnectionTrait>(
    db: &C,
    tenant: &ScopedTenant,
    window_start: DateTime<Utc>,
    window_end: DateTime<Utc>,
) -> Result<Model, DbErr> {
    ActiveModel {
        id: Set(Uuid::now_v7()),
        tenant_id: Set(tenant.id),
        status: Set(RunStatus::Running),
        window_start: Set(window_start),
        window_end: Set(window_end),
        created_count: Set(0),
        updated_count: Set(0),
        unchanged_count: Set(0),
        failed_count: Set(0),
        discrepancies: Set("[]".to_owned()),
        error: Set(None),
        cursor: Set(None),
        started_at: Set(Utc::now()),
        finished_at: Set(None),
    }
    .insert(db)
    .await
}

/// Saves the run as it stands (progress after a page, or the outcome).
pub async fn save<C: ConnectionTrait>(db: &C, run: Model) -> Result<Model, DbErr> {
    run.into_active_model().reset_all().update(db).await
}

/// The tenant's newest successful run: the next run starts where its window ended.
pub async fn last_succeeded<C: ConnectionTrait>(
    db: &C,
    tenant: &ScopedTenant,
) -> Result<Option<Model>, DbErr> {
    Entity::find()
        .filter(Column::TenantId.eq(tenant.id))
        .filter(Column::Status.eq(RunStatus::Succeeded))
        .order_by_desc(Column::WindowEnd)
        .one(db)
        .await
}

/// Marks runs left `running` by a process that stopped as failed (called at start-up, and only
/// for runs older than `before`, so another replica's live run is not touched).
pub async fn fail_abandoned<C: ConnectionTrait>(
    db: &C,
    before: DateTime<Utc>,
) -> Result<u64, DbErr> {
    use sea_orm::sea_query::Expr;
    Ok(Entity::update_many()
        .col_expr(Column::Status, Expr::value(RunStatus::Failed))
        .col_expr(
            Column::Error,
            Expr::value(Some("the gateway stopped during this run".to_owned())),
        )
        .col_expr(Column::FinishedAt, Expr::value(Some(Utc::now())))
        .filter(Column::Status.eq(RunStatus::Running))
        .filter(Column::StartedAt.lt(before))
        .exec(db)
        .await?
        .rows_affected)
}
