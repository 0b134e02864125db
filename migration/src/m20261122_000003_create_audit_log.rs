//! The append-only audit log: who did what to which object. New table: no backfill, no locks.
//! No foreign keys on purpose: entries outlive the rows they describe.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::{json, pk_uuid, string, timestamp_with_time_zone, uuid_null};

use crate::n;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(n("audit_log"))
                    .col(pk_uuid(n("id")))
                    .col(uuid_null(n("workspace_id")))
                    .col(uuid_null(n("actor_user_id")))
                    .col(string(n("actor_label")))
                    .col(string(n("action")))
                    .col(string(n("object_type")))
                    .col(uuid_null(n("object_id")))
                    .col(json(n("details")))
                    .col(timestamp_with_time_zone(n("created_at")))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_audit_log_workspace")
                    .table(n("audit_log"))
                    .col(n("workspace_id"))
                    .col(n("id"))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(n("audit_log")).to_owned()).await
    }
}
