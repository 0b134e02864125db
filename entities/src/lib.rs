//! sea-orm entities: one file per table, data only. Written to match `stoa-migration`.

pub mod account_tokens;
pub mod attachments;
pub mod audit_log;
pub mod channel_events;
pub mod channel_members;
pub mod channels;
pub mod department_members;
pub mod departments;
pub mod invitation_uses;
pub mod invitations;
pub mod mail_suppressions;
pub mod memberships;
pub mod mentions;
pub mod messages;
pub mod notifications;
pub mod outbound_mail;
pub mod reactions;
pub mod sessions;
pub mod site_operators;
pub mod user_identities;
pub mod users;
pub mod workspace_bans;
pub mod workspace_deletions;
pub mod workspaces;
