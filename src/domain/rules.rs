//! Domain: the rules request strings must match, each one regular expression compiled once. The
//! same expression is published in the OpenAPI description (`api::patterns`), checked by the
//! API's field validator, and used by the domain's parsers, so a rule is written once and every
//! refusal of it reads the same: `field: must match …` ([`super::Invalid`]).
use regex::Regex;

/// A regular expression a request string must match.
pub trait Pattern: 'static {
    /// The expression, as published in the spec.
    const PATTERN: &'static str;
    /// The expression, compiled on first use.
    fn regex() -> &'static Regex;
}

macro_rules! patterns {
    ($($(#[$doc:meta])* $name:ident = $re:literal;)*) => {$(
        $(#[$doc])*
        pub enum $name {}
        impl Pattern for $name {
            const PATTERN: &'static str = $re;
            fn regex() -> &'static Regex {
                static RE: std::sync::LazyLock<Regex> = std::sync::LazyLock::new(|| {
                    // Every pattern is compiled at start-up and by api::patterns' unit test.
                    Regex::new($re).expect(concat!("pattern compiles: ", $re))
                });
                &RE
            }
        }
    )*
    /// Compiles every pattern (at start-up, so none is compiled under a request).
    pub fn compile_all() {
        $( let _ = $name::regex(); )*
    }};
}

patterns! {
    /// A list cursor: a UUID as 22 base64url characters.
    Cursor = r"^[A-Za-z0-9_-]{21}[AQgw]$";
    /// An `http(s)://` URL without spaces or control characters.
    Url = r"^https?://[^\s\x00-\x1f\x7f-\x9f]+$";
    /// A Stripe secret or restricted key.
    SecretKey = r"^[sr]k_(test|live)_[A-Za-z0-9]{8,247}$";
    /// A Stripe webhook signing secret.
    WebhookSecret = r"^whsec_[A-Za-z0-9+/=_-]{8,250}$";
    /// A tenant slug.
    Slug = r"^[a-z0-9][a-z0-9-]{1,62}$";
    /// A display name or label: no control characters, not blank.
    Label = r"^[^\x00-\x1f\x7f-\x9f]*[^\x00-\x1f\x7f-\x9f\s][^\x00-\x1f\x7f-\x9f]*$";
    /// A free text, possibly empty: no control characters.
    Text = r"^[^\x00-\x1f\x7f-\x9f]*$";
    /// A Stripe Connect account id.
    AccountId = r"^acct_[A-Za-z0-9]{1,64}$";
    /// An order reference: 1–200 characters, no control characters, no space at either end.
    Reference = r"^[^\x00-\x1f\x7f-\x9f\s]([^\x00-\x1f\x7f-\x9f]{0,198}[^\x00-\x1f\x7f-\x9f\s])?$";
    /// Which payments by their order: `none` (those that match no order) or an order's id.
    OrderSelector = r"^(none|[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12})$";
    /// An ISO 4217 currency code, any case.
    Currency = r"^[A-Za-z]{3}$";
    /// An email address, loosely: one `@`, a dot after it, no spaces or control characters.
    Email = r"^[^@\s\x00-\x1f\x7f-\x9f]+@[^@\s\x00-\x1f\x7f-\x9f]*\.[^@\s\x00-\x1f\x7f-\x9f]*$";
}

/// `raw` if `P` matches it; otherwise the refusal of `field`.
pub fn check<'a, P: Pattern>(field: &'static str, raw: &'a str) -> Result<&'a str, super::Invalid> {
    if P::regex().is_match(raw) {
        Ok(raw)
    } else {
        Err(super::Invalid::pattern::<P>(field))
    }
}
