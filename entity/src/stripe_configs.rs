//! Entity: a tenant's Stripe secret key, encrypted at rest (one row per tenant).
use sea_orm::entity::prelude::*;

#[derive(Clone, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "stripe_configs")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub tenant_id: Uuid,
    /// Self-describing AES-256-GCM blob (names its master key version).
    pub secret_key_ciphertext: String,
    pub secret_key_hint: String,
    pub mode: crate::status::StripeMode,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

impl std::fmt::Debug for Model {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("stripe_configs::Model")
            .field("tenant_id", &self.tenant_id)
            .field("secret_key_hint", &self.secret_key_hint)
            .field("mode", &self.mode)
            .finish_non_exhaustive()
    }
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
