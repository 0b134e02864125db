//! Changing a member's role within the actor's own authority.

use sea_orm::ActiveValue::Set;
use sea_orm::{ActiveModelTrait, IntoActiveModel};

use crate::actor::Actor;
use crate::app::AppCtx;
use crate::audit::{self, AuditRecord};
use crate::authz::{self, Permission, Role};
use crate::error::{DomainError, Result};
use crate::events::Event;
use crate::ids::{UserId, WorkspaceId};
use crate::workspaces::model::Member;
use crate::workspaces::store;

/// Gives `user` the role `role` in `workspace`.
///
/// # Errors
/// `NOT_FOUND` (workspace invisible, or not a member), `FORBIDDEN`, `CONFLICT` (demoting the last owner).
#[tracing::instrument(skip_all, fields(actor = %actor.label(), workspace = %workspace))]
pub async fn change_role(
    app: &AppCtx,
    actor: &Actor,
    workspace: WorkspaceId,
    user: UserId,
    role: Role,
) -> Result<Member> {
    let mut tx = app.begin().await?;
    let actor_role = store::require_permission(tx.db(), actor, workspace, Permission::ManageMembers).await?;
    let target = store::membership(tx.db(), workspace, user).await?.ok_or(DomainError::NotFound("member"))?;
    let current = Role::parse(&target.role).unwrap_or(Role::Member);
    if !authz::can_assign(actor_role, Some(current), role) {
        return Err(DomainError::Forbidden { needed: Permission::ManageMembers });
    }
    if current == Role::Owner && role != Role::Owner && store::owner_count(tx.db(), workspace).await? <= 1 {
        return Err(DomainError::Conflict("a workspace needs at least one owner"));
    }
    let mut model = target.into_active_model();
    model.role = Set(role.as_str().to_owned());
    let row = model.update(tx.db()).await?;
    let record = AuditRecord::new(actor, Some(workspace), "member.role_changed", "user", Some(user.0)).changed(
        "role",
        current.as_str(),
        role.as_str(),
    );
    audit::record(&mut tx, record).await?;
    tx.emit(Event::RoleChanged { workspace_id: workspace, user_id: user, role });
    tx.commit().await?;
    Ok(Member::from_row(row))
}

/// Hands the workspace to another member: they become an owner and the actor an admin, in one
/// transaction. Owners only.
///
/// # Errors
/// `NOT_FOUND` (workspace invisible, or `to` not a member), `FORBIDDEN` (not an owner),
/// `CONFLICT` (`to` is the actor).
#[tracing::instrument(skip_all, fields(actor = %actor.label(), workspace = %workspace))]
pub async fn transfer_ownership(app: &AppCtx, actor: &Actor, workspace: WorkspaceId, to: UserId) -> Result<Member> {
    let me = actor.user_id()?;
    let mut tx = app.begin().await?;
    let role = store::actor_role(tx.db(), actor, workspace).await?;
    if role != Role::Owner {
        return Err(DomainError::Forbidden { needed: Permission::ManageMembers });
    }
    if to == me {
        return Err(DomainError::Conflict("you already own this workspace"));
    }
    let target = store::membership(tx.db(), workspace, to).await?.ok_or(DomainError::NotFound("member"))?;
    let before = Role::parse(&target.role).unwrap_or(Role::Member);
    let mut model = target.into_active_model();
    model.role = Set(Role::Owner.as_str().to_owned());
    let row = model.update(tx.db()).await?;
    let mine = store::membership(tx.db(), workspace, me).await?.ok_or(DomainError::NotFound("workspace"))?;
    let mut model = mine.into_active_model();
    model.role = Set(Role::Admin.as_str().to_owned());
    model.update(tx.db()).await?;
    let record = AuditRecord::new(actor, Some(workspace), "workspace.ownership_transferred", "user", Some(to.0))
        .changed("role", before.as_str(), Role::Owner.as_str())
        .changed("previousOwnerRole", Role::Owner.as_str(), Role::Admin.as_str());
    audit::record(&mut tx, record).await?;
    tx.emit(Event::RoleChanged { workspace_id: workspace, user_id: to, role: Role::Owner });
    tx.emit(Event::RoleChanged { workspace_id: workspace, user_id: me, role: Role::Admin });
    tx.commit().await?;
    Ok(Member::from_row(row))
}
