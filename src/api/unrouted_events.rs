//! API: `GET /v1/platform/unrouted-events` — what the Connect endpoint verified but gave to no
//! tenant: events waiting for a tenant to take their account (applied automatically then),
//! those routed since, and platform events (no account; recorded, not applied). Operator only.
use super::pagination::page_request;
use super::patterns::{AccountId, Cursor, Matches, Matching};
use super::{ApiTags, BearerAuth};
use crate::app;
use crate::app::unrouted::Shown;
use crate::error::ApiError;
use crate::state::AppState;
use chrono::{DateTime, Utc};
use entity::unrouted_events::Model;
use poem::web::Data;
use poem_openapi::param::Query;
use poem_openapi::payload::Json;
use poem_openapi::{Enum, Object, OpenApi};
use uuid::Uuid;

/// Which events to list.
#[derive(Enum, Clone, Copy, Debug, PartialEq, Eq)]
#[oai(rename_all = "snake_case")]
pub enum UnroutedState {
    /// For an account no active tenant has yet (the default).
    Waiting,
    /// Routed to a tenant since they arrived.
    Routed,
    /// Platform events: no `account`, never applied.
    Platform,
}

/// A verified Connect event that no tenant took when it arrived.
#[derive(Object)]
pub struct UnroutedEventOut {
    pub id: Uuid,
    /// Stripe's `evt_…`.
    pub stripe_event_id: String,
    /// The connected account it names; null for a platform event.
    #[oai(nullable)]
    pub account: Option<String>,
    #[oai(rename = "type")]
    pub event_type: String,
    pub livemode: bool,
    /// When Stripe created it.
    pub created: DateTime<Utc>,
    pub received_at: DateTime<Utc>,
    /// The tenant it was routed to, once one took the account.
    #[oai(nullable)]
    pub routed_tenant_id: Option<Uuid>,
    #[oai(nullable)]
    pub routed_at: Option<DateTime<Utc>>,
}

impl From<Model> for UnroutedEventOut {
    fn from(m: Model) -> Self {
        Self {
            id: m.id,
            stripe_event_id: m.stripe_event_id,
            account: m.account,
            event_type: m.event_type,
            livemode: m.livemode,
            created: DateTime::from_timestamp(m.stripe_created, 0).unwrap_or_default(),
            received_at: m.received_at,
            routed_tenant_id: m.routed_tenant_id,
            routed_at: m.routed_at,
        }
    }
}

super::pagination::page_view! {
    /// A page of unrouted events, oldest first.
    UnroutedEventPage of UnroutedEventOut
}

pub struct UnroutedEventsApi;

#[OpenApi(tag = "ApiTags::Platform")]
impl UnroutedEventsApi {
    /// List Connect events no tenant took
    ///
    /// Operator only. Events for a connected account no tenant has are kept (retention as event
    /// payloads) and applied to the tenant that gets the account, by create or PATCH.
    #[oai(
        path = "/v1/platform/unrouted-events",
        method = "get",
        operation_id = "v1.unrouted-events.list"
    )]
    async fn list(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        /// Default `waiting`.
        #[oai(name = "state")]
        shown: Query<Option<UnroutedState>>,
        /// Only events of this connected account.
        #[oai(validator(custom = "Matches::new()"))]
        account: Query<Option<Matching<AccountId>>>,
        /// Page size, 1–100 (default 20).
        #[oai(validator(minimum(value = "1"), maximum(value = "100")))]
        limit: Query<Option<u64>>,
        /// `next_cursor` of the previous page.
        #[oai(validator(custom = "Matches::new()"))]
        cursor: Query<Option<Matching<Cursor>>>,
    ) -> Result<Json<UnroutedEventPage>, ApiError> {
        let page = page_request(limit.0, cursor.0)?;
        let shown = match shown.0.unwrap_or(UnroutedState::Waiting) {
            UnroutedState::Waiting => Shown::Waiting,
            UnroutedState::Routed => Shown::Routed,
            UnroutedState::Platform => Shown::Platform,
        };
        let p = app::unrouted::list(&state, &auth.0, shown, account.0.as_deref(), page).await?;
        Ok(Json(p.into()))
    }
}
