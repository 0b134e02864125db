//! Facts the domain announces after commit, and the topics subscribers listen on.

use serde::{Deserialize, Serialize};

use crate::authz::Role;
use crate::ids::{UserId, WorkspaceId};

/// Where an event is delivered. Each maps to one bus channel name.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", content = "id")]
pub enum Topic {
    /// Everything about one user: notifications, membership changes.
    User(UserId),
    /// Workspace-wide facts: members, presence, new channels.
    Workspace(WorkspaceId),
}

impl Topic {
    /// The stable string form used as a bus channel name (`user:<uuid>`).
    #[must_use]
    pub fn key(&self) -> String {
        match self {
            Self::User(id) => format!("user:{id}"),
            Self::Workspace(id) => format!("workspace:{id}"),
        }
    }
}

/// One past-tense variant per fact. Payloads carry what every authorized subscriber may see.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum Event {
    /// A user joined a workspace (or was added).
    MemberAdded {
        workspace_id: WorkspaceId,
        user_id: UserId,
        role: Role,
    },
    /// A user left or was removed from a workspace.
    MemberRemoved { workspace_id: WorkspaceId, user_id: UserId },
    /// A member's role changed.
    RoleChanged {
        workspace_id: WorkspaceId,
        user_id: UserId,
        role: Role,
    },
}

impl Event {
    /// The topics this event is delivered to.
    #[must_use]
    pub fn topics(&self) -> Vec<Topic> {
        match self {
            Self::MemberAdded {
                workspace_id, user_id, ..
            }
            | Self::MemberRemoved { workspace_id, user_id }
            | Self::RoleChanged {
                workspace_id, user_id, ..
            } => {
                vec![Topic::Workspace(*workspace_id), Topic::User(*user_id)]
            }
        }
    }
}
