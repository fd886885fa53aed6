//! Store: a tenant's orders.
use super::scope::ScopedTenant;
use super::{Page, PageRequest, paginate};
use crate::domain::{Amount, Currency, OrderReference};
use chrono::Utc;
use entity::orders;
use sea_orm::sea_query::{ExprTrait, NullOrdering, Order};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, DbErr, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect, Set,
};
use uuid::Uuid;

pub struct NewOrder {
    pub reference: OrderReference,
    pub amount: Amount,
    pub currency: Currency,
    pub customer_email: Option<String>,
    pub metadata: Option<String>,
}

pub async fn create<C: ConnectionTrait>(
    db: &C,
    tenant: &ScopedTenant,
    new: NewOrder,
) -> Result<orders::Model, DbErr> {
    let now = Utc::now();
    orders::ActiveModel {
        id: Set(Uuid::now_v7()),
        tenant_id: Set(tenant.id),
        reference: Set(new.reference.into_string()),
        amount: Set(new.amount.get()),
        currency: Set(new.currency.into_string()),
        status: Set(entity::status::OrderStatus::PaymentPending),
        amount_refunded: Set(0),
        customer_email: Set(new.customer_email),
        metadata: Set(new.metadata),
        checkout_session_id: Set(None),
        expired_at: Set(None),
        amount_paid: Set(0),
        tip_amount: Set(0),
        amount_due: Set(new.amount.get()),
        amount_authorized: Set(0),
        review_reason: Set(None),
        max_tip_bps: Set(tenant.max_tip_bps),
        capture_before: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(db)
    .await
}

/// Which orders a list shows, and in which order.
#[derive(Clone, Debug, Default)]
pub struct OrderFilter {
    pub status: Option<entity::status::OrderStatus>,
    /// Only the order with this reference (the restaurant's own id).
    pub reference: Option<String>,
    /// Soonest authorization deadline first (orders without one last), else oldest first.
    pub by_deadline: bool,
}

/// The tenant's order with this reference (unique per tenant), if any.
pub async fn by_reference<C: ConnectionTrait>(
    db: &C,
    tenant: &ScopedTenant,
    reference: &str,
) -> Result<Option<orders::Model>, DbErr> {
    super::owned::of::<orders::Entity>(tenant)
        .filter(orders::Column::Reference.eq(reference))
        .one(db)
        .await
}

pub async fn list<C: ConnectionTrait>(
    db: &C,
    tenant: &ScopedTenant,
    filter: OrderFilter,
    page: PageRequest,
) -> Result<Page<orders::Model>, DbErr> {
    use orders::Column as O;
    let mut q = orders::Entity::find().filter(O::TenantId.eq(tenant.id));
    if let Some(status) = filter.status {
        q = q.filter(O::Status.eq(status));
    }
    if let Some(reference) = filter.reference {
        q = q.filter(O::Reference.eq(reference));
    }
    if !filter.by_deadline {
        return paginate(db, q, O::Id, page, |m| m.id).await;
    }
    // Keyset on (deadline, id), NULL deadlines last: the cursor is the last order's id.
    if let Some(after) = page.after {
        let last = orders::Entity::find_by_id(after)
            .filter(O::TenantId.eq(tenant.id))
            .one(db)
            .await?;
        let after_it = match last.and_then(|l| l.capture_before.map(|c| (c, l.id))) {
            Some((c, id)) => Condition::any()
                .add(O::CaptureBefore.gt(c))
                .add(O::CaptureBefore.eq(c).and(O::Id.gt(id)))
                .add(O::CaptureBefore.is_null()),
            None => Condition::all()
                .add(O::CaptureBefore.is_null())
                .add(O::Id.gt(after)),
        };
        q = q.filter(after_it);
    }
    let mut items = q
        .order_by_with_nulls(O::CaptureBefore, Order::Asc, NullOrdering::Last)
        .order_by_asc(O::Id)
        .limit(page.limit + 1)
        .all(db)
        .await?;
    let next_cursor = if items.len() as u64 > page.limit {
        items.truncate(page.limit as usize);
        items.last().map(|m| super::encode_cursor(m.id))
    } else {
        None
    };
    Ok(Page { items, next_cursor })
}

/// Records the Checkout Session created for an order.
pub async fn set_checkout_session<C: ConnectionTrait>(
    db: &C,
    tenant: &ScopedTenant,
    order_id: Uuid,
    session_id: &str,
) -> Result<(), DbErr> {
    use sea_orm::sea_query::Expr;
    orders::Entity::update_many()
        .col_expr(
            orders::Column::CheckoutSessionId,
            Expr::value(Some(session_id.to_owned())),
        )
        .col_expr(orders::Column::UpdatedAt, Expr::value(Utc::now()))
        .filter(orders::Column::TenantId.eq(tenant.id))
        .filter(orders::Column::Id.eq(order_id))
        .exec(db)
        .await?;
    Ok(())
}

/// These orders, whatever their tenant (a status token names its order; the token is the scope).
pub async fn by_ids<C: ConnectionTrait>(
    db: &C,
    ids: Vec<Uuid>,
) -> Result<Vec<orders::Model>, DbErr> {
    orders::Entity::find()
        .filter(orders::Column::Id.is_in(ids))
        .all(db)
        .await
}
