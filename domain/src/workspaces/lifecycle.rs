//! Deleting and restoring a workspace. `deleteWorkspace` (owners, with the slug typed again)
//! removes every membership in the transaction, so from its commit every access rule answers
//! `NOT_FOUND` and every member's streams end; the memberships wait in `workspace_deletions` for
//! the grace period (30 days by default), during which a former owner may `restoreWorkspace`.
//! After it, [`purge_deleted_workspaces`] (run by the workers) removes the rows and the objects.

use chrono::{DateTime, Utc};
use sea_orm::ActiveValue::Set;
use sea_orm::{ColumnTrait, EntityTrait, ModelTrait as _, QueryFilter};
use serde::{Deserialize, Serialize};
use stoa_entities::{attachments, memberships, notifications, workspace_deletions, workspaces};

use crate::actor::Actor;
use crate::app::AppCtx;
use crate::audit::{self, AuditRecord};
use crate::authz::Role;
use crate::error::{DomainError, Result};
use crate::events::Event;
use crate::ids::{AttachmentId, UserId, WorkspaceId};
use crate::workspaces::model::Workspace;
use crate::workspaces::store;

/// A membership as kept for a restore.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Kept {
    user_id: uuid::Uuid,
    role: String,
    joined_at: DateTime<Utc>,
}

/// A deleted workspace, as its former owners see it.
#[derive(Debug, Clone)]
pub struct DeletedWorkspace {
    pub id: WorkspaceId,
    pub name: String,
    pub deleted_at: DateTime<Utc>,
    /// When the purge may remove it for good.
    pub purge_after: DateTime<Utc>,
}

/// Deletes a workspace: members lose access at once; rows and objects are purged after the grace.
///
/// # Errors
/// `NOT_FOUND`, `FORBIDDEN` (owners only), `BAD_USER_INPUT` (`confirmSlug` is not the slug).
#[tracing::instrument(skip_all, fields(actor = %actor.label(), workspace = %workspace))]
pub async fn delete_workspace(
    app: &AppCtx,
    actor: &Actor,
    workspace: WorkspaceId,
    confirm_slug: &str,
) -> Result<DeletedWorkspace> {
    let mut tx = app.begin().await?;
    let role = store::actor_role(tx.db(), actor, workspace).await?;
    if role != Role::Owner {
        return Err(DomainError::Forbidden { needed: crate::authz::Permission::ManageMembers });
    }
    let row =
        workspaces::Entity::find_by_id(workspace.0).one(tx.db()).await?.ok_or(DomainError::NotFound("workspace"))?;
    if confirm_slug.trim() != row.slug {
        return Err(DomainError::invalid("confirmSlug", "type the workspace's slug to confirm"));
    }
    let members =
        memberships::Entity::find().filter(memberships::Column::WorkspaceId.eq(workspace.0)).all(tx.db()).await?;
    let kept: Vec<Kept> =
        members.iter().map(|m| Kept { user_id: m.user_id, role: m.role.clone(), joined_at: m.created_at }).collect();
    memberships::Entity::delete_many().filter(memberships::Column::WorkspaceId.eq(workspace.0)).exec(tx.db()).await?;
    let now = app.now();
    let purge_after =
        now + chrono::Duration::from_std(app.accounts().workspace_grace).unwrap_or(chrono::Duration::days(30));
    workspace_deletions::Entity::insert(workspace_deletions::ActiveModel {
        workspace_id: Set(workspace.0),
        deleted_by: Set(actor.user_id()?.0),
        deleted_at: Set(now),
        purge_after: Set(purge_after),
        memberships: Set(serde_json::to_value(&kept).map_err(anyhow::Error::from)?),
    })
    .exec_without_returning(tx.db())
    .await?;
    let record = AuditRecord::new(actor, Some(workspace), "workspace.deleted", "workspace", Some(workspace.0))
        .with(serde_json::json!({ "members": kept.len(), "purgeAfter": purge_after }));
    audit::record(&mut tx, record).await?;
    for m in &members {
        tx.emit(Event::MemberRemoved { workspace_id: workspace, user_id: UserId(m.user_id) });
    }
    tx.commit().await?;
    Ok(DeletedWorkspace { id: workspace, name: row.name, deleted_at: now, purge_after })
}

