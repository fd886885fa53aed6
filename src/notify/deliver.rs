//! Notify: one attempt to deliver one message: sign with the endpoint's live secrets, POST
//! through the guarded client, and record what came of it — delivered, scheduled again, failed
//! for good — and what it says about the endpoint (a failing run; disabled after five days).
//! A delivery is recorded by the worker with the others of its round (`Inner::delivered`); a
//! failure at once.
use super::message;
use super::outbound::SendError;
use super::schedule;
use super::worker::Inner;
use crate::crypto::{Field, SecretText};
use crate::store::{notification_endpoints, outbox};
use chrono::{DateTime, Utc};
use entity::status::MessageStatus;
use entity::{
    notification_endpoints as endpoints, notification_messages as messages, order_changes,
};
use sea_orm::DbErr;

/// An endpoint as the messages claimed together for it see it: its row and its live secrets,
/// opened once.
pub(super) struct Target {
    endpoint: endpoints::Model,
    secrets: Vec<SecretText>,
}

impl Target {
    pub(super) async fn load(
        w: &Inner,
        endpoint: endpoints::Model,
        now: DateTime<Utc>,
    ) -> Result<Self, DbErr> {
        let mut secrets = Vec::new();
        for s in notification_endpoints::live_secrets(&w.db, endpoint.id, now).await? {
            match w.keyring.open(
                endpoint.tenant_id,
                Field::NotificationSecret(endpoint.id),
                &s.secret_ciphertext,
            ) {
                Ok(secret) => secrets.push(secret),
                Err(e) => {
                    tracing::error!(endpoint = %endpoint.id, error = %e, "notification secret does not open")
                }
            }
        }
        Ok(Self { endpoint, secrets })
    }
}

/// Makes the attempt `message` was claimed for and records it.
pub(super) async fn attempt(
    w: &Inner,
    target: &Target,
    message: &messages::Model,
    change: &order_changes::Model,
) -> Result<(), DbErr> {
    let endpoint = &target.endpoint;
    let now = Utc::now();
    let body = message::body(change);
    let sent = match message::headers(&message::webhook_id(change.id), now, &body, &target.secrets)
    {
        Ok(headers) if !target.secrets.is_empty() => {
            w.outbound.post(&endpoint.url, &headers, body).await
        }
        Ok(_) => Err(SendError::Connect("no signing secret opens".into())),
        Err(e) => Err(SendError::Connect(e.to_string())),
    };
    let at = Utc::now();
    let (ok, code, error, blocked) = match sent {
        Ok(a) if (200..300).contains(&a.status) => (true, Some(i32::from(a.status)), None, false),
        Ok(a) => (
            false,
            Some(i32::from(a.status)),
            Some(format!("answered {}: {}", a.status, a.excerpt)),
            false,
        ),
        Err(e) => (
            false,
            None,
            Some(e.to_string()),
            matches!(e, SendError::Blocked(_)),
        ),
    };
    if let (true, Some(code)) = (ok, code) {
        // Recorded with the others delivered meanwhile, at the worker's next round.
        w.delivered
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .entry(code)
            .or_default()
            .push((message.id, message.attempts));
        crate::telemetry::notification("delivered");
        crate::telemetry::notification_delivered(
            (at - change.created_at).to_std().unwrap_or_default(),
        );
    } else {
        fail(w, message, code, error, blocked, at).await?;
    }
    // The endpoint's failing run moves only when this attempt changes it (as last loaded).
    let disable_before = at - schedule::DISABLE_AFTER;
    let moves = if ok {
        endpoint.failing_since.is_some()
    } else {
        endpoint
            .failing_since
            .is_none_or(|since| since <= disable_before)
    };
    if moves && outbox::endpoint_outcome(&w.db, endpoint.id, ok, at, disable_before).await? {
        crate::telemetry::notification("endpoint_disabled");
        tracing::warn!(tenant = %endpoint.tenant_id, endpoint = %endpoint.id, "notification endpoint disabled: failing for 5 days");
    }
    Ok(())
}

/// Records a failed attempt: scheduled again, or failed for good when the schedule is spent.
async fn fail(
    w: &Inner,
    message: &messages::Model,
    code: Option<i32>,
    error: Option<String>,
    blocked: bool,
    at: DateTime<Utc>,
) -> Result<(), DbErr> {
    let (status, next_attempt_at, outcome) = match schedule::next_delay(message.attempts) {
        Some(d) => (
            MessageStatus::Pending,
            at + d,
            if blocked { "blocked" } else { "retrying" },
        ),
        None => (MessageStatus::Failed, at, "failed"),
    };
    outbox::finish(
        &w.db,
        message,
        outbox::Attempt {
            status,
            next_attempt_at,
            response_code: code,
            error,
            at,
        },
    )
    .await?;
    crate::telemetry::notification(outcome);
    Ok(())
}
