//! API: how the webhook routes answer a refused delivery — the HTTP status and problem code, its
//! detail, the `outcome` label of `gateway_webhooks_total`, and how long the sender should wait
//! (`Retry-After`). Intake decides that a delivery is refused and why ([`Rejection`]); the
//! answer is chosen here.
use crate::webhooks::intake::Rejection;
use crate::webhooks::intake::signature::SignatureError;
use std::borrow::Cow;
use std::time::Duration;

pub(super) struct Refusal {
    pub status: u16,
    pub code: &'static str,
    /// Static but for a malformed body's reason: answering a refusal allocates nothing more.
    pub detail: Cow<'static, str>,
    pub label: &'static str,
    pub retry_after: Option<Duration>,
}

pub(super) fn refusal(rejection: &Rejection) -> Refusal {
    let (status, code, detail, label) = match rejection {
        Rejection::UnknownTenant => (
            404,
            "unknown_tenant",
            "no such tenant".into(),
            "unknown_tenant",
        ),
        Rejection::Suspended => (
            423,
            "tenant_suspended",
            "the tenant is suspended".into(),
            "suspended",
        ),
        Rejection::NoConfig => (
            409,
            "no_stripe_config",
            "the tenant has no Stripe config yet".into(),
            "no_config",
        ),
        Rejection::ConnectedTenant => (
            409,
            "connected_tenant",
            "the tenant is a connected account: its events come to POST /webhooks/stripe/connect, signed with the platform's Connect secret".into(),
            "no_config",
        ),
        Rejection::NoPlatformConfig => (
            409,
            "no_platform_config",
            "the platform has no Stripe config yet".into(),
            "no_config",
        ),
        Rejection::TooLarge => (
            413,
            "payload_too_large",
            "the body is larger than the limit".into(),
            "too_large",
        ),
        Rejection::RateLimited(_) => (
            429,
            "rate_limited",
            "the tenant's webhook rate limit is exceeded".into(),
            "rate_limited",
        ),
        Rejection::Signature(SignatureError::Missing) => (
            400,
            "missing_signature",
            "no Stripe-Signature header".into(),
            "missing_signature",
        ),
        Rejection::Signature(SignatureError::Malformed) => (
            400,
            "malformed_signature",
            "the Stripe-Signature header is not t=…,v1=…".into(),
            "malformed_signature",
        ),
        Rejection::Signature(SignatureError::Stale) => (
            400,
            "stale_timestamp",
            "the signature timestamp is outside the tolerance".into(),
            "stale_timestamp",
        ),
        Rejection::Signature(SignatureError::Mismatch) => (
            400,
            "bad_signature",
            "no signature matches a current webhook secret of this tenant".into(),
            "bad_signature",
        ),
        Rejection::Malformed(why) => (400, "malformed_event", why.clone().into(), "malformed"),
        Rejection::TooSlow => (
            408,
            "request_timeout",
            "the body did not arrive within the body timeout".into(),
            "too_slow",
        ),
        Rejection::Unavailable => (
            503,
            "database_unavailable",
            "the database is unavailable; retry later".into(),
            "unavailable",
        ),
        Rejection::Internal => (
            500,
            "internal",
            "internal error; see the gateway log".into(),
            "failed",
        ),
    };
    let retry_after = match rejection {
        Rejection::RateLimited(wait) => Some(*wait),
        Rejection::Unavailable => Some(crate::breaker::PROBE_EVERY),
        _ => None,
    };
    Refusal {
        status,
        code,
        detail,
        label,
        retry_after,
    }
}
