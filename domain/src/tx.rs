//! The unit of work: one database transaction plus the events it will publish once committed.

use std::sync::Arc;

use sea_orm::DatabaseTransaction;

use crate::error::Result;
use crate::events::Event;
use crate::ports::bus::EventBus;

/// A transaction that buffers events; dropping it rolls back and discards them.
pub struct Tx {
    txn: DatabaseTransaction,
    events: Vec<Event>,
    bus: Arc<dyn EventBus>,
}

impl Tx {
    pub(crate) fn new(txn: DatabaseTransaction, bus: Arc<dyn EventBus>) -> Self {
        Self { txn, events: Vec::new(), bus }
    }

    /// The connection to run statements on.
    #[must_use]
    pub(crate) fn db(&self) -> &DatabaseTransaction {
        &self.txn
    }

    /// Queues an event to publish after a successful commit.
    pub fn emit(&mut self, event: Event) {
        self.events.push(event);
    }

    /// Commits, then publishes the buffered events in order. A failed publish is not returned:
    /// the data is committed; a networked bus keeps the events for retry (`Outbox`), and
    /// resumable streams replay from the database.
    ///
    /// # Errors
    /// `Internal` when the commit fails (nothing is published then).
    pub async fn commit(self) -> Result<()> {
        self.txn.commit().await?;
        if self.events.is_empty() {
            return Ok(());
        }
        #[expect(clippy::disallowed_methods, reason = "publishing after commit is this type's job")]
        let published = self.bus.publish_committed(self.events).await;
        if let Err(err) = published {
            tracing::warn!(error = ?err, "event publish failed after commit");
        }
        Ok(())
    }
}
