//! An index of notifications by message: editing or deleting a message rewrites the previews of the
//! notifications about it (they show its current text, or none once deleted), which must not scan
//! every notification. A new index on an existing table: built once, no data changes.

use sea_orm_migration::prelude::*;

use crate::n;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_index(
            Index::create().name("idx_notifications_message").table(n("notifications")).col(n("message_id")).to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_index(Index::drop().name("idx_notifications_message").table(n("notifications")).to_owned()).await
    }
}
