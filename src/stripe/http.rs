//! Stripe: the HTTP side. One shared hyper client (kept-alive connections) for every tenant, and
//! a per-tenant [`TenantStripe`] that implements async-stripe's `StripeClient` trait: it signs
//! requests with the tenant's own key, paces them below Stripe's per-account limits, retries 429
//! and 5xx with exponential backoff and full jitter (honouring `Retry-After` and
//! `Stripe-Should-Retry`), puts a timeout on every attempt, and never lets the key reach a log
//! or an error.
use crate::crypto::SecretText;
use bytes::Bytes;
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use http_body_util::{BodyExt, Full};
use hyper::header::{AUTHORIZATION, CONTENT_TYPE, RETRY_AFTER};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;
use stripe_client_core::{
    CustomizedStripeRequest, RequestBuilder, StripeClient, StripeClientErr, StripeMethod,
};

const ATTEMPTS: u32 = 4;
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(20);
const BASE_BACKOFF: Duration = Duration::from_millis(200);
const MAX_BACKOFF: Duration = Duration::from_secs(8);
const MAX_RETRY_AFTER: Duration = Duration::from_secs(30);
/// The Stripe API version the gateway's requests are written against.
pub const STRIPE_VERSION: &str = "2024-06-20";

/// Why a Stripe call did not succeed. Messages never contain a secret key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StripeCallError {
    /// Stripe answered with an error (after retries, for retryable ones).
    #[error("Stripe answered {status}: {message}")]
    Api {
        status: u16,
        code: Option<String>,
        message: String,
    },
    /// Stripe could not be reached, or kept failing, within the attempts.
    #[error("Stripe is unavailable: {0}")]
    Unavailable(String),
    /// Stripe's answer could not be read.
    #[error("Stripe's answer could not be read: {0}")]
    Parse(String),
}

impl StripeCallError {
    /// 401 or 403: the key is wrong or revoked.
    pub fn is_auth(&self) -> bool {
        matches!(
            self,
            StripeCallError::Api {
                status: 401 | 403,
                ..
            }
        )
    }
}

impl StripeClientErr for StripeCallError {
    fn deserialize_err(msg: impl std::fmt::Display) -> Self {
        StripeCallError::Parse(msg.to_string())
    }
}

type Https = hyper_rustls::HttpsConnector<HttpConnector>;

/// The connection pool shared by every tenant's client.
#[derive(Clone)]
pub struct StripeHttp {
    client: Client<Https, Full<Bytes>>,
    base: String,
}

impl StripeHttp {
    /// A pool for Stripe's API at `base` (`https://api.stripe.com/`, or a local mock in tests).
    pub fn new(base: &str) -> Result<Self, StripeCallError> {
        let connector = hyper_rustls::HttpsConnectorBuilder::new()
            .with_provider_and_webpki_roots(rustls::crypto::ring::default_provider())
            .map_err(|e| StripeCallError::Unavailable(format!("TLS setup failed: {e}")))?
            .https_or_http()
            .enable_http1()
            .build();
        let client = Client::builder(TokioExecutor::new())
            .pool_idle_timeout(Duration::from_secs(60))
            .build(connector);
        let base = if base.ends_with('/') {
            base.to_owned()
        } else {
            format!("{base}/")
        };
        Ok(Self { client, base })
    }
}

/// A tenant's Stripe client: its key, its pace.
pub struct TenantStripe {
    http: StripeHttp,
    secret: SecretText,
    pacer: Arc<DefaultDirectRateLimiter>,
    connected: Option<Connected>,
}

/// A connected account called with the platform's key.
struct Connected {
    /// Sent as `Stripe-Account`.
    account: String,
    /// The platform key's pace, shared by all its connected accounts (Stripe limits the
    /// platform's requests as a whole, beside each account's own).
    platform_pacer: Arc<DefaultDirectRateLimiter>,
}

/// A pace of `per_second` requests.
pub fn pacer(per_second: u32) -> DefaultDirectRateLimiter {
    RateLimiter::direct(Quota::per_second(
        NonZeroU32::new(per_second).unwrap_or(NonZeroU32::MIN),
    ))
}

