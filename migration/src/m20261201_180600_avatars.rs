//! Profile pictures and workspace icons: the attachment whose 256 px and 64 px WebP renderings
//! are in storage. Two nullable columns: nobody has one yet, no backfill.

use sea_orm_migration::prelude::*;

use crate::n;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter().table(n("users")).add_column(ColumnDef::new(n("avatar_key")).string().null()).to_owned(),
        )
        .await?;
        m.alter_table(
            Table::alter().table(n("workspaces")).add_column(ColumnDef::new(n("icon_key")).string().null()).to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(Table::alter().table(n("workspaces")).drop_column(n("icon_key")).to_owned()).await?;
        m.alter_table(Table::alter().table(n("users")).drop_column(n("avatar_key")).to_owned()).await
    }
}
