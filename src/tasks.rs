//! Background tasks: one owner stops them. Every task the process runs beside its requests is
//! started by `background::start` on this owner's `TaskTracker` (the reconciliation runs the API
//! starts, too); stopping (the shutdown signal) cancels one `CancellationToken`. Tasks that are
//! idle between rounds are dropped at once ([`Tasks::spawn_until_stopped`]); tasks with work to
//! finish see [`Tasks::is_stopping`] at their next safe point (a reconciliation after its current
//! page) and end; [`Tasks::wait`] gives them the grace period. The writer shards are not here:
//! they live as long as the state that sends them events, so requests still in flight during the
//! grace period are written.
use std::future::Future;
use std::time::Duration;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

#[derive(Default)]
pub struct Tasks {
    tracker: TaskTracker,
    stopping: CancellationToken,
}

impl Tasks {
    /// Runs `task` to its end; it should look at [`Tasks::is_stopping`] at its safe points.
    pub fn spawn<F>(&self, task: F)
    where
        F: Future<Output = ()> + Send + 'static,
    {
        self.tracker.spawn(task);
    }

    /// Runs `task` until stopping begins, then drops it wherever it waits.
    pub fn spawn_until_stopped<F>(&self, task: F)
    where
        F: Future<Output = ()> + Send + 'static,
    {
        let stopping = self.stopping.clone();
        self.tracker.spawn(async move {
            tokio::select! {
                () = task => {}
                () = stopping.cancelled() => {}
            }
        });
    }

    /// Stopping began: finish what is safe to finish, start nothing new.
    pub fn is_stopping(&self) -> bool {
        self.stopping.is_cancelled()
    }

    /// Resolves when stopping begins (for a task's idle wait).
    pub async fn stopped(&self) {
        self.stopping.cancelled().await;
    }

    /// Begins stopping.
    pub fn stop(&self) {
        self.stopping.cancel();
    }

    /// Waits up to `grace` for every task to end; `false` if some were still running.
    pub async fn wait(&self, grace: Duration) -> bool {
        self.tracker.close();
        tokio::time::timeout(grace, self.tracker.wait())
            .await
            .is_ok()
    }
}
