//! Store: a tenant's payments and disputes as the API and the apply path read them.
use super::scope::ScopedTenant;
use super::{Page, PageRequest, paginate};
use entity::{disputes, payments};
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder};
use uuid::Uuid;

/// All payments linked to an order, oldest first.
pub async fn of_order<C: ConnectionTrait>(
    db: &C,
    tenant: &ScopedTenant,
    order_id: Uuid,
) -> Result<Vec<payments::Model>, DbErr> {
    payments::Entity::find()
        .filter(payments::Column::TenantId.eq(tenant.id))
        .filter(payments::Column::OrderId.eq(order_id))
        .order_by_asc(payments::Column::Id)
        .all(db)
        .await
}

/// The tenant's payment for a PaymentIntent, if any (reconciliation's comparison).
pub async fn by_intent<C: ConnectionTrait>(
    db: &C,
    tenant_id: Uuid,
    pi: &str,
) -> Result<Option<payments::Model>, DbErr> {
    payments::Entity::find()
        .filter(payments::Column::TenantId.eq(tenant_id))
        .filter(payments::Column::StripePaymentIntentId.eq(pi))
        .one(db)
        .await
}

pub async fn list<C: ConnectionTrait>(
    db: &C,
    tenant: &ScopedTenant,
    page: PageRequest,
) -> Result<Page<payments::Model>, DbErr> {
    let q = payments::Entity::find().filter(payments::Column::TenantId.eq(tenant.id));
    paginate(db, q, payments::Column::Id, page, |m| m.id).await
}

pub async fn get<C: ConnectionTrait>(
    db: &C,
    tenant: &ScopedTenant,
    id: Uuid,
) -> Result<Option<payments::Model>, DbErr> {
    payments::Entity::find_by_id(id)
        .filter(payments::Column::TenantId.eq(tenant.id))
        .one(db)
        .await
}

pub async fn list_disputes<C: ConnectionTrait>(
    db: &C,
    tenant: &ScopedTenant,
    page: PageRequest,
) -> Result<Page<disputes::Model>, DbErr> {
    let q = disputes::Entity::find().filter(disputes::Column::TenantId.eq(tenant.id));
    paginate(db, q, disputes::Column::Id, page, |m| m.id).await
}
