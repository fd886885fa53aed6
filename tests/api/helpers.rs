//! Test helpers: spawn the real gateway on port 0 over a fresh database (SQLite file, or a fresh
//! PostgreSQL schema when `TEST_DATABASE_URL` is set), and talk to it over HTTP.
#![allow(dead_code)]

use gateway::config::Config;
use gateway::crypto::Keyring;
use reqwest::{Method, StatusCode};
use sea_orm::{ConnectionTrait, Database, DatabaseConnection};
use serde_json::{Value, json};
use std::path::PathBuf;
use tokio::sync::oneshot;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A fresh, empty database and a data directory, kept for the whole test.
pub struct TestDb {
    pub backend: Backend,
    pub dir: tempfile::TempDir,
    /// `None` for the embedded default (the gateway derives the SQLite URL from the data dir).
    pub url: Option<String>,
}

impl TestDb {
    pub async fn new(backend: Backend) -> Option<Self> {
        let dir = tempfile::tempdir().expect("tempdir");
        let url = match backend {
            Backend::Sqlite => None,
            Backend::Postgres => Some(fresh_pg_schema().await?),
        };
        Some(Self { backend, dir, url })
    }

    pub fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// A config for this database; PostgreSQL gets `master_keys` (required there).
    pub fn config(&self, master_keys: Option<String>) -> Config {
        let mut config = Config::with_data_dir(self.data_dir());
        config.database_url = self.url.clone();
        config.master_keys = master_keys;
        config.stripe_api_base = "http://127.0.0.1:9/".into();
        // Notification receivers in tests are plain http on loopback.
        config.outbound_allow_private = true;
        // Tests make hundreds of requests with one tenant key at once; the per-key limit has a
        // test of its own (edges::limited).
        config.api_key_requests_per_second = 100_000;
        config
    }

    pub fn url(&self) -> String {
        self.config(None).database_url()
    }
}

/// Creates a new schema in `TEST_DATABASE_URL` and returns a URL whose search_path is it.
/// Without `TEST_DATABASE_URL` the PostgreSQL half of the suite is skipped, except under CI
/// (`CI` set), where it must run.
async fn fresh_pg_schema() -> Option<String> {
    let Ok(base) = std::env::var("TEST_DATABASE_URL") else {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI must run the PostgreSQL half of the suite: set TEST_DATABASE_URL"
        );
        return None;
    };
    let schema = format!("t_{}", uuid::Uuid::new_v4().simple());
    let admin = Database::connect(&base)
        .await
        .expect("connect TEST_DATABASE_URL");
    admin
        .execute_unprepared(&format!("CREATE SCHEMA {schema}"))
        .await
        .expect("create schema");
    admin.close().await.ok();
    let sep = if base.contains('?') { '&' } else { '?' };
    Some(format!("{base}{sep}options=-c%20search_path%3D{schema}"))
}

pub fn new_master_key(id: &str) -> String {
    Keyring::generate_line(id)
        .expect("key id")
        .expose()
        .to_owned()
}

/// A running gateway.
pub struct TestApp {
    pub db: TestDb,
    pub base: String,
    pub admin_token: String,
    pub master_keys: Option<String>,
    pub client: reqwest::Client,
    /// How many webhook writer shards this gateway runs.
    pub writer_shards: usize,
    shutdown: Option<oneshot::Sender<()>>,
    handle: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
}

/// Spawns the gateway for `backend`, or `None` when that backend is not available here.
pub async fn spawn(backend: Backend) -> Option<TestApp> {
    let db = TestDb::new(backend).await?;
    let keys = match backend {
        Backend::Sqlite => None, // the embedded default generates its own key file
        Backend::Postgres => Some(new_master_key("k1")),
    };
    Some(start(db, keys).await.expect("gateway starts"))
}

/// Starts (or restarts) a gateway over `db` with `master_keys`.
pub async fn start(db: TestDb, master_keys: Option<String>) -> anyhow::Result<TestApp> {
    start_with(db, master_keys, |_| {}).await
}

