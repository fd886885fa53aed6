//! Error layer: one error type for every HTTP answer that is not a success, rendered as RFC 9457
//! problem+json with a stable `code`. 5xx details are logged, never sent.
use crate::domain::Invalid;
use poem::Response;
use poem::http::StatusCode;
use poem_openapi::{ApiResponse, Object, payload::Json};

pub const PROBLEM_CONTENT_TYPE: &str = "application/problem+json";

/// An RFC 9457 problem detail.
#[derive(Object, Debug, Clone, serde::Serialize)]
pub struct Problem {
    /// A URI naming the problem type (`urn:gateway:problem:<code>`).
    #[oai(rename = "type")]
    #[serde(rename = "type")]
    pub problem_type: String,
    /// Short, human-readable summary of the problem type.
    pub title: String,
    /// The HTTP status code.
    pub status: u16,
    /// What went wrong with this request.
    pub detail: String,
    /// Stable machine-readable error code.
    pub code: String,
    /// The id of what already holds a unique value (409 `reference_taken`: the existing
    /// order). Absent otherwise.
    #[oai(skip_serializing_if_is_none)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub existing_id: Option<uuid::Uuid>,
}

impl Problem {
    pub fn new(status: StatusCode, code: &str, detail: impl Into<String>) -> Self {
        Self {
            problem_type: format!("urn:gateway:problem:{code}"),
            title: status.canonical_reason().unwrap_or("Error").to_owned(),
            status: status.as_u16(),
            detail: detail.into(),
            code: code.to_owned(),
            existing_id: None,
        }
    }
}

/// Every error answer of the API.
#[derive(ApiResponse, Debug)]
pub enum ApiError {
    /// The request is malformed (unparseable JSON, wrong types, missing fields).
    #[oai(status = 400, content_type = "application/problem+json")]
    BadRequest(Json<Problem>),
    /// Missing, unknown or revoked bearer token.
    #[oai(status = 401, content_type = "application/problem+json")]
    Unauthorized(Json<Problem>),
    /// The token is valid but may not do this (operator-only action).
    #[oai(status = 403, content_type = "application/problem+json")]
    Forbidden(Json<Problem>),
    /// No such resource for this caller.
    #[oai(status = 404, content_type = "application/problem+json")]
    NotFound(Json<Problem>),
    /// The request conflicts with the current state (duplicate, wrong state).
    #[oai(status = 409, content_type = "application/problem+json")]
    Conflict(Json<Problem>),
    /// The body is not `application/json` (or the `Content-Type` header is missing).
    #[oai(status = 415, content_type = "application/problem+json")]
    UnsupportedMediaType(Json<Problem>),
    /// A field value breaks a rule; `detail` names the field.
    #[oai(status = 422, content_type = "application/problem+json")]
    Unprocessable(Json<Problem>),
    /// Too many failed authentications from this client address; retry after `Retry-After`
    /// seconds.
    #[oai(status = 429, content_type = "application/problem+json")]
    TooManyRequests(Json<Problem>, #[oai(header = "Retry-After")] u64),
    /// Stripe refused the call made with the tenant's key; `detail` has Stripe's reason.
    #[oai(status = 502, content_type = "application/problem+json")]
    BadGateway(Json<Problem>),
    /// Unexpected server error; the details are in the server log.
    #[oai(status = 500, content_type = "application/problem+json")]
    Internal(Json<Problem>),
    /// The database is unavailable; retry later.
    #[oai(status = 503, content_type = "application/problem+json")]
    Unavailable(Json<Problem>),
}

impl ApiError {
    pub fn bad_request(code: &str, detail: impl Into<String>) -> Self {
        Self::BadRequest(Json(Problem::new(StatusCode::BAD_REQUEST, code, detail)))
    }
    pub fn unauthorized() -> Self {
        Self::Unauthorized(Json(Problem::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "a valid bearer token is required",
        )))
    }
    pub fn too_many_auth_failures(wait: std::time::Duration) -> Self {
        Self::too_many_requests(
            "too_many_auth_failures",
            "too many failed authentications from this address; retry later",
            wait,
        )
    }
    /// 429 with `Retry-After` for `wait`.
    pub fn too_many_requests(
        code: &str,
        detail: impl Into<String>,
        wait: std::time::Duration,
    ) -> Self {
        Self::TooManyRequests(
            Json(Problem::new(StatusCode::TOO_MANY_REQUESTS, code, detail)),
            retry_after_secs(wait),
        )
    }
    /// 502: Stripe answered, and not as hoped.
    pub fn bad_gateway(code: &str, detail: impl Into<String>) -> Self {
        Self::BadGateway(Json(Problem::new(StatusCode::BAD_GATEWAY, code, detail)))
    }
    /// 503 for another reason than the database.
    pub fn unavailable_because(code: &str, detail: impl Into<String>) -> Self {
        Self::Unavailable(Json(Problem::new(
            StatusCode::SERVICE_UNAVAILABLE,
            code,
            detail,
        )))
    }
    pub fn forbidden(detail: impl Into<String>) -> Self {
        Self::Forbidden(Json(Problem::new(
            StatusCode::FORBIDDEN,
            "operator_only",
            detail,
        )))
    }
    pub fn not_found(what: &str) -> Self {
        Self::NotFound(Json(Problem::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("{what} not found"),
        )))
    }
    pub fn conflict(code: &str, detail: impl Into<String>) -> Self {
        Self::Conflict(Json(Problem::new(StatusCode::CONFLICT, code, detail)))
    }
    pub fn internal() -> Self {
        Self::Internal(Json(Problem::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "internal error; see the gateway log",
        )))
    }
    pub fn unprocessable(code: &str, detail: impl Into<String>) -> Self {
        Self::Unprocessable(Json(Problem::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            code,
            detail,
        )))
    }
    pub fn unavailable() -> Self {
        Self::unavailable_because(
            "database_unavailable",
            "the database is unavailable; retry later",
        )
    }
}

