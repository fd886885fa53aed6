//! API: strict JSON for request fields. poem-openapi turns a JSON number or boolean into a
//! string (`{"name": false}` → `"false"`) and takes `null` for any optional field; the schema
//! promises neither, so these parsers refuse them (400, like any other wrong type). Every string
//! field of a request is a `patterns::Matching`, whose own parser takes strings only.
use poem_openapi::types::{ParseError, ParseFromJSON, ParseResult};
use serde_json::Value;
use std::collections::BTreeMap;

/// An optional field that, when present, is not `null` (not declared nullable).
pub fn optional<T: ParseFromJSON>(value: Option<Value>) -> ParseResult<Option<T>> {
    match value {
        None => Ok(None),
        Some(Value::Null) => Err(ParseError::expected_type(Value::Null)),
        some => T::parse_from_json(some)
            .map(Some)
            .map_err(ParseError::propagate),
    }
}

/// An optional map of strings to strings, `null` allowed.
pub fn nullable_string_map(value: Option<Value>) -> ParseResult<Option<BTreeMap<String, String>>> {
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Object(map)) => map
            .into_iter()
            .map(|(k, v)| match v {
                Value::String(s) => Ok((k, s)),
                other => Err(ParseError::expected_type(other)),
            })
            .collect::<Result<BTreeMap<_, _>, _>>()
            .map(Some),
        Some(other) => Err(ParseError::expected_type(other)),
    }
}
