//! Secret wrapper types: redacted in `Debug`/`Display`, zeroized on drop.
use base64::Engine as _;
use secrecy::{ExposeSecret, SecretString};
use std::fmt;

/// A plaintext secret (Stripe key, webhook secret, token). Never printed, wiped when dropped.
#[derive(Clone)]
pub struct SecretText(SecretString);

impl SecretText {
    pub fn new(value: impl Into<String>) -> Self {
        Self(SecretString::from(value.into()))
    }

    /// The plaintext, for the few places that must use it (HMAC, Stripe calls, hashing).
    pub fn expose(&self) -> &str {
        self.0.expose_secret()
    }
}

impl fmt::Debug for SecretText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretText([REDACTED])")
    }
}

impl fmt::Display for SecretText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[REDACTED]")
    }
}

/// A hint safe to show: the secret's type prefix and its last four characters
/// (`sk_test_…4242`, `whsec_…9xQa`).
pub fn hint(secret: &str) -> String {
    let prefix_len = ["sk_test_", "sk_live_", "rk_test_", "rk_live_", "whsec_"]
        .iter()
        .find(|p| secret.starts_with(**p))
        .map_or(0, |p| p.len());
    let chars: Vec<char> = secret.chars().collect();
    let tail: String = chars[chars.len().saturating_sub(4)..].iter().collect();
    format!("{}…{}", &secret[..prefix_len], tail)
}

/// `bytes` random bytes from the OS, base64url without padding, after `prefix`.
pub fn random_token(prefix: &str, bytes: usize) -> SecretText {
    let mut buf = zeroize::Zeroizing::new(vec![0u8; bytes]);
    fill_random(&mut buf);
    let encoded = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(buf.as_slice());
    SecretText::new(format!("{prefix}{encoded}"))
}

/// Fills `buf` from the OS random source. Failure to read it is unrecoverable.
pub fn fill_random(buf: &mut [u8]) {
    #[allow(clippy::expect_used)]
    getrandom::fill(buf).expect("the operating system's random source is unavailable");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_and_display_redact() {
        let s = SecretText::new("sk_test_supersecret4242");
        assert!(!format!("{s:?}").contains("supersecret"));
        assert!(!format!("{s}").contains("supersecret"));
        assert_eq!(s.expose(), "sk_test_supersecret4242");
    }

    #[test]
    fn hints_show_prefix_and_last_four() {
        assert_eq!(hint("sk_test_abcdef4242"), "sk_test_…4242");
        assert_eq!(hint("whsec_abcdefgh9xQa"), "whsec_…9xQa");
        assert_eq!(hint("rk_live_zzzzzz1234"), "rk_live_…1234");
    }
}
