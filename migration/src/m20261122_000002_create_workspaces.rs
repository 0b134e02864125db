//! Workspaces (tenants), memberships with a role, and departments. New tables: no backfill, no locks.
//! A user is a member of a workspace at most once (unique index); department codes are unique per workspace.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::{integer, pk_uuid, string, string_uniq, timestamp_with_time_zone, uuid, uuid_null};

use crate::n;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(n("workspaces"))
                    .col(pk_uuid(n("id")))
                    .col(string(n("name")))
                    .col(string_uniq(n("slug")))
                    .col(uuid(n("created_by")))
                    .col(timestamp_with_time_zone(n("created_at")))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(n("memberships"))
                    .col(pk_uuid(n("id")))
                    .col(uuid(n("workspace_id")))
                    .col(uuid(n("user_id")))
                    .col(string(n("role")))
                    .col(timestamp_with_time_zone(n("created_at")))
                    .foreign_key(
                        ForeignKey::create()
                            .from(n("memberships"), n("workspace_id"))
                            .to(n("workspaces"), n("id"))
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(n("memberships"), n("user_id"))
                            .to(n("users"), n("id"))
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_memberships_workspace_user")
                    .table(n("memberships"))
                    .col(n("workspace_id"))
                    .col(n("user_id"))
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create().name("idx_memberships_user").table(n("memberships")).col(n("user_id")).to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(n("departments"))
                    .col(pk_uuid(n("id")))
                    .col(uuid(n("workspace_id")))
                    .col(string(n("name")))
                    .col(string(n("code")))
                    .col(uuid_null(n("head_user_id")))
                    .col(integer(n("capacity")))
                    .col(timestamp_with_time_zone(n("created_at")))
                    .foreign_key(
                        ForeignKey::create()
                            .from(n("departments"), n("workspace_id"))
                            .to(n("workspaces"), n("id"))
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_departments_workspace_code")
                    .table(n("departments"))
                    .col(n("workspace_id"))
                    .col(n("code"))
                    .unique()
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in ["departments", "memberships", "workspaces"] {
            manager.drop_table(Table::drop().table(n(table)).to_owned()).await?;
        }
        Ok(())
    }
}
