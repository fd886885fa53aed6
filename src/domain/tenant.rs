//! Domain: tenant fields (slug, name, status, rate limits, Connect account id, key names).
use super::{Invalid, invalid};

pub const DEFAULT_RATE_PER_SECOND: i64 = 100;
pub const DEFAULT_RATE_BURST: i64 = 200;

/// `^[a-z0-9][a-z0-9-]{1,62}$`, and not shaped like a UUID (ids and slugs share the path).
pub fn parse_slug(raw: &str) -> Result<String, Invalid> {
    let rule = "must match ^[a-z0-9][a-z0-9-]{1,62}$ and not be a UUID";
    let bytes = raw.as_bytes();
    let ok = (2..=63).contains(&bytes.len())
        && (bytes[0].is_ascii_lowercase() || bytes[0].is_ascii_digit())
        && bytes
            .iter()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'-')
        && uuid::Uuid::parse_str(raw).is_err();
    if ok {
        Ok(raw.to_owned())
    } else {
        Err(invalid("slug", rule))
    }
}

/// 1–200 characters after trimming, no control characters.
pub fn parse_name(raw: &str) -> Result<String, Invalid> {
    text_field("name", raw, 200)
}

/// An API key's label: 1–100 characters.
pub fn parse_key_name(raw: &str) -> Result<String, Invalid> {
    text_field("name", raw, 100)
}

fn text_field(field: &'static str, raw: &str, max: usize) -> Result<String, Invalid> {
    let trimmed = raw.trim();
    let len = trimmed.chars().count();
    if len == 0 || len > max || trimmed.chars().any(char::is_control) {
        return Err(invalid(
            field,
            "must be 1 to the maximum length of printable characters",
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

/// A Stripe Connect account id: `acct_` and 1–64 letters or digits.
pub fn parse_account_id(raw: &str) -> Result<String, Invalid> {
    match raw.strip_prefix("acct_") {
        Some(rest)
            if (1..=64).contains(&rest.len())
                && rest.bytes().all(|b| b.is_ascii_alphanumeric()) =>
        {
            Ok(raw.to_owned())
        }
        _ => Err(invalid(
            "stripe_account_id",
            "must be acct_ followed by 1-64 letters or digits",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs() {
        assert!(parse_slug("pizza-place").is_ok());
        assert!(parse_slug("a1").is_ok());
        for bad in [
            "a",
            "-abc",
            "Abc",
            "a_b",
            "a b",
            &"x".repeat(64),
            "0191e0b6-7f1c-7cc0-9a4e-6a7bd3c1d2e3",
        ] {
            assert!(parse_slug(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn limits_and_accounts() {
        assert!(parse_rate(0).is_err() && parse_rate(100_001).is_err() && parse_rate(1).is_ok());
        assert!(parse_burst(0).is_err() && parse_burst(1_000_000).is_ok());
        assert!(parse_account_id("acct_1Abc").is_ok());
        assert!(parse_account_id("acct_").is_err() && parse_account_id("cus_1").is_err());
        assert!(parse_name("  ").is_err() && parse_name("Luigi's").is_ok());
    }
}
