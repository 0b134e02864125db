//! Workspaces (tenants), their members and roles, and departments.
//!
//! Owns `workspaces`, `memberships`, `departments`, `department_members`, `invitations` (and their
//! uses) and `workspace_bans`. Every read and write is scoped: a user who is
//! not a member sees `NOT_FOUND`, never the workspace. Permission decisions are delegated to
//! [`crate::authz`]; this module only loads the actor's role.

mod add_member;
mod change_role;
pub(crate) mod create_workspace;
pub(crate) mod department_members;
mod departments;
mod invitations;
mod lifecycle;
mod membership_events;
mod model;
mod moderation;
mod queries;
mod remove_member;
mod settings;
pub(crate) mod store;

pub use add_member::{AddMember, add_member};
pub use change_role::{change_role, transfer_ownership};
pub use create_workspace::{CreateWorkspace, create_workspace};
pub use department_members::{
    DepartmentMember, add_department_member, department_members, departments_of, remove_department_member,
};
pub use departments::{DepartmentInput, create_department, delete_department, departments, update_department};
pub(crate) use invitations::redeem as redeem_invitation;
pub use invitations::{
    CreateInvitation, CreatedInvitation, Invitation, accept_invitation, create_invitation, invitations,
    revoke_invitation,
};
pub use lifecycle::{DeletedWorkspace, delete_workspace, purge_deleted_workspaces, restore_workspace};
pub(crate) use membership_events::workspace_stream;
pub use membership_events::{MembershipChange, MembershipChangeKind, membership_events};
pub use model::{Department, Member, Workspace};
pub use moderation::{Ban, ban_member, bans, timeout_member, unban_member};
pub use queries::{highest_role, members, my_workspaces, workspace};
pub use remove_member::remove_member;
pub use settings::{InvitePolicy, UpdateWorkspace, update_workspace};
