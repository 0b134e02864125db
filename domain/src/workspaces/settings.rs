//! A workspace's own fields and settings: name, slug, description, who may invite, and whether
//! joining needs a verified email. Owners and admins change them; every change is audited with
//! its before and after.

use sea_orm::ActiveValue::Set;
use sea_orm::{ActiveModelTrait, EntityTrait, IntoActiveModel};
use stoa_entities::workspaces;

use crate::actor::Actor;
use crate::app::AppCtx;
use crate::audit::{self, AuditRecord};
use crate::authz::{Permission, Role};
use crate::error::{DomainError, OnUnique as _, Result};
use crate::ids::WorkspaceId;
use crate::workspaces::create_workspace::{parse_name, parse_slug};
use crate::workspaces::model::Workspace;
use crate::workspaces::store;

/// Who may create invitations.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum InvitePolicy {
    /// Owners and admins (the default).
    #[default]
    Admins,
    /// Moderators and above.
    Moderators,
    /// Every member (roles they grant stay below their own).
    Members,
}

impl InvitePolicy {
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Admins => "admins",
            Self::Moderators => "moderators",
            Self::Members => "members",
        }
    }

    /// The stored form; an unknown one is read as the strictest.
    #[must_use]
    pub fn parse(raw: &str) -> Self {
        match raw {
            "moderators" => Self::Moderators,
            "members" => Self::Members,
            _ => Self::Admins,
        }
    }

    /// Whether a member with `role` may invite.
    #[must_use]
    pub const fn allows(self, role: Role) -> bool {
        match self {
            Self::Admins => matches!(role, Role::Owner | Role::Admin),
            Self::Moderators => matches!(role, Role::Owner | Role::Admin | Role::Moderator),
            Self::Members => true,
        }
    }
}

/// Fields to change; `None` leaves one as it is (`Some(None)` clears the description).
#[derive(Debug, Clone, Default)]
pub struct UpdateWorkspace {
    pub name: Option<String>,
    pub slug: Option<String>,
    pub description: Option<Option<String>>,
    pub invite_policy: Option<InvitePolicy>,
    pub require_verified_email: Option<bool>,
}

fn parse_description(raw: Option<String>) -> Result<Option<String>> {
    let Some(text) = raw.map(|t| t.trim().to_owned()).filter(|t| !t.is_empty()) else { return Ok(None) };
    if text.chars().count() > 500 || text.chars().any(|c| c.is_control() && c != '\n') {
        return Err(DomainError::invalid("description", "at most 500 characters, no control characters"));
    }
    Ok(Some(text))
}

/// Changes the workspace's fields and settings.
///
/// # Errors
/// `NOT_FOUND`, `FORBIDDEN` (below admin), `BAD_USER_INPUT`, `CONFLICT` (slug taken).
#[tracing::instrument(skip_all, fields(actor = %actor.label(), workspace = %workspace))]
pub async fn update_workspace(
    app: &AppCtx,
    actor: &Actor,
    workspace: WorkspaceId,
    input: UpdateWorkspace,
) -> Result<Workspace> {
    let name = input.name.as_deref().map(parse_name).transpose()?;
    let slug = input.slug.as_deref().map(parse_slug).transpose()?;
    let description = input.description.map(parse_description).transpose()?;
    let mut tx = app.begin().await?;
    let role = store::require_permission(tx.db(), actor, workspace, Permission::ManageMembers).await?;
    let row =
        workspaces::Entity::find_by_id(workspace.0).one(tx.db()).await?.ok_or(DomainError::NotFound("workspace"))?;
    let before = row.clone();
    let mut model = row.into_active_model();
    if let Some(name) = name {
        model.name = Set(name);
    }
    if let Some(slug) = slug {
        model.slug = Set(slug);
    }
    if let Some(description) = description {
        model.description = Set(description);
    }
    if let Some(policy) = input.invite_policy {
        model.invite_policy = Set(policy.as_str().to_owned());
    }
    if let Some(required) = input.require_verified_email {
        model.require_verified_email = Set(required);
    }
    let row = model.update(tx.db()).await.on_unique(|| DomainError::Conflict("slug already taken"))?;
    let record = AuditRecord::new(actor, Some(workspace), "workspace.updated", "workspace", Some(workspace.0))
        .changed("name", &before.name, &row.name)
        .changed("slug", &before.slug, &row.slug)
        .changed("description", &before.description, &row.description)
        .changed("invitePolicy", &before.invite_policy, &row.invite_policy)
        .changed("requireVerifiedEmail", before.require_verified_email, row.require_verified_email);
    audit::record(&mut tx, record).await?;
    tx.commit().await?;
    Ok(Workspace::from_row(row, role))
}
