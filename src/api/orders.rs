//! API: orders — `/v1/tenants/{tenant}/orders`.
use super::pagination::page_request;
use super::patterns::{Currency, Cursor, Email, Matches, Matching, Reference};
use super::payments::PaymentOut;
use super::{ApiTags, scope};
use crate::app::orders;
use crate::app::orders::{NewOrder, OrderFilter};
use crate::domain;
use crate::error::ApiError;
use crate::state::AppState;
use chrono::{DateTime, Utc};
use entity::orders::Model;
use poem::web::Data;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Enum, Object, OpenApi};
use std::collections::BTreeMap;
use uuid::Uuid;

/// Derived from all the order's payments and disputes: `PAID` when the payments, tips aside,
/// come to its amount; `PARTIALLY_PAID` when some of it is paid or held; `AUTHORIZED` when
/// authorizations (not yet captured) cover what is due; `NEEDS_REVIEW` with a `review_reason`.
#[derive(Enum, Clone, Copy, Debug, PartialEq, Eq)]
#[oai(
    rename_all = "SCREAMING_SNAKE_CASE",
    remote = "entity::status::OrderStatus"
)]
pub enum OrderStatus {
    PaymentPending,
    Paid,
    PaymentFailed,
    Expired,
    NeedsReview,
    PartiallyRefunded,
    Refunded,
    Disputed,
    DisputeLost,
    Authorized,
    PartiallyPaid,
}

/// The order of a list of orders.
#[derive(Enum, Clone, Copy, Debug, PartialEq, Eq)]
#[oai(rename_all = "snake_case")]
pub enum OrderSort {
    /// Oldest first.
    Created,
    /// Soonest authorization deadline first; orders without one last.
    CaptureBefore,
}

/// An order to create.
#[derive(Object)]
pub struct OrderIn {
    /// The restaurant's own reference, 1–200 characters, unique per tenant.
    #[oai(validator(custom = "Matches::new()"))]
    pub reference: Matching<Reference>,
    /// In minor units (cents), positive.
    #[oai(validator(minimum(value = "1"), maximum(value = "999999999999")))]
    pub amount: i64,
    /// ISO 4217, any case; answered lowercase.
    #[oai(validator(custom = "Matches::new()"))]
    pub currency: Matching<Currency>,
    #[oai(nullable, validator(max_length = 254, custom = "Matches::new()"))]
    pub customer_email: Option<Matching<Email>>,
    /// Up to 50 string pairs (keys ≤ 40, values ≤ 500 characters).
    #[oai(deserialize_with = "super::strict::nullable_string_map", nullable)]
    pub metadata: Option<BTreeMap<String, String>>,
}

