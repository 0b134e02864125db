//! Background work as data: the domain enqueues [`Job`]s without knowing apalis. `workers` runs
//! them (apalis on SQLite, Postgres or Redis); tests and small sites may run them inline.

use serde::{Deserialize, Serialize};

use crate::ids::{AttachmentId, MailId};

/// One unit of background work. Handlers are idempotent on the id they carry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "job")]
pub enum Job {
    /// Scan an uploaded file and release or destroy it.
    ScanAttachment { id: AttachmentId },
    /// Make the thumbnail of a clean image.
    Thumbnail { id: AttachmentId },
    /// Deliver a queued mail.
    SendMail { id: MailId },
    /// Remove a deleted channel's rows and files.
    PurgeChannel { id: crate::ids::ChannelId },
    /// Render a clean image as a profile picture (of its uploader) or, with `workspace`, as that
    /// workspace's icon.
    Avatar { attachment: AttachmentId, workspace: Option<crate::ids::WorkspaceId> },
}
