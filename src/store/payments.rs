//! Store: a tenant's payments and disputes as the API and the apply path read them.
use super::scope::ScopedTenant;
use entity::payments;
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
