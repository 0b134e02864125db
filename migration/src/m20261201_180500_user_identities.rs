//! Identities at OpenID providers linked to accounts: one row per (provider, subject). A new
//! table: no backfill.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::{pk_uuid, string, timestamp_with_time_zone, uuid};

use crate::n;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(n("user_identities"))
                .col(pk_uuid(n("id")))
                .col(uuid(n("user_id")))
                .col(string(n("provider")))
                .col(string(n("subject")))
                .col(string(n("email")))
                .col(timestamp_with_time_zone(n("created_at")))
                .foreign_key(
                    ForeignKey::create()
                        .from(n("user_identities"), n("user_id"))
                        .to(n("users"), n("id"))
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("idx_user_identities_subject")
                .table(n("user_identities"))
                .col(n("provider"))
                .col(n("subject"))
                .unique()
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create().name("idx_user_identities_user").table(n("user_identities")).col(n("user_id")).to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table(n("user_identities")).to_owned()).await
    }
}
