//! Crypto layer: the master keyring, AES-256-GCM sealing bound to (tenant, field), secret types.
mod capability;
mod keyring;
mod secret;

pub use keyring::{Field, Keyring, KeyringError, SealedBlob};
pub use secret::{SecretText, fill_random, hint, random_token};
