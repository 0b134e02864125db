//! The files of a deleted message: marked `deleted` in the deleting transaction, so from its commit
//! they show to no one and never download, then their objects are removed from storage.

use sea_orm::ConnectionTrait;

use crate::app::AppCtx;
use crate::error::Result;
use crate::files::model::{clean_key, quarantine_key};
use crate::files::store;
use crate::files::thumbnail::thumb_key;
use crate::ids::{AttachmentId, MessageId};

/// Marks the files attached to `message` deleted; returns them for [`remove_objects`], to be
/// called once the transaction has committed.
pub(crate) async fn discard_with_message(db: &impl ConnectionTrait, message: MessageId) -> Result<Vec<AttachmentId>> {
    store::mark_deleted_with_message(db, message).await
}

/// Removes every object a discarded file may have (quarantined, clean, thumbnail). A failure is
/// logged, not returned: the deletion is committed and the file already unreachable (no status but
/// `clean` downloads, and signed URLs of removed objects answer 404); only the space is left over.
pub(crate) async fn remove_objects(app: &AppCtx, ids: &[AttachmentId]) {
    for id in ids {
        for key in [quarantine_key(*id), clean_key(*id), thumb_key(*id)] {
            if let Err(e) = app.storage().delete(&key).await {
                tracing::error!(error = %format_args!("{e:#}"), attachment = %id, key, "removing a deleted file's object");
            }
        }
    }
}
