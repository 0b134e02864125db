//! GraphQL surface of identity: sign-up, sign-in, token rotation, sign-out, own profile.

mod loaders;
mod mutation;
mod query;
mod types;

pub use loaders::UserCards;
pub use mutation::IdentityMutation;
pub use query::IdentityQuery;
pub use types::{User, Viewer};
