//! Identity: accounts, passwords, access tokens and rotating refresh tokens.
//!
//! Owns the `users`, `sessions` and `account_tokens` tables. Access tokens are stateless HS256 JWTs; refresh tokens are
//! random opaque values stored only as SHA-256 hashes, rotated on every use, with reuse detection per
//! family. Must not know about workspaces.

mod account_tokens;
mod external;
mod login;
mod logout;
mod model;
mod operators;
mod password;
mod recovery;
mod refresh_session;
mod register;
mod sessions;
pub(crate) mod store;
mod tokens;
mod update_profile;
mod verification;

pub(crate) use account_tokens::well_formed as token_well_formed;
pub use external::{
    ExternalIdentity, LinkedIdentity, exchange_sign_in_code, external_sign_in, linked_identities, unlink_identity,
};
pub use login::{Login, login};
pub use logout::{logout, logout_everywhere};
pub use model::{AuthSession, User, UserCard};
pub use operators::{Operator, grant_operator, is_operator, list_operators, revoke_operator};
pub use password::{DisplayName, Email};
pub use recovery::{change_password, request_password_reset, reset_password};
pub use refresh_session::refresh_session;
pub use register::{Register, register};
pub use sessions::{LIVE_FOR, SessionCache, require_live_session, session_revoked};
pub use store::{cards_by_ids, me};
pub use tokens::{AccessClaims, VerifiedToken, verify_access_token, verify_token};
pub(crate) use tokens::{hash_refresh_token as hash_token, new_refresh_token as new_token};
pub use update_profile::{UpdateProfile, update_profile};
pub use verification::{change_email, resend_verification, verify_email};
