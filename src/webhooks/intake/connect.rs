//! Webhooks: the Connect endpoint's intake. A delivery is verified with the platform's Connect
//! secrets (a body signed with a tenant's own secret does not verify), parsed, and routed by the
//! signed body's `account` to the tenant with that Stripe account; from there it takes exactly
//! the tenant path (suspension, the tenant's limit, the writer's exactly-once per
//! `(tenant, event id)`). An event without an account is a platform event, and one for an
//! account no tenant has yet is unrouted: both are recorded (answered 200, so Stripe stops
//! retrying) and the unrouted ones are routed when a tenant takes the account
//! (`jobs::unrouted`).
use super::signature;
use super::tenants::{LoadError, TenantRuntime};
use super::{Decided, Intake, Rejection, limit, parse, refuse, submit};
use crate::store::credentials::Owner;
use crate::store::unrouted::{self, NewUnrouted};
use crate::webhooks::incoming::Outcome;
use crate::webhooks::rules::event::Envelope;
use chrono::Utc;
use std::sync::Arc;

/// Where a Connect delivery went.
pub enum Routed {
    /// To the tenant's write path, with what became of it there.
    Tenant(Outcome),
    /// Recorded for an account no tenant has (`new`: not a redelivery).
    Unrouted { new: bool },
    /// A platform event (no account): recorded, not applied.
    Platform { new: bool },
}

/// Verifies, parses and routes a Connect delivery's body; with the tenant it was routed to, if
/// any.
pub async fn accept(
    state: &Intake<'_>,
    signature_header: Option<&str>,
    body: &[u8],
) -> (Decided<Routed>, Option<Arc<TenantRuntime>>) {
    if state.breaker.is_open() {
        return (Decided::refused(Rejection::Unavailable), None);
    }
    let platform = match state
        .credentials
        .get(state.db, state.keyring, Owner::Platform)
        .await
    {
        Ok(Some(platform)) => platform,
        Ok(None) => return (Decided::refused(Rejection::NoPlatformConfig), None),
        Err(e) => return (Decided::refused(load_failed(state, e)), None),
    };
    let now = Utc::now();
    if let Err(e) = signature::verify(
        signature_header,
        body,
        platform.current_secrets(now),
        now.timestamp(),
        state.signature_tolerance_secs,
    ) {
        return (
            Decided::refused(refuse(state, None, Rejection::Signature(e))),
            None,
        );
    }
    let parsed = match parse(state, None, body) {
        Ok(parsed) => parsed,
        Err(r) => return (Decided::refused(r), None),
    };
    let (tenant, result) = route(state, platform.livemode, parsed.envelope, parsed.payload).await;
    let decided = Decided {
        result,
        event_type: Some(parsed.label),
    };
    (decided, tenant)
}

/// Routes a verified Connect event by its account: to the tenant with that account, or
/// recorded (unrouted, or a platform event).
async fn route(
    state: &Intake<'_>,
    livemode: bool,
    envelope: Envelope,
    payload: &str,
) -> (Option<Arc<TenantRuntime>>, Result<Routed, Rejection>) {
    let Some(account) = envelope.account.as_deref() else {
        let recorded = record(state, &envelope, None, payload).await;
        return (None, recorded.map(|new| Routed::Platform { new }));
    };
    let tenant = match state
        .tenants
        .by_account(state.db, state.keyring, state.credentials, account)
        .await
    {
        Ok(Some(tenant)) => tenant,
        Ok(None) => {
            let recorded = record(state, &envelope, Some(account), payload).await;
            return (None, recorded.map(|new| Routed::Unrouted { new }));
        }
        Err(e) => return (None, Err(load_failed(state, e))),
    };
    tracing::Span::current().record("tenant", tenant.slug.as_str());
    if tenant.suspended {
        let refused = refuse(state, Some(&tenant), Rejection::Suspended);
        return (Some(tenant), Err(refused));
    }
    if let Err(r) = limit(state, &tenant).await {
        return (Some(tenant), Err(r));
    }
    let outcome = submit(state, &tenant, livemode, envelope, payload).await;
    (Some(tenant), outcome.map(Routed::Tenant))
}

async fn record(
    state: &Intake<'_>,
    envelope: &Envelope,
    account: Option<&str>,
    payload: &str,
) -> Result<bool, Rejection> {
    let row = NewUnrouted {
        stripe_event_id: &envelope.id,
        account,
        event_type: &envelope.event_type,
        livemode: envelope.livemode,
        stripe_created: envelope.created,
        payload,
        received_at: Utc::now(),
    };
    unrouted::record(state.db, &row).await.map_err(|e| {
        tracing::error!(error = %e, "recording an unrouted Connect event failed");
        state.breaker.failure(crate::breaker::Failure::of(&e));
        Rejection::Unavailable
    })
}

fn load_failed(state: &Intake<'_>, e: LoadError) -> Rejection {
    match e {
        LoadError::Db(e) => {
            tracing::error!(error = %e, "Connect routing lookup failed");
            state.breaker.failure(crate::breaker::Failure::of(&e));
            Rejection::Unavailable
        }
        LoadError::Crypto(e) => {
            tracing::error!(error = %e, "Connect secrets do not decrypt");
            Rejection::Internal
        }
    }
}
