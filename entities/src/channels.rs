//! The `channels` table.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "channels")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub workspace_id: Uuid,
    /// `public` | `private` | `direct` | `ticket` | `voice`
    pub kind: String,
    pub name: Option<String>,
    pub topic: Option<String>,
    pub purpose: Option<String>,
    /// Set when the channel is deleted: hidden from then on, purged by a job.
    pub deleted_at: Option<DateTimeUtc>,
    /// Sorted member ids of a direct channel, for found-or-create; NULL otherwise.
    #[sea_orm(unique)]
    pub dm_key: Option<String>,
    /// The last sequence number handed out to an event of this channel.
    pub last_seq: i64,
    pub created_by: Uuid,
    pub created_at: DateTimeUtc,
    pub archived_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
