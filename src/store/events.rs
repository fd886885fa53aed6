//! Store: the webhook event log. (tenant, Stripe event id) is unique: the idempotency key.
use super::scope::ScopedTenant;
use super::{Page, PageRequest, paginate};
use chrono::{DateTime, Utc};
use entity::status::EventStatus;
use entity::webhook_events::{ActiveModel, Column, Entity, Model};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbErr, EntityTrait, FromQueryResult, QueryFilter, QueryOrder,
    QuerySelect, Set, TryInsertResult,
};
use uuid::Uuid;

/// The status nearly every event ends in; the only one not in the partial status index.
const COMPLETED: EventStatus = EventStatus::Completed;

/// What is known of an event when it arrives.
#[derive(Clone, Copy)]
pub struct NewEvent<'a> {
    pub tenant_id: Uuid,
    pub stripe_event_id: &'a str,
    pub event_type: &'a str,
    pub api_version: Option<&'a str>,
    pub livemode: bool,
    pub stripe_created: i64,
    pub payload: &'a str,
    pub received_at: DateTime<Utc>,
}

pub async fn find<C: ConnectionTrait>(
    db: &C,
    tenant_id: Uuid,
    stripe_event_id: &str,
) -> Result<Option<Model>, DbErr> {
    Entity::find()
        .filter(Column::TenantId.eq(tenant_id))
        .filter(Column::StripeEventId.eq(stripe_event_id))
        .one(db)
        .await
}

/// An event row to record: `processing`, or already finished (`completed`, `ignored`) and then
/// processed when received.
pub struct EventRow<'a> {
    pub id: Uuid,
    pub event: NewEvent<'a>,
    pub status: EventStatus,
    pub last_error: Option<&'a str>,
}

impl EventRow<'_> {
    /// The row as sea-orm inserts it.
    pub fn active_model(&self) -> ActiveModel {
        let e = &self.event;
        ActiveModel {
            id: Set(self.id),
            tenant_id: Set(e.tenant_id),
            stripe_event_id: Set(e.stripe_event_id.to_owned()),
            event_type: Set(e.event_type.to_owned()),
            api_version: Set(e.api_version.map(str::to_owned)),
            livemode: Set(e.livemode),
            stripe_created: Set(e.stripe_created),
            status: Set(self.status),
            attempts: Set(1),
            last_error: Set(self.last_error.map(str::to_owned)),
            payload: Set(Some(e.payload.to_owned())),
            received_at: Set(e.received_at),
            processed_at: Set((self.status != EventStatus::Processing).then_some(e.received_at)),
        }
    }
}

/// Inserts the event as `processing` (attempt 1) unless it is already known; `true` if inserted.
pub async fn insert_new<C: ConnectionTrait>(db: &C, e: &NewEvent<'_>) -> Result<bool, DbErr> {
    let row = EventRow {
        id: Uuid::now_v7(),
        event: *e,
        status: EventStatus::Processing,
        last_error: None,
    }
    .active_model();
    let res = Entity::insert(row)
        .on_conflict_do_nothing_on([Column::TenantId, Column::StripeEventId])
        .exec_without_returning(db)
        .await?;
    Ok(matches!(res, TryInsertResult::Inserted(n) if n > 0))
}

/// Claims a known event for another attempt, if its status is still `expected_status`
/// (another replica that got there first makes this return false).
pub async fn claim<C: ConnectionTrait>(
    db: &C,
    id: Uuid,
    expected_status: EventStatus,
) -> Result<bool, DbErr> {
    let res = Entity::update_many()
        .col_expr(Column::Attempts, Expr::col(Column::Attempts).add(1))
        .col_expr(Column::Status, Expr::value(EventStatus::Processing))
        .filter(Column::Id.eq(id))
        .filter(Column::Status.eq(expected_status))
        .exec(db)
        .await?;
    Ok(res.rows_affected == 1)
}

/// Records how processing ended.
pub async fn finish<C: ConnectionTrait>(
    db: &C,
    tenant_id: Uuid,
    stripe_event_id: &str,
    status: EventStatus,
    last_error: Option<String>,
    at: DateTime<Utc>,
) -> Result<(), DbErr> {
    Entity::update_many()
        .col_expr(Column::Status, Expr::value(status))
        .col_expr(Column::LastError, Expr::value(last_error))
        .col_expr(Column::ProcessedAt, Expr::value(Some(at)))
        .filter(Column::TenantId.eq(tenant_id))
        .filter(Column::StripeEventId.eq(stripe_event_id))
        .exec(db)
        .await?;
    Ok(())
}

