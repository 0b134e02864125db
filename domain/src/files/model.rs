//! Read models and settings of files.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use stoa_entities::attachments;

use crate::ids::{AttachmentId, MessageId, UserId, WorkspaceId};

/// Limits for uploads.
#[derive(Debug, Clone)]
pub struct FilesSettings {
    /// Largest file, server-wide (a workspace may set a lower cap).
    pub max_upload_bytes: u64,
    /// How long signed URLs stay valid.
    pub url_ttl: std::time::Duration,
}

impl Default for FilesSettings {
    fn default() -> Self {
        Self { max_upload_bytes: 10 * 1024 * 1024, url_ttl: std::time::Duration::from_mins(5) }
    }
}

/// Where a file is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AttachmentStatus {
    /// Created with `createUpload`; the bytes are not there yet.
    AwaitingUpload,
    /// Stored in quarantine, waiting for the scanner.
    PendingScan,
    /// Scanned clean: downloadable.
    Clean,
    /// The scanner found something; the bytes are deleted.
    Infected,
    /// The scan kept failing; the bytes stay in quarantine.
    ScanFailed,
    /// Its message was deleted: the bytes are removed and the file is shown to no one.
    Deleted,
}

impl AttachmentStatus {
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::AwaitingUpload => "awaiting_upload",
            Self::PendingScan => "pending_scan",
            Self::Clean => "clean",
            Self::Infected => "infected",
            Self::ScanFailed => "scan_failed",
            Self::Deleted => "deleted",
        }
    }

    #[must_use]
    pub fn parse(s: &str) -> Self {
        [Self::AwaitingUpload, Self::PendingScan, Self::Clean, Self::Infected, Self::ScanFailed, Self::Deleted]
            .into_iter()
            .find(|k| k.as_str() == s)
            .unwrap_or(Self::ScanFailed)
    }
}

/// An uploaded file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attachment {
    pub id: AttachmentId,
    pub workspace_id: WorkspaceId,
    pub uploader_id: UserId,
    pub message_id: Option<MessageId>,
    pub filename: String,
    pub mime: String,
    pub size: i64,
    pub status: AttachmentStatus,
    pub scan_detail: Option<String>,
    /// Storage key of the WebP thumbnail, for images.
    pub thumbnail_key: Option<String>,
    pub created_at: DateTime<Utc>,
}

impl From<attachments::Model> for Attachment {
    fn from(m: attachments::Model) -> Self {
        Self {
            id: m.id.into(),
            workspace_id: m.workspace_id.into(),
            uploader_id: m.uploader_id.into(),
            message_id: m.message_id.map(MessageId),
            filename: m.filename,
            mime: m.mime,
            size: m.size,
            status: AttachmentStatus::parse(&m.status),
            scan_detail: m.scan_detail,
            thumbnail_key: m.thumbnail_key,
            created_at: m.created_at,
        }
    }
}

/// Where a signed upload URL writes: read once by `completeUpload`, never scanned or served.
pub(crate) fn upload_key(id: AttachmentId) -> String {
    format!("upload/{id}")
}

/// Where the bytes `completeUpload` checked wait for the scanner. Only Stoa writes here: no signed
/// URL names this key.
pub(crate) fn quarantine_key(id: AttachmentId) -> String {
    format!("quarantine/{id}")
}

pub(crate) fn clean_key(id: AttachmentId) -> String {
    format!("clean/{id}")
}
