//! Instance operators: a site-wide role above every workspace role, granted and revoked only on
//! the server's command line (`stoa operator add|remove`). A new table: no backfill.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::{timestamp_with_time_zone, uuid};

use crate::n;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(n("site_operators"))
                .col(uuid(n("user_id")).primary_key())
                .col(timestamp_with_time_zone(n("granted_at")))
                .foreign_key(
                    ForeignKey::create()
                        .from(n("site_operators"), n("user_id"))
                        .to(n("users"), n("id"))
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table(n("site_operators")).to_owned()).await
    }
}