/// An order.
#[derive(Object)]
pub struct OrderOut {
    pub id: Uuid,
    pub reference: String,
    /// In minor units.
    pub amount: i64,
    pub currency: String,
    pub status: OrderStatus,
    /// Refunded so far, in minor units.
    pub amount_refunded: i64,
    /// Captured by its succeeded payments, tips included.
    pub amount_paid: i64,
    /// The tips those payments carry.
    pub tip_amount: i64,
    /// Still to collect: `amount` − (`amount_paid` − `tip_amount`), never below 0.
    pub amount_due: i64,
    /// Held by authorizations not yet captured.
    pub amount_authorized: i64,
    /// Why it needs a person, when `NEEDS_REVIEW` (null otherwise): `overpaid` (the payments,
    /// tips aside, come to more than the amount: a double charge, or a tip nobody declared),
    /// `currency_mismatch`, `tip_over_limit` (tips above the tenant's `max_tip_bps` of the
    /// amount), `amount_conflict` (two observations of one payment disagree).
    #[oai(nullable)]
    pub review_reason: Option<String>,
    /// The soonest deadline of its authorizations (Stripe cancels one not captured by then).
    #[oai(nullable)]
    pub capture_before: Option<DateTime<Utc>>,
    #[oai(nullable)]
    pub customer_email: Option<String>,
    pub metadata: BTreeMap<String, String>,
    #[oai(nullable)]
    pub checkout_session_id: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<Model> for OrderOut {
    fn from(m: Model) -> Self {
        Self {
            id: m.id,
            reference: m.reference,
            amount: m.amount,
            currency: m.currency,
            status: m.status.into(),
            amount_refunded: m.amount_refunded,
            amount_paid: m.amount_paid,
            tip_amount: m.tip_amount,
            amount_due: m.amount_due,
            amount_authorized: m.amount_authorized,
            review_reason: m.review_reason.map(|r| r.as_str().to_owned()),
            capture_before: m.capture_before,
            customer_email: m.customer_email,
            metadata: m
                .metadata
                .and_then(|s| serde_json::from_str(&s).ok())
                .unwrap_or_default(),
            checkout_session_id: m.checkout_session_id,
            created_at: m.created_at,
            updated_at: m.updated_at,
        }
    }
}

/// An order with its payments.
#[derive(Object)]
pub struct OrderDetailOut {
    #[oai(flatten)]
    pub order: OrderOut,
    pub payments: Vec<PaymentOut>,
}

super::pagination::page_view! {
    /// A page of orders.
    OrderPage of OrderOut
}

/// A new order, with the URL a customer's browser follows it at.
#[derive(Object)]
pub struct OrderCreatedOut {
    #[oai(flatten)]
    pub order: OrderOut,
    /// `/v1/order-status/{token}` (after `GATEWAY_PUBLIC_URL` when set): the order's status and
    /// amounts, no bearer needed — JSON, or Server-Sent Events with
    /// `Accept: text/event-stream`. Hand it to the customer's browser only.
    pub status_url: String,
}

#[derive(ApiResponse)]
pub enum OrderCreated {
    /// The order was created in `PAYMENT_PENDING`.
    #[oai(status = 201)]
    Created(Json<OrderCreatedOut>),
}

pub struct OrdersApi;

#[OpenApi(tag = "ApiTags::Orders")]
impl OrdersApi {
    /// Create an order
    ///
    /// Stripe objects link to it by `metadata.order_id` or `client_reference_id` = its id.
    #[oai(
        path = "/v1/tenants/:tenant/orders",
        method = "post",
        operation_id = "v1.orders.create"
    )]
    async fn create(
        &self,
        state: Data<&AppState>,
        /// Tenant slug or id.
        scope::Path(tenant): scope::Path,
        body: Json<OrderIn>,
    ) -> Result<OrderCreated, ApiError> {
        let body = body.0;
        let metadata = body.metadata.map(domain::parse_metadata).transpose()?;
        let new = NewOrder {
            reference: domain::OrderReference::parse(&body.reference)?,
            amount: domain::Amount::parse(body.amount)?,
            currency: domain::Currency::parse(&body.currency)?,
            customer_email: body
                .customer_email
                .as_deref()
                .map(domain::parse_email)
                .transpose()?,
            metadata: metadata.map(|m| serde_json::to_string(&m).unwrap_or_default()),
        };
        let order = orders::create(&state, &tenant, new).await?;
        Ok(OrderCreated::Created(Json(OrderCreatedOut {
            status_url: orders::status_url(&state, order.id),
            order: order.into(),
        })))
    }

    /// List orders
    #[oai(
        path = "/v1/tenants/:tenant/orders",
        method = "get",
        operation_id = "v1.orders.list"
    )]
    async fn list(
        &self,
        state: Data<&AppState>,
        /// Tenant slug or id.
        scope::Path(tenant): scope::Path,
        /// Page size, 1–100 (default 20).
        #[oai(validator(minimum(value = "1"), maximum(value = "100")))]
        limit: Query<Option<u64>>,
        /// `next_cursor` of the previous page.
        #[oai(validator(custom = "Matches::new()"))]
        cursor: Query<Option<Matching<Cursor>>>,
        /// Only orders in this status.
        status: Query<Option<OrderStatus>>,
        /// `created` (oldest first) or `capture_before` (soonest authorization deadline
        /// first, orders without one last). Default: `capture_before` when listing
        /// `AUTHORIZED` or `PARTIALLY_PAID` orders, else `created`.
        sort: Query<Option<OrderSort>>,
        /// Only the order with this reference (the restaurant's own id).
        #[oai(validator(custom = "Matches::new()"))]
        reference: Query<Option<Matching<Reference>>>,
    ) -> Result<Json<OrderPage>, ApiError> {
        let page = page_request(limit.0, cursor.0)?;
        let holds = matches!(
            status.0,
            Some(OrderStatus::Authorized | OrderStatus::PartiallyPaid)
        );
        let filter = OrderFilter {
            status: status.0.map(Into::into),
            by_deadline: sort.0.map_or(holds, |s| s == OrderSort::CaptureBefore),
            reference: reference.0.map(|r| r.to_string()),
        };
        Ok(Json(
            orders::list(&state, &tenant, filter, page).await?.into(),
        ))
    }

    /// Get an order with its payments
    #[oai(
        path = "/v1/tenants/:tenant/orders/:order_id",
        method = "get",
        operation_id = "v1.orders.get"
    )]
    async fn get(
        &self,
        state: Data<&AppState>,
        /// Tenant slug or id.
        scope::Path(tenant): scope::Path,
        /// The order's id, or its reference (the restaurant's own id, percent-encoded).
        #[oai(validator(custom = "Matches::new()"))]
        order_id: Path<Matching<Reference>>,
    ) -> Result<Json<OrderDetailOut>, ApiError> {
        let (order, payments) = orders::get(&state, &tenant, &order_id.0).await?;
        Ok(Json(OrderDetailOut {
            order: order.into(),
            payments: payments.into_iter().map(Into::into).collect(),
        }))
    }
}
