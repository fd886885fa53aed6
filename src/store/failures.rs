//! Store: refused-delivery counters, one row per (tenant or `unknown`, hour, reason).
use super::scope::ScopedTenant;
use chrono::{DateTime, Utc};
use entity::delivery_failures::{ActiveModel, Column, Entity};
use sea_orm::sea_query::{Expr, ExprTrait, OnConflict};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbErr, EntityTrait, FromQueryResult, QueryFilter, QuerySelect,
    Set,
};
use uuid::Uuid;

/// Adds `count` to each (tenant, hour, reason) counter, creating it if needed.
pub async fn add<C: ConnectionTrait>(
    db: &C,
    rows: &[(Option<Uuid>, DateTime<Utc>, &str, i64)],
) -> Result<(), DbErr> {
    let models = rows
        .iter()
        .map(|(tenant, hour, reason, count)| ActiveModel {
            tenant_id: Set(*tenant),
            scope: Set(tenant.map_or_else(|| "unknown".to_owned(), |t| t.to_string())),
            hour: Set(*hour),
            reason: Set((*reason).to_owned()),
            count: Set(*count),
            ..Default::default()
        });
    Entity::insert_many(models)
        .on_conflict(
            OnConflict::columns([Column::Scope, Column::Hour, Column::Reason])
                .value(
                    Column::Count,
                    Expr::col((Entity, Column::Count)).add(Expr::cust("excluded.count")),
                )
                .to_owned(),
        )
        .exec_without_returning(db)
        .await?;
    Ok(())
}

#[derive(FromQueryResult)]
struct ReasonCount {
    reason: String,
    n: i64,
}

/// The tenant's refused deliveries by reason, in the hour buckets starting at or after `since`.
pub async fn since<C: ConnectionTrait>(
    db: &C,
    tenant: &ScopedTenant,
    since: DateTime<Utc>,
) -> Result<Vec<(String, i64)>, DbErr> {
    let rows = Entity::find()
        .select_only()
        .column(Column::Reason)
        .column_as(Expr::cust("CAST(SUM(count) AS BIGINT)"), "n")
        .filter(Column::TenantId.eq(tenant.id))
        .filter(Column::Hour.gte(since))
        .group_by(Column::Reason)
        .into_model::<ReasonCount>()
        .all(db)
        .await?;
    Ok(rows.into_iter().map(|r| (r.reason, r.n)).collect())
}
