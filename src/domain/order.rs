//! Domain: an order as the tenant creates it — reference, amount in minor units, currency,
//! optional customer email and metadata.
use super::{Invalid, invalid};
use std::collections::BTreeMap;

/// Largest amount accepted, in minor units (Stripe's own ceiling is 99,999,999 for most
/// currencies; a few zero-decimal currencies go higher).
pub const MAX_AMOUNT: i64 = 999_999_999_999;

/// 1–200 printable characters, unique per tenant.
pub fn parse_reference(raw: &str) -> Result<String, Invalid> {
    let len = raw.chars().count();
    if len == 0 || len > 200 || raw.chars().any(char::is_control) || raw.trim() != raw {
        return Err(invalid(
            "reference",
            "must be 1-200 printable characters without surrounding spaces",
        ));
    }
    Ok(raw.to_owned())
}

/// A positive amount in minor units.
pub fn parse_amount(value: i64) -> Result<i64, Invalid> {
    if (1..=MAX_AMOUNT).contains(&value) {
        Ok(value)
    } else {
        Err(invalid(
            "amount",
            "must be a positive integer amount in minor units (at most 999999999999)",
        ))
    }
}

/// Three letters, any case; stored lowercase as Stripe writes it.
pub fn parse_currency(raw: &str) -> Result<String, Invalid> {
    if raw.len() == 3 && raw.bytes().all(|b| b.is_ascii_alphabetic()) {
        Ok(raw.to_ascii_lowercase())
    } else {
        Err(invalid("currency", "must be a three-letter ISO 4217 code"))
    }
}

/// A plausible email address (one `@`, no spaces, at most 254 characters).
pub fn parse_email(raw: &str) -> Result<String, Invalid> {
    let ok = raw.chars().count() <= 254
        && !raw.chars().any(|c| c.is_whitespace() || c.is_control())
        && raw.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty() && domain.contains('.') && !domain.contains('@')
        });
    if ok {
        Ok(raw.to_owned())
    } else {
        Err(invalid("customer_email", "must be an email address"))
    }
}

/// Stripe's metadata limits: at most 50 keys of at most 40 characters, values of at most 500.
pub fn parse_metadata(map: BTreeMap<String, String>) -> Result<BTreeMap<String, String>, Invalid> {
    let ok = map.len() <= 50
        && map
            .iter()
            .all(|(k, v)| (1..=40).contains(&k.chars().count()) && v.chars().count() <= 500);
    if ok {
        Ok(map)
    } else {
        Err(invalid(
            "metadata",
            "at most 50 keys of 1-40 characters, values of at most 500 characters",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn orders() {
        assert_eq!(parse_currency("EUR"), Ok("eur".to_owned()));
        assert!(parse_currency("EURO").is_err() && parse_currency("E1R").is_err());
        assert!(parse_amount(0).is_err() && parse_amount(-5).is_err() && parse_amount(1).is_ok());
        assert!(
            parse_reference(" a").is_err()
                && parse_reference("").is_err()
                && parse_reference("T-12").is_ok()
        );
        assert!(
            parse_email("a@b.co").is_ok()
                && parse_email("nope").is_err()
                && parse_email("a b@c.d").is_err()
        );
        let big: BTreeMap<String, String> =
            (0..51).map(|i| (format!("k{i}"), "v".into())).collect();
        assert!(parse_metadata(big).is_err());
    }
}
