//! Store: PostgreSQL `LISTEN/NOTIFY` on one channel — how replicas tell each other what an admin
//! change touched. `publish` sends a payload (committed changes only: it runs after the change's
//! own transaction); a [`Subscription`] receives every payload sent on the channel after it was
//! made, on a connection of its own.
use crate::db::db_err;
use sea_orm::sqlx::postgres::PgListener;
use sea_orm::sqlx::{self, PgPool};
use sea_orm::{DatabaseConnection, DbBackend, DbErr};

/// The channel every replica listens on.
pub const CHANNEL: &str = "gateway_changes";

/// Sends `payload` to every replica listening (no-op on SQLite: one process, no one to tell).
pub async fn publish(db: &DatabaseConnection, payload: &str) -> Result<(), DbErr> {
    if db.get_database_backend() != DbBackend::Postgres {
        return Ok(());
    }
    sqlx::query("SELECT pg_notify($1, $2)")
        .bind(CHANNEL)
        .bind(payload)
        .execute(db.get_postgres_connection_pool())
        .await
        .map_err(db_err)?;
    Ok(())
}

/// A listening connection: made by [`Subscription::open`], dropped at its first error (the
/// caller opens a new one, knowing it may have missed payloads meanwhile).
pub struct Subscription(PgListener);

impl Subscription {
    /// Listens on [`CHANNEL`] on a new connection from `pool` (a pool of its own: the
    /// connection is never given back). `None` on SQLite.
    pub async fn open(db: &DatabaseConnection) -> Option<Result<Self, DbErr>> {
        let pool = own_pool(db)?;
        Some(
            async {
                let mut listener = PgListener::connect_with(&pool).await.map_err(db_err)?;
                listener.listen(CHANNEL).await.map_err(db_err)?;
                Ok(Self(listener))
            }
            .await,
        )
    }

    /// The next payload; an error when the connection was lost (payloads may have been missed).
    pub async fn next(&mut self) -> Result<String, DbErr> {
        match self.0.try_recv().await.map_err(db_err)? {
            Some(notification) => Ok(notification.payload().to_owned()),
            None => Err(DbErr::Conn(sea_orm::RuntimeErr::Internal(
                "the listening connection was lost".into(),
            ))),
        }
    }
}

fn own_pool(db: &DatabaseConnection) -> Option<PgPool> {
    if db.get_database_backend() != DbBackend::Postgres {
        return None;
    }
    let options = (*db.get_postgres_connection_pool().connect_options()).clone();
    Some(crate::db::pool_of_one().connect_lazy_with(options))
}
