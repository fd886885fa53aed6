//! Webhooks: intake. A delivery is resolved to its tenant (from memory), checked (suspended, no
//! config, size), verified against the tenant's current secrets, charged to the tenant's rate
//! limit, parsed, and handed to the writer. No step before the writer touches the database
//! except a cache miss. Every refusal is counted per tenant, hour and reason.
pub mod connect;
pub mod failures;
pub mod limiter;
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

impl Rejection {
    /// The per-tenant failure reason (webhook health) this refusal counts as, if any. How it is
    /// answered over HTTP is the API's to say (`api::webhook_refusal`).
    pub fn reason(&self) -> Option<FailureReason> {
        use FailureReason as F;
        match self {
            Rejection::UnknownTenant => Some(F::UnknownTenant),
            Rejection::Suspended => Some(F::Suspended),
            Rejection::NoConfig | Rejection::ConnectedTenant => Some(F::NoConfig),
            Rejection::TooLarge => Some(F::TooLarge),
            Rejection::RateLimited(_) => Some(F::RateLimited),
            Rejection::Signature(SignatureError::Stale) => Some(F::StaleTimestamp),
            Rejection::Signature(SignatureError::Missing) => Some(F::MissingSignature),
            Rejection::Signature(SignatureError::Malformed) => Some(F::MalformedSignature),
            Rejection::Signature(_) => Some(F::BadSignature),
            Rejection::Malformed(_) => Some(F::Malformed),
            Rejection::NoPlatformConfig
            | Rejection::TooSlow
            | Rejection::Unavailable
            | Rejection::Internal => None,
        }
    }
}

/// What intake decided about a delivery, and the event's `type` label once the body parsed (for
/// the metrics and the request's log line).
pub struct Decided<T> {
    pub result: Result<T, Rejection>,
    pub event_type: Option<&'static str>,
}

impl<T> Decided<T> {
    fn refused(rejection: Rejection) -> Self {
        Self {
            result: Err(rejection),
            event_type: None,
        }
    }
}

/// A verified body, parsed: the event, its text, and its `type` label.
pub struct Parsed<'b> {
    pub envelope: crate::webhooks::rules::event::Envelope,
    pub payload: &'b str,
    pub label: &'static str,
}

/// What intake uses, borrowed from the application state: nothing else is reachable from here.
pub struct Intake<'a> {
    pub db: &'a DatabaseConnection,
    pub keyring: &'a Keyring,
    pub tenants: &'a TenantCache,
    pub credentials: &'a crate::stripe::credentials::CredentialCache,
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
    if let Some(reason) = rejection.reason() {
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
            state
                .tenants
                .load(state.db, state.keyring, state.credentials, reference)
                .await
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
    if tenant.credentials.is_none() {
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
) -> Decided<Outcome> {
    let now = Utc::now();
    if let Err(e) = signature::verify(
        signature_header,
        body,
        tenant.current_secrets(now),
        now.timestamp(),
        state.signature_tolerance_secs,
    ) {
        return Decided::refused(refuse(state, Some(tenant), Rejection::Signature(e)));
    }
    if let Err(r) = limit(state, tenant).await {
        return Decided::refused(r);
    }
    let parsed = match parse(state, Some(tenant), body) {
        Ok(parsed) => parsed,
        Err(r) => return Decided::refused(r),
    };
    let livemode = tenant.livemode().unwrap_or(false);
    Decided {
        result: submit(state, tenant, livemode, parsed.envelope, parsed.payload).await,
        event_type: Some(parsed.label),
    }
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
) -> Result<Parsed<'b>, Rejection> {
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
    let label = crate::webhooks::rules::observe::type_label(&envelope.event_type);
    Ok(Parsed {
        envelope,
        payload,
        label,
    })
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
