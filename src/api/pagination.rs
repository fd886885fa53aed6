//! API: cursor pagination parameters (`limit` 1–100, default 20; opaque `cursor`).
use super::patterns::{Cursor, Matching};
use crate::app::{PageRequest, decode_cursor};
use crate::error::ApiError;

pub const DEFAULT_LIMIT: u64 = 20;
pub const MAX_LIMIT: u64 = 100;

pub fn page_request(
    limit: Option<u64>,
    cursor: Option<Matching<Cursor>>,
) -> Result<PageRequest, ApiError> {
    let limit = limit.unwrap_or(DEFAULT_LIMIT);
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(crate::domain::invalid("limit", "must be between 1 and 100").into());
    }
    let after = match cursor.as_deref() {
        None | Some("") => None,
        Some(c) => Some(decode_cursor(c).ok_or_else(|| {
            ApiError::bad_request("invalid_cursor", "cursor is not one this API issued")
        })?),
    };
    Ok(PageRequest { after, limit })
}

/// A page view of a list: its items in `data` and the cursor of the next page, the same for
/// every list (the doc written before the name is the schema's description), with its
/// conversion from the use case's page wherever the items convert.
macro_rules! page_view {
    ($(#[$doc:meta])* $name:ident of $item:ty) => {
        $(#[$doc])*
        #[derive(poem_openapi::Object)]
        pub struct $name {
            pub data: Vec<$item>,
            /// Pass as `cursor` for the next page; null on the last page.
            #[oai(nullable)]
            pub next_cursor: Option<String>,
        }

        impl<M> From<crate::app::Page<M>> for $name
        where
            $item: From<M>,
        {
            fn from(p: crate::app::Page<M>) -> Self {
                Self {
                    data: p.items.into_iter().map(Into::into).collect(),
                    next_cursor: p.next_cursor,
                }
            }
        }
    };
}
pub(crate) use page_view;
