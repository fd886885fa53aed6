//! Store: events the Connect endpoint verified but gave to no tenant (`unrouted_events`) —
//! platform events (no account) and events for an account no tenant had yet, kept until a tenant
//! takes the account (then they are routed to it, once) or retention removes them. Stripe's
//! event id is unique: a redelivery is recorded once.
use super::{Page, PageRequest, paginate};
use chrono::{DateTime, Utc};
use entity::status::TenantStatus;
use entity::tenants;
use entity::unrouted_events::{ActiveModel, Column, Entity, Model};
use sea_orm::sea_query::{Expr, Query};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set,
    TryInsertResult,
};
use std::collections::HashMap;
use uuid::Uuid;

/// A verified Connect event no tenant took.
pub struct NewUnrouted<'a> {
    pub stripe_event_id: &'a str,
    pub account: Option<&'a str>,
    pub event_type: &'a str,
    pub livemode: bool,
    pub stripe_created: i64,
    pub payload: &'a str,
    pub received_at: DateTime<Utc>,
}

/// Records the event unless it is known already; `true` if it was new.
pub async fn record<C: ConnectionTrait>(db: &C, e: &NewUnrouted<'_>) -> Result<bool, DbErr> {
    let row = ActiveModel {
        id: Set(Uuid::now_v7()),
        stripe_event_id: Set(e.stripe_event_id.to_owned()),
        account: Set(e.account.map(str::to_owned)),
        event_type: Set(e.event_type.to_owned()),
        livemode: Set(e.livemode),
        stripe_created: Set(e.stripe_created),
        payload: Set(e.payload.to_owned()),
        received_at: Set(e.received_at),
        routed_tenant_id: Set(None),
        routed_at: Set(None),
    };
    let res = Entity::insert(row)
        .on_conflict_do_nothing_on([Column::StripeEventId])
        .exec_without_returning(db)
        .await?;
    Ok(matches!(res, TryInsertResult::Inserted(n) if n > 0))
}

/// Which recorded events a listing shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shown {
    /// For an account no tenant has taken yet.
    Waiting,
    /// Routed to a tenant since.
    Routed,
    /// Platform events (no account): recorded, never applied.
    Platform,
}

pub async fn list<C: ConnectionTrait>(
    db: &C,
    shown: Shown,
    account: Option<&str>,
    page: PageRequest,
) -> Result<Page<Model>, DbErr> {
    let mut select = match shown {
        Shown::Waiting => Entity::find()
            .filter(Column::Account.is_not_null())
            .filter(Column::RoutedAt.is_null()),
        Shown::Routed => Entity::find().filter(Column::RoutedAt.is_not_null()),
        Shown::Platform => Entity::find().filter(Column::Account.is_null()),
    };
    if let Some(account) = account {
        select = select.filter(Column::Account.eq(account));
    }
    paginate(db, select, Column::Id, page, |m| m.id).await
}

/// Up to `limit` waiting events whose account an active tenant now has, oldest first, each with
/// that tenant's id.
pub async fn routable<C: ConnectionTrait>(db: &C, limit: u64) -> Result<Vec<(Model, Uuid)>, DbErr> {
    let taken = Query::select()
        .column(tenants::Column::StripeAccountId)
        .from(tenants::Entity)
        .and_where(tenants::Column::Status.eq(TenantStatus::Active))
        .and_where(tenants::Column::StripeAccountId.is_not_null())
        .to_owned();
    let rows = Entity::find()
        .filter(Column::RoutedAt.is_null())
        .filter(Column::Account.in_subquery(taken))
        .order_by_asc(Column::Id)
        .limit(limit)
        .all(db)
        .await?;
    let accounts: Vec<&str> = rows.iter().filter_map(|r| r.account.as_deref()).collect();
    let owners: HashMap<String, Uuid> = tenants::Entity::find()
        .select_only()
        .columns([tenants::Column::StripeAccountId, tenants::Column::Id])
        .filter(tenants::Column::StripeAccountId.is_in(accounts))
        .into_tuple::<(String, Uuid)>()
        .all(db)
        .await?
        .into_iter()
        .collect();
    Ok(rows
        .into_iter()
        .filter_map(|row| {
            let owner = owners.get(row.account.as_deref()?).copied()?;
            Some((row, owner))
        })
        .collect())
}

/// Marks the event as handed to `tenant_id`'s write path.
pub async fn mark_routed<C: ConnectionTrait>(
    db: &C,
    id: Uuid,
    tenant_id: Uuid,
) -> Result<(), DbErr> {
    Entity::update_many()
        .col_expr(Column::RoutedTenantId, Expr::value(tenant_id))
        .col_expr(Column::RoutedAt, Expr::value(Utc::now()))
        .filter(Column::Id.eq(id))
        .exec(db)
        .await
        .map(drop)
}

/// Deletes up to `limit` events received before `cutoff` (routed or not: past retention the
/// payload goes, and an event is nothing without it).
pub async fn delete_before<C: ConnectionTrait>(
    db: &C,
    cutoff: DateTime<Utc>,
    limit: u64,
) -> Result<u64, DbErr> {
    let batch = Query::select()
        .column(Column::Id)
        .from(Entity)
        .and_where(Column::ReceivedAt.lt(cutoff))
        .limit(limit)
        .to_owned();
    Ok(Entity::delete_many()
        .filter(Column::Id.in_subquery(batch))
        .exec(db)
        .await?
        .rows_affected)
}
