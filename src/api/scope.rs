//! API: the tenant a request's path names, found in the caller's scope. A handler that takes
//! [`Path`] gets the caller authenticated (the bearer scheme, as `BearerAuth` does) and the
//! tenant checked (`app::scope::in_scope`) before its body runs; it never looks a tenant up.
//!
//! The type must be spelled `scope::Path` in handlers: poem-openapi's derive numbers the
//! path's variables by counting the arguments whose type has a segment named `Path`, so any
//! other name would shift the numbering of the `Path<…>` arguments after it.
use super::{BearerAuth, middleware};
use crate::app::scope::{TenantScope, in_scope};
use crate::error::ApiError;
use crate::state::AppState;
use poem::{Request, RequestBody};
use poem_openapi::registry::{MetaParamIn, MetaSchemaRef, Registry};
use poem_openapi::types::Type;
use poem_openapi::{ApiExtractor, ApiExtractorType, ExtractParamOptions};

/// The `{tenant}` path variable (slug or id) as a tenant the caller may see and act for.
pub struct Path(pub TenantScope);

impl<'a> ApiExtractor<'a> for Path {
    const TYPES: &'static [ApiExtractorType] = &[
        ApiExtractorType::SecurityScheme,
        ApiExtractorType::Parameter,
    ];
    const PARAM_IS_REQUIRED: bool = true;
    type ParamType = String;
    type ParamRawType = String;

    fn register(registry: &mut Registry) {
        <BearerAuth as ApiExtractor>::register(registry);
        <String as Type>::register(registry);
    }

    fn security_schemes() -> Vec<&'static str> {
        <BearerAuth as ApiExtractor>::security_schemes()
    }

    fn param_in() -> Option<MetaParamIn> {
        Some(MetaParamIn::Path)
    }

    fn param_schema_ref() -> Option<MetaSchemaRef> {
        Some(<String as Type>::schema_ref())
    }

    async fn from_request(
        request: &'a Request,
        body: &mut RequestBody,
        param_opts: ExtractParamOptions<String>,
    ) -> poem::Result<Self> {
        let BearerAuth(caller) =
            BearerAuth::from_request(request, body, ExtractParamOptions::default()).await?;
        let state = request.data::<AppState>().ok_or_else(ApiError::internal)?;
        let reference = request.raw_path_param(param_opts.name).unwrap_or_default();
        let scope = in_scope(state, caller, reference)
            .await
            .map_err(ApiError::from)?;
        middleware::record_tenant(&scope.slug);
        Ok(Path(scope))
    }
}
