//! Use cases: the Connect events no tenant took (yet) — kept, and applied to the tenant that
//! gets the account. The operator's to read.
use super::{Principal, Result};
use crate::state::AppState;
use crate::store::unrouted;
pub use crate::store::unrouted::Shown;
use crate::store::{Page, PageRequest};
use entity::unrouted_events::Model as Unrouted;

pub async fn list(
    state: &AppState,
    caller: &Principal,
    shown: Shown,
    account: Option<&str>,
    page: PageRequest,
) -> Result<Page<Unrouted>> {
    caller.require_operator("read the platform's unrouted events")?;
    Ok(unrouted::list(&state.db, shown, account, page).await?)
}
