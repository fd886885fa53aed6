//! Application layer: [`Error`], why a use case did not do what it was asked — one type for
//! every use case, free of HTTP. The API renders it as problem+json
//! (`impl From<app::Error> for ApiError`, in `error.rs`), the command line prints it.
//!
//! The policy, written down once:
//! - A refusal the caller can act on (`Invalid`, `NotFound`, `OperatorOnly`, `Conflict`,
//!   `Unprocessable`) carries
//!   its reason in the API's words and is not logged as an error: it is the caller's, not ours.
//! - Stripe's answer (`Stripe`) is passed on with Stripe's reason; Stripe unreachable is
//!   `Unavailable`, with what happens next (kept pending, retry with the same key…).
//! - Anything else (`Store`, `Secret`, `Internal`) is ours: logged with its cause where it
//!   happens or where it is rendered, and answered without detail.
use crate::crypto::KeyringError;
use crate::domain::Invalid;
use crate::stripe::StripeCallError;
use sea_orm::DbErr;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A value breaks a rule; names the field.
    #[error(transparent)]
    Invalid(#[from] Invalid),
    /// No such thing for this caller (a tenant out of scope is not found, too).
    #[error("{0} not found")]
    NotFound(&'static str),
    /// Only the platform operator may do this (the action, in words: "delete tenants").
    #[error("only the platform operator may {0}")]
    OperatorOnly(&'static str),
    /// The request conflicts with the current state; `code` is stable, `detail` says why.
    #[error("{detail}")]
    Conflict { code: &'static str, detail: String },
    /// A value that must be unique is held already, by the row `existing_id` (a retried create
    /// finds what the first one made).
    #[error("{detail}")]
    Taken {
        code: &'static str,
        detail: String,
        existing_id: uuid::Uuid,
    },
    /// A value is well formed but cannot be taken (a key Stripe refuses); `code` is stable.
    #[error("{detail}")]
    Unprocessable { code: &'static str, detail: String },
    /// Stripe answered, and not as asked (or could not be reached).
    #[error(transparent)]
    Stripe(#[from] StripeCallError),
    /// Something this use case needs is unavailable for now (Stripe, with what happens next).
    #[error("{detail}")]
    Unavailable { code: &'static str, detail: String },
    /// Stripe refused this earlier; its reason as recorded then.
    #[error("{0}")]
    RefusedBefore(String),
    /// The database failed (or a row went away under us).
    #[error(transparent)]
    Store(#[from] DbErr),
    /// A stored secret could not be opened.
    #[error(transparent)]
    Secret(#[from] KeyringError),
    /// Ours, logged where it happened.
    #[error("internal error")]
    Internal,
}

impl From<crate::stripe::credentials::LoadError> for Error {
    fn from(e: crate::stripe::credentials::LoadError) -> Self {
        match e {
            crate::stripe::credentials::LoadError::Db(e) => Self::Store(e),
            crate::stripe::credentials::LoadError::Crypto(e) => Self::Secret(e),
        }
    }
}

impl Error {
    pub fn conflict(code: &'static str, detail: impl Into<String>) -> Self {
        Self::Conflict {
            code,
            detail: detail.into(),
        }
    }

    pub fn unprocessable(code: &'static str, detail: impl Into<String>) -> Self {
        Self::Unprocessable {
            code,
            detail: detail.into(),
        }
    }

    pub fn unavailable(code: &'static str, detail: impl Into<String>) -> Self {
        Self::Unavailable {
            code,
            detail: detail.into(),
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
