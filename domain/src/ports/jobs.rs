//! The job-queue seam: where [`Job`]s go. `workers` implements it over apalis (SQLite, Postgres) and
//! inline (tests); the domain enqueues without knowing either.

use crate::jobs::Job;

/// Where jobs go.
#[async_trait::async_trait]
pub trait JobQueue: Send + Sync + 'static {
    /// Enqueues `job` durably (or runs it, for the inline queue).
    ///
    /// # Errors
    /// When the queue cannot accept it.
    async fn enqueue(&self, job: Job) -> anyhow::Result<()>;
}

/// Refuses every job: the state before start-up installs a real queue.
pub struct NoQueue;

#[async_trait::async_trait]
impl JobQueue for NoQueue {
    async fn enqueue(&self, job: Job) -> anyhow::Result<()> {
        anyhow::bail!("no job queue installed for {job:?}")
    }
}
