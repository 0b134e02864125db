//! sea-orm entities: one file per table, data only. Written to match `stoa-migration`.

pub mod audit_log;
pub mod departments;
pub mod memberships;
pub mod sessions;
pub mod users;
pub mod workspaces;
