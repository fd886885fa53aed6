//! State: [`Context`], what the use cases, jobs and command line work with, and [`AppState`], what
//! HTTP needs besides (the limiters, the status streams, the metrics, the operator token's digest).
use crate::auth_limit::AuthLimiter;
use crate::breaker::Breaker;
use crate::config::Config;
use crate::crypto::{Keyring, SecretText};
use crate::notify::{Notifier, Outbound, StatusStreams};
use crate::stripe::{StripeCallError, StripeClients};
use crate::tasks::Tasks;
use crate::webhooks::intake::{
    failures::FailureCounter, limiter::Limiters, shared_limit::SharedLimiter, tenants::TenantCache,
};
use crate::webhooks::write::writer::Writer;
use sea_orm::DatabaseConnection;
use sha2::{Digest, Sha256};
use std::sync::Arc;
use subtle::ConstantTimeEq;

/// What the use cases, the jobs and the command line work with: the database, the keyring, the
/// configuration, the caches every admin change must reach, the writer, the Stripe clients, the
/// notifier and the background tasks' owner (cheap to clone).
#[derive(Clone)]
pub struct Context(Arc<Shared>);

pub struct Shared {
    pub db: DatabaseConnection,
    pub keyring: Arc<Keyring>,
    pub config: Config,
    pub tenants: TenantCache,
    /// The Connect platform's runtime (its Connect webhook secrets).
    /// Every owner's Stripe credentials, opened.
    pub credentials: crate::stripe::credentials::CredentialCache,
    pub failures: Arc<FailureCounter>,
    pub writer: Writer,
    /// Open while the database does not answer: requests that need it are refused at once.
    pub breaker: Arc<Breaker>,
    pub stripe: StripeClients,
    /// Order notifications: the delivery worker of this process.
    pub notifier: Notifier,
    /// The background tasks' owner. Stopping (shutdown began): `/ready` answers 503, jobs stop at
    /// their next safe point.
    pub tasks: Tasks,
    /// Tenants with a reconciliation running in this process.
    pub reconciling: std::sync::Mutex<std::collections::HashSet<uuid::Uuid>>,
    /// This process among the replicas (its own change notices come back to it).
    pub instance: uuid::Uuid,
}

impl std::ops::Deref for Context {
    type Target = Shared;
    fn deref(&self) -> &Shared {
        &self.0
    }
}

impl Context {
    pub fn is_shutting_down(&self) -> bool {
        self.tasks.is_stopping()
    }
}

/// What HTTP needs besides the context: the webhook rate limiters, the admin API's
/// authentication limits, the order status streams, the metrics, the operator token's digest.
#[derive(Clone)]
pub struct AppState(Arc<Inner>);

pub struct Inner {
    pub app: Context,
    pub limiters: Limiters,
    /// Failed admin-API authentications per client address.
    pub auth_limiter: AuthLimiter,
    /// Order status streams open in this process.
    pub status_streams: StatusStreams,
    pub metrics: metrics_exporter_prometheus::PrometheusHandle,
    admin_token_digest: [u8; 32],
}

impl std::ops::Deref for Inner {
    type Target = Context;
    fn deref(&self) -> &Context {
        &self.app
    }
}

impl std::ops::Deref for AppState {
    type Target = Inner;
    fn deref(&self) -> &Inner {
        &self.0
    }
}

/// SHA-256 of a token, for constant-time comparison and for storing API keys.
pub fn token_digest(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

impl AppState {
    /// Builds the state and starts the writer's shards on the current runtime (they end when the
    /// state is dropped); every other task starts in `background::start`.
    pub fn new(
        db: DatabaseConnection,
        keyring: Keyring,
        config: Config,
        admin_token: &SecretText,
    ) -> anyhow::Result<Self> {
        let stripe = StripeClients::new(&config.stripe_api_base)?;
        let shared_limits = match &config.redis_url {
            Some(url) => Some(SharedLimiter::new(url).map_err(|e| {
                anyhow::anyhow!(
                    "GATEWAY_REDIS_URL ({}) is not a Redis URL: {e}",
                    crate::config::redact_url(url)
                )
            })?),
            None => None,
        };
        let limiters = Limiters::new(shared_limits, config.replicas_hint);
        let keyring = Arc::new(keyring);
        let outbound = Outbound::new(config.outbound_allow_private, config.notification_timeout)
            .map_err(StripeCallError::Unavailable)?;
        let notifier = Notifier::new(db.clone(), keyring.clone(), outbound);
        let status_streams = StatusStreams::new(
            config.status_streams_max as usize,
            config.status_streams_per_address as usize,
        );
        let tasks = Tasks::default();
        let failures = Arc::new(FailureCounter::default());
        let auth_limiter = AuthLimiter::new(
            config.auth_failures_per_minute,
            config.auth_failures_burst,
            config.trusted_proxies.0.clone(),
            config.api_key_requests_per_second,
        );
        let breaker = Arc::new(Breaker::default());
        let app = Context(Arc::new(Shared {
            writer: Writer::spawn(db.clone(), config.writer_shards, breaker.clone()),
            breaker,
            stripe,
            notifier,
            tasks,
            reconciling: Default::default(),
            instance: uuid::Uuid::new_v4(),
            db,
            keyring,
            config,
            tenants: TenantCache::default(),
            credentials: Default::default(),
            failures,
        }));
        Ok(Self(Arc::new(Inner {
            app,
            limiters,
            auth_limiter,
            status_streams,
            metrics: crate::telemetry::install(),
            admin_token_digest: token_digest(admin_token.expose()),
        })))
    }

    /// What webhook intake uses of the state.
    pub fn intake(&self) -> crate::webhooks::intake::Intake<'_> {
        crate::webhooks::intake::Intake {
            db: &self.db,
            keyring: &self.keyring,
            tenants: &self.tenants,
            credentials: &self.credentials,
            limiters: &self.limiters,
            failures: &self.failures,
            breaker: &self.breaker,
            writer: &self.writer,
            signature_tolerance_secs: self.config.signature_tolerance_secs,
        }
    }

    /// Constant-time check of the operator token.
    pub fn is_operator_token(&self, token: &str) -> bool {
        token_digest(token).ct_eq(&self.admin_token_digest).into()
    }
}
