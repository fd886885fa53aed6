//! Notify: one attempt to deliver one message: sign with the endpoint's live secrets, POST
//! through the guarded client, and record what came of it — delivered, scheduled again, failed
//! for good — and what it says about the endpoint (a failing run; disabled after five days).
//! A delivery is answered to the worker ([`Outcome::Delivered`]), which records it with the
//! others of its round; a failure is recorded here at once.
use super::message;
use super::outbound::{Outbound, SendError};
use super::schedule;
use crate::crypto::{Field, Keyring, SecretText};
use crate::store::{notification_endpoints, outbox};
use chrono::{DateTime, Utc};
use entity::status::MessageStatus;
use entity::{
    notification_endpoints as endpoints, notification_messages as messages, order_changes,
};
use sea_orm::{DatabaseConnection, DbErr};

/// What an attempt came to.
pub(super) enum Outcome {
    /// The endpoint answered 2xx with this code: the worker records it with its round's others.
    Delivered(i32),
    /// Failed, and recorded here (scheduled again, or failed for good).
    Recorded,
}

/// An endpoint as the messages claimed together for it see it: its row and its live secrets,
/// opened once.
pub(super) struct Target {
    endpoint: endpoints::Model,
    secrets: Vec<SecretText>,
}

impl Target {
    pub(super) async fn load(
        db: &DatabaseConnection,
        keyring: &Keyring,
        endpoint: endpoints::Model,
        now: DateTime<Utc>,
    ) -> Result<Self, DbErr> {
        let mut secrets = Vec::new();
        for s in notification_endpoints::live_secrets(db, endpoint.id, now).await? {
            match keyring.open(
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

/// Makes the attempt `message` was claimed for; records a failure and the endpoint's health.
pub(super) async fn attempt(
    db: &DatabaseConnection,
    outbound: &Outbound,
    target: &Target,
    message: &messages::Model,
    change: &order_changes::Model,
) -> Result<Outcome, DbErr> {
    let endpoint = &target.endpoint;
    let now = Utc::now();
    let body = message::body(change);
    let sent = match message::headers(&message::webhook_id(change.id), now, &body, &target.secrets)
    {
        Ok(headers) if !target.secrets.is_empty() => {
            outbound.post(&endpoint.url, &headers, body).await
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
        Err(e) => {
            let blocked = matches!(e, SendError::Blocked(_));
            if blocked {
                // Accepted when the endpoint was made (the setting was on then, or the name
                // resolved elsewhere): say why nothing arrives.
                tracing::warn!(tenant = %endpoint.tenant_id, endpoint = %endpoint.id, error = %e, "notification blocked: the endpoint's address is private and GATEWAY_OUTBOUND_ALLOW_PRIVATE is off");
            }
            (false, None, Some(e.to_string()), blocked)
        }
    };
    let outcome = if let (true, Some(code)) = (ok, code) {
        crate::telemetry::notification("delivered");
        crate::telemetry::notification_delivered(
            (at - change.created_at).to_std().unwrap_or_default(),
        );
        Outcome::Delivered(code)
    } else {
        fail(db, message, code, error, blocked, at).await?;
        Outcome::Recorded
    };
    // The endpoint's failing run moves only when this attempt changes it (as last loaded).
    let disable_before = at - schedule::DISABLE_AFTER;
    let moves = if ok {
        endpoint.failing_since.is_some()
    } else {
        endpoint
            .failing_since
            .is_none_or(|since| since <= disable_before)
    };
    if moves && outbox::endpoint_outcome(db, endpoint.id, ok, at, disable_before).await? {
        crate::telemetry::notification("endpoint_disabled");
        tracing::warn!(tenant = %endpoint.tenant_id, endpoint = %endpoint.id, "notification endpoint disabled: failing for 5 days");
    }
    Ok(outcome)
}

/// Records a failed attempt: scheduled again, or failed for good when the schedule is spent.
async fn fail(
    db: &DatabaseConnection,
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
        db,
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
