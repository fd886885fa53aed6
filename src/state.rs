//! Shared state handed to every request: the pool, the keyring, the operator token's digest.
use crate::config::Config;
use crate::crypto::{Keyring, SecretText};
use sea_orm::DatabaseConnection;
use sha2::{Digest, Sha256};
use std::sync::Arc;
use subtle::ConstantTimeEq;

#[derive(Clone)]
pub struct AppState(Arc<Inner>);

pub struct Inner {
    pub db: DatabaseConnection,
    pub keyring: Keyring,
    pub config: Config,
    admin_token_digest: [u8; 32],
}

impl std::ops::Deref for AppState {
    type Target = Inner;
    fn deref(&self) -> &Inner {
        &self.0
    }
}

/// SHA-256 of a token, for constant-time comparison and for storing API keys.
pub fn token_digest(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

impl AppState {
    pub fn new(
        db: DatabaseConnection,
        keyring: Keyring,
        config: Config,
        admin_token: &SecretText,
    ) -> Self {
        Self(Arc::new(Inner {
            db,
            keyring,
            config,
            admin_token_digest: token_digest(admin_token.expose()),
        }))
    }

    /// Constant-time check of the operator token.
    pub fn is_operator_token(&self, token: &str) -> bool {
        token_digest(token).ct_eq(&self.admin_token_digest).into()
    }
}
