//! Domain: notification endpoints — where order changes may be sent. An endpoint URL is `https`
//! (plain `http` only when private addresses are allowed, for tests and local work), has a host
//! and no user info, and names no private, loopback, link-local, multicast or reserved address
//! literally; a host name is checked again, after resolution, on every attempt
//! (`notify::outbound`).
use super::{Invalid, invalid, rules};
use std::net::{IpAddr, Ipv4Addr};

/// Notification endpoints one tenant may have.
pub const MAX_ENDPOINTS_PER_TENANT: usize = 20;
/// The kind of an `order.authorization_expiring` notice (in the outbox and on the wire).
pub const EXPIRING: &str = "authorization_expiring";
/// Signing secrets one endpoint may have live at once (each is a signature on every message).
pub const MAX_LIVE_SECRETS_PER_ENDPOINT: usize = 5;

/// Longest endpoint URL.
pub const MAX_URL: usize = 2048;
/// Longest endpoint description.
pub const MAX_DESCRIPTION: usize = 500;

/// True for an address on the public internet: not private, loopback, link-local (which holds
/// the cloud metadata address 169.254.169.254), multicast, shared (CGNAT), documentation,
/// benchmarking, reserved or unspecified.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_public_v4(v4);
            }
            let s = v6.segments();
            !(v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (s[0] & 0xfe00) == 0xfc00 // unique local fc00::/7
                || (s[0] & 0xffc0) == 0xfe80 // link-local fe80::/10
                || (s[0] & 0xffc0) == 0xfec0 // site-local fec0::/10
                || (s[0] == 0x2001 && s[1] == 0x0db8) // documentation
                || s[..6] == [0x64, 0xff9b, 0, 0, 0, 0] // NAT64 of any IPv4 address
                || (s[0] == 0x64 && s[1] == 0xff9b && s[2] == 1) // local NAT64 64:ff9b:1::/48
                || s[0] == 0x2002 // 6to4: reaches the IPv4 address it embeds
                || (s[0] == 0x2001 && s[1] == 0) // Teredo 2001::/32: tunnels to IPv4
                || s[..4] == [0x100, 0, 0, 0] // discard-only 100::/64
                || s[..6] == [0, 0, 0, 0, 0xffff, 0] // IPv4-translated ::ffff:0:0:0/96
                || s[..6] == [0, 0, 0, 0, 0, 0]) // IPv4-compatible (deprecated)
        }
    }
}

fn is_public_v4(v4: Ipv4Addr) -> bool {
    let [a, b, c, _] = v4.octets();
    !(v4.is_private()
        || v4.is_loopback()
        || v4.is_link_local()
        || v4.is_multicast()
        || v4.is_broadcast()
        || v4.is_unspecified()
        || v4.is_documentation()
        || a == 0
        || (a == 100 && (64..128).contains(&b)) // shared 100.64.0.0/10
        || (a == 192 && b == 0 && c == 0) // IETF 192.0.0.0/24
        || (a == 198 && (b == 18 || b == 19)) // benchmarking
        || a >= 240) // reserved
}

/// Why an endpoint URL may not be called, if it may not.
pub fn refusal(url: &str, allow_private: bool) -> Option<&'static str> {
    let Ok(uri) = url.parse::<http::Uri>() else {
        return Some("must be a URL");
    };
    match uri.scheme_str() {
        Some("https") => {}
        Some("http") if allow_private => {}
        Some("http") => {
            return Some(
                "must be an https URL (http only with GATEWAY_OUTBOUND_ALLOW_PRIVATE=true, for receivers on a private network)",
            );
        }
        _ => return Some("must be an https URL"),
    }
    let Some(authority) = uri.authority() else {
        return Some("must name a host");
    };
    if authority.as_str().contains('@') {
        return Some("must not carry user info");
    }
    let host = authority
        .host()
        .trim_start_matches('[')
        .trim_end_matches(']');
    match host.parse::<IpAddr>() {
        Ok(ip) if !allow_private && !is_public(ip) => Some(
            "must not name a private, loopback or link-local address (allowed with GATEWAY_OUTBOUND_ALLOW_PRIVATE=true, for receivers on a private network)",
        ),
        _ => None,
    }
}

/// An endpoint URL the gateway may call.
pub fn parse_endpoint_url(raw: &str, allow_private: bool) -> Result<String, Invalid> {
    let url = rules::check::<rules::Url>("url", raw)?;
    if url.chars().count() > MAX_URL {
        return Err(invalid("url", "must be at most 2048 characters"));
    }
    match refusal(url, allow_private) {
        Some(rule) => Err(invalid("url", rule)),
        None => Ok(url.to_owned()),
    }
}

/// A description: at most 500 characters, no control characters (may be empty).
pub fn parse_description(raw: &str) -> Result<String, Invalid> {
    if raw.chars().count() > MAX_DESCRIPTION {
        return Err(invalid("description", "must be at most 500 characters"));
    }
    if raw.chars().any(char::is_control) {
        return Err(invalid(
            "description",
            "must not contain control characters",
        ));
    }
    Ok(raw.to_owned())
}

/// The stored form of an event filter: the types, sorted, deduplicated, space-separated
/// (empty: every type).
pub fn events_filter<'a>(types: impl IntoIterator<Item = &'a str>) -> String {
    let mut types: Vec<&str> = types.into_iter().collect();
    types.sort_unstable();
    types.dedup();
    types.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_addresses_are_refused() {
        for ip in [
            "10.1.2.3",
            "127.0.0.1",
            "169.254.169.254",
            "192.168.0.1",
            "172.16.5.4",
            "100.64.0.1",
            "0.0.0.0",
            "224.0.0.1",
            "255.255.255.255",
            "::1",
            "::",
            "fe80::1",
            "fd00::1",
            "::ffff:10.0.0.1",
            "::ffff:169.254.169.254",
            "64:ff9b::a00:1",
            "64:ff9b:1::a00:1",
            "2002:7f00:1::1",
            "2001:0:4136:e378:8000:63bf:3fff:fdd2",
            "100::1",
            "::ffff:0:7f00:1",
        ] {
            assert!(!is_public(ip.parse().expect("ip")), "{ip} must be refused");
        }
        for ip in ["93.184.216.34", "2606:4700::1111", "8.8.8.8"] {
            assert!(is_public(ip.parse().expect("ip")), "{ip} is public");
        }
    }

    #[test]
    fn urls_are_https_to_public_hosts() {
        assert_eq!(refusal("https://example.com/hook", false), None);
        assert!(refusal("http://example.com/hook", false).is_some());
        assert!(refusal("https://10.0.0.1/hook", false).is_some());
        assert!(refusal("https://[::1]/hook", false).is_some());
        assert!(refusal("https://169.254.169.254/latest/meta-data", false).is_some());
        assert!(refusal("https://user:pw@example.com/", false).is_some());
        assert_eq!(refusal("http://127.0.0.1:9/hook", true), None);
        assert!(refusal("ftp://example.com/", true).is_some());
    }
}
