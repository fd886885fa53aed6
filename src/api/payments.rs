//! API: payments and disputes — `/v1/tenants/{tenant}/payments`, `…/disputes`.
use super::pagination::page_request;
use super::patterns::{Cursor, Matches, Matching, OrderSelector};
use super::{ApiTags, scope};
use crate::app;
use crate::error::ApiError;
use crate::state::AppState;
use chrono::{DateTime, Utc};
use entity::{disputes, payments};
use poem::web::Data;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::{Enum, Object, OpenApi};
use uuid::Uuid;

#[derive(Enum, Clone, Copy, Debug, PartialEq, Eq)]
#[oai(rename_all = "lowercase", remote = "entity::status::PaymentStatus")]
pub enum PaymentStatus {
    Pending,
    Processing,
    Failed,
    /// Held, not captured yet (Stripe's `requires_capture`).
    Authorized,
    Canceled,
    Succeeded,
}

/// How the payment is captured (`automatic`, Stripe's default, until an event says `manual`).
#[derive(Enum, Clone, Copy, Debug, PartialEq, Eq)]
#[oai(rename_all = "lowercase")]
pub enum CaptureMethod {
    /// Captured when authorized.
    Automatic,
    /// Authorized now, captured later (`POST …/orders/{id}/capture`).
    Manual,
}

/// A dispute's status, as Stripe names it. Open: `warning_needs_response`,
/// `warning_under_review`, `needs_response`, `under_review`; closed: `warning_closed`, `won`,
/// `prevented`, `lost`.
#[derive(Enum, Clone, Copy, Debug, PartialEq, Eq)]
#[oai(rename_all = "snake_case", remote = "entity::status::DisputeStatus")]
pub enum DisputeStatus {
    WarningNeedsResponse,
    WarningUnderReview,
    WarningClosed,
    NeedsResponse,
    UnderReview,
    Won,
    Lost,
    Prevented,
}

