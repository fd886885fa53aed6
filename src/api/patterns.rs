//! API: request strings that must match a regular expression, compiled once.
//!
//! poem-openapi's `validator(pattern = …)` compiles its expression on every check (5.1.16:
//! `Regex::new` inside `Pattern::check`); the order reference's took ~2 ms, most of an order
//! create. Here the field's type names the pattern, publishes it in the spec like
//! `validator(pattern)` did, and the field's `validator(custom = "Matches::new()")` checks it
//! against the compiled expression, so a mismatch is still a 422 that names the field:
//!
//! ```text
//! #[oai(validator(custom = "Matches::new()"))]
//! pub reference: Matching<Reference>,
//! ```
pub use crate::domain::rules::*;
use poem_openapi::registry::{MetaSchema, MetaSchemaRef};
use poem_openapi::types::{
    ParseError, ParseFromJSON, ParseFromParameter, ParseResult, ToJSON, Type,
};
use poem_openapi::validation::Validator;
use serde_json::Value;
use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;

/// A string whose schema carries `P`'s pattern. Parsing takes a JSON string and nothing else
/// (no number or boolean turned into text); the field's `Matches` validator checks the pattern.
/// No `Debug`: some of these are secrets.
pub struct Matching<P>(String, PhantomData<fn() -> P>);

impl<P> Matching<P> {
    pub fn into_inner(self) -> String {
        self.0
    }
}

impl<P> std::ops::Deref for Matching<P> {
    type Target = str;

    fn deref(&self) -> &str {
        &self.0
    }
}

impl<P> AsRef<str> for Matching<P> {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl<P: Pattern> Type for Matching<P> {
    const IS_REQUIRED: bool = true;
    type RawValueType = Self;
    type RawElementValueType = Self;

    fn name() -> Cow<'static, str> {
        "string".into()
    }

    fn schema_ref() -> MetaSchemaRef {
        MetaSchemaRef::Inline(Box::new(MetaSchema {
            pattern: Some(P::PATTERN.to_owned()),
            ..MetaSchema::new("string")
        }))
    }

    fn as_raw_value(&self) -> Option<&Self> {
        Some(self)
    }

    fn raw_element_iter<'a>(&'a self) -> Box<dyn Iterator<Item = &'a Self> + 'a> {
        Box::new(std::iter::once(self))
    }
}

impl<P: Pattern> ParseFromJSON for Matching<P> {
    fn parse_from_json(value: Option<Value>) -> ParseResult<Self> {
        match value {
            Some(Value::String(s)) => Ok(Self(s, PhantomData)),
            other => Err(ParseError::expected_type(other.unwrap_or_default())),
        }
    }
}

impl<P: Pattern> ParseFromParameter for Matching<P> {
    fn parse_from_parameter(value: &str) -> ParseResult<Self> {
        Ok(Self(value.to_owned(), PhantomData))
    }
}

impl<P: Pattern> ToJSON for Matching<P> {
    fn to_json(&self) -> Option<Value> {
        Some(Value::String(self.0.clone()))
    }
}

/// Checks a `Matching<P>` field against `P`'s compiled expression; `P` is inferred from the
/// field. Fails as `pattern("…")`, the words of poem-openapi's own pattern validator.
pub struct Matches<P>(PhantomData<fn() -> P>);

impl<P> Matches<P> {
    #[allow(clippy::new_without_default)]
    pub fn new() -> Self {
        Self(PhantomData)
    }
}

impl<P: Pattern> fmt::Display for Matches<P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "pattern(\"{}\")", P::PATTERN)
    }
}

impl<P: Pattern> Validator<Matching<P>> for Matches<P> {
    fn check(&self, value: &Matching<P>) -> bool {
        P::regex().is_match(&value.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn matches<P: Pattern>(s: &str) -> bool {
        Matches::<P>::new().check(&Matching::<P>(s.to_owned(), PhantomData))
    }

    #[test]
    fn every_pattern_compiles_and_checks() {
        compile_all();
        assert!(matches::<Reference>("ord-1"));
        assert!(!matches::<Reference>(" ord-1"));
        assert!(!matches::<Reference>(&"x".repeat(201)));
        assert!(matches::<Currency>("usd"));
        assert!(!matches::<Currency>("usdx"));
        assert!(matches::<Label>("POS integration"));
        assert!(!matches::<Label>("   "));
        assert!(matches::<Cursor>("AZLQ5yG4cR2pX1n4v8wqCA"));
        assert!(!matches::<Cursor>("AZLQ5yG4cR2pX1n4v8wqCB"));
        assert_eq!(
            Matches::<Currency>::new().to_string(),
            r#"pattern("^[A-Za-z]{3}$")"#
        );
    }
}
