//! Membership lookups shared by every workspace-scoped use case.

use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};
use stoa_entities::memberships;

use crate::actor::Actor;
use crate::authz::{self, Permission, Role};
use crate::error::{DomainError, Result};
use crate::ids::{UserId, WorkspaceId};

/// The membership row of `user` in `workspace`, if any.
pub(crate) async fn membership(
    db: &impl ConnectionTrait,
    workspace: WorkspaceId,
    user: UserId,
) -> Result<Option<memberships::Model>> {
    Ok(memberships::Entity::find()
        .filter(memberships::Column::WorkspaceId.eq(workspace.0))
        .filter(memberships::Column::UserId.eq(user.0))
        .one(db)
        .await?)
}

/// Makes `user` a member of `workspace` with `role`.
///
/// # Errors
/// `CONFLICT` when they already are.
pub(crate) async fn insert_membership(
    db: &impl ConnectionTrait,
    workspace: WorkspaceId,
    user: UserId,
    role: Role,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<memberships::Model> {
    use crate::error::OnUnique as _;
    use sea_orm::ActiveValue::Set;
    memberships::Entity::insert(memberships::ActiveModel {
        id: Set(uuid::Uuid::now_v7()),
        workspace_id: Set(workspace.0),
        user_id: Set(user.0),
        role: Set(role.as_str().to_owned()),
        created_at: Set(now),
        timed_out_until: Set(None),
    })
    .exec_with_returning(db)
    .await
    .on_unique(|| DomainError::Conflict("already a member"))
}

/// The actor's role in `workspace`. Non-members get `NOT_FOUND`: the workspace stays invisible.
///
/// # Errors
/// `UNAUTHENTICATED` (system actor), `NOT_FOUND`.
pub(crate) async fn actor_role(db: &impl ConnectionTrait, actor: &Actor, workspace: WorkspaceId) -> Result<Role> {
    let user = actor.user_id()?;
    membership(db, workspace, user).await?.and_then(|m| Role::parse(&m.role)).ok_or(DomainError::NotFound("workspace"))
}

/// Loads the actor's role and requires `permission`.
///
/// # Errors
/// `NOT_FOUND` (not a member), `FORBIDDEN`.
pub(crate) async fn require_permission(
    db: &impl ConnectionTrait,
    actor: &Actor,
    workspace: WorkspaceId,
    permission: Permission,
) -> Result<Role> {
    let role = actor_role(db, actor, workspace).await?;
    if authz::can(role, permission) { Ok(role) } else { Err(DomainError::Forbidden { needed: permission }) }
}

/// How many owners `workspace` has.
pub(crate) async fn owner_count(db: &impl ConnectionTrait, workspace: WorkspaceId) -> Result<u64> {
    use sea_orm::PaginatorTrait as _;
    Ok(memberships::Entity::find()
        .filter(memberships::Column::WorkspaceId.eq(workspace.0))
        .filter(memberships::Column::Role.eq(Role::Owner.as_str()))
        .count(db)
        .await?)
}

/// The workspaces `user` belongs to.
pub(crate) async fn workspaces_of(db: &impl ConnectionTrait, user: UserId) -> Result<Vec<WorkspaceId>> {
    let rows = memberships::Entity::find().filter(memberships::Column::UserId.eq(user.0)).all(db).await?;
    Ok(rows.into_iter().map(|m| WorkspaceId(m.workspace_id)).collect())
}

/// The members of `workspace`, in no particular order.
pub(crate) async fn member_ids(db: &impl ConnectionTrait, workspace: WorkspaceId) -> Result<Vec<UserId>> {
    let rows = memberships::Entity::find().filter(memberships::Column::WorkspaceId.eq(workspace.0)).all(db).await?;
    Ok(rows.into_iter().map(|m| UserId(m.user_id)).collect())
}
