//! Files queries shared by the use cases: reading, inserting and moving attachments through their
//! statuses, the workspace's upload cap, and the uploader's notice of an infected file.
//!
//! Holds no rules: who may see or change a file is decided by the use cases.

use chrono::{DateTime, Utc};
use sea_orm::ActiveValue::Set;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, IntoActiveModel, QueryFilter, QueryOrder, QuerySelect,
};
use stoa_entities::{attachments, notifications, workspaces};

use crate::chat::Notification;
use crate::error::{DomainError, Result};
use crate::files::model::AttachmentStatus;
use crate::files::policy::FileType;
use crate::ids::{AttachmentId, MessageId, NotificationId, UserId, WorkspaceId};

/// One attachment, whoever may see it.
pub(crate) async fn attachment(db: &impl ConnectionTrait, id: AttachmentId) -> Result<Option<attachments::Model>> {
    Ok(attachments::Entity::find_by_id(id.0).one(db).await?)
}

/// One attachment, locked until the transaction ends, so a concurrent change waits and then sees
/// this one's. `FOR UPDATE` on Postgres; SQLite has no row locks, so a status change there must
/// also be conditional (as [`mark_uploaded`] is).
pub(crate) async fn attachment_for_update(
    db: &impl ConnectionTrait,
    id: AttachmentId,
) -> Result<Option<attachments::Model>> {
    Ok(attachments::Entity::find_by_id(id.0).lock_exclusive().one(db).await?)
}

/// What a new attachment row says about its file.
pub(crate) struct NewAttachment {
    pub id: AttachmentId,
    pub workspace: WorkspaceId,
    pub uploader: UserId,
    pub filename: String,
    pub kind: FileType,
    pub size: u64,
    pub status: AttachmentStatus,
    /// Known at insert for files sent with the request; set by `mark_uploaded` for the others.
    pub sha256: Option<String>,
}

/// Stores a new, unattached attachment.
pub(crate) async fn insert_attachment(db: &impl ConnectionTrait, new: NewAttachment) -> Result<attachments::Model> {
    let model = attachments::ActiveModel {
        id: Set(new.id.0),
        workspace_id: Set(new.workspace.0),
        uploader_id: Set(new.uploader.0),
        message_id: Set(None),
        ticket_id: Set(None),
        filename: Set(new.filename),
        mime: Set(new.kind.mime.to_owned()),
        size: Set(i64::try_from(new.size).unwrap_or(i64::MAX)),
        sha256: Set(new.sha256),
        status: Set(new.status.as_str().to_owned()),
        scan_detail: Set(None),
        thumbnail_key: Set(None),
        created_at: Set(Utc::now()),
        scanned_at: Set(None),
    };
    Ok(model.insert(db).await?)
}

/// Moves an upload from `awaiting_upload` to `pending_scan` with the hash of its bytes. `false`
/// when it was no longer awaiting its bytes (another completion got there first).
pub(crate) async fn mark_uploaded(db: &impl ConnectionTrait, id: AttachmentId, sha256: String) -> Result<bool> {
    let res = attachments::Entity::update_many()
        .col_expr(attachments::Column::Sha256, Expr::value(sha256))
        .col_expr(attachments::Column::Status, Expr::value(AttachmentStatus::PendingScan.as_str()))
        .filter(attachments::Column::Id.eq(id.0))
        .filter(attachments::Column::Status.eq(AttachmentStatus::AwaitingUpload.as_str()))
        .exec(db)
        .await?;
    Ok(res.rows_affected == 1)
}

/// Records a scan's outcome on a file still waiting for it and returns the row as saved; `None`
/// when it no longer waits (deleted with its message meanwhile), which is then left as it is.
pub(crate) async fn set_scan_result(
    db: &impl ConnectionTrait,
    id: AttachmentId,
    status: AttachmentStatus,
    detail: Option<String>,
    at: DateTime<Utc>,
) -> Result<Option<attachments::Model>> {
    let saved = attachments::Entity::update_many()
        .col_expr(attachments::Column::Status, Expr::value(status.as_str()))
        .col_expr(attachments::Column::ScanDetail, Expr::value(detail))
        .col_expr(attachments::Column::ScannedAt, Expr::value(at))
        .filter(attachments::Column::Id.eq(id.0))
        .filter(attachments::Column::Status.eq(AttachmentStatus::PendingScan.as_str()))
        .exec_with_returning(db)
        .await?;
    Ok(saved.into_iter().next())
}

