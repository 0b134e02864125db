//! Uploading, completing, reading and downloading attachments.

use std::collections::HashMap;

use bytes::Bytes;
use stoa_entities::attachments;
use stoa_storage::SignedMethod;

use crate::actor::Actor;
use crate::app::AppCtx;
use crate::authz::Permission;
use crate::chat::store::readable_message;
use crate::error::{DomainError, Result};
use crate::files::model::{Attachment, AttachmentStatus, clean_key, quarantine_key, upload_key};
use crate::files::policy::{self, FileType};
use crate::files::store::{self, NewAttachment};
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
    let server = app.files().max_upload_bytes;
    let cap = store::workspace_upload_cap(app.db(), workspace).await?.map_or(server, |w| w.min(server));
    if size == 0 || size > cap {
        return Err(DomainError::invalid("size", format!("files must be 1 to {cap} bytes")));
    }
    Ok((name, kind))
}

/// Stores a small file sent with the request in quarantine and queues its scan.
///
/// # Errors
/// `NOT_FOUND` (workspace), `BAD_USER_INPUT` (filename, mime, size, or `file` when the bytes are not
/// the declared type).
#[tracing::instrument(skip_all, fields(actor = %actor.label(), workspace = %input.workspace_id))]
pub async fn upload_file(app: &AppCtx, actor: &Actor, input: UploadFile) -> Result<Attachment> {
    let size = input.bytes.len() as u64;
    let (filename, kind) = admit(app, actor, input.workspace_id, &input.filename, &input.mime, size).await?;
    if !policy::matches(kind, &input.bytes) {
        return Err(DomainError::invalid("file", "the content does not match the declared type"));
    }
    let id = AttachmentId::new();
    let sha256 = Some(sha256_hex(&input.bytes));
    app.storage().put(&quarantine_key(id), input.bytes).await?;
    let new = NewAttachment {
        id,
        workspace: input.workspace_id,
        uploader: actor.user_id()?,
        filename,
        kind,
        size,
        status: AttachmentStatus::PendingScan,
        sha256,
    };
    let saved = store::insert_attachment(app.db(), new).await?;
    app.jobs().enqueue(Job::ScanAttachment { id }).await?;
    // The file is stored and its scan queued: if the re-read (for the scan's outcome) fails, the
    // row as inserted is still the truth to return, not an error that would make the client retry.
    reload(app, id).await.or_else(|_| Ok(saved.into()))
}

/// The attachment as it is now, after a job may have changed it.
async fn reload(app: &AppCtx, id: AttachmentId) -> Result<Attachment> {
    store::attachment(app.db(), id).await?.map(Attachment::from).ok_or(DomainError::NotFound("attachment"))
}

/// Registers a large upload and returns a signed URL to `PUT` its bytes to, valid for the URL TTL.
///
/// # Errors
/// As [`upload_file`], without the content check (done by [`complete_upload`]).
#[tracing::instrument(skip_all, fields(actor = %actor.label(), workspace = %input.workspace_id))]
pub async fn create_upload(app: &AppCtx, actor: &Actor, input: CreateUpload) -> Result<(Attachment, String)> {
    let (filename, kind) = admit(app, actor, input.workspace_id, &input.filename, &input.mime, input.size).await?;
    let id = AttachmentId::new();
    let new = NewAttachment {
        id,
        workspace: input.workspace_id,
        uploader: actor.user_id()?,
        filename,
        kind,
        size: input.size,
        status: AttachmentStatus::AwaitingUpload,
        sha256: None,
    };
    let saved = store::insert_attachment(app.db(), new).await?;
    // On S3 the URL takes exactly the declared type and size: nothing else can be stored under it.
    let url = app.storage().signed_upload_url(&upload_key(id), app.files().url_ttl, kind.mime, input.size).await?;
    Ok((saved.into(), url))
}

