//! The `workspace_deletions` table: deleted workspaces inside their grace period.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "workspace_deletions")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub workspace_id: Uuid,
    pub deleted_by: Uuid,
    pub deleted_at: DateTimeUtc,
    pub purge_after: DateTimeUtc,
    /// `[{ "userId": …, "role": …, "joinedAt": … }]`: the memberships to put back on restore.
    pub memberships: Json,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
