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
use super::{Intake, Rejection, limit, parse, refuse, submit};
use crate::store::unrouted::{self, NewUnrouted};
use crate::webhooks::incoming::Outcome;
use chrono::Utc;
use std::sync::Arc;

/// Where a Connect delivery went.
pub enum Routed {
    /// To the tenant's write path (the tenant is in `routed_to`), with what became of it there.
    Tenant(Outcome),
    /// Recorded for an account no tenant has (`new`: not a redelivery).
    Unrouted { new: bool },
    /// A platform event (no account): recorded, not applied.
    Platform { new: bool },
}

/// Verifies, parses and routes a Connect delivery's body.
pub async fn accept(
    state: &Intake<'_>,
    signature_header: Option<&str>,
    body: &[u8],
    event_type: &mut Option<&'static str>,
    routed_to: &mut Option<Arc<TenantRuntime>>,
) -> Result<Routed, Rejection> {
    if state.breaker.is_open() {
        return Err(Rejection::Unavailable);
    }
    let platform = match state.platform.get(state.db, state.keyring).await {
        Ok(Some(platform)) => platform,
        Ok(None) => return Err(Rejection::NoPlatformConfig),
        Err(e) => return Err(load_failed(state, e)),
    };
    let now = Utc::now();
    signature::verify(
        signature_header,
        body,
        platform.current_secrets(now),
        now.timestamp(),
        state.signature_tolerance_secs,
    )
    .map_err(|e| refuse(state, None, Rejection::Signature(e)))?;
    let (envelope, payload) = parse(state, None, body, event_type)?;
    let Some(account) = envelope.account.as_deref() else {
        let new = record(state, &envelope, None, payload).await?;
        return Ok(Routed::Platform { new });
    };
    let tenant = match state
        .tenants
        .by_account(state.db, state.keyring, account)
        .await
    {
        Ok(Some(tenant)) => tenant,
        Ok(None) => {
            let new = record(state, &envelope, Some(account), payload).await?;
            return Ok(Routed::Unrouted { new });
        }
        Err(e) => return Err(load_failed(state, e)),
    };
    *routed_to = Some(tenant.clone());
    tracing::Span::current().record("tenant", tenant.slug.as_str());
    if tenant.suspended {
        return Err(refuse(state, Some(&tenant), Rejection::Suspended));
    }
    limit(state, &tenant).await?;
    let outcome = submit(state, &tenant, platform.livemode, envelope, payload).await?;
    Ok(Routed::Tenant(outcome))
}

async fn record(
    state: &Intake<'_>,
    envelope: &crate::webhooks::rules::event::Envelope,
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
