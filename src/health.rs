//! Liveness (`/health`) and readiness (`/ready`: database reachable, migrations current).
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

/// 200 when the database answers and no migration is pending, else 503.
#[handler]
pub async fn ready(state: Data<&AppState>) -> Response {
    match Migrator::get_pending_migrations(&state.db).await {
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
