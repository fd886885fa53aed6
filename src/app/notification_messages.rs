//! Use cases: what a notification endpoint was sent — its messages with the order change each
//! carried — and a message sent again now (same `webhook-id`).
use super::{Error, Result, TenantScope};
use crate::state::Context;
use crate::store::{Page, PageRequest, outbox, owned};
use chrono::Utc;
use entity::{notification_messages::Model as Message, order_changes::Model as Change};
use uuid::Uuid;

pub async fn list(
    state: &Context,
    scope: &TenantScope,
    endpoint_id: Uuid,
    page: PageRequest,
    newest_first: bool,
) -> Result<Page<(Message, Option<Change>)>> {
    owned::get::<entity::notification_endpoints::Entity, _>(&state.db, scope, endpoint_id)
        .await?
        .ok_or(Error::NotFound("notification endpoint"))?;
    let page = outbox::list(&state.db, scope, endpoint_id, page, newest_first).await?;
    let changes =
        outbox::changes(&state.db, page.items.iter().map(|m| m.change_id).collect()).await?;
    Ok(Page {
        items: page
            .items
            .into_iter()
            .map(|m| {
                let change = changes.iter().find(|c| c.id == m.change_id).cloned();
                (m, change)
            })
            .collect(),
        next_cursor: page.next_cursor,
    })
}

/// For a failed message (its schedule spent), or one the receiver lost: due now, the
/// dispatcher woken.
pub async fn retry(
    state: &Context,
    scope: &TenantScope,
    endpoint_id: Uuid,
    message_id: Uuid,
) -> Result<(Message, Option<Change>)> {
    let m = outbox::retry(&state.db, scope, endpoint_id, message_id, Utc::now())
        .await?
        .ok_or(Error::NotFound("notification message"))?;
    state.notifier.wake();
    let change = outbox::changes(&state.db, vec![m.change_id]).await?;
    Ok((m, change.into_iter().next()))
}
