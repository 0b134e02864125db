//! The `workspaces` table.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "workspaces")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub name: String,
    #[sea_orm(unique)]
    pub slug: String,
    pub created_by: Uuid,
    pub created_at: DateTimeUtc,
    /// Per-workspace upload cap in bytes; `None` uses the server-wide limit.
    pub max_upload_bytes: Option<i64>,
    /// Who may invite: `admins`, `moderators` or `members`.
    pub invite_policy: String,
    /// Whether joining needs a verified email.
    pub require_verified_email: bool,
    pub description: Option<String>,
    /// The icon: its renderings are `avatars/<key>/{256,64}.webp`.
    pub icon_key: Option<String>,
    /// Minutes after which a resolved ticket closes by itself.
    pub ticket_auto_close_minutes: i32,
    /// Minutes after closing during which agents may still reopen a ticket.
    pub ticket_reopen_window_minutes: i32,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
