//! Adding an existing user to a workspace by email, with a role the actor may grant.

use crate::actor::Actor;
use crate::app::AppCtx;
use crate::audit::{self, AuditRecord};
use crate::authz::{self, Permission, Role};
use crate::error::{DomainError, Result};
use crate::events::Event;
use crate::identity::Email;
use crate::identity::store::user_by_email;
use crate::ids::{UserId, WorkspaceId};
use crate::workspaces::model::Member;
use crate::workspaces::store;

/// Input of [`add_member`].
#[derive(Debug, Clone)]
pub struct AddMember {
    pub workspace_id: WorkspaceId,
    pub email: String,
    pub role: Role,
}

/// Adds the user registered under `email`.
///
/// # Errors
/// `NOT_FOUND` (workspace invisible, or no such user), `FORBIDDEN` (role not grantable by the actor),
/// `CONFLICT` (already a member), `BAD_USER_INPUT` (email).
#[tracing::instrument(skip_all, fields(actor = %actor.label(), workspace = %input.workspace_id))]
pub async fn add_member(app: &AppCtx, actor: &Actor, input: AddMember) -> Result<Member> {
    let email = Email::parse(&input.email)?;
    let mut tx = app.begin().await?;
    let actor_role = store::require_permission(tx.db(), actor, input.workspace_id, Permission::ManageMembers).await?;
    if !authz::can_assign(actor_role, None, input.role) {
        return Err(DomainError::Forbidden { needed: Permission::ManageMembers });
    }
    let user = user_by_email(tx.db(), email.as_str()).await?.ok_or(DomainError::NotFound("user"))?;
    let row = store::insert_membership(tx.db(), input.workspace_id, UserId(user.id), input.role, app.now()).await?;
    let record = AuditRecord::new(actor, Some(input.workspace_id), "member.added", "user", Some(user.id)).changed(
        "role",
        None,
        Some(input.role.as_str()),
    );
    audit::record(&mut tx, record).await?;
    tx.emit(Event::MemberAdded { workspace_id: input.workspace_id, user_id: UserId(user.id), role: input.role });
    tx.commit().await?;
    Ok(Member::from_row(row))
}