impl TenantStripe {
    /// `pacer`: the key's outbound pace (below Stripe's ~25/s test, ~100/s live), shared by
    /// every client of the key.
    pub fn new(http: StripeHttp, secret: SecretText, pacer: Arc<DefaultDirectRateLimiter>) -> Self {
        Self {
            http,
            secret,
            pacer,
            connected: None,
        }
    }

    /// The client of connected `account`: the platform's key, `Stripe-Account: account`, paced
    /// per account at `per_second` and by `platform_pacer` for the platform key as a whole.
    pub fn connected(
        http: StripeHttp,
        platform_key: SecretText,
        per_second: u32,
        account: String,
        platform_pacer: Arc<DefaultDirectRateLimiter>,
    ) -> Self {
        Self {
            connected: Some(Connected {
                account,
                platform_pacer,
            }),
            ..Self::new(http, platform_key, Arc::new(pacer(per_second)))
        }
    }

    /// Sends `req` (with an idempotency key for POSTs that must not repeat) and returns the body
    /// of the 2xx answer.
    pub async fn call(
        &self,
        req: RequestBuilder,
        idempotency_key: Option<&str>,
    ) -> Result<Bytes, StripeCallError> {
        let mut uri = format!("{}v1{}", self.http.base, req.path);
        if let Some(q) = &req.query {
            uri.push('?');
            uri.push_str(q);
        }
        let method = match req.method {
            StripeMethod::Get => hyper::Method::GET,
            StripeMethod::Post => hyper::Method::POST,
            StripeMethod::Delete => hyper::Method::DELETE,
        };
        let body = Bytes::from(req.body.unwrap_or_default());
        let mut last = StripeCallError::Unavailable("no attempt made".into());
        for attempt in 0..ATTEMPTS {
            self.pacer.until_ready().await;
            if let Some(c) = &self.connected {
                c.platform_pacer.until_ready().await;
            }
            let mut builder = hyper::Request::builder()
                .method(method.clone())
                .uri(&uri)
                .header(AUTHORIZATION, format!("Bearer {}", self.secret.expose()))
                .header("stripe-version", STRIPE_VERSION)
                .header(
                    hyper::header::USER_AGENT,
                    concat!("stripe-webhook-gateway/", env!("CARGO_PKG_VERSION")),
                );
            if !body.is_empty() {
                builder = builder.header(CONTENT_TYPE, "application/x-www-form-urlencoded");
            }
            if let Some(key) = idempotency_key {
                builder = builder.header("idempotency-key", key);
            }
            if let Some(c) = &self.connected {
                builder = builder.header("stripe-account", &c.account);
            }
            let request = builder
                .body(Full::new(body.clone()))
                .map_err(|_| StripeCallError::Unavailable("request could not be built".into()))?;
            let result = tokio::time::timeout(ATTEMPT_TIMEOUT, self.send(request)).await;
            crate::telemetry::stripe_request(&match &result {
                Ok(Ok((status, _, _))) => status.to_string(),
                Ok(Err(_)) => "error".to_owned(),
                Err(_) => "timeout".to_owned(),
            });
            let wait = match result {
                Ok(Ok((status, _, bytes))) if (200..300).contains(&status) => return Ok(bytes),
                Ok(Ok((status, retry, bytes))) => {
                    last = api_error(status, &bytes, self.secret.expose());
                    let retryable = status == 429 || status >= 500;
                    if !retryable || retry.should_retry == Some(false) {
                        return Err(last);
                    }
                    retry.after
                }
                Ok(Err(e)) => {
                    last = StripeCallError::Unavailable(redact(&e, self.secret.expose()));
                    None
                }
                Err(_) => {
                    last = StripeCallError::Unavailable(format!(
                        "no answer within {}s",
                        ATTEMPT_TIMEOUT.as_secs()
                    ));
                    None
                }
            };
            if attempt + 1 < ATTEMPTS {
                let delay = wait.map_or_else(|| backoff(attempt), |d| d.min(MAX_RETRY_AFTER));
                tracing::warn!(attempt = attempt + 1, delay_ms = delay.as_millis() as u64, error = %last, "Stripe call will be retried");
                tokio::time::sleep(delay).await;
            }
        }
        Err(last)
    }

