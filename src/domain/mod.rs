//! Domain layer: validated values. `parse()` returns a value that cannot be invalid, or a
//! [`Invalid`] naming the field and the rule, which the API answers as 422 problem+json.
pub mod authorization;
pub mod changes;
pub mod checkout;
#[cfg(test)]
pub(crate) mod fixtures;
pub mod money;
pub mod notification;
mod order;
pub mod refund;
pub mod rules;
mod stripe;
mod tenant;
mod values;

pub use order::{parse_email, parse_metadata};

pub use stripe::{MAX_LIVE_WEBHOOK_SECRETS, StripeMode, parse_secret_key, parse_webhook_secret};
pub use tenant::{
    DEFAULT_MAX_TIP_BPS, DEFAULT_RATE_BURST, DEFAULT_RATE_PER_SECOND, application_fee, check_kind,
    parse_account_id, parse_burst, parse_fee_bps, parse_key_name, parse_max_tip_bps, parse_name,
    parse_rate,
};
pub use values::{Amount, Currency, MAX_AMOUNT, OrderReference, Slug};

/// A value that breaks a rule; `field` is the JSON field name. The API answers it as 422
/// `validation_failed` with `field: rule` as the detail, whether the API's field validator or a
/// parser here found it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {rule}")]
pub struct Invalid {
    pub field: &'static str,
    pub rule: std::borrow::Cow<'static, str>,
}

impl Invalid {
    /// `field` does not match the rule `P`: in the words of the API's own pattern check.
    pub fn pattern<P: rules::Pattern>(field: &'static str) -> Self {
        Self {
            field,
            rule: format!("must match {}", P::PATTERN).into(),
        }
    }
}

/// A caller's `Idempotency-Key` as the gateway sends it on to Stripe: 32 hex characters of its
/// SHA-256, so the caller's own text never reaches Stripe and the key stays short whatever the
/// caller sent.
pub fn key_digest(caller_key: &str) -> String {
    use sha2::{Digest, Sha256};
    let mut digest = hex::encode(Sha256::digest(caller_key.as_bytes()));
    digest.truncate(32);
    digest
}

pub fn invalid(field: &'static str, rule: &'static str) -> Invalid {
    Invalid {
        field,
        rule: rule.into(),
    }
}
