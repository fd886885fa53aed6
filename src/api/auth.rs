//! API: bearer authentication. The operator token or a tenant API key; nothing else.
pub use crate::app::Principal;
use crate::error::ApiError;
use crate::state::AppState;
use poem::Request;
use poem_openapi::{SecurityScheme, auth::Bearer};

/// `Authorization: Bearer <operator token | tenant API key>`.
#[derive(SecurityScheme)]
#[oai(rename = "bearerAuth", ty = "bearer", checker = "authenticate")]
pub struct BearerAuth(pub Principal);

async fn authenticate(req: &Request, bearer: Bearer) -> poem::Result<Principal> {
    let state = req.data::<AppState>().ok_or_else(ApiError::internal)?;
    let client = client_of(req, state);
    if let Some(wait) = state.auth_limiter.limited(client) {
        crate::telemetry::rate_limited("auth");
        return Err(ApiError::too_many_auth_failures(wait).into());
    }
    match principal(state, &bearer.token).await? {
        Some(principal) => Ok(principal),
        None => {
            crate::telemetry::auth_failure();
            match state.auth_limiter.failed(client) {
                Ok(()) => Err(ApiError::unauthorized().into()),
                Err(wait) => {
                    crate::telemetry::rate_limited("auth");
                    Err(ApiError::too_many_auth_failures(wait).into())
                }
            }
        }
    }
}

/// The operator or the tenant whose live API key `token` is; `None` for anything else.
async fn principal(state: &AppState, token: &str) -> Result<Option<Principal>, ApiError> {
    if state.is_operator_token(token) {
        return Ok(Some(Principal::Operator));
    }
    let Some((key_id, holder)) = crate::app::api_keys::holder(state, token).await? else {
        return Ok(None);
    };
    if let Err(wait) = state.auth_limiter.key_request(key_id) {
        crate::telemetry::rate_limited("api_key");
        return Err(ApiError::too_many_requests(
            "rate_limited",
            "this API key's request rate is exceeded; retry after Retry-After seconds",
            wait,
        ));
    }
    Ok(Some(holder))
}

/// The client address the request counts under (see `auth_limit`).
pub(crate) fn client_of(req: &Request, state: &AppState) -> Option<std::net::IpAddr> {
    let peer = req.remote_addr().as_socket_addr().map(|a| a.ip());
    let forwarded = req
        .headers()
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok());
    state.auth_limiter.client(peer, forwarded)
}
