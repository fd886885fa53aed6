//! The multi-tenant Stripe webhook gateway: `app(state)` is the whole HTTP surface,
//! `api_service()` its OpenAPI description, `serve()` runs it until shutdown.
pub mod api;
pub mod app;
pub mod auth_limit;
pub mod background;
pub mod breaker;
pub mod changes;
pub mod config;
pub mod crypto;
pub mod db;
pub mod domain;
pub mod error;
pub mod health;
pub mod jobs;
pub mod notify;
pub mod server;
pub mod startup;
pub mod state;
pub mod store;
pub mod stripe;
pub mod tasks;
pub mod telemetry;
pub mod webhooks;

use poem::{Endpoint, EndpointExt, Route, get, post};
use poem_openapi::OpenApiService;
use state::AppState;
use std::future::Future;
use std::time::Duration;

/// The OpenAPI service (no state needed: `gateway openapi` prints it without a database).
pub fn api_service() -> OpenApiService<impl poem_openapi::OpenApi, ()> {
    OpenApiService::new(
        (
            api::TenantsApi,
            api::ApiKeysApi,
            api::StripeConfigApi,
            api::OrdersApi,
            api::PaymentsApi,
            api::DisputesApi,
            api::EventsApi,
            api::CheckoutApi,
            api::ReconciliationsApi,
            api::NotificationEndpointsApi,
            api::NotificationMessagesApi,
            api::OrderStatusApi,
            api::PlatformConfigApi,
            api::RefundsApi,
            api::UnroutedEventsApi,
            api::AuthorizationsApi,
        ),
        "Stripe webhook gateway",
        env!("CARGO_PKG_VERSION"),
    )
    .description(
        "Multi-tenant gateway between restaurants' Stripe accounts and their books. \
         Authenticate with `Authorization: Bearer <operator token | tenant API key>`. \
         Errors are RFC 9457 problem+json with a stable `code`.",
    )
}

/// The spec as committed in `openapi/gateway.json`.
pub fn spec_json() -> String {
    api_service().spec()
}

/// The same spec as committed in `openapi/gateway.yaml`.
pub fn spec_yaml() -> String {
    api_service().spec_yaml()
}

/// Every route of the gateway.
pub fn app(state: AppState) -> impl Endpoint {
    api::compile_patterns();
    let api = api_service();
    let docs = api.swagger_ui();
    let spec = api.spec_endpoint();
    Route::new()
        .at("/health", get(health::health))
        .at("/ready", get(health::ready))
        .at("/metrics", get(health::metrics))
        .at(
            "/webhooks/stripe/connect",
            post(api::webhook::receive_connect),
        )
        .at("/webhooks/stripe/:tenant", post(api::webhook::receive))
        .at("/openapi.json", spec)
        .nest("/docs", docs)
        .nest("/", api)
        .around(api::words::explain_refusals)
        .around(api::order_status::stream_when_asked)
        .around(api::status_cors::status_cors)
        .around(api::middleware::refuse_while_database_down)
        .around(api::middleware::limit_api_body)
        .data(state)
        .catch_all_error(error::problem_from_poem)
        .around(api::middleware::trace_request)
}

/// Serves `state` on `listener` until `shutdown` resolves, with the background jobs (payload
/// retention, the reconciliation schedule if set). On shutdown: `/ready` turns 503, no new
/// connection is accepted, in-flight requests get `GATEWAY_SHUTDOWN_GRACE_SECS` to finish, jobs
/// stop at their next safe point (a reconciliation after its current page).
pub async fn serve(
    state: AppState,
    listener: tokio::net::TcpListener,
    shutdown: impl Future<Output = ()> + Send,
) -> std::io::Result<()> {
    tracing::info!("gateway listening on http://{}", listener.local_addr()?);
    let open_files = server::raise_open_files_limit();
    // Each connection is a file; keep a reserve for the database, logs and outbound calls.
    let reserve = 256.min(open_files / 4);
    let max_connections = u64::from(state.config.max_connections).min(open_files - reserve);
    if max_connections < u64::from(state.config.max_connections) {
        tracing::warn!(
            open_files,
            max_connections,
            "GATEWAY_MAX_CONNECTIONS lowered to fit the open-files limit"
        );
    }
    let limits = server::Limits {
        header_timeout: state.config.http_header_timeout,
        body_timeout: state.config.http_body_timeout,
        max_connections: usize::try_from(max_connections).unwrap_or(usize::MAX),
    };
    let grace = Duration::from_secs(state.config.shutdown_grace_secs);
    background::start(&state, background::Role::Server);
    let flag = state.clone();
    let signalled = async move {
        shutdown.await;
        flag.tasks.stop();
        tracing::info!("shutting down: refusing new connections, finishing in-flight requests");
    };
    let served = server::run(listener, app(state.clone()), signalled, grace, limits).await;
    // Running reconciliations reach their next page boundary and save their progress.
    if !state.tasks.wait(grace).await {
        tracing::warn!("background tasks still running after the grace period; stopping anyway");
    }
    // Notifications delivered since the worker's last round.
    if let Err(e) = state.notifier.flush().await {
        tracing::warn!(error = %e, "delivered notifications not recorded at shutdown; they will be sent again");
    }
    // Refusals counted since the flusher's last round.
    if let Err(e) = state.failures.flush(&state.db).await {
        tracing::warn!(error = %e, "refused-delivery counts not flushed at shutdown");
    }
    tracing::info!("gateway stopped");
    served
}
