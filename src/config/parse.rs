//! Configuration: the parsers of settings that are more than a number or a word (durations,
//! trusted networks), and a URL made safe to log.
use super::TrustedProxies;
use ipnet::IpNet;
use std::time::Duration;

/// `scheme://user:***@host/db` — a URL safe to log.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            format!("{}://***{}", &url[..scheme_end], &url[at..])
        }
        _ => url.to_owned(),
    }
}

/// `*` (any origin), or an origin: `https://shop.example.com[:port]`, no path.
pub(super) fn parse_origin(raw: &str) -> Result<String, String> {
    let raw = raw.trim();
    if raw == "*" {
        return Ok(raw.to_owned());
    }
    let bad = || format!("{raw:?} is not an origin (scheme://host[:port], no path) or *");
    let uri: http::Uri = raw.parse().map_err(|_| bad())?;
    match (uri.scheme_str(), uri.authority(), uri.path()) {
        (Some(scheme @ ("http" | "https")), Some(authority), "" | "/")
            if uri.query().is_none() && !authority.as_str().contains('@') =>
        {
            Ok(format!("{scheme}://{authority}"))
        }
        _ => Err(bad()),
    }
}

/// `10.0.0.0/8, 192.168.1.7` → the networks (a bare address is a /32 or /128).
pub fn parse_trusted_proxies(raw: &str) -> Result<TrustedProxies, String> {
    raw.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.parse::<IpNet>()
                .or_else(|_| s.parse::<std::net::IpAddr>().map(IpNet::from))
                .map_err(|_| format!("{s:?} is not an IP address or a CIDR network"))
        })
        .collect::<Result<_, _>>()
        .map(TrustedProxies)
}

/// A timeout: a duration above zero.
pub(super) fn parse_nonzero_duration(raw: &str) -> Result<Duration, String> {
    match parse_duration(raw)? {
        Duration::ZERO => Err(format!("{raw:?}: must be more than 0")),
        d => Ok(d),
    }
}

/// A notification attempt's timeout: more than 0, at most a minute.
pub(super) fn parse_attempt_timeout(raw: &str) -> Result<Duration, String> {
    match parse_nonzero_duration(raw)? {
        d if d > Duration::from_secs(60) => Err(format!("{raw:?}: at most 60s")),
        d => Ok(d),
    }
}

/// A reconciliation overlap: a duration of at most a day.
pub(super) fn parse_overlap(raw: &str) -> Result<Duration, String> {
    let d = parse_duration(raw)?;
    if d > Duration::from_secs(86_400) {
        return Err(format!("{raw:?}: the overlap is at most 1d"));
    }
    Ok(d)
}

/// `90`, `90s`, `30m`, `24h`, `3d` → a duration (`0` is allowed: off).
pub fn parse_duration(raw: &str) -> Result<Duration, String> {
    let raw = raw.trim();
    let (digits, unit) = raw.split_at(raw.find(|c: char| !c.is_ascii_digit()).unwrap_or(raw.len()));
    let n: u64 = digits
        .parse()
        .map_err(|_| format!("{raw:?} is not a duration like 90s, 30m, 24h or 3d"))?;
    let secs = match unit {
        "" | "s" => n,
        "m" => n * 60,
        "h" => n * 3600,
        "d" => n * 86_400,
        _ => return Err(format!("{raw:?}: unknown unit {unit:?} (use s, m, h or d)")),
    };
    Ok(Duration::from_secs(secs))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("24h"), Ok(Duration::from_secs(86_400)));
        assert_eq!(parse_duration("90"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("0"), Ok(Duration::ZERO));
        assert!(parse_duration("3w").is_err() && parse_duration("h").is_err());
    }

    #[test]
    fn debug_output_hides_every_password() {
        let mut config = Config::with_data_dir("/tmp/x");
        config.database_url = Some("postgres://gw:pg-hunter2@db:5432/gw".into());
        config.redis_url = Some("redis://:redis-hunter2@cache:6379/0".into());
        config.admin_token = Some("admin-hunter2".into());
        let shown = format!("{config:?}");
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(shown.contains("redis://***@cache:6379/0"), "{shown}");
    }
}
