//! Users and refresh-token sessions. New tables: no backfill, no locks on existing data.
//! `sessions` holds one row per refresh token (only its SHA-256); rows of one login share a
//! `family_id`, so presenting a rotated token can revoke the whole family.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::{
    pk_uuid, string, string_null, string_uniq, timestamp_with_time_zone, timestamp_with_time_zone_null, uuid,
};

use crate::n;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(n("users"))
                    .col(pk_uuid(n("id")))
                    .col(string_uniq(n("email")))
                    .col(string(n("display_name")))
                    .col(string(n("password_hash")))
                    .col(string_null(n("status_text")))
                    .col(string_null(n("status_emoji")))
                    .col(timestamp_with_time_zone(n("created_at")))
                    .col(timestamp_with_time_zone(n("updated_at")))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(n("sessions"))
                    .col(pk_uuid(n("id")))
                    .col(uuid(n("user_id")))
                    .col(uuid(n("family_id")))
                    .col(string_uniq(n("token_hash")))
                    .col(timestamp_with_time_zone(n("created_at")))
                    .col(timestamp_with_time_zone(n("expires_at")))
                    .col(timestamp_with_time_zone_null(n("rotated_at")))
                    .col(timestamp_with_time_zone_null(n("revoked_at")))
                    .foreign_key(
                        ForeignKey::create()
                            .from(n("sessions"), n("user_id"))
                            .to(n("users"), n("id"))
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create().name("idx_sessions_family").table(n("sessions")).col(n("family_id")).to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(n("sessions")).to_owned()).await?;
        manager.drop_table(Table::drop().table(n("users")).to_owned()).await
    }
}
