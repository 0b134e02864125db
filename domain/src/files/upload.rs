//! Uploading, completing, reading and downloading attachments.

use std::collections::HashMap;

use bytes::Bytes;
use sea_orm::ActiveValue::Set;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, IntoActiveModel, QueryFilter, QueryOrder};
use stoa_entities::{attachments, workspaces};
use stoa_storage::SignedMethod;

use crate::actor::Actor;
use crate::app::AppCtx;
use crate::authz::Permission;
use crate::chat::store::readable_message;
use crate::error::{DomainError, Result};
use crate::files::model::{Attachment, AttachmentStatus, clean_key, quarantine_key};
use crate::files::policy::{self, FileType};
use crate::ids::{AttachmentId, MessageId, UserId, WorkspaceId};
use crate::jobs::Job;
use crate::ports::scanner::sha256_hex;
use crate::workspaces::store::require_permission;

/// Input of [`upload_file`].
#[derive(Debug, Clone)]
pub struct UploadFile {
    pub workspace_id: WorkspaceId,
    pub filename: String,
    pub mime: String,
    pub bytes: Bytes,
}

/// Input of [`create_upload`].
#[derive(Debug, Clone)]
pub struct CreateUpload {
    pub workspace_id: WorkspaceId,
    pub filename: String,
    pub mime: String,
    pub size: u64,
}

/// Checks membership, name, type and size; returns the clean name and type.
async fn admit(
    app: &AppCtx,
    actor: &Actor,
    workspace: WorkspaceId,
    filename: &str,
    mime: &str,
    size: u64,
) -> Result<(String, FileType)> {
    require_permission(app.db(), actor, workspace, Permission::ViewWorkspace).await?;
    let name =
        policy::clean_filename(filename).ok_or_else(|| DomainError::invalid("filename", "a file name is required"))?;
    let kind = policy::declared(mime, &name).ok_or_else(|| {
        DomainError::invalid("mime", "this type of file is not allowed, or the extension does not match it")
    })?;
    let cap = workspaces::Entity::find_by_id(workspace.0)
        .one(app.db())
        .await?
        .and_then(|w| w.max_upload_bytes)
        .and_then(|b| u64::try_from(b).ok())
        .map_or(app.files().max_upload_bytes, |w| w.min(app.files().max_upload_bytes));
    if size == 0 || size > cap {
        return Err(DomainError::invalid("size", format!("files must be 1 to {cap} bytes")));
    }
    Ok((name, kind))
}

fn row(
    id: AttachmentId,
    workspace: WorkspaceId,
    uploader: UserId,
    name: String,
    kind: FileType,
    size: u64,
    status: AttachmentStatus,
) -> attachments::ActiveModel {
    attachments::ActiveModel {
        id: Set(id.0),
        workspace_id: Set(workspace.0),
        uploader_id: Set(uploader.0),
        message_id: Set(None),
        ticket_id: Set(None),
        filename: Set(name),
        mime: Set(kind.mime.to_owned()),
        size: Set(i64::try_from(size).unwrap_or(i64::MAX)),
        sha256: Set(None),
        status: Set(status.as_str().to_owned()),
        scan_detail: Set(None),
        thumbnail_key: Set(None),
        created_at: Set(chrono::Utc::now()),
        scanned_at: Set(None),
    }
}

/// Stores a small file sent with the request in quarantine and queues its scan.
///
/// # Errors
/// `NOT_FOUND` (workspace), `BAD_USER_INPUT` (filename, mime, size, or `file` when the bytes are not
/// the declared type).
#[tracing::instrument(skip_all, fields(actor = %actor.label(), workspace = %input.workspace_id))]
pub async fn upload_file(app: &AppCtx, actor: &Actor, input: UploadFile) -> Result<Attachment> {
    let size = input.bytes.len() as u64;
    let (name, kind) = admit(app, actor, input.workspace_id, &input.filename, &input.mime, size).await?;
    if !policy::matches(kind, &input.bytes) {
        return Err(DomainError::invalid("file", "the content does not match the declared type"));
    }
    let id = AttachmentId::new();
    let sha = sha256_hex(&input.bytes);
    app.storage().put(&quarantine_key(id), input.bytes).await?;
    let mut model = row(id, input.workspace_id, actor.user_id()?, name, kind, size, AttachmentStatus::PendingScan);
    model.sha256 = Set(Some(sha));
    let saved = model.insert(app.db()).await?;
    app.jobs().enqueue(Job::ScanAttachment { id }).await?;
    reload(app, id).await.or_else(|_| Ok(saved.into()))
}

