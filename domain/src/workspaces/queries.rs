//! Reads: my workspaces, one workspace, its members.

use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
use stoa_entities::{memberships, workspaces};

use crate::actor::Actor;
use crate::app::AppCtx;
use crate::authz::{Permission, Role};
use crate::error::{DomainError, Result};
use crate::ids::WorkspaceId;
use crate::workspaces::model::{Member, Workspace};
use crate::workspaces::store;

/// Every workspace the actor belongs to, oldest membership first.
///
/// # Errors
/// `UNAUTHENTICATED`.
pub async fn my_workspaces(app: &AppCtx, actor: &Actor) -> Result<Vec<Workspace>> {
    let user = actor.user_id()?;
    let memberships = memberships::Entity::find()
        .filter(memberships::Column::UserId.eq(user.0))
        .order_by_asc(memberships::Column::CreatedAt)
        .all(app.db())
        .await?;
    let mut rows: std::collections::HashMap<uuid::Uuid, workspaces::Model> = workspaces::Entity::find()
        .filter(workspaces::Column::Id.is_in(memberships.iter().map(|m| m.workspace_id)))
        .all(app.db())
        .await?
        .into_iter()
        .map(|w| (w.id, w))
        .collect();
    Ok(memberships
        .into_iter()
        .filter_map(|m| Some(Workspace::from_row(rows.remove(&m.workspace_id)?, Role::parse(&m.role)?)))
        .collect())
}

/// One workspace, if the actor is a member.
///
/// # Errors
/// `NOT_FOUND` for a missing workspace or a non-member.
pub async fn workspace(app: &AppCtx, actor: &Actor, id: WorkspaceId) -> Result<Workspace> {
    let role = store::require_permission(app.db(), actor, id, Permission::ViewWorkspace).await?;
    let row = workspaces::Entity::find_by_id(id.0).one(app.db()).await?.ok_or(DomainError::NotFound("workspace"))?;
    Ok(Workspace::from_row(row, role))
}

/// The members of a workspace, oldest first.
///
/// # Errors
/// `NOT_FOUND` for a missing workspace or a non-member.
pub async fn members(app: &AppCtx, actor: &Actor, id: WorkspaceId) -> Result<Vec<Member>> {
    store::require_permission(app.db(), actor, id, Permission::ViewWorkspace).await?;
    let rows = memberships::Entity::find()
        .filter(memberships::Column::WorkspaceId.eq(id.0))
        .order_by_asc(memberships::Column::CreatedAt)
        .order_by_asc(memberships::Column::Id)
        .all(app.db())
        .await?;
    Ok(rows.into_iter().map(Member::from_row).collect())
}

/// The most powerful role `user` holds in any workspace (`None`: in no workspace). Used for
/// per-role operation budgets.
///
/// # Errors
/// `Internal` on database failure.
pub async fn highest_role(app: &AppCtx, user: crate::ids::UserId) -> Result<Option<Role>> {
    let rows = memberships::Entity::find().filter(memberships::Column::UserId.eq(user.0)).all(app.db()).await?;
    Ok(rows.iter().filter_map(|m| Role::parse(&m.role)).max_by_key(|r| r.rank()))
}
