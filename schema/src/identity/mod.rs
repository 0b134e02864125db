//! GraphQL surface of identity: sign-up, sign-in, token rotation, sign-out, own profile.

mod loaders;
mod mutation;
mod query;
mod types;

pub use loaders::{AvatarKeys, UserCards};
pub use mutation::IdentityMutation;
pub use query::IdentityQuery;
pub(crate) use types::avatar_url;
pub use types::{AvatarSize, User, Viewer};
