//! Store: a tenant's orders.
use super::scope::ScopedTenant;
use super::{Page, PageRequest, paginate};
use crate::domain::{Amount, Currency, OrderReference};
use chrono::Utc;
use entity::orders;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, Set,
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
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(db)
    .await
}

pub async fn list<C: ConnectionTrait>(
    db: &C,
    tenant: &ScopedTenant,
    page: PageRequest,
) -> Result<Page<orders::Model>, DbErr> {
    let q = orders::Entity::find().filter(orders::Column::TenantId.eq(tenant.id));
    paginate(db, q, orders::Column::Id, page, |m| m.id).await
}

pub async fn get<C: ConnectionTrait>(
    db: &C,
    tenant: &ScopedTenant,
    id: Uuid,
) -> Result<Option<orders::Model>, DbErr> {
    orders::Entity::find_by_id(id)
        .filter(orders::Column::TenantId.eq(tenant.id))
        .one(db)
        .await
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
