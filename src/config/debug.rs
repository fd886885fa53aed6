//! Configuration: what `Debug` shows of it — every setting, no secret (tokens and keys as
//! `[REDACTED]`, database and Redis passwords as `***`).
use super::{Config, redact_url};

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("listen", &self.listen)
            .field("data_dir", &self.data_dir)
            .field(
                "database",
                &self.database_url.as_ref().map(|u| redact_url(u)),
            )
            .field(
                "admin_token",
                &self.admin_token.as_ref().map(|_| "[REDACTED]"),
            )
            .field(
                "master_keys",
                &self.master_keys.as_ref().map(|_| "[REDACTED]"),
            )
            .field("stripe_api_base", &self.stripe_api_base)
            .field("signature_tolerance_secs", &self.signature_tolerance_secs)
            .field("webhook_max_body_bytes", &self.webhook_max_body_bytes)
            .field("api_max_body_bytes", &self.api_max_body_bytes)
            .field(
                "api_key_requests_per_second",
                &self.api_key_requests_per_second,
            )
            .field("reconcile_interval", &self.reconcile_interval)
            .field("reconcile_first_window", &self.reconcile_first_window)
            .field("reconcile_overlap", &self.reconcile_overlap)
            .field("authorization_warning", &self.authorization_warning)
            .field("authorization_scan", &self.authorization_scan_interval)
            .field(
                "event_payload_retention_days",
                &self.event_payload_retention_days,
            )
            .field("shutdown_grace_secs", &self.shutdown_grace_secs)
            .field("metrics_tenant_label", &self.metrics_tenant_label)
            .field("writer_shards", &self.writer_shards)
            .field("http_header_timeout", &self.http_header_timeout)
            .field("http_body_timeout", &self.http_body_timeout)
            .field("max_connections", &self.max_connections)
            .field("auth_failures_per_minute", &self.auth_failures_per_minute)
            .field("auth_failures_burst", &self.auth_failures_burst)
            .field("trusted_proxies", &self.trusted_proxies)
            .field("outbound_allow_private", &self.outbound_allow_private)
            .field("notification_timeout", &self.notification_timeout)
            .field("status_streams_max", &self.status_streams_max)
            .field(
                "status_streams_per_address",
                &self.status_streams_per_address,
            )
            .field("status_stream_lifetime", &self.status_stream_lifetime)
            .field("public_url", &self.public_url)
            .field("status_cors_origins", &self.status_cors_origins)
            .field("redis", &self.redis_url.as_ref().map(|u| redact_url(u)))
            .field("replicas_hint", &self.replicas_hint)
            .field("log_format", &self.log_format)
            .finish()
    }
}
