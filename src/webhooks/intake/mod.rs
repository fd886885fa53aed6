//! Webhooks: intake. A delivery is resolved to its tenant (from memory), checked (suspended, no
//! config, size), verified against the tenant's current secrets, charged to the tenant's rate
//! limit, parsed, and handed to the writer. No step before the writer touches the database
//! except a cache miss. Every refusal is counted per tenant, hour and reason.
pub mod connect;
pub mod failures;
pub mod limiter;
pub mod platform;
pub mod shared_limit;
pub mod signature;
pub mod tenants;

use super::incoming::{Incoming, Outcome};
use super::write::writer::{WriteError, Writer};
use crate::breaker::Breaker;
use crate::crypto::Keyring;
use chrono::Utc;
use failures::{FailureCounter, FailureReason};
use limiter::Limiters;
use sea_orm::DatabaseConnection;
use signature::SignatureError;
use std::borrow::Cow;
use std::sync::Arc;
use std::time::Duration;
use tenants::{TenantCache, TenantRuntime};

/// Why a delivery was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rejection {
    UnknownTenant,
    Suspended,
    NoConfig,
    /// A `connected` tenant's own endpoint was called: its events come through Connect.
    ConnectedTenant,
    /// The Connect endpoint was called before the platform has a config.
    NoPlatformConfig,
    TooLarge,
    RateLimited(Duration),
    Signature(SignatureError),
    Malformed(String),
    /// The body did not arrive within the body timeout.
    TooSlow,
    Unavailable,
    Internal,
}

/// How a refusal is answered and counted, all decided here: the HTTP status and problem code,
/// its detail, the `outcome` label of `gateway_webhooks_total`, the per-tenant failure reason
/// (webhook-health) if it counts as one, and how long the sender should wait before retrying.
pub struct Refusal {
    pub status: u16,
    pub code: &'static str,
    /// Static but for a malformed body's reason: counting a refusal allocates nothing.
    pub detail: Cow<'static, str>,
    pub label: &'static str,
    pub reason: Option<FailureReason>,
    pub retry_after: Option<Duration>,
}

impl Rejection {
    pub fn refusal(&self) -> Refusal {
        use FailureReason as F;
        let (status, code, detail, label, reason) = match self {
            Rejection::UnknownTenant => (
                404,
                "unknown_tenant",
                "no such tenant".into(),
                "unknown_tenant",
                Some(F::UnknownTenant),
            ),
            Rejection::Suspended => (
                423,
                "tenant_suspended",
                "the tenant is suspended".into(),
                "suspended",
                Some(F::Suspended),
            ),
            Rejection::NoConfig => (
                409,
                "no_stripe_config",
                "the tenant has no Stripe config yet".into(),
                "no_config",
                Some(F::NoConfig),
            ),
            Rejection::ConnectedTenant => (
                409,
                "connected_tenant",
                "the tenant is connected: its events come through the Connect endpoint".into(),
                "no_config",
                Some(F::NoConfig),
            ),
            Rejection::NoPlatformConfig => (
                409,
                "no_platform_config",
                "the platform has no Stripe config yet".into(),
                "no_config",
                None,
            ),
            Rejection::TooLarge => (
                413,
                "payload_too_large",
                "the body is larger than the limit".into(),
                "too_large",
                Some(F::TooLarge),
            ),
            Rejection::RateLimited(_) => (
                429,
                "rate_limited",
                "the tenant's webhook rate limit is exceeded".into(),
                "rate_limited",
                Some(F::RateLimited),
            ),
            Rejection::Signature(SignatureError::Missing) => (
                400,
                "missing_signature",
                "no Stripe-Signature header".into(),
                "bad_signature",
                Some(F::BadSignature),
            ),
            Rejection::Signature(SignatureError::Malformed) => (
                400,
                "malformed_signature",
                "the Stripe-Signature header is not t=…,v1=…".into(),
                "bad_signature",
                Some(F::BadSignature),
            ),
            Rejection::Signature(SignatureError::Stale) => (
                400,
                "stale_timestamp",
                "the signature timestamp is outside the tolerance".into(),
                "stale_timestamp",
                Some(F::StaleTimestamp),
            ),
            Rejection::Signature(SignatureError::Mismatch) => (
                400,
                "bad_signature",
                "no signature matches a current webhook secret of this tenant".into(),
                "bad_signature",
                Some(F::BadSignature),
            ),
            Rejection::Malformed(why) => (
                400,
                "malformed_event",
                why.clone().into(),
                "malformed",
                Some(F::Malformed),
            ),
            Rejection::TooSlow => (
                408,
                "request_timeout",
                "the body did not arrive within the body timeout".into(),
                "too_slow",
                None,
            ),
            Rejection::Unavailable => (
                503,
                "database_unavailable",
                "the database is unavailable; retry later".into(),
                "unavailable",
                None,
            ),
            Rejection::Internal => (
                500,
                "internal",
                "internal error; see the gateway log".into(),
                "failed",
                None,
            ),
        };
        let retry_after = match self {
            Rejection::RateLimited(wait) => Some(*wait),
            Rejection::Unavailable => Some(crate::breaker::PROBE_EVERY),
            _ => None,
        };
        Refusal {
            status,
            code,
            detail,
            label,
            reason,
            retry_after,
        }
    }
}

