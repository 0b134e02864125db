//! File types; each wraps a domain read model.

use async_graphql::{Context, Enum, ID, Object};
use chrono::{DateTime, Utc};
use stoa_domain::files::{self, AttachmentStatus as DomainStatus};

use crate::context::ContextExt as _;
use crate::error::Result;

/// Where a file is in its life.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
pub enum AttachmentStatus {
    /// Registered with `createUpload`; the bytes are not uploaded yet.
    AwaitingUpload,
    /// In quarantine, waiting for the virus scan.
    PendingScan,
    /// Scanned clean: downloadable.
    Clean,
    /// Malware found; the file was deleted.
    Infected,
    /// The scan kept failing; the file stays in quarantine.
    ScanFailed,
    /// Deleted with its message; the file is gone (the API returns no deleted file: asking for one
    /// is `NOT_FOUND`).
    Deleted,
}

impl From<DomainStatus> for AttachmentStatus {
    fn from(s: DomainStatus) -> Self {
        match s {
            DomainStatus::AwaitingUpload => Self::AwaitingUpload,
            DomainStatus::PendingScan => Self::PendingScan,
            DomainStatus::Clean => Self::Clean,
            DomainStatus::Infected => Self::Infected,
            DomainStatus::ScanFailed => Self::ScanFailed,
            DomainStatus::Deleted => Self::Deleted,
        }
    }
}

/// An uploaded file.
pub struct Attachment(pub files::Attachment);

/// An uploaded file.
#[Object]
impl Attachment {
    /// The attachment's ID.
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    /// The file name as uploaded (path parts removed).
    async fn filename(&self) -> &str {
        &self.0.filename
    }
    /// MIME type, checked against the bytes.
    async fn mime(&self) -> &str {
        &self.0.mime
    }
    /// Size in bytes.
    async fn size(&self) -> i64 {
        self.0.size
    }
    /// Scan status; only `CLEAN` files can be downloaded.
    async fn status(&self) -> AttachmentStatus {
        self.0.status.into()
    }
    /// What the scanner found, for infected or failed scans.
    async fn scan_detail(&self) -> Option<&str> {
        self.0.scan_detail.as_deref()
    }
    /// The message it is attached to.
    async fn message_id(&self) -> Option<ID> {
        self.0.message_id.map(|m| ID(m.to_string()))
    }
    /// When it was uploaded.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    /// A signed URL of a small WebP preview, for clean images once it is made.
    async fn thumbnail_url(&self, ctx: &Context<'_>) -> Result<Option<String>> {
        if self.0.thumbnail_key.is_none() {
            return Ok(None);
        }
        Ok(files::thumbnail_url(ctx.app()?, ctx.actor()?, self.0.id).await?)
    }
    /// A signed URL valid for a few minutes; `CONFLICT` until the file is scanned clean.
    async fn download_url(&self, ctx: &Context<'_>) -> Result<String> {
        Ok(files::download_url(ctx.app()?, ctx.actor()?, self.0.id).await?)
    }
}
