//! Start-up: resolve the data directory, operator token and master keys (generating the embedded
//! default's files on first start), open the database, apply migrations, check the keyring.
use crate::config::{Config, redact_url};
use crate::crypto::{Keyring, SecretText, random_token};
use crate::jobs::keys::verify_all;
use crate::state::AppState;
use anyhow::{Context, bail};
use migration::{Migrator, MigratorTrait};
use sea_orm::DatabaseConnection;
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::Path;

const ADMIN_TOKEN_FILE: &str = "admin-token";
const MASTER_KEYS_FILE: &str = "master-keys";

/// Everything `serve` needs, ready.
pub struct Prepared {
    pub state: AppState,
}

fn ensure_data_dir(dir: &Path) -> anyhow::Result<()> {
    if !dir.exists() {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .with_context(|| format!("cannot create data directory {}", dir.display()))?;
        tracing::info!(path = %dir.display(), "created data directory");
    }
    Ok(())
}

/// Reads a secret file, or creates it (mode 0600) with `generate()` when absent.
/// Logs the path of a generated file, never its contents.
fn read_or_create(
    path: &Path,
    what: &str,
    generate: impl FnOnce() -> SecretText,
) -> anyhow::Result<SecretText> {
    match std::fs::read_to_string(path) {
        Ok(text) => {
            let mode = std::fs::metadata(path)?.permissions().mode() & 0o777;
            if mode & 0o077 != 0 {
                tracing::warn!(path = %path.display(), mode = format!("{mode:o}"), "{what} file is readable by others; chmod 600 it");
            }
            let value = text.trim().to_owned();
            if value.is_empty() {
                bail!("{what} file {} is empty", path.display());
            }
            Ok(SecretText::new(value))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let secret = generate();
            let mut file = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(path)
                .with_context(|| format!("cannot create {what} file {}", path.display()))?;
            file.write_all(secret.expose().as_bytes())?;
            file.write_all(b"\n")?;
            file.sync_all()?;
            tracing::info!(path = %path.display(), "generated {what} file (mode 0600)");
            Ok(secret)
        }
        Err(e) => Err(e).with_context(|| format!("cannot read {what} file {}", path.display())),
    }
}

/// The operator token: `GATEWAY_ADMIN_TOKEN`, else `<data dir>/admin-token` (generated once).
pub fn admin_token(config: &Config) -> anyhow::Result<SecretText> {
    if let Some(token) = &config.admin_token {
        if token.len() < 16 {
            bail!("GATEWAY_ADMIN_TOKEN is too short: use at least 16 characters");
        }
        return Ok(SecretText::new(token.clone()));
    }
    ensure_data_dir(&config.data_dir)?;
    read_or_create(
        &config.data_dir.join(ADMIN_TOKEN_FILE),
        "operator token",
        || random_token("gwadm_", 32),
    )
}

/// The keyring: `GATEWAY_MASTER_KEYS`, else (embedded SQLite default only) `<data dir>/master-keys`.
pub fn keyring(config: &Config) -> anyhow::Result<Keyring> {
    let spec = match &config.master_keys {
        Some(spec) => SecretText::new(spec.clone()),
        None if config.is_postgres() => bail!(
            "refusing to start: GATEWAY_MASTER_KEYS is not set. With PostgreSQL the master keys must \
             come from the environment (a generated key file is for the embedded SQLite default only, \
             and would be lost with this machine). Create one with `gateway keys generate` and set \
             GATEWAY_MASTER_KEYS=<that line>"
        ),
        None => {
            ensure_data_dir(&config.data_dir)?;
            read_or_create(
                &config.data_dir.join(MASTER_KEYS_FILE),
                "master keys",
                || {
                    #[allow(clippy::expect_used)]
                    Keyring::generate_line("k1").expect("k1 is a valid key id")
                },
            )?
        }
    };
    Keyring::parse(spec.expose()).context("GATEWAY_MASTER_KEYS is invalid")
}

/// Opens the database named by the config (creating the data directory for SQLite).
pub async fn open_database(config: &Config) -> anyhow::Result<DatabaseConnection> {
    if !config.is_postgres() {
        ensure_data_dir(&config.data_dir)?;
    }
    let url = config.database_url();
    crate::db::connect(&url)
        .await
        .with_context(|| format!("cannot open database {}", redact_url(&url)))
}

/// Start-up for `serve`: token, keys, database, migrations, keyring check.
pub async fn prepare(config: Config) -> anyhow::Result<Prepared> {
    let token = admin_token(&config)?;
    let keyring = keyring(&config)?;
    let db = open_database(&config).await?;
    let pending = Migrator::get_pending_migrations(&db).await?.len();
    if pending > 0 {
        Migrator::up(&db, None)
            .await
            .context("applying migrations failed")?;
        tracing::info!(applied = pending, "applied pending migrations");
    }
    let opened = verify_all(&db, &keyring).await.map_err(|e| {
        anyhow::anyhow!(
            "the master keys do not open the stored secrets: {e}. Keep every key that still \
             encrypts something in GATEWAY_MASTER_KEYS (newest first) until `gateway keys rewrap` \
             has moved all secrets to the newest key"
        )
    })?;
    tracing::info!(secrets = opened, key = keyring.current_id(), database = %redact_url(&config.database_url()), "keyring opens every stored secret");
    let abandoned = crate::store::reconciliations::fail_abandoned(
        &db,
        chrono::Utc::now() - chrono::TimeDelta::hours(6),
    )
    .await?;
    if abandoned > 0 {
        tracing::warn!(
            runs = abandoned,
            "marked reconciliation runs abandoned by a stopped gateway as failed"
        );
    }
    let state = AppState::new(db, keyring, config, &token)?;
    let tenants = state.tenants.warm(&state.db).await?;
    tracing::info!(tenants, "webhook intake knows every tenant");
    Ok(Prepared { state })
}
