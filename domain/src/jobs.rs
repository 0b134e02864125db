//! Background work as data: the domain enqueues [`Job`]s without knowing apalis. `workers` runs
//! them (apalis on SQLite, Postgres or Redis); tests and small sites may run them inline.

use serde::{Deserialize, Serialize};

use crate::ids::AttachmentId;

/// One unit of background work. Handlers are idempotent on the attachment id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "job")]
pub enum Job {
    /// Scan an uploaded file and release or destroy it.
    ScanAttachment { id: AttachmentId },
    /// Make the thumbnail of a clean image.
    Thumbnail { id: AttachmentId },
}

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
