//! Configuration: one `Config`, from flags or the `GATEWAY_*` environment, validated at start.
use ipnet::IpNet;

mod debug;
pub mod help;
mod parse;
use parse::{parse_attempt_timeout, parse_nonzero_duration, parse_origin, parse_overlap};
pub use parse::{parse_duration, parse_trusted_proxies, redact_url};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

/// Load balancers whose `X-Forwarded-For` names the client (`GATEWAY_TRUSTED_PROXIES`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TrustedProxies(pub Vec<IpNet>);

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

/// Settings shared by every subcommand. Secrets are hidden from `--help` and never `Debug`ged.
#[derive(Clone, clap::Args)]
pub struct Config {
    /// Address to serve on.
    #[arg(
        long,
        env = "GATEWAY_LISTEN",
        default_value = "127.0.0.1:8080",
        global = true
    )]
    pub listen: SocketAddr,
    /// Where the embedded default keeps its files.
    #[arg(
        long,
        env = "GATEWAY_DATA_DIR",
        default_value = "./data",
        global = true
    )]
    pub data_dir: PathBuf,
    /// `postgres://…` for PostgreSQL; default `sqlite://<data dir>/gateway.db`.
    #[arg(long, env = "DATABASE_URL", hide_env_values = true, global = true)]
    pub database_url: Option<String>,
    /// Operator bearer token; default: generated into `<data dir>/admin-token`.
    #[arg(
        long,
        env = "GATEWAY_ADMIN_TOKEN",
        hide_env_values = true,
        global = true
    )]
    pub admin_token: Option<String>,
    /// `id:base64(32 bytes)` list, comma-separated, the first encrypts; default: generated into
    /// `<data dir>/master-keys` (embedded SQLite default only).
    #[arg(
        long,
        env = "GATEWAY_MASTER_KEYS",
        hide_env_values = true,
        global = true
    )]
    pub master_keys: Option<String>,
    /// Where Stripe's API is.
    #[arg(
        long,
        env = "GATEWAY_STRIPE_API_BASE",
        default_value = "https://api.stripe.com/",
        global = true
    )]
    pub stripe_api_base: String,
    /// Webhook timestamp tolerance in seconds, both directions.
    #[arg(
        long,
        env = "GATEWAY_SIGNATURE_TOLERANCE_SECS",
        default_value_t = 300,
        global = true
    )]
    pub signature_tolerance_secs: u64,
    /// Largest webhook body accepted, in bytes (larger: 413).
    #[arg(
        long,
        env = "GATEWAY_WEBHOOK_MAX_BODY_BYTES",
        default_value_t = 1_048_576,
        global = true
    )]
    pub webhook_max_body_bytes: usize,
    /// Largest admin API (`/v1/…`) body accepted, in bytes (larger: 413).
    #[arg(long, env = "GATEWAY_API_MAX_BODY_BYTES", default_value_t = 65_536, value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1024..=16_777_216), global = true)]
    pub api_max_body_bytes: usize,
    /// Admin API requests one tenant API key may make per second (429 beyond; the operator's
    /// token is not limited); twice as many at once.
    #[arg(long, env = "GATEWAY_API_KEY_REQUESTS_PER_SECOND", default_value_t = 50, value_parser = clap::value_parser!(u32).range(1..=100_000), global = true)]
    pub api_key_requests_per_second: u32,
    /// How often every active tenant is reconciled against Stripe (`24h`, `30m`, `0` = never).
    #[arg(long, env = "GATEWAY_RECONCILE_INTERVAL", default_value = "24h", value_parser = parse_duration, global = true)]
    pub reconcile_interval: Duration,
    /// How far back a tenant's first reconciliation looks (at most Stripe's 30 days).
    #[arg(long, env = "GATEWAY_RECONCILE_FIRST_WINDOW", default_value = "3d", value_parser = parse_duration, global = true)]
    pub reconcile_first_window: Duration,
    /// How far before the end of the last successful run the next run's window starts (events
    /// stamped just before a window closed but listed later are still seen; at most 1 day).
    #[arg(long, env = "GATEWAY_RECONCILE_OVERLAP", default_value = "10m", value_parser = parse_overlap, global = true)]
    pub reconcile_overlap: Duration,
    /// How long before an authorization lapses (its `capture_before`) the restaurant is told
    /// (`order.authorization_expiring`), and the window of the lapsing-authorizations gauge.
    #[arg(long, env = "GATEWAY_AUTHORIZATION_WARNING", default_value = "24h", value_parser = parse_duration, global = true)]
    pub authorization_warning: Duration,
    /// How often authorizations about to lapse are looked for.
    #[arg(long, env = "GATEWAY_AUTHORIZATION_SCAN_INTERVAL", default_value = "1m", value_parser = parse_nonzero_duration, global = true)]
    pub authorization_scan_interval: Duration,
    /// How long raw webhook payloads are kept (the event's summary row stays).
    #[arg(
        long,
        env = "GATEWAY_EVENT_PAYLOAD_RETENTION_DAYS",
        default_value_t = 90,
        global = true
    )]
    pub event_payload_retention_days: u32,
    /// How long in-flight requests may take to finish after SIGTERM / Ctrl-C.
    #[arg(
        long,
        env = "GATEWAY_SHUTDOWN_GRACE_SECS",
        default_value_t = 30,
        global = true
    )]
    pub shutdown_grace_secs: u64,
    /// Add a `tenant` label to webhook metrics (off: 10,000 tenants would explode cardinality).
    #[arg(long, env = "GATEWAY_METRICS_TENANT_LABEL", default_value_t = false, action = clap::ArgAction::Set, global = true)]
    pub metrics_tenant_label: bool,
    /// Webhook writer shards on PostgreSQL, each with its own connection and transactions
    /// (default: one per core, at most 8). SQLite always has one writer.
    #[arg(long, env = "GATEWAY_WRITER_SHARDS", value_parser = clap::value_parser!(u8).range(1..=32), global = true)]
    pub writer_shards: Option<u8>,
    /// A request's headers must arrive within this long of the connection opening or of the
    /// previous answer (idle keep-alive connections close after it too).
    #[arg(long, env = "GATEWAY_HTTP_HEADER_TIMEOUT", default_value = "10s", value_parser = parse_nonzero_duration, global = true)]
    pub http_header_timeout: Duration,
    /// A request's body must arrive within this long of its headers (408 after).
    #[arg(long, env = "GATEWAY_HTTP_BODY_TIMEOUT", default_value = "10s", value_parser = parse_nonzero_duration, global = true)]
    pub http_body_timeout: Duration,
    /// Most connections open at once; more wait in the kernel's backlog (at most the open-files
    /// limit less a reserve for the database and logs).
    #[arg(long, env = "GATEWAY_MAX_CONNECTIONS", default_value_t = 4096, value_parser = clap::value_parser!(u32).range(1..=1_000_000), global = true)]
    pub max_connections: u32,
    /// Failed authentications allowed per client address and minute on the admin API (429 after).
    #[arg(long, env = "GATEWAY_AUTH_FAILURES_PER_MINUTE", default_value_t = 20, value_parser = clap::value_parser!(u32).range(1..=100_000), global = true)]
    pub auth_failures_per_minute: u32,
    /// Failed authentications one client address may make at once before the per-minute rate applies.
    #[arg(long, env = "GATEWAY_AUTH_FAILURES_BURST", default_value_t = 40, value_parser = clap::value_parser!(u32).range(1..=100_000), global = true)]
    pub auth_failures_burst: u32,
    /// Load balancers in front of the gateway (IPs or CIDRs, comma-separated): behind them the
    /// client address is read from `X-Forwarded-For`. Empty: the header is ignored.
    #[arg(long, env = "GATEWAY_TRUSTED_PROXIES", default_value = "", value_parser = parse_trusted_proxies, global = true)]
    pub trusted_proxies: TrustedProxies,
    /// Let order notifications go to private, loopback and link-local addresses, and over plain
    /// `http` (tests and local development only: otherwise `https` to public addresses only).
    #[arg(long, env = "GATEWAY_OUTBOUND_ALLOW_PRIVATE", default_value_t = false, action = clap::ArgAction::Set, global = true)]
    pub outbound_allow_private: bool,
    /// How long one notification attempt may take (connect, answer and body), at most 60s.
    #[arg(long, env = "GATEWAY_NOTIFICATION_TIMEOUT", default_value = "10s", value_parser = parse_attempt_timeout, global = true)]
    pub notification_timeout: Duration,
    /// Order status streams (Server-Sent Events) this process keeps open at once.
    #[arg(long, env = "GATEWAY_STATUS_STREAMS_MAX", default_value_t = 1000, value_parser = clap::value_parser!(u32).range(1..=100_000), global = true)]
    pub status_streams_max: u32,
    /// Status streams one client address may hold open at once (429 beyond).
    #[arg(long, env = "GATEWAY_STATUS_STREAMS_PER_ADDRESS", default_value_t = 20, value_parser = clap::value_parser!(u32).range(1..=100_000), global = true)]
    pub status_streams_per_address: u32,
    /// How long one status stream stays open; then it ends and the browser reconnects.
    #[arg(long, env = "GATEWAY_STATUS_STREAM_LIFETIME", default_value = "5m", value_parser = parse_nonzero_duration, global = true)]
    pub status_stream_lifetime: Duration,
    /// The gateway's public address (`https://pay.example.com`), put in front of the
    /// `status_url` of orders (customers' browsers open it). Required when listening beyond
    /// loopback; unset on loopback, the address listened on.
    #[arg(long, env = "GATEWAY_PUBLIC_URL", global = true)]
    pub public_url: Option<String>,
    /// Origins whose pages may read status URLs (`EventSource`, `fetch`), comma-separated;
    /// `*`: any (a status URL shows no personal data, and its token is the capability).
    #[arg(
        long,
        env = "GATEWAY_STATUS_CORS_ORIGINS",
        default_value = "*",
        value_delimiter = ',',
        value_parser = parse_origin,
        global = true
    )]
    pub status_cors_origins: Vec<String>,
    /// `redis://[:password@]host:port[/db]`: every replica then enforces each tenant's webhook
    /// rate limit together (GCRA in Redis). Unset, each replica limits alone.
    #[arg(long, env = "GATEWAY_REDIS_URL", hide_env_values = true, global = true)]
    pub redis_url: Option<String>,
    /// How many replicas run: while Redis is unreachable each replica limits a tenant to its
    /// limit divided by this (so the replicas together stay near the limit).
    #[arg(long, env = "GATEWAY_REPLICAS_HINT", default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=1000), global = true)]
    pub replicas_hint: u32,
    /// `text` or `json`.
    #[arg(
        long,
        env = "GATEWAY_LOG_FORMAT",
        value_enum,
        default_value = "text",
        global = true
    )]
    pub log_format: LogFormat,
}

