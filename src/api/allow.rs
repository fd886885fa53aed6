//! API: the `Allow` header of a 405 answer (RFC 9110 requires it): the methods the OpenAPI spec
//! declares for the request's path, plus the routes outside the spec.
use std::sync::LazyLock;

/// Routes served outside the OpenAPI spec, with their methods.
const OTHER_ROUTES: &[(&str, &str)] = &[
    ("/health", "GET"),
    ("/ready", "GET"),
    ("/metrics", "GET"),
    ("/openapi.json", "GET"),
    ("/webhooks/stripe/{tenant}", "POST"),
    ("/webhooks/stripe/connect", "POST"),
];

/// (path template split at `/`, methods) for every route.
static ROUTES: LazyLock<Vec<(Vec<String>, String)>> = LazyLock::new(|| {
    let spec: serde_json::Value = serde_json::from_str(&crate::spec_json()).unwrap_or_default();
    let mut routes: Vec<(Vec<String>, String)> = OTHER_ROUTES
        .iter()
        .map(|(path, methods)| (split(path), (*methods).to_owned()))
        .collect();
    if let Some(paths) = spec["paths"].as_object() {
        for (path, ops) in paths {
            let methods: Vec<String> = ops
                .as_object()
                .into_iter()
                .flat_map(|o| o.keys())
                .map(|m| m.to_ascii_uppercase())
                .collect();
            routes.push((split(path), methods.join(", ")));
        }
    }
    routes
});

fn split(path: &str) -> Vec<String> {
    path.trim_matches('/')
        .split('/')
        .map(str::to_owned)
        .collect()
}

/// The methods allowed on `path`, if it is a route of the gateway.
pub fn allowed(path: &str) -> Option<&'static str> {
    let parts: Vec<&str> = path.trim_matches('/').split('/').collect();
    ROUTES.iter().find_map(|(template, methods)| {
        let matches = template.len() == parts.len()
            && template
                .iter()
                .zip(&parts)
                .all(|(t, p)| (t.starts_with('{') && !p.is_empty()) || t == p);
        matches.then_some(methods.as_str())
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn allowed_methods_of_routes() {
        assert_eq!(super::allowed("/v1/tenants"), Some("GET, POST"));
        assert_eq!(super::allowed("/webhooks/stripe/pizza"), Some("POST"));
        assert_eq!(super::allowed("/v1/nothing"), None);
    }
}