async fn reload(app: &AppCtx, id: AttachmentId) -> Result<Attachment> {
    attachments::Entity::find_by_id(id.0)
        .one(app.db())
        .await?
        .map(Attachment::from)
        .ok_or(DomainError::NotFound("attachment"))
}

/// Registers a large upload and returns a signed URL to `PUT` its bytes to, valid for the URL TTL.
///
/// # Errors
/// As [`upload_file`], without the content check (done by [`complete_upload`]).
#[tracing::instrument(skip_all, fields(actor = %actor.label(), workspace = %input.workspace_id))]
pub async fn create_upload(app: &AppCtx, actor: &Actor, input: CreateUpload) -> Result<(Attachment, String)> {
    let (name, kind) = admit(app, actor, input.workspace_id, &input.filename, &input.mime, input.size).await?;
    let id = AttachmentId::new();
    let model = row(id, input.workspace_id, actor.user_id()?, name, kind, input.size, AttachmentStatus::AwaitingUpload);
    let saved = model.insert(app.db()).await?;
    let url = app.storage().signed_url(SignedMethod::Put, &quarantine_key(id), app.files().url_ttl).await?;
    Ok((saved.into(), url))
}

/// Checks the bytes PUT to the signed URL (size and type) and queues the scan.
///
/// # Errors
/// `NOT_FOUND` (not the uploader's), `CONFLICT` (already completed), `BAD_USER_INPUT` (nothing
/// uploaded, wrong size, wrong type: the object is then deleted).
#[tracing::instrument(skip_all, fields(actor = %actor.label(), attachment = %id))]
pub async fn complete_upload(app: &AppCtx, actor: &Actor, id: AttachmentId) -> Result<Attachment> {
    let me = actor.user_id()?;
    let found = attachments::Entity::find_by_id(id.0).one(app.db()).await?;
    let row = found.filter(|r| r.uploader_id == me.0).ok_or(DomainError::NotFound("attachment"))?;
    if AttachmentStatus::parse(&row.status) != AttachmentStatus::AwaitingUpload {
        return Err(DomainError::Conflict("upload already completed"));
    }
    let key = quarantine_key(id);
    let Some(bytes) = app.storage().get(&key).await? else {
        return Err(DomainError::invalid("id", "nothing was uploaded to the signed URL"));
    };
    let kind = policy::declared(&row.mime, &row.filename).ok_or(DomainError::invalid("mime", "not allowed"))?;
    if i64::try_from(bytes.len()).ok() != Some(row.size) || !policy::matches(kind, &bytes) {
        app.storage().delete(&key).await?;
        return Err(DomainError::invalid("file", "the uploaded bytes do not match the declared size and type"));
    }
    let mut model = row.into_active_model();
    model.sha256 = Set(Some(sha256_hex(&bytes)));
    model.status = Set(AttachmentStatus::PendingScan.as_str().to_owned());
    model.update(app.db()).await?;
    app.jobs().enqueue(Job::ScanAttachment { id }).await?;
    reload(app, id).await
}

/// Whether the actor may see the attachment: its uploader, or a reader of its message's channel.
pub(super) async fn visible(app: &AppCtx, actor: &Actor, row: &attachments::Model) -> Result<()> {
    let me = actor.user_id()?;
    require_permission(app.db(), actor, WorkspaceId(row.workspace_id), Permission::ViewWorkspace)
        .await
        .map_err(|_| DomainError::NotFound("attachment"))?;
    if row.uploader_id == me.0 {
        return Ok(());
    }
    match row.message_id {
        Some(message) => readable_message(app.db(), actor, MessageId(message))
            .await
            .map(|_| ())
            .map_err(|_| DomainError::NotFound("attachment")),
        None => Err(DomainError::NotFound("attachment")),
    }
}

