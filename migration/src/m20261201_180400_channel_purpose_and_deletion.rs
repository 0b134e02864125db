//! A channel's purpose beside its topic (what the channel is for, as Slack shows it), and the
//! moment it was deleted: a deleted channel is hidden from every read at once and its rows are
//! purged by a job. Two nullable columns: no backfill.

use sea_orm_migration::prelude::*;

use crate::n;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter().table(n("channels")).add_column(ColumnDef::new(n("purpose")).string().null()).to_owned(),
        )
        .await?;
        m.alter_table(
            Table::alter()
                .table(n("channels"))
                .add_column(ColumnDef::new(n("deleted_at")).timestamp_with_time_zone().null())
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(Table::alter().table(n("channels")).drop_column(n("deleted_at")).to_owned()).await?;
        m.alter_table(Table::alter().table(n("channels")).drop_column(n("purpose")).to_owned()).await
    }
}
