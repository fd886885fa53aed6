//! Domain: tenant fields (name, rate limits, Connect account id, key names; the slug is a
//! `values::Slug`).
use super::{Invalid, invalid};

pub const DEFAULT_RATE_PER_SECOND: i64 = 100;
pub const DEFAULT_RATE_BURST: i64 = 200;

/// 1–200 characters after trimming, no control characters.
pub fn parse_name(raw: &str) -> Result<String, Invalid> {
    text_field("name", raw, 200)
}

/// An API key's label: 1–100 characters.
pub fn parse_key_name(raw: &str) -> Result<String, Invalid> {
    text_field("name", raw, 100)
}

/// A label (`rules::Label`: no control characters, not blank), stored trimmed, at most `max`
/// characters.
fn text_field(field: &'static str, raw: &str, max: usize) -> Result<String, Invalid> {
    let trimmed = super::rules::check::<super::rules::Label>(field, raw)?.trim();
    if trimmed.chars().count() > max {
        return Err(invalid(
            field,
            "must not be longer than the field's maxLength",
        ));
    }
    Ok(trimmed.to_owned())
}

/// `rate_limit_per_second`: 1–100,000.
pub fn parse_rate(value: i64) -> Result<i64, Invalid> {
    if (1..=100_000).contains(&value) {
        Ok(value)
    } else {
        Err(invalid(
            "rate_limit_per_second",
            "must be between 1 and 100000",
        ))
    }
}

/// `rate_limit_burst`: 1–1,000,000.
pub fn parse_burst(value: i64) -> Result<i64, Invalid> {
    if (1..=1_000_000).contains(&value) {
        Ok(value)
    } else {
        Err(invalid("rate_limit_burst", "must be between 1 and 1000000"))
    }
}

/// A Stripe Connect account id: `acct_` and 1–64 letters or digits (`rules::AccountId`).
pub fn parse_account_id(raw: &str) -> Result<String, Invalid> {
    super::rules::check::<super::rules::AccountId>("stripe_account_id", raw).map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_and_accounts() {
        assert!(parse_rate(0).is_err() && parse_rate(100_001).is_err() && parse_rate(1).is_ok());
        assert!(parse_burst(0).is_err() && parse_burst(1_000_000).is_ok());
        assert!(parse_account_id("acct_1Abc").is_ok());
        assert!(parse_account_id("acct_").is_err() && parse_account_id("cus_1").is_err());
        assert!(parse_name("  ").is_err() && parse_name("Luigi's").is_ok());
    }
}
