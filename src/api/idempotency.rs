//! API: the `Idempotency-Key` header of the actions that call Stripe (checkout, refund, capture,
//! increment, cancel), declared once for the spec and read once, by the domain's rule (1–255
//! visible ASCII characters): a handler names it and receives the checked key.
use crate::domain::refund::parse_idempotency_key;
use crate::error::ApiError;
use poem::{Request, RequestBody};
use poem_openapi::registry::{MetaParamIn, MetaSchema, MetaSchemaRef};
use poem_openapi::{ApiExtractor, ApiExtractorType, ExtractParamOptions};

/// The caller's key, if it sent one. Declare it as
/// `#[oai(name = "Idempotency-Key")] key: IdempotencyKey`.
pub struct IdempotencyKey(pub Option<String>);

impl<'a> ApiExtractor<'a> for IdempotencyKey {
    const TYPES: &'static [ApiExtractorType] = &[ApiExtractorType::Parameter];
    const PARAM_IS_REQUIRED: bool = false;

    type ParamType = Option<String>;
    type ParamRawType = ();

    fn param_in() -> Option<MetaParamIn> {
        Some(MetaParamIn::Header)
    }

    fn param_schema_ref() -> Option<MetaSchemaRef> {
        Some(MetaSchemaRef::Inline(Box::new(MetaSchema {
            min_length: Some(1),
            max_length: Some(255),
            pattern: Some(r"^[!-~]+$".to_owned()),
            ..MetaSchema::new("string")
        })))
    }

    async fn from_request(
        request: &'a Request,
        _body: &mut RequestBody,
        param_opts: ExtractParamOptions<Self::ParamType>,
    ) -> poem::Result<Self> {
        let Some(raw) = request.headers().get(param_opts.name) else {
            return Ok(Self(None));
        };
        let key = parse_idempotency_key(raw.to_str().unwrap_or("")).map_err(ApiError::from)?;
        Ok(Self(Some(key.to_owned())))
    }
}
