//! Notify: the outbound HTTP client for restaurants' endpoints, with the SSRF guard. Every
//! connection goes through [`GuardedResolver`], which resolves the host and keeps only public
//! addresses, so the address checked is the address connected to (a DNS answer that changes
//! between a check and the connect cannot slip a private address in). A literal IP in the URL is
//! never resolved, so [`check_url`] refuses a private one before each attempt. Redirects are
//! not followed (hyper's client never does): a 3xx is a failed attempt. hyper-util's connector
//! takes a resolver but has no address filter, so the filter is written here.
use crate::domain::notification::{is_public, refusal};
use bytes::Bytes;
use http::{Request, Uri};
use http_body_util::{BodyExt, Full, Limited};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::connect::dns::Name;
use hyper_util::rt::TokioExecutor;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

/// Most of an endpoint's answer read (the rest is dropped unread).
const MAX_ANSWER: usize = 64 * 1024;

/// A host name refused on resolution, whether it resolved to no public address or not at all.
pub const NOT_PUBLIC: &str = "the host name does not resolve to a public address";

/// Why an address is refused.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct Blocked(pub &'static str);

/// Checks an endpoint URL before an attempt (`domain::notification::refusal`).
pub fn check_url(url: &str, allow_private: bool) -> Result<Uri, Blocked> {
    if let Some(rule) = refusal(url, allow_private) {
        return Err(Blocked(rule));
    }
    url.parse().map_err(|_| Blocked("must be a URL"))
}

/// Resolves with the system resolver and keeps public addresses only (all of them when private
/// ones are allowed); none left is an error naming the refusal.
#[derive(Clone)]
pub struct GuardedResolver {
    allow_private: bool,
}

type Resolving =
    Pin<Box<dyn Future<Output = std::io::Result<std::vec::IntoIter<SocketAddr>>> + Send>>;

impl tower_service::Service<Name> for GuardedResolver {
    type Response = std::vec::IntoIter<SocketAddr>;
    type Error = std::io::Error;
    type Future = Resolving;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, name: Name) -> Self::Future {
        let allow_private = self.allow_private;
        Box::pin(async move {
            // One refusal for a name that does not resolve and for one that resolves only to
            // addresses not public: the tenant-visible error must not tell which (an oracle
            // for the gateway's internal DNS names).
            let refused = || std::io::Error::other(Blocked(NOT_PUBLIC));
            let addrs: Vec<SocketAddr> = tokio::net::lookup_host((name.as_str(), 0))
                .await
                .map_err(|_| refused())?
                .filter(|a| allow_private || is_public(a.ip()))
                .collect();
            if addrs.is_empty() {
                return Err(refused());
            }
            Ok(addrs.into_iter())
        })
    }
}

type Https = hyper_rustls::HttpsConnector<HttpConnector<GuardedResolver>>;

/// What an endpoint answered.
pub struct Answer {
    pub status: u16,
    /// The first bytes of the body (at most 64 KiB read), for the log.
    pub excerpt: String,
}

/// Why an attempt got no answer.
#[derive(Debug, thiserror::Error)]
pub enum SendError {
    #[error("address refused: {0}")]
    Blocked(&'static str),
    #[error("no answer within {0:?}")]
    Timeout(Duration),
    #[error("connection failed: {0}")]
    Connect(String),
}

/// The pool for every endpoint.
#[derive(Clone)]
pub struct Outbound {
    client: Client<Https, Full<Bytes>>,
    allow_private: bool,
    timeout: Duration,
}

impl Outbound {
    pub fn new(allow_private: bool, timeout: Duration) -> Result<Self, String> {
        let mut http = HttpConnector::new_with_resolver(GuardedResolver { allow_private });
        http.enforce_http(false);
        http.set_connect_timeout(Some(timeout));
        http.set_nodelay(true);
        let connector = hyper_rustls::HttpsConnectorBuilder::new()
            .with_provider_and_webpki_roots(rustls::crypto::ring::default_provider())
            .map_err(|e| format!("TLS setup failed: {e}"))?
            .https_or_http()
            .enable_http1()
            .wrap_connector(http);
        let client = Client::builder(TokioExecutor::new())
            .pool_idle_timeout(Duration::from_secs(60))
            .pool_max_idle_per_host(8)
            .build(connector);
        Ok(Self {
            client,
            allow_private,
            timeout,
        })
    }

    pub fn allows_private(&self) -> bool {
        self.allow_private
    }

    /// One attempt's time limit.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// POSTs `body` to `url` with `headers`, within the attempt timeout.
    pub async fn post(
        &self,
        url: &str,
        headers: &[(&'static str, String)],
        body: Bytes,
    ) -> Result<Answer, SendError> {
        let uri = check_url(url, self.allow_private).map_err(|b| SendError::Blocked(b.0))?;
        let mut req = Request::post(uri)
            .header(http::header::CONTENT_TYPE, "application/json")
            .header(http::header::USER_AGENT, "stripe-gateway-notifications/1");
        for (name, value) in headers {
            req = req.header(*name, value);
        }
        let req = req
            .body(Full::new(body))
            .map_err(|e| SendError::Connect(e.to_string()))?;
        let attempt = async {
            let res = self.client.request(req).await.map_err(classify)?;
            let status = res.status().as_u16();
            // Read at most 64 KiB; an endpoint that sends more (or stalls) keeps only that much.
            let excerpt = match Limited::new(res.into_body(), MAX_ANSWER).collect().await {
                Ok(body) => excerpt(&body.to_bytes()),
                Err(_) => String::new(),
            };
            Ok(Answer { status, excerpt })
        };
        tokio::time::timeout(self.timeout, attempt)
            .await
            .unwrap_or(Err(SendError::Timeout(self.timeout)))
    }
}

/// A refusal by the resolver, found in the error's chain, or the error's text.
fn classify(e: hyper_util::client::legacy::Error) -> SendError {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(&e);
    while let Some(err) = source {
        // The resolver's `io::Error` holds the refusal; its `source()` skips over it.
        let inner = err
            .downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref())
            .map(|e| e as &(dyn std::error::Error + 'static));
        if let Some(blocked) = inner.unwrap_or(err).downcast_ref::<Blocked>() {
            return SendError::Blocked(blocked.0);
        }
        source = err.source();
    }
    let mut text = e.to_string();
    let mut source = std::error::Error::source(&e);
    while let Some(err) = source {
        text.push_str(": ");
        text.push_str(&err.to_string());
        source = err.source();
    }
    SendError::Connect(text)
}

/// The first 200 characters of an answer, printable only.
fn excerpt(body: &[u8]) -> String {
    String::from_utf8_lossy(&body[..body.len().min(800)])
        .chars()
        .filter(|c| !c.is_control() || *c == ' ')
        .take(200)
        .collect()
}
