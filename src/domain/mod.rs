//! Domain layer: validated values. `parse()` returns a value that cannot be invalid, or a
//! [`Invalid`] naming the field and the rule, which the API answers as 422 problem+json.
mod order;
mod stripe;
mod tenant;

pub use order::{parse_amount, parse_currency, parse_email, parse_metadata, parse_reference};

pub use stripe::{StripeMode, parse_secret_key, parse_webhook_secret};
pub use tenant::{
    DEFAULT_RATE_BURST, DEFAULT_RATE_PER_SECOND, parse_account_id, parse_burst, parse_key_name,
    parse_name, parse_rate, parse_slug,
};

/// A value that breaks a rule; `field` is the JSON field name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {rule}")]
pub struct Invalid {
    pub field: &'static str,
    pub rule: &'static str,
}

pub(crate) fn invalid(field: &'static str, rule: &'static str) -> Invalid {
    Invalid { field, rule }
}
