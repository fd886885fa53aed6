//! Store: the outbox (`order_changes`) and the notification messages fanned out from it. Work is
//! claimed with `FOR UPDATE SKIP LOCKED` on PostgreSQL, so any number of replicas share it (on
//! SQLite, one process, the clause is dropped and the write lock serializes claims). A claimed
//! message is `delivering` until its lease (`next_attempt_at`) ends: a worker that dies
//! mid-delivery leaves it to be claimed again, never dropped.
use super::scope::ScopedTenant;
use super::{Page, PageRequest};
use chrono::{DateTime, Utc};
use entity::order_changes;
use entity::status::MessageStatus;
use entity::{notification_endpoints as endpoints, notification_messages as messages};
use sea_orm::sea_query::{Expr, ExprTrait, LockBehavior, LockType, Query};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, QueryTrait,
};
use uuid::Uuid;

/// Inserts order changes (the write path, inside its transaction).
pub async fn record<C: ConnectionTrait>(
    db: &C,
    changes: &[order_changes::Model],
) -> Result<(), DbErr> {
    if changes.is_empty() {
        return Ok(());
    }
    order_changes::Entity::insert_many(changes.iter().map(|c| {
        let mut active: order_changes::ActiveModel = c.clone().into();
        active.id = Set(c.id);
        active
    }))
    .exec_without_returning(db)
    .await?;
    Ok(())
}

/// The oldest changes not yet fanned out, at most `limit`, locked (skipping rows another worker
/// holds).
pub async fn undispatched<C: ConnectionTrait>(
    db: &C,
    limit: u64,
) -> Result<Vec<order_changes::Model>, DbErr> {
    order_changes::Entity::find()
        .filter(order_changes::Column::DispatchedAt.is_null())
        .order_by_asc(order_changes::Column::CreatedAt)
        .limit(limit)
        .lock_with_behavior(LockType::Update, LockBehavior::SkipLocked)
        .all(db)
        .await
}

/// The enabled endpoints of these tenants.
pub async fn enabled_endpoints<C: ConnectionTrait>(
    db: &C,
    tenants: Vec<Uuid>,
) -> Result<Vec<endpoints::Model>, DbErr> {
    endpoints::Entity::find()
        .filter(endpoints::Column::TenantId.is_in(tenants))
        .filter(endpoints::Column::Enabled.eq(true))
        .all(db)
        .await
}

/// Inserts the messages the changes owe and marks the changes fanned out.
pub async fn dispatch<C: ConnectionTrait>(
    db: &C,
    changes: Vec<Uuid>,
    owed: Vec<messages::Model>,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    if !owed.is_empty() {
        messages::Entity::insert_many(owed.into_iter().map(messages::ActiveModel::from))
            .exec_without_returning(db)
            .await?;
    }
    order_changes::Entity::update_many()
        .col_expr(order_changes::Column::DispatchedAt, Expr::value(now))
        .filter(order_changes::Column::Id.is_in(changes))
        .exec(db)
        .await?;
    Ok(())
}

/// Owed and due at `now`. The status test is written out, not bound: PostgreSQL uses a partial
/// index only when the query's own text implies the index's predicate.
fn due(now: DateTime<Utc>) -> sea_orm::Condition {
    sea_orm::Condition::all()
        .add(Expr::cust("status IN ('pending', 'delivering')"))
        .add(messages::Column::NextAttemptAt.lte(now))
}

/// Enabled endpoints with messages due at `now`, but those in `busy`; at most `limit`. One
/// probe of the due-messages index per endpoint: the cost does not grow with the backlog.
pub async fn endpoints_with_due<C: ConnectionTrait>(
    db: &C,
    now: DateTime<Utc>,
    busy: Vec<Uuid>,
    limit: u64,
) -> Result<Vec<endpoints::Model>, DbErr> {
    let due_here = Query::select()
        .expr(Expr::val(1))
        .from(messages::Entity)
        .and_where(
            Expr::col((messages::Entity, messages::Column::EndpointId))
                .equals((endpoints::Entity, endpoints::Column::Id)),
        )
        .cond_where(due(now))
        .to_owned();
    endpoints::Entity::find()
        .filter(endpoints::Column::Enabled.eq(true))
        .filter(endpoints::Column::Id.is_not_in(busy))
        .filter(Expr::exists(due_here))
        .limit(limit)
        .all(db)
        .await
}

