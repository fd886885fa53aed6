//! Store: deleting what is past retention, a bounded batch at a time.
use chrono::{DateTime, Utc};
use entity::{delivery_failures, notification_messages, order_changes, webhook_events};
use sea_orm::sea_query::{Expr, Query};
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter};

/// Clears the raw payload of up to `limit` events received before `cutoff`.
pub async fn clear_payloads_before<C: ConnectionTrait>(
    db: &C,
    cutoff: DateTime<Utc>,
    limit: u64,
) -> Result<u64, DbErr> {
    let batch = Query::select()
        .column(webhook_events::Column::Id)
        .from(webhook_events::Entity)
        .and_where(webhook_events::Column::ReceivedAt.lt(cutoff))
        .and_where(webhook_events::Column::Payload.is_not_null())
        .limit(limit)
        .to_owned();
    Ok(webhook_events::Entity::update_many()
        .col_expr(
            webhook_events::Column::Payload,
            Expr::value(Option::<String>::None),
        )
        .filter(webhook_events::Column::Id.in_subquery(batch))
        .exec(db)
        .await?
        .rows_affected)
}

/// Deletes up to `limit` refused-delivery counters of hours before `cutoff`.
pub async fn delete_counters_before<C: ConnectionTrait>(
    db: &C,
    cutoff: DateTime<Utc>,
    limit: u64,
) -> Result<u64, DbErr> {
    let batch = Query::select()
        .column(delivery_failures::Column::Id)
        .from(delivery_failures::Entity)
        .and_where(delivery_failures::Column::Hour.lt(cutoff))
        .limit(limit)
        .to_owned();
    Ok(delivery_failures::Entity::delete_many()
        .filter(delivery_failures::Column::Id.in_subquery(batch))
        .exec(db)
        .await?
        .rows_affected)
}

/// Deletes up to `limit` order changes made before `cutoff` that are fanned out and owe no
/// endpoint an attempt, with their messages (the outbox and its log are kept as long as the
/// payloads).
pub async fn delete_changes_before<C: ConnectionTrait>(
    db: &C,
    cutoff: DateTime<Utc>,
    limit: u64,
) -> Result<u64, DbErr> {
    let owed = Query::select()
        .column(notification_messages::Column::ChangeId)
        .from(notification_messages::Entity)
        .and_where(Expr::cust("status IN ('pending', 'delivering')"))
        .to_owned();
    let batch = Query::select()
        .column(order_changes::Column::Id)
        .from(order_changes::Entity)
        .and_where(order_changes::Column::CreatedAt.lt(cutoff))
        .and_where(order_changes::Column::DispatchedAt.is_not_null())
        .and_where(order_changes::Column::Id.not_in_subquery(owed))
        .limit(limit)
        .to_owned();
    Ok(order_changes::Entity::delete_many()
        .filter(order_changes::Column::Id.in_subquery(batch))
        .exec(db)
        .await?
        .rows_affected)
}
