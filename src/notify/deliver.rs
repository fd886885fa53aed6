//! Notify: one attempt to deliver one message: sign with the endpoint's live secrets, POST
//! through the guarded client, and record what came of it — delivered, scheduled again, failed
//! for good — and what it says about the endpoint (a failing run; disabled after five days).
use super::message;
use super::outbound::SendError;
use super::schedule;
use super::worker::Inner;
use crate::crypto::Field;
use crate::store::{notification_endpoints, outbox};
use chrono::Utc;
use entity::status::MessageStatus;
use entity::{notification_messages as messages, order_changes};
use sea_orm::DbErr;

/// Makes the attempt `message` was claimed for and records it.
pub(super) async fn attempt(
    w: &Inner,
    message: &messages::Model,
    change: &order_changes::Model,
) -> Result<(), DbErr> {
    let now = Utc::now();
    let Some(endpoint) = notification_endpoints::by_id(&w.db, message.endpoint_id).await? else {
        return Ok(()); // deleted meanwhile: its messages went with it
    };
    if !endpoint.enabled {
        // Disabled since the claim: the message waits for the endpoint to be enabled again.
        outbox::finish(
            &w.db,
            message,
            outbox::Attempt {
                status: MessageStatus::Pending,
                next_attempt_at: now,
                response_code: None,
                error: Some("endpoint disabled".into()),
                at: now,
            },
        )
        .await?;
        return Ok(());
    }
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
    let body = message::body(change);
    let sent = match message::headers(&message::webhook_id(change.id), now, &body, &secrets) {
        Ok(headers) if !secrets.is_empty() => w.outbound.post(&endpoint.url, &headers, body).await,
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
    let (status, next_attempt_at, outcome) = if ok {
        (MessageStatus::Delivered, at, "delivered")
    } else {
        match schedule::next_delay(message.attempts) {
            Some(d) => (
                MessageStatus::Pending,
                at + d,
                if blocked { "blocked" } else { "retrying" },
            ),
            None => (MessageStatus::Failed, at, "failed"),
        }
    };
    let recorded = outbox::finish(
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
    if ok && recorded {
        crate::telemetry::notification_delivered(
            (at - change.created_at).to_std().unwrap_or_default(),
        );
    }
    let disable_before = at - schedule::DISABLE_AFTER;
    if outbox::endpoint_outcome(&w.db, endpoint.id, ok, at, disable_before).await? {
        crate::telemetry::notification("endpoint_disabled");
        tracing::warn!(tenant = %endpoint.tenant_id, endpoint = %endpoint.id, "notification endpoint disabled: failing for 5 days");
    }
    Ok(())
}
