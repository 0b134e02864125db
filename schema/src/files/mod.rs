//! GraphQL surface of files: multipart uploads, signed-URL uploads, attachments and downloads.

use async_graphql::dataloader::Loader;
use async_graphql::{Context, Enum, ID, InputObject, Object, SimpleObject, Subscription, Upload};
use chrono::{DateTime, Utc};
use futures::{Stream, StreamExt as _};
use std::collections::HashMap;
use stoa_domain::events::{Event, Topic};
use stoa_domain::files::{self, AttachmentStatus as DomainStatus};
use stoa_domain::ids::MessageId;
use stoa_domain::{AppCtx, DomainError};

use crate::context::{ContextExt as _, parse_id};
use crate::error::{GqlError, Result};

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
}

impl From<DomainStatus> for AttachmentStatus {
    fn from(s: DomainStatus) -> Self {
        match s {
            DomainStatus::AwaitingUpload => Self::AwaitingUpload,
            DomainStatus::PendingScan => Self::PendingScan,
            DomainStatus::Clean => Self::Clean,
            DomainStatus::Infected => Self::Infected,
            DomainStatus::ScanFailed => Self::ScanFailed,
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

/// Attachments per message.
pub struct AttachmentsLoader(pub AppCtx);

impl Loader<MessageId> for AttachmentsLoader {
    type Value = Vec<files::Attachment>;
    type Error = GqlError;

    async fn load(&self, ids: &[MessageId]) -> std::result::Result<HashMap<MessageId, Self::Value>, GqlError> {
        Ok(files::attachments_of_messages(&self.0, ids).await?)
    }
}

/// Input of `createUpload`.
#[derive(InputObject)]
pub struct CreateUploadInput {
    /// The workspace.
    pub workspace_id: ID,
    /// File name with its extension.
    pub filename: String,
    /// Declared MIME type (must match the extension and, later, the bytes).
    pub mime: String,
    /// Exact size in bytes.
    pub size: u64,
}

/// Result of `createUpload`: PUT the bytes to `uploadUrl`, then call `completeUpload`.
#[derive(SimpleObject)]
pub struct CreateUploadPayload {
    /// The registered attachment (`AWAITING_UPLOAD`).
    pub attachment: Attachment,
    /// Signed URL accepting one `PUT` of the bytes until it expires.
    pub upload_url: String,
}

/// An attachment after a change.
#[derive(SimpleObject)]
pub struct AttachmentPayload {
    /// The attachment.
    pub attachment: Attachment,
}

/// File queries.
#[derive(Default)]
pub struct FilesQuery;

#[Object]
impl FilesQuery {
    /// One attachment: its uploader, or anyone who can read the message it is attached to.
    async fn attachment(&self, ctx: &Context<'_>, id: ID) -> Result<Attachment> {
        Ok(Attachment(files::attachment(ctx.app()?, ctx.actor()?, parse_id(&id, "id")?).await?))
    }
}

/// File mutations.
#[derive(Default)]
pub struct FilesMutation;

#[Object]
impl FilesMutation {
    /// Uploads a small file with the GraphQL multipart request (send an `Apollo-Require-Preflight`
    /// header). It is stored in quarantine and scanned; attach it with `postMessage(attachmentIds)`.
    async fn upload_file(&self, ctx: &Context<'_>, workspace_id: ID, file: Upload) -> Result<AttachmentPayload> {
        let workspace = parse_id(&workspace_id, "workspaceId")?;
        let value = file.value(ctx).map_err(|e| GqlError::invalid("file", e.to_string()))?;
        let filename = value.filename.clone();
        let mime = value.content_type.clone().unwrap_or_default();
        let bytes = tokio::task::spawn_blocking(move || {
            use std::io::Read as _;
            let mut buf = Vec::new();
            value.into_read().read_to_end(&mut buf).map(|_| buf)
        })
        .await
        .map_err(|e| GqlError::from(DomainError::Internal(e.into())))?
        .map_err(|e| GqlError::from(DomainError::Internal(e.into())))?;
        let input = files::UploadFile { workspace_id: workspace, filename, mime, bytes: bytes.into() };
        Ok(AttachmentPayload { attachment: Attachment(files::upload_file(ctx.app()?, ctx.actor()?, input).await?) })
    }

    /// Registers a large upload and returns a signed URL to `PUT` the bytes to.
    async fn create_upload(&self, ctx: &Context<'_>, input: CreateUploadInput) -> Result<CreateUploadPayload> {
        let input = files::CreateUpload {
            workspace_id: parse_id(&input.workspace_id, "workspaceId")?,
            filename: input.filename,
            mime: input.mime,
            size: input.size,
        };
        let (attachment, upload_url) = files::create_upload(ctx.app()?, ctx.actor()?, input).await?;
        Ok(CreateUploadPayload { attachment: Attachment(attachment), upload_url })
    }

    /// Checks the bytes sent to the signed URL and queues the virus scan.
    async fn complete_upload(&self, ctx: &Context<'_>, id: ID) -> Result<AttachmentPayload> {
        let attachment = files::complete_upload(ctx.app()?, ctx.actor()?, parse_id(&id, "id")?).await?;
        Ok(AttachmentPayload { attachment: Attachment(attachment) })
    }
}

/// File subscriptions.
#[derive(Default)]
pub struct FilesSubscription;

#[Subscription]
impl FilesSubscription {
    /// Scan results of the viewer's uploads.
    #[expect(clippy::unused_async, reason = "async-graphql subscription resolvers are async")]
    async fn attachment_scanned(&self, ctx: &Context<'_>) -> Result<impl Stream<Item = Attachment>> {
        let me = ctx.actor()?.user_id()?;
        let events = ctx.app()?.bus().subscribe(&Topic::User(me));
        Ok(events.filter_map(|e| {
            futures::future::ready(match e {
                Event::AttachmentScanned(a) => Some(Attachment(a)),
                _ => None,
            })
        }))
    }
}

/// File administration (owners and admins).
#[derive(Default)]
pub struct FilesAdminQuery;

#[Object]
impl FilesAdminQuery {
    /// Files whose virus scan failed for good (the dead letters), newest first.
    async fn failed_scans(&self, ctx: &Context<'_>, workspace_id: ID) -> Result<Vec<Attachment>> {
        let workspace = parse_id(&workspace_id, "workspaceId")?;
        Ok(files::failed_scans(ctx.app()?, ctx.actor()?, workspace).await?.into_iter().map(Attachment).collect())
    }
}

/// File administration (owners and admins).
#[derive(Default)]
pub struct FilesAdminMutation;

/// Result of `setUploadLimit`.
#[derive(SimpleObject)]
pub struct UploadLimitPayload {
    /// The workspace's cap in bytes; null means the server-wide limit.
    pub max_bytes: Option<i64>,
}

#[Object]
impl FilesAdminMutation {
    /// Queues a dead-lettered file for another scan.
    async fn retry_scan(&self, ctx: &Context<'_>, id: ID) -> Result<AttachmentPayload> {
        let attachment = files::retry_scan(ctx.app()?, ctx.actor()?, parse_id(&id, "id")?).await?;
        Ok(AttachmentPayload { attachment: Attachment(attachment) })
    }

    /// Sets the workspace's upload cap (it can only lower the server-wide limit); null clears it.
    async fn set_upload_limit(
        &self,
        ctx: &Context<'_>,
        workspace_id: ID,
        max_bytes: Option<i64>,
    ) -> Result<UploadLimitPayload> {
        let workspace = parse_id(&workspace_id, "workspaceId")?;
        Ok(UploadLimitPayload {
            max_bytes: files::set_upload_limit(ctx.app()?, ctx.actor()?, workspace, max_bytes).await?,
        })
    }
}
