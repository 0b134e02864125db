//! GraphQL surface of workspaces, members, roles and departments.

mod community;
mod mutation;
mod query;
mod subscription;
mod types;

pub(crate) use community::UndeliveredMail;
pub(crate) use types::{Member, load_user};

pub use community::{CommunityMutation, CommunityQuery};
pub use mutation::WorkspaceMutation;
pub use query::WorkspaceQuery;
pub use subscription::WorkspaceSubscription;
