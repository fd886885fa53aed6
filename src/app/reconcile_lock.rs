//! Job: one reconciliation per tenant at a time — an in-process guard, and on PostgreSQL a
//! session advisory lock held on its own connection, so replicas never run a tenant together.
use crate::state::Context;
use crate::store::advisory;
use sea_orm::DbErr;
use uuid::Uuid;

/// Holds a tenant's reconciliation lock; released when dropped (or `release`d).
pub struct RunLock {
    state: Context,
    tenant_id: Uuid,
    pg: Option<sea_orm::sqlx::pool::PoolConnection<sea_orm::sqlx::Postgres>>,
}

impl RunLock {
    pub(super) async fn release(mut self) {
        if let Some(conn) = self.pg.take() {
            advisory::unlock(conn, advisory_key(self.tenant_id)).await;
        }
    }
}

impl Drop for RunLock {
    fn drop(&mut self) {
        if let Ok(mut running) = self.state.reconciling.lock() {
            running.remove(&self.tenant_id);
        }
        // A connection dropped while still holding the advisory lock is closed, not pooled, so
        // the lock cannot outlive the run.
        if let Some(conn) = self.pg.take() {
            drop(conn.detach());
        }
    }
}

fn advisory_key(tenant_id: Uuid) -> i64 {
    let b = tenant_id.as_u128();
    // A fixed namespace so the gateway's locks do not collide with another application's.
    ((b >> 64) as i64 ^ b as i64) ^ 0x5247_5752_4543_4f4e
}

/// Takes the tenant's lock: `None` when a run of it holds it already (here or on a replica).
pub(super) async fn lock(state: &Context, tenant_id: Uuid) -> Result<Option<RunLock>, DbErr> {
    let inserted = state
        .reconciling
        .lock()
        .is_ok_and(|mut running| running.insert(tenant_id));
    if !inserted {
        return Ok(None);
    }
    let mut guard = RunLock {
        state: state.clone(),
        tenant_id,
        pg: None,
    };
    if sea_orm::ConnectionTrait::get_database_backend(&state.db) == sea_orm::DbBackend::Postgres {
        match advisory::try_lock(&state.db, advisory_key(tenant_id)).await? {
            Some(conn) => guard.pg = Some(conn),
            None => return Ok(None),
        }
    }
    Ok(Some(guard))
}