/// The one mapping of the application layer's refusals to HTTP (see `app::error` for the policy).
impl From<crate::app::Error> for ApiError {
    fn from(err: crate::app::Error) -> Self {
        use crate::app::Error as E;
        match err {
            E::Invalid(invalid) => invalid.into(),
            E::NotFound(what) => Self::not_found(what),
            E::OperatorOnly(action) => {
                Self::forbidden(format!("only the platform operator may {action}"))
            }
            E::Conflict { code, detail } => Self::conflict(code, detail),
            E::Taken {
                code,
                detail,
                existing_id,
            } => Self::Conflict(Json(Problem {
                existing_id: Some(existing_id),
                ..Problem::new(StatusCode::CONFLICT, code, detail)
            })),
            E::Unprocessable { code, detail } => Self::unprocessable(code, detail),
            E::Stripe(stripe) => stripe.into(),
            E::Unavailable { code, detail } => Self::unavailable_because(code, detail),
            E::RefusedBefore(why) => Self::bad_gateway("stripe_error", why),
            E::Store(db) => db.into(),
            E::Secret(keyring) => keyring.into(),
            E::Internal => Self::internal(),
        }
    }
}

impl From<crate::stripe::StripeCallError> for ApiError {
    fn from(err: crate::stripe::StripeCallError) -> Self {
        use crate::stripe::StripeCallError as E;
        match err {
            // A key reused with other parameters is the caller's mistake, not Stripe's.
            E::Api {
                code: Some(code), ..
            } if code == "idempotency_error" => Self::conflict(
                "idempotency_key_reused",
                "Idempotency-Key: already used for another request with other parameters; use a new key",
            ),
            E::Api {
                status, message, ..
            } => Self::bad_gateway(
                "stripe_error",
                format!("Stripe answered {status}: {message}"),
            ),
            E::Unavailable(why) => Self::unavailable_because(
                "stripe_unavailable",
                format!("Stripe could not be reached: {why}"),
            ),
            E::Parse(why) => Self::bad_gateway(
                "stripe_error",
                format!("Stripe's answer could not be read: {why}"),
            ),
        }
    }
}

impl From<Invalid> for ApiError {
    fn from(err: Invalid) -> Self {
        Self::Unprocessable(Json(Problem::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
            err.to_string(),
        )))
    }
}

impl From<sea_orm::DbErr> for ApiError {
    fn from(err: sea_orm::DbErr) -> Self {
        use sea_orm::DbErr;
        if crate::store::is_gone(&err) {
            // Another request removed the row (or its tenant) between our read and our write:
            // the same answer as if it had been gone before we came.
            tracing::info!(error = %err, "resource removed concurrently");
            return Self::not_found("resource");
        }
        match err {
            DbErr::ConnectionAcquire(_) | DbErr::Conn(_) => {
                tracing::error!(error = %err, "database unavailable");
                Self::unavailable()
            }
            _ => {
                tracing::error!(error = %err, "database error");
                Self::internal()
            }
        }
    }
}

impl From<crate::crypto::KeyringError> for ApiError {
    fn from(err: crate::crypto::KeyringError) -> Self {
        tracing::error!(error = %err, "stored secret could not be decrypted");
        Self::internal()
    }
}