/// Like [`start`], with a change to the configuration (Stripe's base URL, schedules …).
pub async fn start_with(
    db: TestDb,
    master_keys: Option<String>,
    tweak: impl FnOnce(&mut Config),
) -> anyhow::Result<TestApp> {
    let mut config = db.config(master_keys.clone());
    tweak(&mut config);
    // As `gateway serve` does: bound first, so that status URLs name the address.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    config.public_url = Some(config.public_base(addr).map_err(anyhow::Error::msg)?);
    let prepared = gateway::startup::prepare(config).await?;
    let writer_shards = prepared.state.writer.shards();
    let (tx, rx) = oneshot::channel::<()>();
    let handle = tokio::spawn(gateway::serve(prepared.state, listener, async move {
        let _ = rx.await;
    }));
    let admin_token = std::fs::read_to_string(db.data_dir().join("admin-token"))?
        .trim()
        .to_owned();
    Ok(TestApp {
        db,
        base: format!("http://{addr}"),
        admin_token,
        master_keys,
        client: reqwest::Client::new(),
        writer_shards,
        shutdown: Some(tx),
        handle: Some(handle),
    })
}

/// An HTTP answer, with the body parsed as JSON when it is JSON.
#[derive(Debug)]
pub struct Answer {
    pub status: StatusCode,
    pub content_type: String,
    pub text: String,
    pub json: Value,
}

impl Answer {
    /// Asserts an RFC 9457 problem with this status and code.
    pub fn assert_problem(&self, status: u16, code: &str) {
        assert_eq!(self.status.as_u16(), status, "{self:?}");
        assert!(
            self.content_type.starts_with("application/problem+json"),
            "{self:?}"
        );
        assert_eq!(self.json["code"], code, "{self:?}");
        assert_eq!(self.json["status"], status, "{self:?}");
        assert!(
            self.json["type"].is_string() && self.json["title"].is_string(),
            "{self:?}"
        );
        assert!(self.json["detail"].is_string(), "{self:?}");
    }
}

impl TestApp {
    /// Stops the server (graceful), keeping the database for a restart.
    pub async fn stop(mut self) -> TestDb {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(h) = self.handle.take() {
            let _ = h.await;
        }
        // Hand the database back for a restart; the server above is already stopped.
        std::mem::replace(
            &mut self.db,
            TestDb {
                backend: Backend::Sqlite,
                dir: tempfile::tempdir().expect("tempdir"),
                url: None,
            },
        )
    }