/// Records a failed attempt, creating the row if the failure rolled back its insert.
pub async fn record_failure<C: ConnectionTrait>(
    db: &C,
    e: &NewEvent<'_>,
    reason: &str,
    at: DateTime<Utc>,
) -> Result<(), DbErr> {
    if !insert_new(db, e).await? {
        Entity::update_many()
            .col_expr(Column::Attempts, Expr::col(Column::Attempts).add(1))
            .filter(Column::TenantId.eq(e.tenant_id))
            .filter(Column::StripeEventId.eq(e.stripe_event_id))
            .exec(db)
            .await?;
    }
    finish(
        db,
        e.tenant_id,
        e.stripe_event_id,
        EventStatus::Failed,
        Some(reason.to_owned()),
        at,
    )
    .await
}

/// Filters for the event list.
#[derive(Default)]
pub struct EventFilter {
    pub status: Option<EventStatus>,
    pub event_type: Option<String>,
}

pub async fn list<C: ConnectionTrait>(
    db: &C,
    tenant: &ScopedTenant,
    filter: EventFilter,
    page: PageRequest,
) -> Result<Page<Model>, DbErr> {
    let mut q = Entity::find().filter(Column::TenantId.eq(tenant.id));
    if let Some(s) = filter.status {
        if s != COMPLETED {
            // Spelled out so SQLite, too, reads the partial index of unfinished events.
            q = q.filter(Column::Status.ne(COMPLETED));
        }
        q = q.filter(Column::Status.eq(s));
    }
    if let Some(t) = filter.event_type {
        q = q.filter(Column::EventType.eq(t));
    }
    paginate(db, q, Column::Id, page, |m| m.id).await
}

/// An event by the gateway's id or by Stripe's `evt_…` id.
pub async fn get<C: ConnectionTrait>(
    db: &C,
    tenant: &ScopedTenant,
    reference: &str,
) -> Result<Option<Model>, DbErr> {
    match Uuid::parse_str(reference) {
        Ok(id) => {
            Entity::find_by_id(id)
                .filter(Column::TenantId.eq(tenant.id))
                .one(db)
                .await
        }
        Err(_) => find(db, tenant.id, reference).await,
    }
}

#[derive(FromQueryResult)]
struct StatusCount {
    status: EventStatus,
    n: i64,
}

/// How many of the tenant's events are in each status: the unfinished ones from their partial
/// index, `completed` as the rest of the tenant's total.
pub async fn counts_by_status<C: ConnectionTrait>(
    db: &C,
    tenant: &ScopedTenant,
) -> Result<Vec<(EventStatus, i64)>, DbErr> {
    let mut rows = Entity::find()
        .select_only()
        .column(Column::Status)
        .column_as(Expr::col(Column::Id).count(), "n")
        .filter(Column::TenantId.eq(tenant.id))
        .filter(Column::Status.ne(COMPLETED))
        .group_by(Column::Status)
        .into_model::<StatusCount>()
        .all(db)
        .await?;
    let total: Option<i64> = Entity::find()
        .select_only()
        .column_as(Expr::col(Column::Id).count(), "n")
        .filter(Column::TenantId.eq(tenant.id))
        .into_tuple()
        .one(db)
        .await?;
    let others: i64 = rows.iter().map(|r| r.n).sum();
    let completed = total.unwrap_or(0) - others;
    if completed > 0 {
        rows.push(StatusCount {
            status: COMPLETED,
            n: completed,
        });
    }
    Ok(rows.into_iter().map(|r| (r.status, r.n)).collect())
}

/// When the tenant's newest event (by arrival) that completed was processed. Walks the tenant's
/// events from the newest, so it stops at the first completed one.
pub async fn last_success<C: ConnectionTrait>(
    db: &C,
    tenant: &ScopedTenant,
) -> Result<Option<DateTime<Utc>>, DbErr> {
    Ok(Entity::find()
        .filter(Column::TenantId.eq(tenant.id))
        .filter(Column::Status.eq(COMPLETED))
        .order_by_desc(Column::Id)
        .one(db)
        .await?
        .and_then(|m| m.processed_at))
}
