//! Store: [`ScopedTenant`], a tenant whose rows the caller may read and change. The store
//! functions the admin API reaches take one instead of a bare id, so a handler cannot reach a
//! tenant's rows without passing the scope check. It is made (`ScopedTenant::checked`) only where
//! access was decided: the scope check (`app::scope::in_scope`, which the API's extractor calls:
//! the operator, or the tenant's own API key), the scheduled jobs that act for every tenant
//! (`tenants::active_with_config`) and the operator's command line. The write path and key
//! rotation act for the tenant a verified signature or a stored row names, and pass its id.
use entity::tenants::Model;

/// A tenant found in the caller's scope (derefs to its row).
#[derive(Clone, Debug)]
pub struct ScopedTenant(Model);

impl ScopedTenant {
    /// The tenant, once access to it was checked.
    pub(crate) fn checked(tenant: Model) -> Self {
        Self(tenant)
    }

    pub fn into_model(self) -> Model {
        self.0
    }
}

impl std::ops::Deref for ScopedTenant {
    type Target = Model;
    fn deref(&self) -> &Model {
        &self.0
    }
}