/// Checks the bytes PUT to the signed URL (size and type) and queues the scan.
///
/// The status check, the deletion of refused bytes and the row update share one transaction on a
/// locked row, so of two concurrent completions one passes and the other gets `CONFLICT`.
///
/// # Errors
/// `NOT_FOUND` (not the uploader's), `CONFLICT` (already completed), `BAD_USER_INPUT` (nothing
/// uploaded, wrong size, wrong type: the object is then deleted).
#[tracing::instrument(skip_all, fields(actor = %actor.label(), attachment = %id))]
pub async fn complete_upload(app: &AppCtx, actor: &Actor, id: AttachmentId) -> Result<Attachment> {
    let me = actor.user_id()?;
    let tx = app.begin().await?;
    let found = store::attachment_for_update(tx.db(), id).await?;
    let row = found.filter(|r| r.uploader_id == me.0).ok_or(DomainError::NotFound("attachment"))?;
    if AttachmentStatus::parse(&row.status) != AttachmentStatus::AwaitingUpload {
        return Err(DomainError::Conflict("upload already completed"));
    }
    // The signed URL stays writable for its TTL, so the bytes are measured first (a direct PUT may
    // hold anything), read up to the declared size only, checked, and then copied by Stoa to a key
    // no signed URL can write. The scan later verifies it reads exactly these bytes (SHA-256).
    let key = upload_key(id);
    let declared = u64::try_from(row.size).unwrap_or(0);
    let refused = || DomainError::invalid("file", "the uploaded bytes do not match the declared size and type");
    match app.storage().size(&key).await? {
        None => return Err(DomainError::invalid("id", "nothing was uploaded to the signed URL")),
        Some(size) if size != declared || size > app.files().max_upload_bytes => {
            app.storage().delete(&key).await?;
            return Err(refused());
        }
        Some(_) => {}
    }
    let kind = policy::declared(&row.mime, &row.filename).ok_or(DomainError::invalid("mime", "not allowed"))?;
    let bytes = app.storage().get_prefix(&key, declared).await?.filter(|b| policy::matches(kind, b));
    let Some(bytes) = bytes else {
        app.storage().delete(&key).await?;
        return Err(refused());
    };
    let sha256 = sha256_hex(&bytes);
    app.storage().put(&quarantine_key(id), bytes).await?;
    app.storage().delete(&key).await?;
    if !store::mark_uploaded(tx.db(), id, sha256).await? {
        return Err(DomainError::Conflict("upload already completed"));
    }
    tx.commit().await?;
    app.jobs().enqueue(Job::ScanAttachment { id }).await?; // after COMMIT: the job must see pending_scan
    reload(app, id).await
}

/// Hides why an attachment cannot be seen: a workspace, channel or message that is missing or
/// off-limits makes the attachment `NOT_FOUND`. Anything else (a database outage) stays itself.
fn hidden(err: DomainError) -> DomainError {
    match err {
        DomainError::NotFound(_) | DomainError::Forbidden { .. } => DomainError::NotFound("attachment"),
        other => other,
    }
}

/// Whether the actor may see the attachment: its uploader, or a reader of its message's channel.
pub(super) async fn visible(app: &AppCtx, actor: &Actor, row: &attachments::Model) -> Result<()> {
    let me = actor.user_id()?;
    require_permission(app.db(), actor, WorkspaceId(row.workspace_id), Permission::ViewWorkspace)
        .await
        .map_err(hidden)?;
    if row.uploader_id == me.0 {
        return Ok(());
    }
    match row.message_id {
        Some(message) => readable_message(app.db(), actor, MessageId(message)).await.map(|_| ()).map_err(hidden),
        None => Err(DomainError::NotFound("attachment")),
    }
}

/// The attachment's row, if it exists, was not deleted with its message, and the actor may see it.
async fn visible_attachment(app: &AppCtx, actor: &Actor, id: AttachmentId) -> Result<attachments::Model> {
    let row = store::attachment(app.db(), id).await?.ok_or(DomainError::NotFound("attachment"))?;
    if AttachmentStatus::parse(&row.status) == AttachmentStatus::Deleted {
        return Err(DomainError::NotFound("attachment"));
    }
    visible(app, actor, &row).await?;
    Ok(row)
}

/// One attachment the actor may see.
///
/// # Errors
/// `NOT_FOUND`.
pub async fn attachment(app: &AppCtx, actor: &Actor, id: AttachmentId) -> Result<Attachment> {
    Ok(visible_attachment(app, actor, id).await?.into())
}

/// A signed, expiring download URL for a clean file.
///
/// # Errors
/// `NOT_FOUND`, `CONFLICT` (not scanned clean).
pub async fn download_url(app: &AppCtx, actor: &Actor, id: AttachmentId) -> Result<String> {
    let row = visible_attachment(app, actor, id).await?;
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
    let row = visible_attachment(app, actor, id).await?;
    match row.thumbnail_key {
        Some(key) if AttachmentStatus::parse(&row.status) == AttachmentStatus::Clean => {
            Ok(Some(app.storage().signed_url(SignedMethod::Get, &key, app.files().url_ttl).await?))
        }
        _ => Ok(None),
    }
}

/// Attachments of messages the caller already read, except those deleted with their message
/// (DataLoader backend): one statement.
///
/// # Errors
/// `Internal` on database failure.
pub async fn attachments_of_messages(app: &AppCtx, ids: &[MessageId]) -> Result<HashMap<MessageId, Vec<Attachment>>> {
    attachments_on(app.db(), ids).await
}

/// [`attachments_of_messages`] on a given connection (a history page's).
pub(crate) async fn attachments_on(
    db: &impl sea_orm::ConnectionTrait,
    ids: &[MessageId],
) -> Result<HashMap<MessageId, Vec<Attachment>>> {
    let rows = store::attachments_of_messages(db, ids).await?;
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
        let row = store::attachment(db, *id).await?;
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
        store::link_to_message(db, row, message).await?;
    }
    Ok(())
}
