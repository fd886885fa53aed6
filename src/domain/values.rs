//! Domain: values parsed once into types with private fields — a `Slug`, an `OrderReference`, a
//! `Currency`, an `Amount` can only exist valid. Each string value is checked by its rule in
//! `rules` (the one the OpenAPI description publishes as its pattern), so the API's check and
//! the parser here cannot disagree, and both refuse in one shape (`field: must match …`).
use super::rules;
use super::{Invalid, invalid};

/// A string value whose rule is `P`, refused as `FIELD`.
macro_rules! string_value {
    ($(#[$doc:meta])* $name:ident, $rule:ty, $field:literal) => {
        $(#[$doc])*
        #[derive(Clone, Debug, PartialEq, Eq)]
        pub struct $name(String);

        impl $name {
            pub fn as_str(&self) -> &str {
                &self.0
            }

            pub fn into_string(self) -> String {
                self.0
            }

            fn checked(raw: &str) -> Result<&str, Invalid> {
                rules::check::<$rule>($field, raw)
            }
        }
    };
}

string_value!(
    /// A tenant's slug: its name in every path (`rules::Slug`), never shaped like a UUID (ids
    /// and slugs share the path).
    Slug, rules::Slug, "slug"
);
string_value!(
    /// The restaurant's own reference for an order: 1–200 characters, no control characters,
    /// no space at either end (`rules::Reference`).
    OrderReference, rules::Reference, "reference"
);
string_value!(
    /// An ISO 4217 code, stored lowercase as Stripe writes it (`rules::Currency`, any case in).
    Currency, rules::Currency, "currency"
);

impl Slug {
    pub fn parse(raw: &str) -> Result<Self, Invalid> {
        let raw = Self::checked(raw)?;
        if uuid::Uuid::parse_str(raw).is_ok() {
            return Err(invalid("slug", "must not be shaped like a UUID"));
        }
        if raw == "connect" {
            // `/webhooks/stripe/connect` is the Connect platform's endpoint.
            return Err(invalid("slug", "`connect` is reserved"));
        }
        Ok(Self(raw.to_owned()))
    }
}

impl OrderReference {
    pub fn parse(raw: &str) -> Result<Self, Invalid> {
        Self::checked(raw).map(|r| Self(r.to_owned()))
    }
}

impl Currency {
    pub fn parse(raw: &str) -> Result<Self, Invalid> {
        Self::checked(raw).map(|c| Self(c.to_ascii_lowercase()))
    }
}

/// Largest amount accepted, in minor units (Stripe's own ceiling is 99,999,999 for most
/// currencies; a few zero-decimal currencies go higher).
pub const MAX_AMOUNT: i64 = 999_999_999_999;

/// A positive amount in minor units, at most [`MAX_AMOUNT`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Amount(i64);

impl Amount {
    pub fn parse(value: i64) -> Result<Self, Invalid> {
        if (1..=MAX_AMOUNT).contains(&value) {
            Ok(Self(value))
        } else {
            Err(invalid(
                "amount",
                "must be a positive integer amount in minor units (at most 999999999999)",
            ))
        }
    }

    pub fn get(self) -> i64 {
        self.0
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn values_parse_once_and_refuse_in_one_shape() {
        assert_eq!(
            Currency::parse("EUR").map(Currency::into_string),
            Ok("eur".into())
        );
        for bad in ["EURO", "E1R", ""] {
            let e = Currency::parse(bad).unwrap_err();
            assert_eq!(e.to_string(), "currency: must match ^[A-Za-z]{3}$");
        }
        assert!(Amount::parse(0).is_err() && Amount::parse(-5).is_err());
        assert_eq!(Amount::parse(1).map(Amount::get), Ok(1));
        assert!(OrderReference::parse(" a").is_err() && OrderReference::parse("").is_err());
        assert!(OrderReference::parse(&"x".repeat(201)).is_err());
        assert_eq!(
            OrderReference::parse("T-12").map(|r| r.into_string()),
            Ok("T-12".into())
        );
        assert!(Slug::parse("pizza-place").is_ok() && Slug::parse("a1").is_ok());
        for bad in ["a", "-abc", "Abc", "a_b", "a b", &"x".repeat(64)] {
            assert!(
                Slug::parse(bad)
                    .unwrap_err()
                    .rule
                    .starts_with("must match ^"),
                "{bad}"
            );
        }
        let uuid = Slug::parse("0191e0b6-7f1c-7cc0-9a4e-6a7bd3c1d2e3").unwrap_err();
        assert_eq!(uuid.to_string(), "slug: must not be shaped like a UUID");
    }
}
