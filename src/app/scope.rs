//! Application layer: who is calling ([`Principal`]) and the tenant they act for
//! ([`TenantScope`]). A scope is made only where access was decided: the API's extractor
//! (`api::scope`, through [`in_scope`]), and the operator's own command line and jobs
//! ([`TenantScope::operator`]).
use super::Error;
use crate::state::Context;
use crate::store::scope::ScopedTenant;
use uuid::Uuid;

/// Who is calling.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principal {
    /// The platform operator (`GATEWAY_ADMIN_TOKEN`, the command line, the jobs): everything.
    Operator,
    /// A tenant admin: its own tenant only.
    Tenant { tenant_id: Uuid },
}

impl Principal {
    /// Operator-only actions are refused to a tenant (after its tenant was found in scope).
    pub fn require_operator(&self, action: &'static str) -> Result<(), Error> {
        match self {
            Principal::Operator => Ok(()),
            Principal::Tenant { .. } => Err(Error::OperatorOnly(action)),
        }
    }
}

/// A tenant in the caller's scope, and the caller (derefs to the tenant).
#[derive(Debug, Clone)]
pub struct TenantScope {
    pub tenant: ScopedTenant,
    pub caller: Principal,
}

impl TenantScope {
    /// The operator acting on a tenant it found itself (command line, jobs).
    pub fn operator(tenant: ScopedTenant) -> Self {
        Self {
            tenant,
            caller: Principal::Operator,
        }
    }
}

impl std::ops::Deref for TenantScope {
    type Target = ScopedTenant;
    fn deref(&self) -> &ScopedTenant {
        &self.tenant
    }
}

/// The tenant named (slug or id), if `caller` may see it. A tenant naming another tenant gets
/// the same `NotFound` as a tenant that does not exist.
pub async fn in_scope(
    state: &Context,
    caller: Principal,
    reference: &str,
) -> Result<TenantScope, Error> {
    let found = crate::store::tenants::find(&state.db, reference).await?;
    let visible = match (found, &caller) {
        (Some(t), Principal::Operator) => t,
        (Some(t), Principal::Tenant { tenant_id }) if t.id == *tenant_id => t,
        _ => return Err(Error::NotFound("tenant")),
    };
    Ok(TenantScope {
        tenant: ScopedTenant::checked(visible),
        caller,
    })
}