/// Puts a file back in the scan queue, forgetting the last failure.
pub(crate) async fn requeue_scan(db: &impl ConnectionTrait, row: attachments::Model) -> Result<()> {
    let mut model = row.into_active_model();
    model.status = Set(AttachmentStatus::PendingScan.as_str().to_owned());
    model.scan_detail = Set(None);
    model.update(db).await?;
    Ok(())
}

/// Records where a clean file's thumbnail is stored; `false` when the file is no longer clean
/// (deleted with its message meanwhile).
pub(crate) async fn set_thumbnail(db: &impl ConnectionTrait, id: AttachmentId, key: String) -> Result<bool> {
    let res = attachments::Entity::update_many()
        .col_expr(attachments::Column::ThumbnailKey, Expr::value(key))
        .filter(attachments::Column::Id.eq(id.0))
        .filter(attachments::Column::Status.eq(AttachmentStatus::Clean.as_str()))
        .exec(db)
        .await?;
    Ok(res.rows_affected == 1)
}

/// Marks the files of `message` deleted, forgetting their thumbnails; returns them (their ids name
/// the objects to remove). One statement.
pub(crate) async fn mark_deleted_with_message(
    db: &impl ConnectionTrait,
    message: MessageId,
) -> Result<Vec<AttachmentId>> {
    mark_deleted_where(db, attachments::Column::MessageId.eq(message.0)).await
}

/// Marks deleted every file attached to a message of `channel` (the channel is being deleted).
pub(crate) async fn mark_deleted_in_channel(
    db: &impl ConnectionTrait,
    channel: crate::ids::ChannelId,
) -> Result<Vec<AttachmentId>> {
    mark_deleted_where(db, attachments::Column::MessageId.in_subquery(messages_of(channel))).await
}

/// Marks deleted (and thumbnail-less) the files `which` selects that are not deleted yet.
async fn mark_deleted_where(
    db: &impl ConnectionTrait,
    which: sea_orm::sea_query::SimpleExpr,
) -> Result<Vec<AttachmentId>> {
    let rows = attachments::Entity::update_many()
        .col_expr(attachments::Column::Status, Expr::value(AttachmentStatus::Deleted.as_str()))
        .col_expr(attachments::Column::ThumbnailKey, Expr::value(Option::<String>::None))
        .filter(which)
        .filter(attachments::Column::Status.ne(AttachmentStatus::Deleted.as_str()))
        .exec_with_returning(db)
        .await?;
    Ok(rows.into_iter().map(|r| AttachmentId(r.id)).collect())
}

/// The ids of `channel`'s messages, as a subquery.
fn messages_of(channel: crate::ids::ChannelId) -> sea_orm::sea_query::SelectStatement {
    use sea_orm::{QuerySelect as _, QueryTrait as _};
    stoa_entities::messages::Entity::find()
        .select_only()
        .column(stoa_entities::messages::Column::Id)
        .filter(stoa_entities::messages::Column::ChannelId.eq(channel.0))
        .into_query()
}

/// The files attached to messages of `channel`.
pub(crate) async fn attachments_in_channel(
    db: &impl ConnectionTrait,
    channel: crate::ids::ChannelId,
) -> Result<Vec<AttachmentId>> {
    let rows = attachments::Entity::find()
        .filter(attachments::Column::MessageId.in_subquery(messages_of(channel)))
        .all(db)
        .await?;
    Ok(rows.into_iter().map(|r| AttachmentId(r.id)).collect())
}

/// Makes the attachment part of `message`.
pub(crate) async fn link_to_message(
    db: &impl ConnectionTrait,
    row: attachments::Model,
    message: MessageId,
) -> Result<()> {
    let mut model = row.into_active_model();
    model.message_id = Set(Some(message.0));
    model.update(db).await?;
    Ok(())
}

