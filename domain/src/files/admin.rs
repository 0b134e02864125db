//! Owners' and admins' view of files: the dead-letter list (scans that failed for good), a retry,
//! and the workspace's upload cap.

use crate::actor::Actor;
use crate::app::AppCtx;
use crate::audit::{self, AuditRecord};
use crate::authz::Permission;
use crate::error::{DomainError, Result};
use crate::files::model::{Attachment, AttachmentStatus};
use crate::files::store;
use crate::files::upload::visible;
use crate::ids::{AttachmentId, WorkspaceId};
use crate::jobs::Job;
use crate::workspaces::store::require_permission;

/// Files whose scan failed for good (the dead letters), newest first, at most 100.
///
/// # Errors
/// `NOT_FOUND` (not a member), `FORBIDDEN` (below admin).
pub async fn failed_scans(app: &AppCtx, actor: &Actor, workspace: WorkspaceId) -> Result<Vec<Attachment>> {
    require_permission(app.db(), actor, workspace, Permission::ManageDepartments).await?;
    let rows = store::attachments_in_status(app.db(), workspace, AttachmentStatus::ScanFailed, 100).await?;
    Ok(rows.into_iter().map(Attachment::from).collect())
}

/// Puts a dead-lettered file back in the scan queue.
///
/// # Errors
/// `NOT_FOUND` (missing, or a file the actor cannot see), `FORBIDDEN` (a file the actor sees, below
/// admin), `CONFLICT` (not a failed scan).
pub async fn retry_scan(app: &AppCtx, actor: &Actor, id: AttachmentId) -> Result<Attachment> {
    let row = store::attachment(app.db(), id)
        .await?
        .filter(|r| AttachmentStatus::parse(&r.status) != AttachmentStatus::Deleted)
        .ok_or(DomainError::NotFound("attachment"))?;
    let workspace = WorkspaceId(row.workspace_id);
    match require_permission(app.db(), actor, workspace, Permission::ManageDepartments).await {
        Ok(_) => {}
        // Below admin: `FORBIDDEN` only for a file the actor may see, else it learns the id exists.
        Err(e @ DomainError::Forbidden { .. }) => {
            visible(app, actor, &row).await?;
            return Err(e);
        }
        Err(DomainError::NotFound(_)) => return Err(DomainError::NotFound("attachment")),
        Err(e) => return Err(e),
    }
    if AttachmentStatus::parse(&row.status) != AttachmentStatus::ScanFailed {
        return Err(DomainError::Conflict("only failed scans can be retried"));
    }
    let mut tx = app.begin().await?;
    store::requeue_scan(tx.db(), row).await?;
    audit::record(
        &mut tx,
        AuditRecord::new(actor, Some(workspace), "attachment.scan_retried", "attachment", Some(id.0)),
    )
    .await?;
    tx.commit().await?;
    app.jobs().enqueue(Job::ScanAttachment { id }).await?;
    let row = store::attachment(app.db(), id).await?.ok_or(DomainError::NotFound("attachment"))?;
    Ok(row.into())
}

/// Sets (or with `None`, clears) the workspace's upload cap; it can only lower the server-wide limit.
///
/// # Errors
/// `NOT_FOUND`, `FORBIDDEN`, `BAD_USER_INPUT` (not positive).
pub async fn set_upload_limit(
    app: &AppCtx,
    actor: &Actor,
    workspace: WorkspaceId,
    max_bytes: Option<i64>,
) -> Result<Option<i64>> {
    if max_bytes.is_some_and(|b| b <= 0) {
        return Err(DomainError::invalid("maxBytes", "must be positive"));
    }
    let mut tx = app.begin().await?;
    require_permission(tx.db(), actor, workspace, Permission::ManageDepartments).await?;
    let before = store::set_workspace_upload_cap(tx.db(), workspace, max_bytes).await?;
    let record = AuditRecord::new(actor, Some(workspace), "workspace.upload_limit_set", "workspace", Some(workspace.0))
        .changed("maxUploadBytes", before, max_bytes);
    audit::record(&mut tx, record).await?;
    tx.commit().await?;
    Ok(max_bytes)
}