/// What intake uses, borrowed from the application state: nothing else is reachable from here.
pub struct Intake<'a> {
    pub db: &'a DatabaseConnection,
    pub keyring: &'a Keyring,
    pub tenants: &'a TenantCache,
    pub platform: &'a platform::PlatformCache,
    pub limiters: &'a Limiters,
    pub failures: &'a FailureCounter,
    pub breaker: &'a Breaker,
    pub writer: &'a Writer,
    /// How far a signature's timestamp may be from now.
    pub signature_tolerance_secs: u64,
}

/// Counts a refusal for `tenant` and returns it.
pub fn refuse(state: &Intake, tenant: Option<&TenantRuntime>, rejection: Rejection) -> Rejection {
    if let Rejection::RateLimited(_) = rejection {
        crate::telemetry::rate_limited(if tenant.is_some() { "tenant" } else { "lookup" });
    }
    if let Some(reason) = rejection.refusal().reason {
        state.failures.record(tenant.map(|t| t.id), reason);
    }
    rejection
}

/// Step 1: the tenant named in the path, ready to receive (not suspended, configured).
pub async fn resolve(state: &Intake<'_>, reference: &str) -> Result<Arc<TenantRuntime>, Rejection> {
    if state.tenants.known_missing(reference).await {
        return Err(refuse(state, None, Rejection::UnknownTenant));
    }
    let loaded = match state.tenants.cached(reference).await {
        Some(hit) => Ok(Some(hit)),
        None => {
            if !state.tenants.is_known(reference).await {
                state
                    .limiters
                    .check_lookup()
                    .map_err(|wait| refuse(state, None, Rejection::RateLimited(wait)))?;
            }
            if state.breaker.is_open() {
                return Err(Rejection::Unavailable);
            }
            state.tenants.load(state.db, state.keyring, reference).await
        }
    };
    let tenant = match loaded {
        Ok(Some(t)) => t,
        Ok(None) => return Err(refuse(state, None, Rejection::UnknownTenant)),
        Err(tenants::LoadError::Db(e)) => {
            tracing::error!(error = %e, "tenant lookup failed");
            state.breaker.failure(crate::breaker::Failure::of(&e));
            return Err(Rejection::Unavailable);
        }
        Err(e) => {
            tracing::error!(error = %e, "tenant secrets do not decrypt");
            return Err(Rejection::Internal);
        }
    };
    if tenant.suspended {
        return Err(refuse(state, Some(&tenant), Rejection::Suspended));
    }
    if tenant.connected {
        return Err(refuse(state, Some(&tenant), Rejection::ConnectedTenant));
    }
    if tenant.livemode.is_none() {
        return Err(refuse(state, Some(&tenant), Rejection::NoConfig));
    }
    Ok(tenant)
}

/// Step 2: verify, limit, parse and record a delivery's body for `tenant`.
pub async fn accept(
    state: &Intake<'_>,
    tenant: &TenantRuntime,
    signature_header: Option<&str>,
    body: &[u8],
    event_type: &mut Option<&'static str>,
) -> Result<Outcome, Rejection> {
    let now = Utc::now();
    signature::verify(
        signature_header,
        body,
        tenant.current_secrets(now),
        now.timestamp(),
        state.signature_tolerance_secs,
    )
    .map_err(|e| refuse(state, Some(tenant), Rejection::Signature(e)))?;
    limit(state, tenant).await?;
    let (envelope, payload) = parse(state, Some(tenant), body, event_type)?;
    submit(
        state,
        tenant,
        tenant.livemode.unwrap_or(false),
        envelope,
        payload,
    )
    .await
}

/// Charges a delivery to the tenant's rate limit.
pub async fn limit(state: &Intake<'_>, tenant: &TenantRuntime) -> Result<(), Rejection> {
    state
        .limiters
        .check_tenant(
            tenant.id,
            tenant.rate_limit_per_second,
            tenant.rate_limit_burst,
        )
        .await
        .map_err(|wait| refuse(state, Some(tenant), Rejection::RateLimited(wait)))
}

/// The verified body as an event, and as text; names the event in the request's span.
pub fn parse<'b>(
    state: &Intake<'_>,
    tenant: Option<&TenantRuntime>,
    body: &'b [u8],
    event_type: &mut Option<&'static str>,
) -> Result<(crate::webhooks::rules::event::Envelope, &'b str), Rejection> {
    let payload = std::str::from_utf8(body).map_err(|_| {
        refuse(
            state,
            tenant,
            Rejection::Malformed("body is not UTF-8".into()),
        )
    })?;
    let envelope = crate::webhooks::rules::event::Envelope::parse(body)
        .map_err(|e| refuse(state, tenant, Rejection::Malformed(e)))?;
    let span = tracing::Span::current();
    span.record("event_id", envelope.id.as_str());
    span.record("event_type", envelope.event_type.as_str());
    *event_type = Some(crate::webhooks::rules::observe::type_label(
        &envelope.event_type,
    ));
    Ok((envelope, payload))
}

/// Hands a verified event of `tenant` to the writer; `livemode`: the mode of the key that
/// signs for it (the tenant's own, or the platform's for Connect events).
pub async fn submit(
    state: &Intake<'_>,
    tenant: &TenantRuntime,
    livemode: bool,
    envelope: crate::webhooks::rules::event::Envelope,
    payload: &str,
) -> Result<Outcome, Rejection> {
    if state.breaker.is_open() {
        return Err(Rejection::Unavailable);
    }
    let incoming = Incoming {
        tenant_id: tenant.id,
        tenant_livemode: livemode,
        envelope,
        payload: payload.to_owned(),
        replay: false,
    };
    state
        .writer
        .submit(incoming)
        .await
        .map_err(|WriteError::Unavailable| Rejection::Unavailable)
}
