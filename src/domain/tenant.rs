//! Domain: tenant fields (name, rate limits, Connect account id, key names; the slug is a
//! `values::Slug`).
use super::{Invalid, invalid};
use entity::status::TenantKind;

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

/// `application_fee_bps`: 0–10,000 basis points.
pub fn parse_fee_bps(value: i32) -> Result<i32, Invalid> {
    if (0..=10_000).contains(&value) {
        Ok(value)
    } else {
        Err(invalid(
            "application_fee_bps",
            "must be between 0 and 10000",
        ))
    }
}

/// The default tip limit: 10,000 basis points, a tip up to the order's amount.
pub const DEFAULT_MAX_TIP_BPS: i32 = 10_000;

/// `max_tip_bps`: 0–100,000 basis points of an order's amount (a tip up to 10 times it).
pub fn parse_max_tip_bps(value: i32) -> Result<i32, Invalid> {
    if (0..=100_000).contains(&value) {
        Ok(value)
    } else {
        Err(invalid("max_tip_bps", "must be between 0 and 100000"))
    }
}

/// A connected tenant is reached through its account: it must have one.
pub fn check_kind(kind: TenantKind, stripe_account_id: Option<&str>) -> Result<(), Invalid> {
    if kind == TenantKind::Connected && stripe_account_id.is_none() {
        return Err(invalid(
            "stripe_account_id",
            "a connected tenant needs its Stripe account id (acct_…)",
        ));
    }
    Ok(())
}

/// The platform's fee on a checkout of `amount` (minor units): `amount × bps / 10,000` rounded
/// down, so never more than the amount (at most 10,000 bps).
pub fn application_fee(amount: i64, bps: i32) -> i64 {
    let fee = i128::from(amount) * i128::from(bps.clamp(0, 10_000)) / 10_000;
    i64::try_from(fee).unwrap_or(0).min(amount)
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

    #[test]
    fn fees_round_down_and_never_exceed_the_amount() {
        assert_eq!(application_fee(1999, 0), 0);
        assert_eq!(application_fee(1999, 250), 49); // 49.975
        assert_eq!(application_fee(1000, 250), 25);
        assert_eq!(application_fee(1, 9_999), 0);
        assert_eq!(application_fee(1999, 10_000), 1999);
        assert_eq!(application_fee(99_999_999, 10_000), 99_999_999);
        assert!(parse_fee_bps(-1).is_err() && parse_fee_bps(10_001).is_err());
        assert!(parse_fee_bps(0).is_ok() && parse_fee_bps(10_000).is_ok());
        assert!(parse_max_tip_bps(-1).is_err() && parse_max_tip_bps(100_001).is_err());
        assert!(parse_max_tip_bps(0).is_ok() && parse_max_tip_bps(100_000).is_ok());
    }

    #[test]
    fn a_connected_tenant_needs_an_account() {
        assert!(check_kind(TenantKind::Connected, None).is_err());
        assert!(check_kind(TenantKind::Connected, Some("acct_1")).is_ok());
        assert!(check_kind(TenantKind::OwnAccount, None).is_ok());
    }
}
