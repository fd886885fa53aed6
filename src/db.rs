//! Database connection: SQLite (WAL, durable commits, foreign keys) or PostgreSQL: the shared
//! pool, and on PostgreSQL one more connection per webhook writer shard.
use sea_orm::sqlx::pool::PoolOptions;
use sea_orm::sqlx::postgres::PgPool;
use sea_orm::sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous};
use sea_orm::{
    ConnectOptions, Database, DatabaseConnection, DatabaseTransaction, DbBackend, DbErr,
    SqliteTransactionMode, SqlxSqliteConnector, TransactionOptions, TransactionTrait,
};
use std::time::Duration;

/// How long acquiring a connection waits, so an outage answers 503 within 2 s.
const ACQUIRE_TIMEOUT: Duration = Duration::from_millis(1500);

/// Opens the pool.
pub async fn connect(url: &str) -> Result<DatabaseConnection, DbErr> {
    let sqlite = url.starts_with("sqlite:");
    let mut opts = ConnectOptions::new(url.to_owned());
    // SQLite: one writer at a time, a few readers; each connection holds its own page cache
    // (2 MiB), so 4 connections instead of 8 keep the gateway under 40 MB under load.
    opts.max_connections(if sqlite { 4 } else { 16 })
        .min_connections(1)
        .connect_timeout(Duration::from_secs(5))
        .acquire_timeout(ACQUIRE_TIMEOUT)
        .sqlx_logging(false);
    if !sqlite {
        // A batch's multi-row statements take a few hundred shapes: keep them all prepared (sqlx's
        // default of 100 re-parsed most batches).
        opts.map_sqlx_postgres_opts(|o| o.statement_cache_capacity(1024));
    }
    if sqlite {
        opts.map_sqlx_sqlite_opts(|o| {
            o.journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Full)
                .busy_timeout(Duration::from_secs(5))
                .foreign_keys(true)
                .create_if_missing(true)
                // The writer's statements, one shape per batch size, and the API's reads.
                .statement_cache_capacity(32)
        });
    }
    Database::connect(opts).await
}

/// A webhook writer shard's own connection on PostgreSQL (`None` on SQLite): a pool of one.
/// Its two statements (`store::pg_batch`) take their keys as arrays, so one plan fits every
/// batch: plans are generic (custom planning took 1.5 ms per batch, four times the execution),
/// and the planner may only probe indexes in nested loops, never scan or hash a table. Not
/// pinged before each batch: a broken connection fails its batch, which then goes through the
/// main pool event by event, and is replaced.
pub fn pg_writer_pool(db: &DatabaseConnection) -> Option<PgPool> {
    if db.get_database_backend() != DbBackend::Postgres {
        return None;
    }
    let options = (*db.get_postgres_connection_pool().connect_options())
        .clone()
        .statement_cache_capacity(16)
        .options([
            ("plan_cache_mode", "force_generic_plan"),
            ("enable_seqscan", "off"),
            ("enable_hashjoin", "off"),
            ("enable_mergejoin", "off"),
        ]);
    Some(pool_of_one().connect_lazy_with(options))
}

/// The webhook writer's own connection on SQLite (`None` on PostgreSQL): a pool of one, never
/// pinged, so every batch runs on the same connection. Its page cache stays valid from one
/// batch to the next (only it writes webhooks); through the shared pool, which hands out idle
/// connections in turn, each batch began on a connection whose cache another one's commit had
/// made stale, and paid a ping first.
pub fn sqlite_writer(db: &DatabaseConnection) -> Option<DatabaseConnection> {
    if db.get_database_backend() != DbBackend::Sqlite {
        return None;
    }
    let options = (*db.get_sqlite_connection_pool().connect_options()).clone();
    Some(SqlxSqliteConnector::from_sqlx_sqlite_pool(
        pool_of_one().connect_lazy_with(options),
    ))
}

/// A pool of one connection of its own (a writer's, the change listener's), opened on first use,
/// never pinged before use.
pub(crate) fn pool_of_one<DB: sea_orm::sqlx::Database>() -> PoolOptions<DB> {
    PoolOptions::new()
        .max_connections(1)
        .min_connections(0)
        .acquire_timeout(ACQUIRE_TIMEOUT)
        .test_before_acquire(false)
}

/// Begins a transaction that will write. On SQLite it takes the write lock up front
/// (`BEGIN IMMEDIATE`), so it waits for other writers (busy timeout) instead of failing when
/// a read lock cannot be upgraded; PostgreSQL ignores the mode.
pub async fn begin_write(db: &DatabaseConnection) -> Result<DatabaseTransaction, DbErr> {
    db.begin_with_options(TransactionOptions {
        sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
        ..Default::default()
    })
    .await
}

/// One round trip to the database on a connection of its own (PostgreSQL: a new connection,
/// so a probe never waits behind, or breaks, a pooled one; SQLite: the pool's).
pub async fn probe(db: &DatabaseConnection) -> Result<(), DbErr> {
    use sea_orm::ConnectionTrait;
    use sea_orm::sqlx::Connection;
    if db.get_database_backend() == DbBackend::Postgres {
        let options = db.get_postgres_connection_pool().connect_options();
        let mut conn = sea_orm::sqlx::PgConnection::connect_with(&options)
            .await
            .map_err(db_err)?;
        conn.ping().await.map_err(db_err)?;
        let _ = conn.close().await;
        return Ok(());
    }
    db.execute_unprepared("SELECT 1").await.map(|_| ())
}

/// A driver error as sea-orm's.
pub fn db_err(e: sea_orm::sqlx::Error) -> DbErr {
    DbErr::Query(sea_orm::RuntimeErr::SqlxError(std::sync::Arc::new(e)))
}

/// A PostgreSQL transaction that lost to another one: a deadlock victim (`40P01`), a
/// serialization failure (`40001`), or a key another transaction inserted first (`23505`, two
/// replicas creating the same payment at once). Run again, it sees what the other committed.
pub fn is_contention(e: &DbErr) -> bool {
    use sea_orm::RuntimeErr::SqlxError;
    let (DbErr::Query(SqlxError(e)) | DbErr::Exec(SqlxError(e))) = e else {
        return false;
    };
    let code = e.as_database_error().and_then(|d| d.code());
    matches!(code.as_deref(), Some("40P01" | "40001" | "23505"))
}