/// Claims up to `limit` of one endpoint's due messages, oldest due first, until `lease_until`
/// (counting the attempt), and returns them with the changes they announce.
pub async fn claim<C: ConnectionTrait>(
    db: &C,
    endpoint_id: Uuid,
    now: DateTime<Utc>,
    lease_until: DateTime<Utc>,
    limit: u64,
) -> Result<Vec<(messages::Model, order_changes::Model)>, DbErr> {
    let ids = messages::Entity::find()
        .select_only()
        .column(messages::Column::Id)
        .filter(messages::Column::EndpointId.eq(endpoint_id))
        .filter(due(now))
        .order_by_asc(messages::Column::NextAttemptAt)
        .limit(limit)
        .lock_with_behavior(LockType::Update, LockBehavior::SkipLocked)
        .into_query();
    let claimed = messages::Entity::update_many()
        .col_expr(
            messages::Column::Status,
            Expr::value(MessageStatus::Delivering),
        )
        .col_expr(messages::Column::NextAttemptAt, Expr::value(lease_until))
        .col_expr(messages::Column::LastAttemptAt, Expr::value(now))
        .col_expr(
            messages::Column::Attempts,
            Expr::col(messages::Column::Attempts).add(1),
        )
        .filter(messages::Column::Id.in_subquery(ids))
        .filter(due(now))
        .exec_with_returning(db)
        .await?;
    if claimed.is_empty() {
        return Ok(Vec::new());
    }
    let changes = order_changes::Entity::find()
        .filter(order_changes::Column::Id.is_in(claimed.iter().map(|m| m.change_id)))
        .all(db)
        .await?;
    Ok(claimed
        .into_iter()
        .filter_map(|m| {
            let change = changes.iter().find(|c| c.id == m.change_id)?.clone();
            Some((m, change))
        })
        .collect())
}

/// What one attempt came to.
pub struct Attempt {
    pub status: MessageStatus,
    pub next_attempt_at: DateTime<Utc>,
    pub response_code: Option<i32>,
    pub error: Option<String>,
    pub at: DateTime<Utc>,
}

/// Records an attempt's result, if the message is still this worker's claim (`attempts`
/// unchanged: a lapsed lease claimed by another worker is left to that one).
pub async fn finish<C: ConnectionTrait>(
    db: &C,
    message: &messages::Model,
    attempt: Attempt,
) -> Result<bool, DbErr> {
    let delivered = attempt.status == MessageStatus::Delivered;
    let res = messages::Entity::update_many()
        .col_expr(messages::Column::Status, Expr::value(attempt.status))
        .col_expr(
            messages::Column::NextAttemptAt,
            Expr::value(attempt.next_attempt_at),
        )
        .col_expr(
            messages::Column::LastResponseCode,
            Expr::value(attempt.response_code),
        )
        .col_expr(messages::Column::LastError, Expr::value(attempt.error))
        .col_expr(
            messages::Column::DeliveredAt,
            Expr::value(delivered.then_some(attempt.at)),
        )
        .filter(messages::Column::Id.eq(message.id))
        .filter(messages::Column::Attempts.eq(message.attempts))
        .filter(messages::Column::Status.eq(MessageStatus::Delivering))
        .exec(db)
        .await?;
    Ok(res.rows_affected == 1)
}

/// Notes an endpoint's success (clears its failing run) or failure (starts one if none); on
/// failure, disables it when its run began before `disable_before`. True when it was disabled.
pub async fn endpoint_outcome<C: ConnectionTrait>(
    db: &C,
    endpoint_id: Uuid,
    ok: bool,
    now: DateTime<Utc>,
    disable_before: DateTime<Utc>,
) -> Result<bool, DbErr> {
    use endpoints::Column as N;
    if ok {
        endpoints::Entity::update_many()
            .col_expr(N::FailingSince, Expr::value(Option::<DateTime<Utc>>::None))
            .filter(N::Id.eq(endpoint_id))
            .filter(N::FailingSince.is_not_null())
            .exec(db)
            .await?;
        return Ok(false);
    }
    endpoints::Entity::update_many()
        .col_expr(N::FailingSince, Expr::value(now))
        .filter(N::Id.eq(endpoint_id))
        .filter(N::FailingSince.is_null())
        .exec(db)
        .await?;
    let disabled = endpoints::Entity::update_many()
        .col_expr(N::Enabled, Expr::value(false))
        .col_expr(N::DisabledReason, Expr::value("failing"))
        .col_expr(N::UpdatedAt, Expr::value(now))
        .filter(N::Id.eq(endpoint_id))
        .filter(N::Enabled.eq(true))
        .filter(N::FailingSince.lte(disable_before))
        .exec(db)
        .await?;
    Ok(disabled.rows_affected == 1)
}

