//! Fuzz target: the `Stripe-Signature` header parser and verification. Any header and body must
//! give `Ok` or a `SignatureError`, never a panic; a header that verifies must parse.
#![no_main]
use gateway::webhooks::intake::signature::{parse_header, verify};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // First line: the header; the rest: the body.
    let split = data.iter().position(|b| *b == b'\n').unwrap_or(data.len());
    let Ok(header) = std::str::from_utf8(&data[..split]) else {
        return;
    };
    let body = data.get(split + 1..).unwrap_or_default();
    let parsed = parse_header(header);
    let secrets = ["whsec_fuzz_current", "whsec_fuzz_previous"];
    let now = parsed.as_ref().map_or(1_700_000_000, |p| p.timestamp);
    let verified = verify(Some(header), body, secrets, now, 300);
    assert!(verified.is_err() || parsed.is_ok());
});
