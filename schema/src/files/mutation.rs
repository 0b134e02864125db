//! File mutations: uploads, their completion, and the admins' retry and upload cap.

use async_graphql::{Context, ID, InputObject, Object, SimpleObject, Upload};
use stoa_domain::{DomainError, files};

use crate::context::{ContextExt as _, parse_id};
use crate::error::{GqlError, Result};
use crate::files::types::Attachment;

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

/// File mutations.
#[derive(Default)]
pub struct FilesMutation;

#[Object]
impl FilesMutation {
    /// Uploads a small file with the GraphQL multipart request (send an `Apollo-Require-Preflight`
    /// header). It is stored in quarantine and scanned; attach it with `postMessage(attachmentIds)`.
    async fn upload_file(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The workspace to upload the file to.")] workspace_id: ID,
        #[graphql(desc = "The file as a multipart part, whose filename and content type must match its bytes.")]
        file: Upload,
    ) -> Result<AttachmentPayload> {
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
    async fn create_upload(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The workspace and the file's name, MIME type and size.")] input: CreateUploadInput,
    ) -> Result<CreateUploadPayload> {
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
    async fn complete_upload(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The attachment `createUpload` registered.")] id: ID,
    ) -> Result<AttachmentPayload> {
        let attachment = files::complete_upload(ctx.app()?, ctx.actor()?, parse_id(&id, "id")?).await?;
        Ok(AttachmentPayload { attachment: Attachment(attachment) })
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
    async fn retry_scan(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The attachment whose scan failed for good.")] id: ID,
        #[graphql(desc = "Why, for the audit log: at most 500 characters.")] reason: Option<String>,
    ) -> Result<AttachmentPayload> {
        let attachment = files::retry_scan(ctx.app()?, &ctx.acting(reason)?, parse_id(&id, "id")?).await?;
        Ok(AttachmentPayload { attachment: Attachment(attachment) })
    }

    /// Sets the workspace's upload cap (it can only lower the server-wide limit); null clears it.
    async fn set_upload_limit(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The workspace whose cap is set.")] workspace_id: ID,
        #[graphql(desc = "The cap in bytes (positive); null clears it.")] max_bytes: Option<i64>,
        #[graphql(desc = "Why, for the audit log: at most 500 characters.")] reason: Option<String>,
    ) -> Result<UploadLimitPayload> {
        let workspace = parse_id(&workspace_id, "workspaceId")?;
        Ok(UploadLimitPayload {
            max_bytes: files::set_upload_limit(ctx.app()?, &ctx.acting(reason)?, workspace, max_bytes).await?,
        })
    }
}
