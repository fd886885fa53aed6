//! Store: a tenant's payments and disputes as the API and the apply path read them.
use super::scope::ScopedTenant;
use super::{Page, PageRequest, owned, paginate};
use entity::payments;
use entity::status::PaymentStatus;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbErr, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
};
use uuid::Uuid;

/// Which payments a list shows, by their order.
#[derive(Clone, Copy, Debug)]
pub enum ByOrder {
    /// Those that took (or hold, or are taking) money and match no order of the tenant.
    Unmatched,
    /// Those of this order.
    Of(Uuid),
}

/// Statuses in which a payment took, holds or is taking money.
const MONEY: [PaymentStatus; 3] = [
    PaymentStatus::Processing,
    PaymentStatus::Authorized,
    PaymentStatus::Succeeded,
];

/// A page of the tenant's payments, oldest first, optionally only those of `by_order`.
pub async fn list<C: ConnectionTrait>(
    db: &C,
    tenant: &ScopedTenant,
    by_order: Option<ByOrder>,
    page: PageRequest,
) -> Result<Page<payments::Model>, DbErr> {
    let q = owned::of::<payments::Entity>(tenant);
    let q = match by_order {
        None => q,
        Some(ByOrder::Unmatched) => q
            .filter(payments::Column::OrderId.is_null())
            .filter(payments::Column::Status.is_in(MONEY)),
        Some(ByOrder::Of(order)) => q.filter(payments::Column::OrderId.eq(order)),
    };
    paginate(db, q, payments::Column::Id, page, |p| p.id).await
}

/// How many of the tenant's payments took money and match no order.
pub async fn unmatched_count<C: ConnectionTrait>(
    db: &C,
    tenant: &ScopedTenant,
) -> Result<u64, DbErr> {
    owned::of::<payments::Entity>(tenant)
        .filter(payments::Column::OrderId.is_null())
        .filter(payments::Column::Status.is_in(MONEY))
        .count(db)
        .await
}

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
