//! Outbound mail and single-use account tokens. New tables and one new nullable column: no
//! backfill, no locks on existing rows (an existing account starts unverified).
//!
//! - `outbound_mail`: one row per mail, written in the transaction that decides to send it and
//!   delivered by a job; the body is blanked once the mail is sent or given up (it may hold a
//!   token), the rest stays as the delivery record admins read.
//! - `account_tokens`: email verification, email change and password reset tokens; only the
//!   SHA-256 of a token is stored, with its purpose, the address it proves, expiry and use.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::{
    integer, pk_uuid, string, string_null, string_uniq, text, timestamp_with_time_zone, timestamp_with_time_zone_null,
    uuid, uuid_null,
};

use crate::n;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table(n("users"))
                .add_column(ColumnDef::new(n("email_verified_at")).timestamp_with_time_zone().null())
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(n("outbound_mail"))
                .col(pk_uuid(n("id")))
                .col(string(n("kind")))
                .col(string(n("to_address")))
                .col(string(n("subject")))
                .col(text(n("body_text")))
                .col(text(n("body_html")))
                .col(string_null(n("list_unsubscribe")))
                .col(uuid_null(n("workspace_id")))
                .col(string(n("status")))
                .col(integer(n("attempts")))
                .col(string_null(n("last_error")))
                .col(timestamp_with_time_zone(n("created_at")))
                .col(timestamp_with_time_zone_null(n("finished_at")))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("idx_outbound_mail_status")
                .table(n("outbound_mail"))
                .col(n("status"))
                .col(n("created_at"))
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(n("account_tokens"))
                .col(pk_uuid(n("id")))
                .col(uuid(n("user_id")))
                .col(string(n("purpose")))
                .col(string_uniq(n("token_hash")))
                .col(string(n("email")))
                .col(timestamp_with_time_zone(n("created_at")))
                .col(timestamp_with_time_zone(n("expires_at")))
                .col(timestamp_with_time_zone_null(n("used_at")))
                .foreign_key(
                    ForeignKey::create()
                        .from(n("account_tokens"), n("user_id"))
                        .to(n("users"), n("id"))
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("idx_account_tokens_user")
                .table(n("account_tokens"))
                .col(n("user_id"))
                .col(n("purpose"))
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table(n("account_tokens")).to_owned()).await?;
        m.drop_table(Table::drop().table(n("outbound_mail")).to_owned()).await?;
        m.alter_table(Table::alter().table(n("users")).drop_column(n("email_verified_at")).to_owned()).await
    }
}
