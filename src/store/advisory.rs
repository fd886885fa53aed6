//! Store: PostgreSQL session advisory locks, each held on a connection of its own.
use crate::db::db_err;
use sea_orm::sqlx::pool::PoolConnection;
use sea_orm::sqlx::{self, Postgres};
use sea_orm::{DatabaseConnection, DbErr};

/// Takes lock `key` without waiting: the connection that holds it, or `None` if another session
/// holds it. The lock lasts until [`unlock`] or until the connection closes.
pub async fn try_lock(
    db: &DatabaseConnection,
    key: i64,
) -> Result<Option<PoolConnection<Postgres>>, DbErr> {
    let mut conn = db
        .get_postgres_connection_pool()
        .acquire()
        .await
        .map_err(db_err)?;
    let locked: bool = sqlx::query_scalar("SELECT pg_try_advisory_lock($1)")
        .bind(key)
        .fetch_one(&mut *conn)
        .await
        .map_err(db_err)?;
    Ok(locked.then_some(conn))
}

/// Releases lock `key` and returns its connection to the pool.
pub async fn unlock(mut conn: PoolConnection<Postgres>, key: i64) {
    let _ = sqlx::query("SELECT pg_advisory_unlock($1)")
        .bind(key)
        .execute(&mut *conn)
        .await;
}
