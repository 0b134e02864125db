//! Read models of workspaces.

use chrono::{DateTime, Utc};
use stoa_entities::{departments, memberships, workspaces};

use crate::authz::Role;
use crate::ids::{DepartmentId, UserId, WorkspaceId};

/// A workspace as one of its members sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Workspace {
    pub id: WorkspaceId,
    pub name: String,
    pub slug: String,
    pub created_at: DateTime<Utc>,
    pub description: Option<String>,
    pub invite_policy: crate::workspaces::InvitePolicy,
    pub require_verified_email: bool,
    /// The icon's rendering set, when it has one.
    pub icon_key: Option<String>,
    /// The viewer's own role.
    pub my_role: Role,
}

impl Workspace {
    pub(crate) fn from_row(m: workspaces::Model, my_role: Role) -> Self {
        Self {
            id: m.id.into(),
            name: m.name,
            slug: m.slug,
            created_at: m.created_at,
            description: m.description,
            invite_policy: crate::workspaces::InvitePolicy::parse(&m.invite_policy),
            require_verified_email: m.require_verified_email,
            icon_key: m.icon_key,
            my_role,
        }
    }
}

/// A membership.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    pub workspace_id: WorkspaceId,
    pub user_id: UserId,
    pub role: Role,
    pub joined_at: DateTime<Utc>,
    /// Until when the member may not post, react or join voice.
    pub timed_out_until: Option<DateTime<Utc>>,
}

impl Member {
    #[expect(clippy::needless_pass_by_value, reason = "consumes rows like the From impls beside it")]
    pub(crate) fn from_row(m: memberships::Model) -> Self {
        Self {
            workspace_id: m.workspace_id.into(),
            user_id: m.user_id.into(),
            role: Role::parse(&m.role).unwrap_or(Role::Member),
            joined_at: m.created_at,
            timed_out_until: m.timed_out_until,
        }
    }
}

/// A department: a team with a queue (helpdesk) and a capacity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Department {
    pub id: DepartmentId,
    pub workspace_id: WorkspaceId,
    pub name: String,
    pub code: String,
    pub head_user_id: Option<UserId>,
    pub capacity: i32,
    pub created_at: DateTime<Utc>,
}

impl From<departments::Model> for Department {
    fn from(m: departments::Model) -> Self {
        Self {
            id: m.id.into(),
            workspace_id: m.workspace_id.into(),
            name: m.name,
            code: m.code,
            head_user_id: m.head_user_id.map(UserId),
            capacity: m.capacity,
            created_at: m.created_at,
        }
    }
}
