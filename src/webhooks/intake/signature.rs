//! Webhooks: Stripe signature verification over the raw body — `Stripe-Signature:
//! t=<unix>,v1=<hex>[,v1=<hex>…]`, HMAC-SHA256(secret, "<t>.<body>"), constant-time compare,
//! any `v1` against any current secret, timestamp within a tolerance both ways.
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// Why a delivery's signature was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignatureError {
    /// No `Stripe-Signature` header.
    Missing,
    /// The header is not `t=…,v1=…`.
    Malformed,
    /// The timestamp is outside the tolerance.
    Stale,
    /// No `v1` matches any current secret.
    Mismatch,
}

/// A parsed `Stripe-Signature` header.
#[derive(Debug, PartialEq, Eq)]
pub struct SignatureHeader {
    pub timestamp: i64,
    pub v1: Vec<[u8; 32]>,
}

/// Parses the header; unknown schemes (`v0`, …) are skipped, at most 16 `v1`s are kept.
pub fn parse_header(header: &str) -> Result<SignatureHeader, SignatureError> {
    if header.len() > 4096 {
        return Err(SignatureError::Malformed);
    }
    let mut timestamp = None;
    let mut v1 = Vec::new();
    for part in header.split(',') {
        let (key, value) = part
            .trim()
            .split_once('=')
            .ok_or(SignatureError::Malformed)?;
        match key {
            "t" => {
                let t: i64 = value.parse().map_err(|_| SignatureError::Malformed)?;
                if timestamp.replace(t).is_some() {
                    return Err(SignatureError::Malformed);
                }
            }
            "v1" => {
                let mut sig = [0u8; 32];
                hex::decode_to_slice(value, &mut sig).map_err(|_| SignatureError::Malformed)?;
                if v1.len() < 16 {
                    v1.push(sig);
                }
            }
            _ => {}
        }
    }
    match (timestamp, v1.is_empty()) {
        (Some(timestamp), false) => Ok(SignatureHeader { timestamp, v1 }),
        _ => Err(SignatureError::Malformed),
    }
}

/// Checks `header` over `body` against `secrets` at time `now` (unix seconds).
pub fn verify<'s>(
    header: Option<&str>,
    body: &[u8],
    secrets: impl IntoIterator<Item = &'s str>,
    now: i64,
    tolerance_secs: u64,
) -> Result<(), SignatureError> {
    let parsed = parse_header(header.ok_or(SignatureError::Missing)?)?;
    if parsed.timestamp.abs_diff(now) > tolerance_secs {
        return Err(SignatureError::Stale);
    }
    let t = parsed.timestamp.to_string();
    for secret in secrets {
        let Ok(mut mac) = HmacSha256::new_from_slice(secret.as_bytes()) else {
            continue;
        };
        mac.update(t.as_bytes());
        mac.update(b".");
        mac.update(body);
        // `verify_slice` compares in constant time; try every candidate without early exit on
        // a partial match.
        let expected = mac.finalize().into_bytes();
        let mut matched = subtle::Choice::from(0u8);
        for sig in &parsed.v1 {
            matched |= subtle::ConstantTimeEq::ct_eq(expected.as_slice(), sig.as_slice());
        }
        if bool::from(matched) {
            return Ok(());
        }
    }
    Err(SignatureError::Mismatch)
}

/// The header Stripe would send for `body` signed with `secret` at `timestamp` (tests, tools).
pub fn sign(secret: &str, timestamp: i64, body: &[u8]) -> String {
    #[allow(clippy::expect_used)]
    let mut mac =
        HmacSha256::new_from_slice(secret.as_bytes()).expect("HMAC takes keys of any length");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    format!(
        "t={timestamp},v1={}",
        hex::encode(mac.finalize().into_bytes())
    )
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    const NOW: i64 = 1_763_800_000;

    #[test]
    fn accepts_any_v1_against_any_secret() {
        let body = br#"{"id":"evt_1"}"#;
        let good = sign("whsec_b", NOW, body);
        let sig = good.split("v1=").nth(1).unwrap();
        let header = format!("t={NOW},v1={},v1={sig},v0=abc", "00".repeat(32));
        assert_eq!(
            verify(Some(&header), body, ["whsec_a", "whsec_b"], NOW, 300),
            Ok(())
        );
        assert_eq!(
            verify(Some(&header), body, ["whsec_a"], NOW, 300),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn refuses_each_failure_kind() {
        let body = b"{}";
        let h = sign("whsec_a", NOW, body);
        assert_eq!(
            verify(None, body, ["whsec_a"], NOW, 300),
            Err(SignatureError::Missing)
        );
        assert_eq!(
            verify(Some("garbage"), body, ["whsec_a"], NOW, 300),
            Err(SignatureError::Malformed)
        );
        assert_eq!(
            verify(Some("t=x,v1=00"), body, ["whsec_a"], NOW, 300),
            Err(SignatureError::Malformed)
        );
        assert_eq!(
            verify(Some(&format!("t={NOW}")), body, ["whsec_a"], NOW, 300),
            Err(SignatureError::Malformed)
        );
        assert_eq!(
            verify(Some(&h), body, ["whsec_a"], NOW + 301, 300),
            Err(SignatureError::Stale)
        );
        assert_eq!(
            verify(Some(&h), body, ["whsec_a"], NOW - 301, 300),
            Err(SignatureError::Stale)
        );
        assert_eq!(verify(Some(&h), body, ["whsec_a"], NOW + 300, 300), Ok(()));
        assert_eq!(
            verify(Some(&h), b"{ }", ["whsec_a"], NOW, 300),
            Err(SignatureError::Mismatch)
        );
    }
}