/// One attachment the actor may see.
///
/// # Errors
/// `NOT_FOUND`.
pub async fn attachment(app: &AppCtx, actor: &Actor, id: AttachmentId) -> Result<Attachment> {
    let row = attachments::Entity::find_by_id(id.0).one(app.db()).await?.ok_or(DomainError::NotFound("attachment"))?;
    visible(app, actor, &row).await?;
    Ok(row.into())
}

/// A signed, expiring download URL for a clean file.
///
/// # Errors
/// `NOT_FOUND`, `CONFLICT` (not scanned clean).
pub async fn download_url(app: &AppCtx, actor: &Actor, id: AttachmentId) -> Result<String> {
    let row = attachments::Entity::find_by_id(id.0).one(app.db()).await?.ok_or(DomainError::NotFound("attachment"))?;
    visible(app, actor, &row).await?;
    if AttachmentStatus::parse(&row.status) != AttachmentStatus::Clean {
        return Err(DomainError::Conflict("only files scanned clean can be downloaded"));
    }
    Ok(app.storage().signed_url(SignedMethod::Get, &clean_key(id), app.files().url_ttl).await?)
}

/// A signed, expiring URL of the image's thumbnail, once made.
///
/// # Errors
/// `NOT_FOUND`.
pub async fn thumbnail_url(app: &AppCtx, actor: &Actor, id: AttachmentId) -> Result<Option<String>> {
    let row = attachments::Entity::find_by_id(id.0).one(app.db()).await?.ok_or(DomainError::NotFound("attachment"))?;
    visible(app, actor, &row).await?;
    match row.thumbnail_key {
        Some(key) if AttachmentStatus::parse(&row.status) == AttachmentStatus::Clean => {
            Ok(Some(app.storage().signed_url(SignedMethod::Get, &key, app.files().url_ttl).await?))
        }
        _ => Ok(None),
    }
}

/// Attachments of messages the caller already read (DataLoader backend): one statement.
///
/// # Errors
/// `Internal` on database failure.
pub async fn attachments_of_messages(app: &AppCtx, ids: &[MessageId]) -> Result<HashMap<MessageId, Vec<Attachment>>> {
    let rows = attachments::Entity::find()
        .filter(attachments::Column::MessageId.is_in(ids.iter().map(|m| m.0)))
        .order_by_asc(attachments::Column::Id)
        .all(app.db())
        .await?;
    let mut out: HashMap<MessageId, Vec<Attachment>> = HashMap::new();
    for row in rows {
        if let Some(message) = row.message_id {
            out.entry(MessageId(message)).or_default().push(row.into());
        }
    }
    Ok(out)
}

/// Links the uploader's unowned attachments to a message in the same workspace.
pub(crate) async fn attach_to_message(
    db: &impl sea_orm::ConnectionTrait,
    uploader: UserId,
    workspace: WorkspaceId,
    message: MessageId,
    ids: &[AttachmentId],
) -> Result<()> {
    if ids.len() > 10 {
        return Err(DomainError::invalid("attachmentIds", "at most 10 files per message"));
    }
    for id in ids {
        let row = attachments::Entity::find_by_id(id.0).one(db).await?;
        let ok = row.as_ref().is_some_and(|r| {
            r.uploader_id == uploader.0
                && r.workspace_id == workspace.0
                && r.message_id.is_none()
                && r.ticket_id.is_none()
                && matches!(AttachmentStatus::parse(&r.status), AttachmentStatus::PendingScan | AttachmentStatus::Clean)
        });
        let Some(row) = row.filter(|_| ok) else {
            return Err(DomainError::invalid(
                "attachmentIds",
                "each must be your own unattached, uploaded file in this workspace",
            ));
        };
        let mut model = row.into_active_model();
        model.message_id = Set(Some(message.0));
        model.update(db).await?;
    }
    Ok(())
}
