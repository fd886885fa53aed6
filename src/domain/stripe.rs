//! Domain: Stripe secrets as typed by the tenant (`sk_`/`rk_` keys, `whsec_` secrets).
use super::{Invalid, rules};
use crate::crypto::SecretText;

pub use entity::status::StripeMode;

/// `sk_test_…`, `sk_live_…`, `rk_test_…` or `rk_live_…`, 8–247 letters or digits after the
/// prefix (`rules::SecretKey`). The mode comes from the prefix. The value is never echoed in an
/// error.
/// Webhook signing secrets a tenant (or the platform) may have live at once: a rotation needs
/// two; a forged delivery costs one HMAC of its body per live secret, so the count is bounded.
pub const MAX_LIVE_WEBHOOK_SECRETS: usize = 5;

pub fn parse_secret_key(raw: String) -> Result<(SecretText, StripeMode), Invalid> {
    let secret = SecretText::new(raw);
    let key = rules::check::<rules::SecretKey>("secret_key", secret.expose())?;
    let mode = if key[3..].starts_with("live_") {
        StripeMode::Live
    } else {
        StripeMode::Test
    };
    Ok((secret, mode))
}

/// `whsec_` followed by 8–250 characters of base64 or hex (`rules::WebhookSecret`).
pub fn parse_webhook_secret(field: &'static str, raw: String) -> Result<SecretText, Invalid> {
    let secret = SecretText::new(raw);
    rules::check::<rules::WebhookSecret>(field, secret.expose())?;
    Ok(secret)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_keys() {
        assert_eq!(
            parse_secret_key("sk_test_4eC39HqLyjWDarjtT1zdp7dc".into()).map(|k| k.1),
            Ok(StripeMode::Test)
        );
        assert_eq!(
            parse_secret_key("rk_live_abcdefgh12".into()).map(|k| k.1),
            Ok(StripeMode::Live)
        );
        for bad in [
            "pk_test_abcdefgh",
            "sk_prod_abcdefgh",
            "sk_test_short",
            "sk_test_abc defgh",
            "",
        ] {
            assert!(parse_secret_key(bad.into()).is_err(), "{bad}");
        }
    }

    #[test]
    fn webhook_secrets() {
        assert!(parse_webhook_secret("webhook_secret", "whsec_abcdefgh12345678".into()).is_ok());
        assert!(parse_webhook_secret("webhook_secret", "whsec_short".into()).is_err());
        assert!(parse_webhook_secret("webhook_secret", "sk_test_abcdefgh".into()).is_err());
    }
}
