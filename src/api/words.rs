//! API: refusals in the API's words. poem-openapi refuses a body or a parameter that does not
//! parse in its own terms (`integer_int64`, `OrderIn`, `param1`, "Expect a valid enumeration
//! value") and without the field. Such a refusal is explained again here from the published
//! spec: which field, what it must be, and for an enum every allowed value. Written by hand
//! because poem-openapi's parse errors carry type names, not field paths, and the spec is the one
//! place the rules are published.
use crate::error::problem_response;
use poem::http::{Method, StatusCode};
use poem::{Endpoint, IntoResponse, Request, Response};
use poem_openapi::error::{
    ContentTypeError, ParseParamError, ParsePathError, ParseRequestPayloadError,
};
use serde_json::Value;
use std::sync::OnceLock;

/// Explains the parse refusals of `/v1/` requests (see the module's doc); everything else passes.
pub async fn explain_refusals<E: Endpoint>(next: E, mut req: Request) -> poem::Result<Response> {
    if !req.uri().path().starts_with("/v1/") {
        return next.call(req).await.map(IntoResponse::into_response);
    }
    let (method, path) = (req.method().clone(), req.uri().path().to_owned());
    // The body is small (`limit_api_body` ran first): kept to explain a refusal of it.
    let body = if matches!(method, Method::POST | Method::PUT | Method::PATCH) {
        let bytes = req.take_body().into_bytes().await?;
        req.set_body(bytes.clone());
        Some(bytes)
    } else {
        None
    };
    match next.call(req).await {
        Ok(resp) => Ok(resp.into_response()),
        Err(err) => Err(explain(err, &method, &path, body.as_deref())),
    }
}

fn explain(err: poem::Error, method: &Method, path: &str, body: Option<&[u8]>) -> poem::Error {
    if let Some(e) = err.downcast_ref::<ContentTypeError>() {
        let got = match e {
            ContentTypeError::NotSupported { content_type } => content_type.as_str(),
            ContentTypeError::ExpectContentType => "none",
        };
        return poem::Error::from_response(problem_response(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            format!("the body must be JSON: send Content-Type: application/json (got {got})"),
        ));
    }
    let Some(op) = operation(method, path) else {
        return err;
    };
    let detail = if err.downcast_ref::<ParseRequestPayloadError>().is_some() {
        body.and_then(|b| body_problem(op.op, b))
    } else if let Some(e) = err.downcast_ref::<ParsePathError>() {
        param_problem(&op, e.name)
    } else if let Some(e) = err.downcast_ref::<ParseParamError>() {
        // Broken rules (`verification failed`) and cursors have answers of their own.
        if e.reason.starts_with("verification failed") || e.name == "cursor" {
            None
        } else {
            param_problem(&op, e.name)
        }
    } else {
        None
    };
    match detail {
        Some(detail) => poem::Error::from_response(problem_response(
            StatusCode::BAD_REQUEST,
            "malformed_request",
            detail,
        )),
        None => err,
    }
}

fn spec() -> &'static Value {
    static SPEC: OnceLock<Value> = OnceLock::new();
    SPEC.get_or_init(|| serde_json::from_str(&crate::spec_json()).unwrap_or(Value::Null))
}

/// A matched operation: its spec and its path's variables, in order.
struct Operation<'s> {
    op: &'s Value,
    variables: Vec<&'s str>,
}

/// The spec's operation for `method` on `path`: the template that matches with the most literal
/// segments.
fn operation(method: &Method, path: &str) -> Option<Operation<'static>> {
    let segments: Vec<&str> = path.trim_end_matches('/').split('/').collect();
    let method = method.as_str().to_ascii_lowercase();
    let mut best: Option<(usize, Operation<'static>)> = None;
    for (template, item) in spec()["paths"].as_object()? {
        let parts: Vec<&str> = template.split('/').collect();
        if parts.len() != segments.len() {
            continue;
        }
        let is_var = |p: &str| p.starts_with('{') && p.ends_with('}');
        if !parts
            .iter()
            .zip(&segments)
            .all(|(p, s)| is_var(p) || p == s)
        {
            continue;
        }
        let Some(op) = item.get(&method) else {
            continue;
        };
        let literal = parts.iter().filter(|p| !is_var(p)).count();
        if best.as_ref().is_none_or(|(n, _)| literal > *n) {
            let variables = parts
                .iter()
                .filter(|p| is_var(p))
                .map(|p| p.trim_matches(['{', '}']))
                .collect();
            best = Some((literal, Operation { op, variables }));
        }
    }
    best.map(|(_, op)| op)
}