impl Config {
    /// Defaults for everything (no reconciliation schedule), with the embedded database in `data_dir` (used by tests and tools).
    pub fn with_data_dir(data_dir: impl Into<PathBuf>) -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            data_dir: data_dir.into(),
            database_url: None,
            admin_token: None,
            master_keys: None,
            stripe_api_base: "https://api.stripe.com/".to_owned(),
            signature_tolerance_secs: 300,
            webhook_max_body_bytes: 1_048_576,
            api_max_body_bytes: 65_536,
            api_key_requests_per_second: 50,
            reconcile_interval: Duration::ZERO,
            reconcile_first_window: Duration::from_secs(3 * 86_400),
            reconcile_overlap: Duration::from_secs(600),
            authorization_warning: Duration::from_secs(86_400),
            authorization_scan_interval: Duration::from_secs(60),
            event_payload_retention_days: 90,
            shutdown_grace_secs: 30,
            metrics_tenant_label: false,
            writer_shards: None,
            http_header_timeout: Duration::from_secs(10),
            http_body_timeout: Duration::from_secs(10),
            max_connections: 4096,
            auth_failures_per_minute: 20,
            auth_failures_burst: 40,
            trusted_proxies: TrustedProxies::default(),
            outbound_allow_private: false,
            notification_timeout: Duration::from_secs(10),
            status_streams_max: 1000,
            status_streams_per_address: 20,
            status_stream_lifetime: Duration::from_secs(300),
            public_url: None,
            status_cors_origins: vec!["*".to_owned()],
            redis_url: None,
            replicas_hint: 1,
            log_format: LogFormat::Text,
        }
    }

    /// The address put in front of status URLs, given the address listened on: the public URL
    /// when set; on loopback, the address itself; beyond loopback, none (an error to explain).
    pub fn public_base(&self, bound: SocketAddr) -> Result<String, String> {
        match &self.public_url {
            Some(url) => Ok(url.trim_end_matches('/').to_owned()),
            None if bound.ip().is_loopback() => Ok(format!("http://{bound}")),
            None => Err(format!(
                "GATEWAY_PUBLIC_URL is required when listening on {bound}: status URLs go to customers' browsers and must say where the gateway is (e.g. https://pay.example.com)"
            )),
        }
    }

    /// The database URL in force.
    pub fn database_url(&self) -> String {
        self.database_url.clone().unwrap_or_else(|| {
            format!(
                "sqlite://{}?mode=rwc",
                self.data_dir.join("gateway.db").display()
            )
        })
    }

    pub fn is_postgres(&self) -> bool {
        let url = self.database_url();
        url.starts_with("postgres://") || url.starts_with("postgresql://")
    }
}