/// Puts a deleted workspace back, with every membership it had, inside the grace period. Only
/// its former owners may.
///
/// # Errors
/// `NOT_FOUND` (not deleted, purged, past the grace, or the actor was no owner of it).
#[tracing::instrument(skip_all, fields(actor = %actor.label(), workspace = %workspace))]
pub async fn restore_workspace(app: &AppCtx, actor: &Actor, workspace: WorkspaceId) -> Result<Workspace> {
    let me = actor.user_id()?;
    let mut tx = app.begin().await?;
    let deletion = workspace_deletions::Entity::find_by_id(workspace.0)
        .one(tx.db())
        .await?
        .ok_or(DomainError::NotFound("workspace"))?;
    let kept: Vec<Kept> = serde_json::from_value(deletion.memberships.clone()).map_err(anyhow::Error::from)?;
    let was_owner = kept.iter().any(|k| k.user_id == me.0 && k.role == Role::Owner.as_str());
    if !was_owner || deletion.purge_after <= app.now() {
        return Err(DomainError::NotFound("workspace"));
    }
    for k in &kept {
        let role = Role::parse(&k.role).unwrap_or(Role::Member);
        memberships::Entity::insert(memberships::ActiveModel {
            id: Set(uuid::Uuid::now_v7()),
            workspace_id: Set(workspace.0),
            user_id: Set(k.user_id),
            role: Set(k.role.clone()),
            created_at: Set(k.joined_at),
            timed_out_until: Set(None),
        })
        .exec_without_returning(tx.db())
        .await?;
        tx.emit(Event::MemberAdded { workspace_id: workspace, user_id: UserId(k.user_id), role });
    }
    deletion.delete(tx.db()).await?;
    let row =
        workspaces::Entity::find_by_id(workspace.0).one(tx.db()).await?.ok_or(DomainError::NotFound("workspace"))?;
    let record = AuditRecord::new(actor, Some(workspace), "workspace.restored", "workspace", Some(workspace.0))
        .with(serde_json::json!({ "members": kept.len() }));
    audit::record(&mut tx, record).await?;
    tx.commit().await?;
    Ok(Workspace::from_row(row, Role::Owner))
}

/// Removes, for good, every deleted workspace whose grace ended by `now`: its rows (channels,
/// messages, departments, invitations… by cascade; its notifications) and its files' objects. The
/// audit trail keeps its entries and records the purge. Returns how many were purged.
///
/// # Errors
/// `Internal` on database failure; objects that cannot be removed are logged, not returned.
pub async fn purge_deleted_workspaces(app: &AppCtx, now: DateTime<Utc>) -> Result<usize> {
    let due = workspace_deletions::Entity::find()
        .filter(workspace_deletions::Column::PurgeAfter.lte(now))
        .all(app.db())
        .await?;
    let mut purged = 0;
    for deletion in due {
        let workspace = WorkspaceId(deletion.workspace_id);
        let mut tx = app.begin().await?;
        let files: Vec<AttachmentId> = attachments::Entity::find()
            .filter(attachments::Column::WorkspaceId.eq(workspace.0))
            .all(tx.db())
            .await?
            .into_iter()
            .map(|a| AttachmentId(a.id))
            .collect();
        notifications::Entity::delete_many()
            .filter(notifications::Column::WorkspaceId.eq(workspace.0))
            .exec(tx.db())
            .await?;
        workspaces::Entity::delete_by_id(workspace.0).exec(tx.db()).await?;
        let record = AuditRecord::new(
            &Actor::system("purge"),
            Some(workspace),
            "workspace.purged",
            "workspace",
            Some(workspace.0),
        )
        .with(serde_json::json!({ "files": files.len(), "deletedAt": deletion.deleted_at }));
        audit::record(&mut tx, record).await?;
        tx.commit().await?;
        crate::files::remove_objects(app, &files).await;
        tracing::info!(workspace = %workspace, files = files.len(), "purged a deleted workspace");
        purged += 1;
    }
    Ok(purged)
}