/// The attachments of `messages` that were not deleted with them, oldest first: one statement.
pub(crate) async fn attachments_of_messages(
    db: &impl ConnectionTrait,
    messages: &[MessageId],
) -> Result<Vec<attachments::Model>> {
    Ok(attachments::Entity::find()
        .filter(attachments::Column::MessageId.is_in(messages.iter().map(|m| m.0)))
        .filter(attachments::Column::Status.ne(AttachmentStatus::Deleted.as_str()))
        .order_by_asc(attachments::Column::Id)
        .all(db)
        .await?)
}

/// The workspace's files in `status`, newest first, at most `limit`.
pub(crate) async fn attachments_in_status(
    db: &impl ConnectionTrait,
    workspace: WorkspaceId,
    status: AttachmentStatus,
    limit: u64,
) -> Result<Vec<attachments::Model>> {
    Ok(attachments::Entity::find()
        .filter(attachments::Column::WorkspaceId.eq(workspace.0))
        .filter(attachments::Column::Status.eq(status.as_str()))
        .order_by_desc(attachments::Column::Id)
        .limit(limit)
        .all(db)
        .await?)
}

/// Files of any workspace still waiting for a scan that were created before `cutoff`, at most `limit`.
pub(crate) async fn pending_scans_before(
    db: &impl ConnectionTrait,
    cutoff: DateTime<Utc>,
    limit: u64,
) -> Result<Vec<AttachmentId>> {
    let rows = attachments::Entity::find()
        .filter(attachments::Column::Status.eq(AttachmentStatus::PendingScan.as_str()))
        .filter(attachments::Column::CreatedAt.lt(cutoff))
        .limit(limit)
        .all(db)
        .await?;
    Ok(rows.into_iter().map(|r| AttachmentId(r.id)).collect())
}

/// The workspace's own upload cap in bytes, if it set one (a missing workspace has none).
pub(crate) async fn workspace_upload_cap(db: &impl ConnectionTrait, workspace: WorkspaceId) -> Result<Option<u64>> {
    let row = workspaces::Entity::find_by_id(workspace.0).one(db).await?;
    Ok(row.and_then(|w| w.max_upload_bytes).and_then(|b| u64::try_from(b).ok()))
}

/// Sets (or with `None`, clears) the workspace's upload cap; the cap it had.
///
/// # Errors
/// `NOT_FOUND` when the workspace does not exist.
pub(crate) async fn set_workspace_upload_cap(
    db: &impl ConnectionTrait,
    workspace: WorkspaceId,
    max_bytes: Option<i64>,
) -> Result<Option<i64>> {
    let row = workspaces::Entity::find_by_id(workspace.0).one(db).await?.ok_or(DomainError::NotFound("workspace"))?;
    let before = row.max_upload_bytes;
    let mut model = row.into_active_model();
    model.max_upload_bytes = Set(max_bytes);
    model.update(db).await?;
    Ok(before)
}

/// What the uploader of an infected file is told.
pub(crate) struct InfectedNotice {
    pub uploader: UserId,
    pub workspace: WorkspaceId,
    pub message: Option<MessageId>,
    pub preview: String,
    pub at: DateTime<Utc>,
}

/// Stores the `file_infected` notification and returns it as its recipient sees it.
pub(crate) async fn insert_infected_notice(db: &impl ConnectionTrait, n: InfectedNotice) -> Result<Notification> {
    let row = notifications::Entity::insert(notifications::ActiveModel {
        id: Set(NotificationId::new().0),
        user_id: Set(n.uploader.0),
        workspace_id: Set(n.workspace.0),
        kind: Set("file_infected".into()),
        channel_id: Set(None),
        message_id: Set(n.message.map(|m| m.0)),
        actor_id: Set(None),
        preview: Set(n.preview),
        created_at: Set(n.at),
        read_at: Set(None),
    })
    .exec_with_returning(db)
    .await?;
    Ok(Notification::from(row))
}