    async fn send(
        &self,
        request: hyper::Request<Full<Bytes>>,
    ) -> Result<(u16, RetryHints, Bytes), String> {
        let response = self
            .http
            .client
            .request(request)
            .await
            .map_err(|e| e.to_string())?;
        let status = response.status().as_u16();
        let headers = response.headers();
        let hints = RetryHints {
            after: headers
                .get(RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<u64>().ok())
                .map(Duration::from_secs),
            should_retry: headers
                .get("stripe-should-retry")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.parse().ok()),
        };
        let bytes = response
            .into_body()
            .collect()
            .await
            .map_err(|e| e.to_string())?
            .to_bytes();
        Ok((status, hints, bytes))
    }
}

struct RetryHints {
    after: Option<Duration>,
    should_retry: Option<bool>,
}

impl StripeClient for TenantStripe {
    type Err = StripeCallError;

    async fn execute(&self, req: CustomizedStripeRequest) -> Result<Bytes, Self::Err> {
        let (builder, overrides) = req.into_pieces();
        let key = overrides.request_strategy.and_then(|s| s.get_key());
        self.call(builder, key.as_ref().map(|k| k.as_str())).await
    }
}

/// Exponential backoff with full jitter: a random delay in [0, min(MAX, BASE·2^attempt)].
fn backoff(attempt: u32) -> Duration {
    let cap = BASE_BACKOFF
        .saturating_mul(1 << attempt.min(10))
        .min(MAX_BACKOFF);
    let mut r = [0u8; 4];
    crate::crypto::fill_random(&mut r);
    cap.mul_f64(f64::from(u32::from_le_bytes(r)) / f64::from(u32::MAX))
}

#[derive(serde::Deserialize)]
struct ErrorBody {
    error: ErrorDetail,
}

#[derive(serde::Deserialize)]
struct ErrorDetail {
    #[serde(default)]
    code: Option<String>,
    /// `idempotency_error` (a key reused with other parameters) carries no `code`.
    #[serde(default, rename = "type")]
    kind: Option<String>,
    #[serde(default)]
    message: Option<String>,
}

fn api_error(status: u16, body: &[u8], secret: &str) -> StripeCallError {
    let (code, message) = match serde_json::from_slice::<ErrorBody>(body) {
        Ok(b) => (
            b.error
                .code
                .or(b.error.kind.filter(|k| k == "idempotency_error")),
            b.error.message.unwrap_or_default(),
        ),
        Err(_) => (None, String::new()),
    };
    let message = if message.is_empty() {
        format!("HTTP {status}")
    } else {
        redact(&message, secret)
    };
    StripeCallError::Api {
        status,
        code,
        message,
    }
}

/// Removes anything that looks like a Stripe secret or restricted key from `text`.
pub fn redact(text: &str, secret: &str) -> String {
    let text = if secret.is_empty() {
        text.to_owned()
    } else {
        text.replace(secret, "[REDACTED]")
    };
    text.split(' ')
        .map(|w| {
            let bare = w.trim_matches(|c: char| !c.is_ascii_alphanumeric() && c != '_');
            if ["sk_live_", "sk_test_", "rk_live_", "rk_test_"]
                .iter()
                .any(|p| bare.starts_with(p))
                && bare.len() > 12
            {
                w.replace(bare, "[REDACTED]")
            } else {
                w.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacts_keys() {
        let s = redact(
            "Invalid API Key provided: sk_test_abcdef123456789, also rk_live_zzzzzzzzzzzzz.",
            "sk_test_abcdef123456789",
        );
        assert!(!s.contains("abcdef") && !s.contains("zzzz"), "{s}");
    }

    #[test]
    fn backoff_is_bounded() {
        for attempt in 0..12 {
            assert!(backoff(attempt) <= MAX_BACKOFF);
        }
    }
}