/// A page of one endpoint's messages, oldest first.
pub async fn list<C: ConnectionTrait>(
    db: &C,
    tenant: &ScopedTenant,
    endpoint_id: Uuid,
    page: PageRequest,
    newest_first: bool,
) -> Result<Page<messages::Model>, DbErr> {
    let select = messages::Entity::find()
        .filter(messages::Column::TenantId.eq(tenant.id))
        .filter(messages::Column::EndpointId.eq(endpoint_id));
    let id = messages::Column::Id;
    super::paginate_in(db, select, id, page, |m| m.id, newest_first).await
}

/// Makes a message due now again (a manual retry); `None` when the endpoint has no such
/// message. A message being delivered right now is left to that attempt.
pub async fn retry<C: ConnectionTrait>(
    db: &C,
    tenant: &ScopedTenant,
    endpoint_id: Uuid,
    message_id: Uuid,
    now: DateTime<Utc>,
) -> Result<Option<messages::Model>, DbErr> {
    let scoped = || {
        sea_orm::Condition::all()
            .add(messages::Column::TenantId.eq(tenant.id))
            .add(messages::Column::EndpointId.eq(endpoint_id))
            .add(messages::Column::Id.eq(message_id))
    };
    messages::Entity::update_many()
        .col_expr(
            messages::Column::Status,
            Expr::value(MessageStatus::Pending),
        )
        .col_expr(messages::Column::NextAttemptAt, Expr::value(now))
        .filter(scoped())
        .filter(messages::Column::Status.ne(MessageStatus::Delivering))
        .exec(db)
        .await?;
    messages::Entity::find().filter(scoped()).one(db).await
}

/// How many messages are owed (pending or being delivered) and changes not yet fanned out.
pub async fn backlog<C: ConnectionTrait>(db: &C) -> Result<(u64, u64), DbErr> {
    use sea_orm::PaginatorTrait;
    let messages = messages::Entity::find()
        .filter(messages::Column::Status.is_in([MessageStatus::Pending, MessageStatus::Delivering]))
        .count(db)
        .await?;
    let changes = order_changes::Entity::find()
        .filter(order_changes::Column::DispatchedAt.is_null())
        .count(db)
        .await?;
    Ok((messages, changes))
}

/// These outbox rows.
pub async fn changes<C: ConnectionTrait>(
    db: &C,
    ids: Vec<Uuid>,
) -> Result<Vec<order_changes::Model>, DbErr> {
    order_changes::Entity::find()
        .filter(order_changes::Column::Id.is_in(ids))
        .all(db)
        .await
}

/// Records, in one statement, that these claimed messages (`(id, attempts)` of the claim) were
/// delivered at `at` with answer `code`; a message whose claim lapsed and was taken again is
/// left to its new worker. Returns how many were recorded.
pub async fn finish_delivered<C: ConnectionTrait>(
    db: &C,
    claims: Vec<(Uuid, i32)>,
    code: i32,
    at: DateTime<Utc>,
) -> Result<u64, DbErr> {
    if claims.is_empty() {
        return Ok(0);
    }
    let res = messages::Entity::update_many()
        .col_expr(
            messages::Column::Status,
            Expr::value(MessageStatus::Delivered),
        )
        .col_expr(messages::Column::NextAttemptAt, Expr::value(at))
        .col_expr(messages::Column::DeliveredAt, Expr::value(Some(at)))
        .col_expr(messages::Column::LastResponseCode, Expr::value(Some(code)))
        .col_expr(
            messages::Column::LastError,
            Expr::value(Option::<String>::None),
        )
        .filter(
            Expr::tuple([
                Expr::col(messages::Column::Id),
                Expr::col(messages::Column::Attempts),
            ])
            .in_tuples(claims),
        )
        .filter(messages::Column::Status.eq(MessageStatus::Delivering))
        .exec(db)
        .await?;
    Ok(res.rows_affected)
}