/// What the gateway knows of one Stripe PaymentIntent.
#[derive(Object)]
pub struct PaymentOut {
    pub id: Uuid,
    /// Null when no order of this tenant is linked.
    #[oai(nullable)]
    pub order_id: Option<Uuid>,
    /// Null for a payment made with the legacy Charges API (no PaymentIntent), which is known
    /// by its charge.
    #[oai(nullable)]
    pub stripe_payment_intent_id: Option<String>,
    #[oai(nullable)]
    pub stripe_charge_id: Option<String>,
    /// In minor units: captured once `succeeded`, held while `authorized`.
    pub amount: i64,
    pub amount_refunded: i64,
    pub currency: String,
    pub status: PaymentStatus,
    /// The tip it carries: declared by Stripe (`amount_details.tip.amount`) or metadata
    /// (`tip_amount`), else what a capture took beyond the authorization.
    pub tip_amount: i64,
    /// What the authorization still holds (0 unless `authorized`).
    pub amount_capturable: i64,
    pub capture_method: CaptureMethod,
    /// When Stripe cancels the authorization if it is not captured (the card's deadline, else
    /// 7 days after it was made); null when not known.
    #[oai(nullable)]
    pub capture_before: Option<DateTime<Utc>>,
    /// The most a capture may take when Stripe offers overcapture on this authorization.
    #[oai(nullable)]
    pub overcapture_max: Option<i64>,
    /// Stripe offers incremental authorization on it.
    pub increment_supported: bool,
    #[oai(nullable)]
    pub customer_id: Option<String>,
    /// Null once the customer was deleted in Stripe.
    #[oai(nullable)]
    pub customer_email: Option<String>,
    pub livemode: bool,
    #[oai(nullable)]
    pub failure_reason: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<payments::Model> for PaymentOut {
    fn from(m: payments::Model) -> Self {
        Self {
            id: m.id,
            order_id: m.order_id,
            stripe_payment_intent_id: Some(m.stripe_payment_intent_id)
                .filter(|key| !crate::webhooks::rules::is_legacy_charge_key(key)),
            stripe_charge_id: m.stripe_charge_id,
            amount: m.amount,
            amount_refunded: m.amount_refunded,
            currency: m.currency,
            status: m.status.into(),
            tip_amount: m.tip_amount,
            amount_capturable: m.amount_capturable,
            capture_method: if m.capture_method.as_deref() == Some("manual") {
                CaptureMethod::Manual
            } else {
                CaptureMethod::Automatic
            },
            capture_before: m.capture_before,
            overcapture_max: m.overcapture_max,
            increment_supported: m.increment_supported,
            customer_id: m.customer_id,
            customer_email: m.customer_email,
            livemode: m.livemode,
            failure_reason: m.failure_reason,
            created_at: m.created_at,
            updated_at: m.updated_at,
        }
    }
}

/// A Stripe dispute on one of the tenant's charges.
#[derive(Object)]
pub struct DisputeOut {
    pub id: Uuid,
    #[oai(nullable)]
    pub payment_id: Option<Uuid>,
    #[oai(nullable)]
    pub order_id: Option<Uuid>,
    pub stripe_dispute_id: String,
    pub amount: i64,
    pub currency: String,
    #[oai(nullable)]
    pub reason: Option<String>,
    pub status: DisputeStatus,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<disputes::Model> for DisputeOut {
    fn from(m: disputes::Model) -> Self {
        Self {
            id: m.id,
            payment_id: m.payment_id,
            order_id: m.order_id,
            stripe_dispute_id: m.stripe_dispute_id,
            amount: m.amount,
            currency: m.currency,
            reason: m.reason,
            status: m.status.into(),
            created_at: m.created_at,
            updated_at: m.updated_at,
        }
    }
}

super::pagination::page_view! {
    /// A page of payments.
    PaymentPage of PaymentOut
}

super::pagination::page_view! {
    /// A page of disputes.
    DisputePage of DisputeOut
}

pub struct PaymentsApi;

#[OpenApi(tag = "ApiTags::Payments")]
impl PaymentsApi {
    /// List payments
    #[oai(
        path = "/v1/tenants/:tenant/payments",
        method = "get",
        operation_id = "v1.payments.list"
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
        /// `none`: only payments that took money and match no order (a paying event whose
        /// `metadata.order_id` is absent or unknown); an order's id: only that order's.
        #[oai(validator(custom = "Matches::new()"))]
        order: Query<Option<Matching<OrderSelector>>>,
    ) -> Result<Json<PaymentPage>, ApiError> {
        let page = page_request(limit.0, cursor.0)?;
        let by_order = match order.0.as_deref() {
            None => None,
            Some("none") => Some(app::payments::ByOrder::Unmatched),
            Some(id) => Some(app::payments::ByOrder::Of(Uuid::parse_str(id).map_err(
                |_| crate::domain::invalid("order", "must be none or an order's id"),
            )?)),
        };
        Ok(Json(
            app::payments::list(&state, &tenant, by_order, page)
                .await?
                .into(),
        ))
    }

    /// Get a payment
    #[oai(
        path = "/v1/tenants/:tenant/payments/:payment_id",
        method = "get",
        operation_id = "v1.payments.get"
    )]
    async fn get(
        &self,
        state: Data<&AppState>,
        /// Tenant slug or id.
        scope::Path(tenant): scope::Path,
        /// The payment's id.
        payment_id: Path<Uuid>,
    ) -> Result<Json<PaymentOut>, ApiError> {
        Ok(Json(
            app::payments::get(&state, &tenant, payment_id.0)
                .await?
                .into(),
        ))
    }
}

pub struct DisputesApi;

#[OpenApi(tag = "ApiTags::Disputes")]
impl DisputesApi {
    /// List disputes
    #[oai(
        path = "/v1/tenants/:tenant/disputes",
        method = "get",
        operation_id = "v1.disputes.list"
    )]
    async fn disputes(
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
    ) -> Result<Json<DisputePage>, ApiError> {
        let page = page_request(limit.0, cursor.0)?;
        let p = app::payments::disputes(&state, &tenant, page).await?;
        Ok(Json(p.into()))
    }
}
