//! The multi-tenant Stripe webhook gateway: `app(state)` is the whole HTTP surface,
//! `api_service()` its OpenAPI description, `serve()` runs it until shutdown.
pub mod api;
pub mod config;
pub mod crypto;
pub mod db;
pub mod domain;
pub mod error;
pub mod health;
pub mod jobs;
pub mod startup;
pub mod state;
pub mod store;
pub mod stripe;
pub mod webhooks;

use poem::listener::{Acceptor, TcpAcceptor};
use poem::{Endpoint, EndpointExt, Route, Server, get, post};
use poem_openapi::OpenApiService;
use state::AppState;
use std::future::Future;
use std::time::Duration;

pub type Apis = (
    api::TenantsApi,
    api::ApiKeysApi,
    api::StripeConfigApi,
    api::OrdersApi,
    api::PaymentsApi,
    api::DisputesApi,
    api::EventsApi,
    api::CheckoutApi,
    api::ReconciliationsApi,
);

/// The OpenAPI service (no state needed: `gateway openapi` prints it without a database).
pub fn api_service() -> OpenApiService<Apis, ()> {
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

/// Every route of the gateway.
pub fn app(state: AppState) -> impl Endpoint {
    let api = api_service();
    let docs = api.swagger_ui();
    let spec = api.spec_endpoint();
    Route::new()
        .at("/health", get(health::health))
        .at("/ready", get(health::ready))
        .at("/webhooks/stripe/:tenant", post(api::webhook::receive))
        .at("/openapi.json", spec)
        .nest("/docs", docs)
        .nest("/", api)
        .data(state)
        .catch_all_error(error::problem_from_poem)
}

/// Serves `state` on `listener` (and runs the reconciliation schedule, if set) until `shutdown`
/// resolves, then drains in-flight requests.
pub async fn serve(
    state: AppState,
    listener: tokio::net::TcpListener,
    shutdown: impl Future<Output = ()> + Send,
) -> std::io::Result<()> {
    let acceptor = TcpAcceptor::from_tokio(listener)?;
    if let Some(addr) = acceptor
        .local_addr()
        .first()
        .and_then(|a| a.as_socket_addr().copied())
    {
        tracing::info!("gateway listening on http://{addr}");
    }
    let interval = state.config.reconcile_interval;
    let schedule = (!interval.is_zero())
        .then(|| tokio::spawn(jobs::reconcile::schedule(state.clone(), interval)));
    let served = Server::new_with_acceptor(acceptor)
        .run_with_graceful_shutdown(app(state), shutdown, Some(Duration::from_secs(30)))
        .await;
    if let Some(task) = schedule {
        task.abort();
    }
    served
}