    pub async fn request(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Answer {
        // A path on this gateway, or an absolute URL it answered (a status URL).
        let url = if path.starts_with("http") {
            path.to_owned()
        } else {
            format!("{}{path}", self.base)
        };
        let mut req = self.client.request(method, url);
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        into_answer(req.send().await.expect("request")).await
    }

    /// Sends a raw body with a content type.
    pub async fn raw(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        content_type: &str,
        body: &str,
    ) -> Answer {
        let mut req = self
            .client
            .request(method, format!("{}{path}", self.base))
            .header("content-type", content_type)
            .body(body.to_owned());
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        into_answer(req.send().await.expect("request")).await
    }

    pub async fn get(&self, path: &str, token: &str) -> Answer {
        self.request(Method::GET, path, Some(token), None).await
    }
    pub async fn post(&self, path: &str, token: &str, body: Value) -> Answer {
        self.request(Method::POST, path, Some(token), Some(body))
            .await
    }
    pub async fn put(&self, path: &str, token: &str, body: Value) -> Answer {
        self.request(Method::PUT, path, Some(token), Some(body))
            .await
    }
    pub async fn patch(&self, path: &str, token: &str, body: Value) -> Answer {
        self.request(Method::PATCH, path, Some(token), Some(body))
            .await
    }
    pub async fn delete(&self, path: &str, token: &str) -> Answer {
        self.request(Method::DELETE, path, Some(token), None).await
    }

    pub fn op(&self) -> &str {
        &self.admin_token
    }

    /// Creates a tenant (operator) and returns its JSON.
    pub async fn create_tenant(&self, slug: &str) -> Value {
        let a = self
            .post(
                "/v1/tenants",
                self.op(),
                json!({"slug": slug, "name": format!("{slug} kitchen")}),
            )
            .await;
        assert_eq!(a.status, 201, "{a:?}");
        a.json
    }

    /// Issues an API key for `tenant` (operator) and returns the plaintext key.
    pub async fn issue_key(&self, tenant: &str) -> String {
        let a = self
            .post(
                &format!("/v1/tenants/{tenant}/api-keys"),
                self.op(),
                json!({"name": "integration"}),
            )
            .await;
        assert_eq!(a.status, 201, "{a:?}");
        a.json["key"].as_str().expect("key").to_owned()
    }

    /// Sets the tenant's Stripe config (operator) and returns the answer's JSON.
    pub async fn set_stripe_config(
        &self,
        tenant: &str,
        secret_key: &str,
        webhook_secret: &str,
    ) -> Value {
        let a = self
            .put(
                &format!("/v1/tenants/{tenant}/stripe-config"),
                self.op(),
                json!({"secret_key": secret_key, "webhook_secret": webhook_secret}),
            )
            .await;
        assert_eq!(a.status, 200, "{a:?}");
        a.json
    }

    /// Restarts the gateway over the same database with its Stripe API at `stripe_base`.
    pub async fn with_stripe(self, stripe_base: &str) -> TestApp {
        self.restart(|c| c.stripe_api_base = format!("{stripe_base}/"))
            .await
    }

    /// Restarts the gateway over the same database with a changed configuration.
    pub async fn restart(self, tweak: impl FnOnce(&mut Config)) -> TestApp {
        let keys = self.master_keys.clone();
        let db = self.stop().await;
        start_with(db, keys, tweak).await.expect("gateway restarts")
    }

    /// A direct connection to the gateway's database, for checks no API can make
    /// (what is stored at rest).
    pub async fn sql(&self) -> DatabaseConnection {
        Database::connect(self.db.url()).await.expect("connect")
    }
}

pub async fn into_answer(resp: reqwest::Response) -> Answer {
    let status = resp.status();
    let content_type = resp
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let text = resp.text().await.unwrap_or_default();
    let json = serde_json::from_str(&text).unwrap_or(Value::Null);
    Answer {
        status,
        content_type,
        text,
        json,
    }
}

/// Declares each listed `async fn name(app: TestApp)` as two tests: `sqlite::name` and
/// `postgres::name` (the latter skipped without `TEST_DATABASE_URL`, required under CI).
#[macro_export]
macro_rules! backend_tests {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let app = $crate::helpers::spawn($crate::helpers::Backend::Sqlite).await.expect("sqlite");
                    super::$name(app).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    if let Some(app) = $crate::helpers::spawn($crate::helpers::Backend::Postgres).await {
                        super::$name(app).await;
                    }
                }
            )*
        }
    };
}

/// Like [`backend_tests!`] for tests that manage start-up themselves: each listed
/// `async fn name(db: TestDb)` gets a fresh, not yet started database per backend.
#[macro_export]
macro_rules! backend_db_tests {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let db = $crate::helpers::TestDb::new($crate::helpers::Backend::Sqlite).await.expect("sqlite");
                    super::$name(db).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    if let Some(db) = $crate::helpers::TestDb::new($crate::helpers::Backend::Postgres).await {
                        super::$name(db).await;
                    }
                }
            )*
        }
    };
}

/// Runs the gateway's start-up over `db` (as `serve` would) and shuts it again: Ok if it would
/// serve, the start-up error otherwise.
pub async fn check_start(db: &TestDb, master_keys: Option<String>) -> anyhow::Result<()> {
    let prepared = gateway::startup::prepare(db.config(master_keys)).await?;
    prepared.state.db.clone().close().await.ok();
    Ok(())
}
