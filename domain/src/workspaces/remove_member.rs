//! Removing a member, or leaving a workspace oneself: the workspace membership and every channel
//! membership in it end together. A workspace always keeps an owner.

use sea_orm::ModelTrait;

use crate::actor::Actor;
use crate::app::AppCtx;
use crate::audit::{self, AuditRecord};
use crate::authz::{self, Permission, Role};
use crate::chat;
use crate::error::{DomainError, Result};
use crate::events::Event;
use crate::ids::{UserId, WorkspaceId};
use crate::tx::Tx;
use crate::workspaces::{department_members, store};

/// Removes `user` from `workspace`. Anyone may remove themselves; managers remove those below them.
///
/// # Errors
/// `NOT_FOUND` (workspace invisible, or `user` not a member), `FORBIDDEN`, `CONFLICT` (the last owner).
#[tracing::instrument(skip_all, fields(actor = %actor.label(), workspace = %workspace))]
pub async fn remove_member(app: &AppCtx, actor: &Actor, workspace: WorkspaceId, user: UserId) -> Result<()> {
    let mut tx = app.begin().await?;
    let actor_role = store::actor_role(tx.db(), actor, workspace).await?;
    let target = store::membership(tx.db(), workspace, user).await?.ok_or(DomainError::NotFound("member"))?;
    let target_role = Role::parse(&target.role).unwrap_or(Role::Member);
    let leaving = actor.user_id()? == user;
    if !leaving && !authz::can_remove(actor_role, target_role) {
        return Err(DomainError::Forbidden { needed: Permission::ManageMembers });
    }
    if target_role == Role::Owner && store::owner_count(tx.db(), workspace).await? <= 1 {
        return Err(DomainError::Conflict("a workspace needs at least one owner"));
    }
    end_membership(&mut tx, target).await?;
    let action = if leaving { "member.left" } else { "member.removed" };
    let record = AuditRecord::new(actor, Some(workspace), action, "user", Some(user.0)).changed(
        "role",
        Some(target_role.as_str()),
        None,
    );
    audit::record(&mut tx, record).await?;
    tx.commit().await
}

/// Ends `membership` inside `tx`: its channel and department memberships go with it, and the
/// events that end the member's streams are emitted.
pub(crate) async fn end_membership(tx: &mut Tx, membership: stoa_entities::memberships::Model) -> Result<()> {
    let (workspace, user) = (WorkspaceId(membership.workspace_id), UserId(membership.user_id));
    membership.delete(tx.db()).await?;
    department_members::leave_departments(tx.db(), workspace, user).await?;
    // Channel memberships end with the workspace's: a removed member hears nothing more, and being
    // added back later does not silently restore private channels and direct messages.
    for channel in chat::store::leave_workspace_channels(tx.db(), workspace, user).await? {
        tx.emit(Event::ChannelMemberRemoved { channel_id: channel, user_id: user });
    }
    tx.emit(Event::MemberRemoved { workspace_id: workspace, user_id: user });
    Ok(())
}
