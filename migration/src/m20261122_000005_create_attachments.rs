//! Attachments: uploaded files, their scan status and owner (a message or a ticket, never both),
//! plus a per-workspace upload size cap. New table and a nullable column: no backfill, and adding a
//! nullable column takes no long lock on either backend.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::{
    big_integer, big_integer_null, pk_uuid, string, string_null, timestamp_with_time_zone,
    timestamp_with_time_zone_null, uuid, uuid_null,
};

use crate::n;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(n("attachments"))
                .col(pk_uuid(n("id")))
                .col(uuid(n("workspace_id")))
                .col(uuid(n("uploader_id")))
                .col(uuid_null(n("message_id")))
                .col(uuid_null(n("ticket_id")))
                .col(string(n("filename")))
                .col(string(n("mime")))
                .col(big_integer(n("size")))
                .col(string_null(n("sha256")))
                .col(string(n("status")))
                .col(string_null(n("scan_detail")))
                .col(string_null(n("thumbnail_key")))
                .col(timestamp_with_time_zone(n("created_at")))
                .col(timestamp_with_time_zone_null(n("scanned_at")))
                .check(Expr::cust("message_id IS NULL OR ticket_id IS NULL"))
                .foreign_key(
                    ForeignKey::create()
                        .from(n("attachments"), n("workspace_id"))
                        .to(n("workspaces"), n("id"))
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create().name("idx_attachments_message").table(n("attachments")).col(n("message_id")).to_owned(),
        )
        .await?;
        m.alter_table(
            Table::alter().table(n("workspaces")).add_column(big_integer_null(n("max_upload_bytes"))).to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(Table::alter().table(n("workspaces")).drop_column(n("max_upload_bytes")).to_owned()).await?;
        m.drop_table(Table::drop().table(n("attachments")).to_owned()).await
    }
}
