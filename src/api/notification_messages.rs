//! API: what an endpoint was sent — `…/notification-endpoints/{id}/messages` — and a manual retry
//! of one message. The log keeps each message's state, attempts, last answer code and next
//! attempt; never the endpoint's answers whole (an excerpt of the last one at most).
use super::pagination::page_request;
use super::patterns::{Cursor, Matches, Matching};
use super::{ApiTags, scope};
use crate::app::notification_messages as messages;
use crate::error::ApiError;
use crate::notify::message::webhook_id;
use crate::state::AppState;
use chrono::{DateTime, Utc};
use entity::notification_messages::Model;
use entity::order_changes;
use poem::web::Data;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Enum, Object, OpenApi};
use uuid::Uuid;

/// Where a message is in its delivery.
#[derive(Enum, Clone, Copy, Debug, PartialEq, Eq)]
#[oai(rename_all = "snake_case", remote = "entity::status::MessageStatus")]
pub enum MessageStatus {
    Pending,
    Delivering,
    Delivered,
    Failed,
}

/// One order change owed to one endpoint.
#[derive(Object)]
pub struct NotificationMessageOut {
    pub id: Uuid,
    /// The `webhook-id` header: the same on every attempt (dedupe on it).
    pub webhook_id: String,
    /// `order.paid`, …
    pub event_type: String,
    pub order_id: Uuid,
    pub order_reference: String,
    pub status: MessageStatus,
    pub attempts: i32,
    /// When the next attempt is due (pending), or the current attempt's lease ends
    /// (delivering); null once delivered or failed.
    #[oai(nullable)]
    pub next_attempt_at: Option<DateTime<Utc>>,
    #[oai(nullable)]
    pub last_attempt_at: Option<DateTime<Utc>>,
    /// The HTTP status of the last answer; null when the last attempt got none.
    #[oai(nullable)]
    pub last_response_code: Option<i32>,
    /// Why the last attempt failed (an excerpt of the answer, a timeout, a refused address).
    #[oai(nullable)]
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
    #[oai(nullable)]
    pub delivered_at: Option<DateTime<Utc>>,
}

fn view(m: Model, change: Option<&order_changes::Model>) -> NotificationMessageOut {
    use entity::status::MessageStatus as S;
    let owed = matches!(m.status, S::Pending | S::Delivering);
    NotificationMessageOut {
        id: m.id,
        webhook_id: webhook_id(m.change_id),
        event_type: m.event_type,
        order_id: change.map(|c| c.order_id).unwrap_or_default(),
        order_reference: change.map(|c| c.reference.clone()).unwrap_or_default(),
        status: m.status.into(),
        attempts: m.attempts,
        next_attempt_at: owed.then_some(m.next_attempt_at),
        last_attempt_at: m.last_attempt_at,
        last_response_code: m.last_response_code,
        last_error: m.last_error,
        created_at: m.created_at,
        delivered_at: m.delivered_at,
    }
}

super::pagination::page_view! {
    /// A page of messages, oldest first (or newest first, `sort=newest`).
    NotificationMessagePage of NotificationMessageOut
}

/// Which messages come first in a list.
#[derive(Enum, Clone, Copy, PartialEq, Eq)]
#[oai(rename_all = "lowercase")]
pub enum MessageSort {
    Oldest,
    Newest,
}

#[derive(ApiResponse)]
pub enum RetryAccepted {
    /// The message is due now (a message being delivered right now is left to that attempt).
    #[oai(status = 202)]
    Accepted(Json<NotificationMessageOut>),
}

pub struct NotificationMessagesApi;

#[OpenApi(tag = "ApiTags::Notifications")]
impl NotificationMessagesApi {
    /// List what an endpoint was sent
    #[oai(
        path = "/v1/tenants/:tenant/notification-endpoints/:endpoint_id/messages",
        method = "get",
        operation_id = "v1.notification-messages.list"
    )]
    async fn list(
        &self,
        state: Data<&AppState>,
        /// Tenant slug or id.
        scope::Path(tenant): scope::Path,
        /// The endpoint's id.
        endpoint_id: Path<Uuid>,
        /// Page size, 1–100 (default 20).
        #[oai(validator(minimum(value = "1"), maximum(value = "100")))]
        limit: Query<Option<u64>>,
        /// `next_cursor` of the previous page.
        #[oai(validator(custom = "Matches::new()"))]
        cursor: Query<Option<Matching<Cursor>>>,
        /// `oldest` first (the default) or `newest` first.
        sort: Query<Option<MessageSort>>,
    ) -> Result<Json<NotificationMessagePage>, ApiError> {
        let page = page_request(limit.0, cursor.0)?;
        let newest = sort.0 == Some(MessageSort::Newest);
        let page = messages::list(&state, &tenant, endpoint_id.0, page, newest).await?;
        Ok(Json(NotificationMessagePage {
            data: page
                .items
                .into_iter()
                .map(|(m, change)| view(m, change.as_ref()))
                .collect(),
            next_cursor: page.next_cursor,
        }))
    }

    /// Send a message again now
    ///
    /// For a failed message (its schedule spent), or to redeliver one the receiver lost. The
    /// same `webhook-id` is sent, so a receiver that has it already can ignore it.
    #[oai(
        path = "/v1/tenants/:tenant/notification-endpoints/:endpoint_id/messages/:message_id/retry",
        method = "post",
        operation_id = "v1.notification-messages.retry"
    )]
    async fn retry(
        &self,
        state: Data<&AppState>,
        /// Tenant slug or id.
        scope::Path(tenant): scope::Path,
        /// The endpoint's id.
        endpoint_id: Path<Uuid>,
        /// The message's id.
        message_id: Path<Uuid>,
    ) -> Result<RetryAccepted, ApiError> {
        let (m, change) = messages::retry(&state, &tenant, endpoint_id.0, message_id.0).await?;
        Ok(RetryAccepted::Accepted(Json(view(m, change.as_ref()))))
    }
}
