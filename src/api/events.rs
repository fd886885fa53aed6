//! API: the webhook event log and webhook health — `/v1/tenants/{tenant}/webhook-events`,
//! `…/webhook-health`.
use super::pagination::page_request;
use super::patterns::{Cursor, Matches, Matching};
use super::{ApiTags, scope};
use crate::app::events;
use crate::app::events::EventFilter;
use crate::error::ApiError;
use crate::state::AppState;
use chrono::{DateTime, Utc};
use entity::webhook_events::Model;
use poem::web::Data;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::{Enum, Object, OpenApi};
use std::collections::BTreeMap;
use uuid::Uuid;

#[derive(Enum, Clone, Copy, Debug, PartialEq, Eq)]
#[oai(rename_all = "lowercase", remote = "entity::status::EventStatus")]
pub enum EventStatus {
    /// Recorded and applied.
    Completed,
    /// Processing failed; effects rolled back; processed again on redelivery or replay.
    Failed,
    /// Recorded with no effect (unhandled type, mode mismatch); `last_error` says why.
    Ignored,
    /// Being processed.
    Processing,
}

/// A Stripe event the tenant received.
#[derive(Object)]
pub struct WebhookEventOut {
    pub id: Uuid,
    pub stripe_event_id: String,
    #[oai(rename = "type")]
    pub event_type: String,
    #[oai(nullable)]
    pub api_version: Option<String>,
    pub livemode: bool,
    pub status: EventStatus,
    /// Processing attempts (deliveries and replays that processed it).
    pub attempts: i32,
    /// Why it failed or was ignored.
    #[oai(nullable)]
    pub last_error: Option<String>,
    pub received_at: DateTime<Utc>,
    #[oai(nullable)]
    pub processed_at: Option<DateTime<Utc>>,
}

impl From<Model> for WebhookEventOut {
    fn from(m: Model) -> Self {
        Self {
            id: m.id,
            stripe_event_id: m.stripe_event_id,
            event_type: m.event_type,
            api_version: m.api_version,
            livemode: m.livemode,
            status: m.status.into(),
            attempts: m.attempts,
            last_error: m.last_error,
            received_at: m.received_at,
            processed_at: m.processed_at,
        }
    }
}

super::pagination::page_view! {
    /// A page of webhook events.
    WebhookEventPage of WebhookEventOut
}

/// How the tenant's webhooks are doing.
#[derive(Object)]
pub struct WebhookHealthOut {
    /// When the newest event was processed successfully; null if none yet.
    #[oai(nullable)]
    pub last_successful_webhook_at: Option<DateTime<Utc>>,
    /// Refused deliveries by reason (`missing_signature`, `malformed_signature`,
    /// `bad_signature`, `stale_timestamp`, `malformed`,
    /// `no_config`, `suspended`, `rate_limited`, `too_large`), counted in hourly buckets: the
    /// current hour and the one before.
    pub recent_failures: BTreeMap<String, i64>,
    /// Recorded events by status.
    pub events_by_status: BTreeMap<String, i64>,
    /// Notification endpoints failing now, or disabled (by the gateway after five days of
    /// failures: `disabled_reason` = `failing`; or by the tenant).
    pub notification_endpoints_unhealthy: Vec<EndpointHealthOut>,
    /// Payments that took (or hold, or are taking) money and match no order: a paying event
    /// whose `metadata.order_id` is absent or names no order of the tenant. Listed by
    /// `GET …/payments?order=none`.
    pub unmatched_payments: u64,
}

/// A notification endpoint that is failing or disabled.
#[derive(Object)]
pub struct EndpointHealthOut {
    pub id: Uuid,
    pub url: String,
    pub enabled: bool,
    #[oai(nullable)]
    pub disabled_reason: Option<String>,
    /// When its current run of failed attempts began.
    #[oai(nullable)]
    pub failing_since: Option<DateTime<Utc>>,
}

pub struct EventsApi;

