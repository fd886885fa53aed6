//! Liveness (`/health`), readiness (`/ready`: not shutting down, database reachable, migrations
//! current) and metrics (`/metrics`, Prometheus text format).
use crate::state::AppState;
use migration::{Migrator, MigratorTrait};
use poem::http::StatusCode;
use poem::web::{Data, Json};
use poem::{IntoResponse, Response, handler};
use serde_json::json;

/// Answers while the process lives.
#[handler]
pub fn health() -> Json<serde_json::Value> {
    Json(json!({ "status": "ok" }))
}

/// 200 when the database answers and no migration is pending, else 503 (also during shutdown).
#[handler]
pub async fn ready(state: Data<&AppState>) -> Response {
    if state.is_shutting_down() {
        return crate::error::problem_response(
            StatusCode::SERVICE_UNAVAILABLE,
            "shutting_down",
            "the gateway is shutting down",
        );
    }
    if state.breaker.is_open() {
        return crate::error::database_down_response();
    }
    let check = tokio::time::timeout(
        std::time::Duration::from_secs(2),
        Migrator::get_pending_migrations(&state.db),
    );
    let Ok(result) = check.await else {
        return crate::error::problem_response(
            StatusCode::SERVICE_UNAVAILABLE,
            "database_unavailable",
            "the database did not answer within 2 s",
        );
    };
    match result {
        Ok(pending) if pending.is_empty() => Json(json!({ "status": "ready" })).into_response(),
        Ok(pending) => crate::error::problem_response(
            StatusCode::SERVICE_UNAVAILABLE,
            "migrations_pending",
            format!("{} migrations pending", pending.len()),
        ),
        Err(e) => {
            tracing::warn!(error = %e, "readiness check: database unavailable");
            crate::error::problem_response(
                StatusCode::SERVICE_UNAVAILABLE,
                "database_unavailable",
                "the database is unavailable",
            )
        }
    }
}

/// Prometheus text exposition of every metric.
#[handler]
pub fn metrics(state: Data<&AppState>) -> Response {
    crate::telemetry::db_connections(&state.db);
    Response::builder()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(state.metrics.render())
}
