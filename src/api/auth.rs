//! API: bearer authentication. The operator token or a tenant API key; nothing else.
use crate::error::ApiError;
use crate::state::{AppState, token_digest};
use poem::Request;
use poem_openapi::{SecurityScheme, auth::Bearer};
use uuid::Uuid;

/// Who is calling.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principal {
    /// The platform operator (`GATEWAY_ADMIN_TOKEN`): every route.
    Operator,
    /// A tenant admin: its own tenant's routes only.
    Tenant { tenant_id: Uuid },
}

impl Principal {
    /// Operator-only actions answer 403 to a tenant key (after its path was found in scope).
    pub fn require_operator(&self, action: &str) -> Result<(), ApiError> {
        match self {
            Principal::Operator => Ok(()),
            Principal::Tenant { .. } => Err(ApiError::forbidden(format!(
                "only the platform operator may {action}"
            ))),
        }
    }
}

/// `Authorization: Bearer <operator token | tenant API key>`.
#[derive(SecurityScheme)]
#[oai(rename = "bearerAuth", ty = "bearer", checker = "authenticate")]
pub struct BearerAuth(pub Principal);

async fn authenticate(req: &Request, bearer: Bearer) -> poem::Result<Principal> {
    let state = req.data::<AppState>().ok_or_else(ApiError::internal)?;
    if state.is_operator_token(&bearer.token) {
        return Ok(Principal::Operator);
    }
    if !bearer.token.starts_with(crate::api::api_keys::KEY_PREFIX) {
        return Err(ApiError::unauthorized().into());
    }
    let hash = hex::encode(token_digest(&bearer.token));
    match crate::store::api_keys::find_active_by_hash(&state.db, &hash).await {
        Ok(Some(key)) => Ok(Principal::Tenant {
            tenant_id: key.tenant_id,
        }),
        Ok(None) => Err(ApiError::unauthorized().into()),
        Err(e) => Err(ApiError::from(e).into()),
    }
}