#[OpenApi(tag = "ApiTags::WebhookEvents")]
impl EventsApi {
    /// List webhook events
    #[oai(
        path = "/v1/tenants/:tenant/webhook-events",
        method = "get",
        operation_id = "v1.webhook-events.list"
    )]
    async fn list(
        &self,
        state: Data<&AppState>,
        /// Tenant slug or id.
        scope::Path(tenant): scope::Path,
        /// Only events in this status.
        status: Query<Option<EventStatus>>,
        /// Only events of this Stripe type (e.g. `charge.refunded`).
        #[oai(name = "type")]
        event_type: Query<Option<String>>,
        /// Page size, 1–100 (default 20).
        #[oai(validator(minimum(value = "1"), maximum(value = "100")))]
        limit: Query<Option<u64>>,
        /// `next_cursor` of the previous page.
        #[oai(validator(custom = "Matches::new()"))]
        cursor: Query<Option<Matching<Cursor>>>,
    ) -> Result<Json<WebhookEventPage>, ApiError> {
        let page = page_request(limit.0, cursor.0)?;
        let filter = EventFilter {
            status: status.0.map(Into::into),
            event_type: event_type.0,
        };
        let p = events::list(&state, &tenant, filter, page).await?;
        Ok(Json(p.into()))
    }

    /// Get a webhook event
    #[oai(
        path = "/v1/tenants/:tenant/webhook-events/:event_id",
        method = "get",
        operation_id = "v1.webhook-events.get"
    )]
    async fn get(
        &self,
        state: Data<&AppState>,
        /// Tenant slug or id.
        scope::Path(tenant): scope::Path,
        /// The gateway's event id, or Stripe's `evt_…`.
        event_id: Path<String>,
    ) -> Result<Json<WebhookEventOut>, ApiError> {
        Ok(Json(
            events::get(&state, &tenant, &event_id.0).await?.into(),
        ))
    }

    /// Replay a webhook event
    ///
    /// Processes the stored payload again through the same path as a delivery (no signature
    /// check: it was verified when received). Safe for any status: applying an event is
    /// idempotent. Answers the event as it is afterwards.
    #[oai(
        path = "/v1/tenants/:tenant/webhook-events/:event_id/replay",
        method = "post",
        operation_id = "v1.webhook-events.replay"
    )]
    async fn replay(
        &self,
        state: Data<&AppState>,
        /// Tenant slug or id.
        scope::Path(tenant): scope::Path,
        /// The gateway's event id, or Stripe's `evt_…`.
        event_id: Path<String>,
    ) -> Result<Json<WebhookEventOut>, ApiError> {
        let after = events::replay(&state, &tenant, &event_id.0).await?;
        Ok(Json(after.into()))
    }

    /// Webhook health
    ///
    /// The newest success, refused deliveries by reason over the last hour or two, and events by status.
    #[oai(
        path = "/v1/tenants/:tenant/webhook-health",
        method = "get",
        operation_id = "v1.webhook-health.get"
    )]
    async fn health(
        &self,
        state: Data<&AppState>,
        /// Tenant slug or id.
        scope::Path(tenant): scope::Path,
    ) -> Result<Json<WebhookHealthOut>, ApiError> {
        let health = events::health(&state, &tenant).await?;
        Ok(Json(WebhookHealthOut {
            last_successful_webhook_at: health.last_success,
            unmatched_payments: health.unmatched_payments,
            recent_failures: health.recent_failures.into_iter().collect(),
            events_by_status: health
                .events_by_status
                .into_iter()
                .map(|(status, n)| (status.as_str().to_owned(), n))
                .collect(),
            notification_endpoints_unhealthy: health
                .endpoints_unhealthy
                .into_iter()
                .map(|e| EndpointHealthOut {
                    id: e.id,
                    url: e.url,
                    enabled: e.enabled,
                    disabled_reason: e.disabled_reason,
                    failing_since: e.failing_since,
                })
                .collect(),
        }))
    }
}
