//! Domain: an order as the tenant creates it — reference, amount in minor units, currency,
//! optional customer email and metadata.
use super::{Invalid, invalid};
use std::collections::BTreeMap;

/// A plausible email address (`rules::Email`: one `@`, a dot after it, no spaces), at most 254
/// characters.
pub fn parse_email(raw: &str) -> Result<String, Invalid> {
    let raw = super::rules::check::<super::rules::Email>("customer_email", raw)?;
    if raw.chars().count() > 254 {
        return Err(invalid("customer_email", "must be at most 254 characters"));
    }
    Ok(raw.to_owned())
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
