//! API: an optional JSON request body. poem-openapi checks the `Content-Type` before anything
//! else and answers 415 when there is none, even for a body the spec marks optional, so a bare
//! `curl -X POST …/reconciliations` would fail. This extractor takes a request with neither a
//! content type nor a body as "no body", refuses a body of `null` (the schema is an object, and
//! `Json<Option<T>>` would take `null` as no body), and hands everything else to
//! `Json<Option<T>>` (same spec, same errors).
use poem::{Request, RequestBody};
use poem_openapi::payload::Json;
use poem_openapi::registry::{MetaRequest, Registry};
use poem_openapi::types::ParseFromJSON;
use poem_openapi::{ApiExtractor, ApiExtractorType, ExtractParamOptions};

pub struct OptionalJson<T>(pub Option<T>);

impl<'a, T: ParseFromJSON> ApiExtractor<'a> for OptionalJson<T> {
    const TYPES: &'static [ApiExtractorType] = &[ApiExtractorType::RequestObject];

    type ParamType = ();
    type ParamRawType = ();

    fn register(registry: &mut Registry) {
        <Json<Option<T>> as ApiExtractor>::register(registry);
    }

    fn request_meta() -> Option<MetaRequest> {
        <Json<Option<T>> as ApiExtractor>::request_meta()
    }

    async fn from_request(
        request: &'a Request,
        body: &mut RequestBody,
        param_opts: ExtractParamOptions<Self::ParamType>,
    ) -> poem::Result<Self> {
        let no_body = request
            .header(poem::http::header::CONTENT_LENGTH)
            .is_none_or(|len| len.trim() == "0")
            && request
                .header(poem::http::header::TRANSFER_ENCODING)
                .is_none();
        if request.content_type().is_none() && no_body {
            return Ok(Self(None));
        }
        let bytes = body.take()?.into_bytes().await?;
        if bytes.trim_ascii() == b"null" {
            return Err(poem_openapi::error::ParseRequestPayloadError {
                reason: "the body must be a JSON object, not null".into(),
            }
            .into());
        }
        *body = RequestBody::new(bytes.into());
        <Json<Option<T>> as ApiExtractor>::from_request(request, body, param_opts)
            .await
            .map(|json| Self(json.0))
    }
}