/// What is wrong with a parameter: poem-openapi names path parameters `param0`, `param1`… in
/// the order of the path's variables.
fn param_problem(op: &Operation, name: &str) -> Option<String> {
    let name = match name
        .strip_prefix("param")
        .and_then(|n| n.parse::<usize>().ok())
    {
        Some(i) => *op.variables.get(i)?,
        None => name,
    };
    let param = op.op["parameters"]
        .as_array()?
        .iter()
        .find(|p| p["name"] == name)?;
    Some(format!("{name}: must be {}", describe(&param["schema"])))
}

/// The first thing wrong with a JSON body against the operation's schema.
fn body_problem(op: &Value, body: &[u8]) -> Option<String> {
    let value: Value = match serde_json::from_slice(body) {
        Ok(value) => value,
        Err(e) => return Some(format!("the body is not valid JSON: {e}")),
    };
    // The one JSON content type (`application/json; charset=utf-8`).
    let content = op["requestBody"]["content"].as_object()?;
    let (_, json) = content
        .iter()
        .find(|(ty, _)| ty.starts_with("application/json"))?;
    check(&json["schema"], &value, "")
}

/// The schema `$ref` (or a lone `allOf`) points at.
fn resolve(schema: &Value) -> &Value {
    if let Some(name) = schema["$ref"]
        .as_str()
        .and_then(|r| r.strip_prefix("#/components/schemas/"))
    {
        return resolve(&spec()["components"]["schemas"][name]);
    }
    match schema["allOf"].as_array().map(Vec::as_slice) {
        Some([only]) => resolve(only),
        _ => schema,
    }
}

/// What a value of `schema` must be, in words.
fn describe(schema: &Value) -> String {
    let schema = resolve(schema);
    if let Some(values) = schema["enum"].as_array() {
        let values: Vec<&str> = values.iter().filter_map(Value::as_str).collect();
        return format!("one of {}", values.join(", "));
    }
    match (schema["type"].as_str(), schema["format"].as_str()) {
        (Some("integer"), _) => "an integer".into(),
        (Some("number"), _) => "a number".into(),
        (Some("boolean"), _) => "true or false".into(),
        (Some("string"), Some("uuid")) => "a UUID".into(),
        (Some("string"), Some("date-time")) => "an RFC 3339 date-time".into(),
        (Some("string"), _) => "a string".into(),
        (Some("array"), _) => format!("a list of {}", plural(&schema["items"])),
        (Some("object"), _) => "an object".into(),
        _ => "as the API's spec describes".into(),
    }
}

fn plural(items: &Value) -> String {
    match describe(items).as_str() {
        "a string" => "strings".into(),
        "an integer" => "integers".into(),
        other => format!("values each {other}"),
    }
}

/// The first part of `value` that `schema` does not take, named by its path from the body's top
/// (`amount`, `metadata.table`, `events[1]`).
fn check(schema: &Value, value: &Value, at: &str) -> Option<String> {
    let schema = resolve(schema);
    let must = || Some(format!("{}: must be {}", name(at), describe(schema)));
    if value.is_null() {
        return match schema["nullable"].as_bool() {
            Some(true) => None,
            _ if at.is_empty() => must(),
            _ => Some(format!("{}: must not be null", name(at))),
        };
    }
    if let Some(values) = schema["enum"].as_array() {
        return (!values.contains(value)).then(must).flatten();
    }
    let fits = match schema["type"].as_str() {
        Some("integer") => value.is_i64() || value.is_u64(),
        Some("number") => value.is_number(),
        Some("boolean") => value.is_boolean(),
        Some("string") => value.is_string(),
        Some("array") => {
            let Some(items) = value.as_array() else {
                return must();
            };
            return items
                .iter()
                .enumerate()
                .find_map(|(i, v)| check(&schema["items"], v, &format!("{at}[{i}]")));
        }
        Some("object") => {
            let Some(fields) = value.as_object() else {
                return must();
            };
            return object_problem(schema, fields, at);
        }
        _ => true,
    };
    if fits { None } else { must() }
}

fn object_problem(
    schema: &Value,
    fields: &serde_json::Map<String, Value>,
    at: &str,
) -> Option<String> {
    let path = |key: &str| {
        if at.is_empty() {
            key.to_owned()
        } else {
            format!("{at}.{key}")
        }
    };
    let required = schema["required"].as_array().map(Vec::as_slice);
    for key in required
        .unwrap_or_default()
        .iter()
        .filter_map(Value::as_str)
    {
        if !fields.contains_key(key) {
            return Some(format!("{}: is required", path(key)));
        }
    }
    let properties = schema["properties"].as_object();
    fields.iter().find_map(|(key, v)| {
        match properties.and_then(|p| p.get(key)) {
            Some(property) => check(property, v, &path(key)),
            None if schema["additionalProperties"].is_object() => {
                check(&schema["additionalProperties"], v, &path(key))
            }
            // Fields the API does not know are left alone, as the parser leaves them.
            None => None,
        }
    })
}

fn name(at: &str) -> &str {
    if at.is_empty() { "the body" } else { at }
}
