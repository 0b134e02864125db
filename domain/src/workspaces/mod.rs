//! Workspaces (tenants), their members and roles, and departments.
//!
//! Owns `workspaces`, `memberships` and `departments`. Every read and write is scoped: a user who is
//! not a member sees `NOT_FOUND`, never the workspace. Permission decisions are delegated to
//! [`crate::authz`]; this module only loads the actor's role.

mod add_member;
mod change_role;
mod create_workspace;
mod departments;
mod membership_events;
mod model;
mod queries;
mod remove_member;
pub(crate) mod store;

pub use add_member::{AddMember, add_member};
pub use change_role::change_role;
pub use create_workspace::{CreateWorkspace, create_workspace};
pub use departments::{DepartmentInput, create_department, delete_department, departments, update_department};
pub(crate) use membership_events::workspace_stream;
pub use membership_events::{MembershipChange, MembershipChangeKind, membership_events};
pub use model::{Department, Member, Workspace};
pub use queries::{highest_role, members, my_workspaces, workspace};
pub use remove_member::remove_member;
