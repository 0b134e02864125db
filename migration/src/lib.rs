//! Schema migrations, run on `SQLite` and Postgres alike. Never imports `entities`: an old migration
//! must keep its meaning when the entities move on.

pub use sea_orm_migration::prelude::*;

mod m20261122_000001_create_identity;
mod m20261122_000002_create_workspaces;
mod m20261122_000003_create_audit_log;
mod m20261122_000004_create_chat;
mod m20261122_000005_create_attachments;
mod m20261201_120000_slim_channel_events;
mod m20261201_120001_index_notifications_by_message;
mod m20261201_180000_audit_log_complete;
mod m20261201_180100_mail_and_account_tokens;
mod m20261201_180200_invitations_departments_moderation;
mod m20261201_180300_workspace_deletions;
mod m20261201_180400_channel_purpose_and_deletion;
mod m20261201_180500_user_identities;
mod m20261201_180600_avatars;
mod m20261201_220000_site_operators;
mod m20261202_010000_tickets;

/// Every migration, oldest first.
pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261122_000001_create_identity::Migration),
            Box::new(m20261122_000002_create_workspaces::Migration),
            Box::new(m20261122_000003_create_audit_log::Migration),
            Box::new(m20261122_000004_create_chat::Migration),
            Box::new(m20261122_000005_create_attachments::Migration),
            Box::new(m20261201_120000_slim_channel_events::Migration),
            Box::new(m20261201_120001_index_notifications_by_message::Migration),
            Box::new(m20261201_180000_audit_log_complete::Migration),
            Box::new(m20261201_180100_mail_and_account_tokens::Migration),
            Box::new(m20261201_180200_invitations_departments_moderation::Migration),
            Box::new(m20261201_180300_workspace_deletions::Migration),
            Box::new(m20261201_180400_channel_purpose_and_deletion::Migration),
            Box::new(m20261201_180500_user_identities::Migration),
            Box::new(m20261201_180600_avatars::Migration),
            Box::new(m20261201_220000_site_operators::Migration),
            Box::new(m20261202_010000_tickets::Migration),
        ]
    }
}

/// Shorthand for a table or column name.
pub(crate) fn n(name: &'static str) -> Alias {
    Alias::new(name)
}
