//! Deleted workspaces waiting for their purge. Deleting a workspace removes its memberships at once
//! (so every access rule answers `NOT_FOUND` from that moment) and keeps them here, with the
//! moment after which a job purges the workspace's rows and objects; restoring inside that grace
//! puts the memberships back. A new table: no backfill.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::{json, timestamp_with_time_zone, uuid};

use crate::n;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(n("workspace_deletions"))
                .col(uuid(n("workspace_id")).primary_key())
                .col(uuid(n("deleted_by")))
                .col(timestamp_with_time_zone(n("deleted_at")))
                .col(timestamp_with_time_zone(n("purge_after")))
                .col(json(n("memberships")))
                .foreign_key(
                    ForeignKey::create()
                        .from(n("workspace_deletions"), n("workspace_id"))
                        .to(n("workspaces"), n("id"))
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table(n("workspace_deletions")).to_owned()).await
    }
}
