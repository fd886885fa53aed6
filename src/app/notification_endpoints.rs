//! Use cases: a tenant's notification endpoints — where its order changes are sent, signed per
//! Standard Webhooks. Registered (`https` to public addresses unless
//! `GATEWAY_OUTBOUND_ALLOW_PRIVATE`), read, changed, removed, and their signing secrets rotated
//! with an overlap. A secret is returned once, when made; it is stored sealed.
use super::{Error, Result, TenantScope};
use crate::crypto::{Field, SecretText, hint};
use crate::domain::notification::{
    self as rules, MAX_ENDPOINTS_PER_TENANT, MAX_LIVE_SECRETS_PER_ENDPOINT,
};
use crate::notify::message::new_secret;
use crate::state::Context;
use crate::store::notification_endpoints::{self as store, EndpointPatch, NewEndpoint, Rotated};
use crate::store::{Page, PageRequest, owned};
use chrono::{DateTime, Duration, Utc};
use entity::{notification_endpoints::Model, notification_secrets::Model as SecretRow};
use uuid::Uuid;

/// An endpoint with its live secrets (shown as hints).
pub struct Endpoint {
    pub endpoint: Model,
    pub secrets: Vec<SecretRow>,
}

/// What is asked of an endpoint, as sent (`events`: the stored filter, `""` for every type).
pub struct Ask {
    pub url: String,
    pub description: String,
    pub events: String,
    pub enabled: bool,
}

/// What a change asks (`None`: unchanged).
pub struct Edit {
    pub url: Option<String>,
    pub description: Option<String>,
    pub events: Option<String>,
    pub enabled: Option<bool>,
}

/// A secret just made: its row, its text (shown once), and when the previous ones expire.
pub struct NewSecret {
    pub row: SecretRow,
    pub secret: SecretText,
    pub previous_expire_at: DateTime<Utc>,
}

pub async fn create(
    state: &Context,
    scope: &TenantScope,
    ask: Ask,
) -> Result<(Endpoint, SecretText)> {
    let allow_private = state.config.outbound_allow_private;
    let id = Uuid::now_v7();
    let secret = new_secret();
    let new = NewEndpoint {
        id,
        url: rules::parse_endpoint_url(&ask.url, allow_private)?,
        description: rules::parse_description(&ask.description)?,
        events: ask.events,
        enabled: ask.enabled,
        secret_ciphertext: state
            .keyring
            .seal(scope.id, Field::NotificationSecret(id), &secret),
        secret_hint: hint(secret.expose()),
    };
    let created = store::create(&state.db, scope, new).await?.ok_or_else(|| {
        Error::conflict(
            "too_many_endpoints",
            format!(
                "a tenant may have at most {MAX_ENDPOINTS_PER_TENANT} notification endpoints: delete one first"
            ),
        )
    })?;
    tracing::info!(tenant = %scope.slug, endpoint = %id, "notification endpoint registered");
    Ok((with_secrets(state, created).await?, secret))
}

pub async fn list(
    state: &Context,
    scope: &TenantScope,
    page: PageRequest,
) -> Result<Page<Endpoint>> {
    let page =
        owned::list::<entity::notification_endpoints::Entity, _>(&state.db, scope, page).await?;
    let mut items = Vec::with_capacity(page.items.len());
    for m in page.items {
        items.push(with_secrets(state, m).await?);
    }
    Ok(Page {
        items,
        next_cursor: page.next_cursor,
    })
}

pub async fn get(state: &Context, scope: &TenantScope, id: Uuid) -> Result<Endpoint> {
    let m = owned::get::<entity::notification_endpoints::Entity, _>(&state.db, scope, id)
        .await?
        .ok_or(NOT_FOUND)?;
    with_secrets(state, m).await
}

pub async fn update(
    state: &Context,
    scope: &TenantScope,
    id: Uuid,
    edit: Edit,
) -> Result<Endpoint> {
    let allow_private = state.config.outbound_allow_private;
    let patch = EndpointPatch {
        url: edit
            .url
            .map(|u| rules::parse_endpoint_url(&u, allow_private))
            .transpose()?,
        description: edit
            .description
            .as_deref()
            .map(rules::parse_description)
            .transpose()?,
        events: edit.events,
        enabled: edit.enabled,
    };
    let m = store::update(&state.db, scope, id, patch)
        .await?
        .ok_or(NOT_FOUND)?;
    with_secrets(state, m).await
}

pub async fn delete(state: &Context, scope: &TenantScope, id: Uuid) -> Result<()> {
    if !store::delete(&state.db, scope, id).await? {
        return Err(NOT_FOUND);
    }
    tracing::info!(tenant = %scope.slug, endpoint = %id, "notification endpoint removed");
    Ok(())
}

/// A new signing secret; the live ones keep signing for `overlap_secs` more.
pub async fn rotate(
    state: &Context,
    scope: &TenantScope,
    id: Uuid,
    overlap_secs: u32,
) -> Result<NewSecret> {
    let previous_expire_at = Utc::now() + Duration::seconds(i64::from(overlap_secs));
    let secret = new_secret();
    let sealed = state
        .keyring
        .seal(scope.id, Field::NotificationSecret(id), &secret);
    let rotated = store::rotate(
        &state.db,
        scope,
        id,
        sealed,
        hint(secret.expose()),
        previous_expire_at,
    )
    .await?;
    let row = match rotated {
        Rotated::Added(row) => row,
        Rotated::NoEndpoint => return Err(NOT_FOUND),
        Rotated::AtCap => {
            return Err(Error::conflict(
                "too_many_secrets",
                format!(
                    "an endpoint may have at most {MAX_LIVE_SECRETS_PER_ENDPOINT} live secrets: rotate with a shorter expire_previous_in_secs, or wait for one to expire"
                ),
            ));
        }
    };
    tracing::info!(tenant = %scope.slug, endpoint = %id, "notification secret rotated");
    Ok(NewSecret {
        row,
        secret,
        previous_expire_at,
    })
}

const NOT_FOUND: Error = Error::NotFound("notification endpoint");

async fn with_secrets(state: &Context, endpoint: Model) -> Result<Endpoint> {
    let secrets = store::live_secrets(&state.db, endpoint.id, Utc::now()).await?;
    Ok(Endpoint { endpoint, secrets })
}