/// Renders any error poem produced outside our handlers (route not found, unparseable body,
/// missing bearer token …) as problem+json; our own problems pass through untouched.
pub async fn problem_from_poem(err: poem::Error) -> Response {
    if err
        .downcast_ref::<poem_openapi::error::ParseParamError>()
        .is_some_and(|e| e.name == "cursor")
    {
        // A cursor is an opaque token: one we did not issue is malformed, not a broken rule.
        return problem_response(
            StatusCode::BAD_REQUEST,
            "invalid_cursor",
            "cursor is not one this API issued",
        );
    }
    if let Some(detail) = broken_rule(&err) {
        return problem_response(
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
            detail,
        );
    }
    let status = err.status();
    let detail = err.to_string();
    let resp = err.into_response();
    let is_problem = resp
        .content_type()
        .is_some_and(|ct| ct.starts_with(PROBLEM_CONTENT_TYPE));
    if is_problem {
        return resp;
    }
    let code = match status {
        StatusCode::BAD_REQUEST => "malformed_request",
        StatusCode::UNAUTHORIZED => "unauthorized",
        StatusCode::NOT_FOUND => "not_found",
        StatusCode::METHOD_NOT_ALLOWED => "method_not_allowed",
        StatusCode::PAYLOAD_TOO_LARGE => "payload_too_large",
        StatusCode::UNSUPPORTED_MEDIA_TYPE => "unsupported_media_type",
        s if s.is_server_error() => "internal",
        _ => "request_rejected",
    };
    let detail = if status.is_server_error() {
        tracing::error!(%status, error = %detail, "unhandled error");
        "internal error; see the gateway log".to_owned()
    } else if status == StatusCode::UNAUTHORIZED {
        "a valid bearer token is required".to_owned()
    } else {
        detail
    };
    problem_response(status, code, detail)
}

/// A value that parsed but breaks a constraint the OpenAPI schema declares (pattern, range,
/// length): a broken rule, 422 like the handlers' own checks, naming the field, never the value.
fn broken_rule(err: &poem::Error) -> Option<String> {
    use poem_openapi::error::{ParseParamError, ParseRequestPayloadError};
    if let Some(e) = err.downcast_ref::<ParseParamError>() {
        let rule = e.reason.strip_prefix("verification failed. ")?;
        return Some(format!("{}: {}", e.name, rule_in_words(rule)));
    }
    let reason = &err.downcast_ref::<ParseRequestPayloadError>()?.reason;
    let at = reason.find("field `")?;
    let (field, rule) = reason[at + 7..].split_once("` verification failed. ")?;
    Some(format!("{field}: {}", rule_in_words(rule)))
}

/// A schema validator's rule as poem-openapi writes it (`maximum(100, exclusive: false)`,
/// `maxLength(100)`, `pattern("…")`), said as the API says its rules.
fn rule_in_words(rule: &str) -> String {
    let Some((name, args)) = rule.strip_suffix(')').and_then(|r| r.split_once('(')) else {
        return format!("must satisfy {rule}");
    };
    let (n, exclusive) = match args.split_once(", exclusive: ") {
        Some((n, exclusive)) => (n, exclusive == "true"),
        None => (args, false),
    };
    match (name, exclusive) {
        ("maximum", false) => format!("must be at most {n}"),
        ("maximum", true) => format!("must be less than {n}"),
        ("minimum", false) => format!("must be at least {n}"),
        ("minimum", true) => format!("must be more than {n}"),
        ("maxLength", _) => format!("must be at most {n} characters long"),
        ("minLength", _) => format!("must be at least {n} characters long"),
        ("maxItems", _) => format!("must hold at most {n} items"),
        ("minItems", _) => format!("must hold at least {n} items"),
        ("pattern", _) => format!("must match {}", n.trim_matches('"')),
        _ => format!("must satisfy {rule}"),
    }
}

/// A `Retry-After` value for a wait: whole seconds, rounded up, at least 1.
pub fn retry_after_secs(wait: std::time::Duration) -> u64 {
    (wait.as_secs() + u64::from(wait.subsec_nanos() > 0)).max(1)
}

/// 503 `database_unavailable` with `Retry-After: 1`, for requests refused while the database
/// breaker is open (the admin API and `/ready`; webhooks answer it through their own refusals).
pub fn database_down_response() -> Response {
    let mut resp = problem_response(
        StatusCode::SERVICE_UNAVAILABLE,
        "database_unavailable",
        "the database is not answering; retry later",
    );
    resp.headers_mut().insert(
        poem::http::header::RETRY_AFTER,
        poem::http::HeaderValue::from_static("1"),
    );
    resp
}

/// A problem+json response outside poem-openapi (webhook intake, fallbacks).
pub fn problem_response(status: StatusCode, code: &str, detail: impl Into<String>) -> Response {
    let body = serde_json::to_vec(&Problem::new(status, code, detail)).unwrap_or_default();
    Response::builder()
        .status(status)
        .content_type(PROBLEM_CONTENT_TYPE)
        .body(body)
}
