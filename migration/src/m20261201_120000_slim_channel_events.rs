//! `channel_events` stops keeping message text. Until now each row held a full snapshot of its
//! message (`payload`), so replay returned the text of deleted messages and every pre-edit version.
//! A row now says only which message the event was about and what happened (`message_id`, `kind`);
//! replay renders the message from its current row.
//!
//! Existing rows are redacted: the table is rebuilt (`SQLite` cannot add a `NOT NULL` column or a
//! foreign key to a table in place) with `message_id` and `kind` read out of each old payload, and
//! the payloads are dropped with the old table. This rewrites `channel_events` once, holding its
//! lock for the copy; no other table is touched. Cannot be undone: the text it removes is gone.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::{big_integer, pk_uuid, string, timestamp_with_time_zone, uuid};
use sea_orm_migration::sea_orm::{ConnectionTrait, DbBackend};

use crate::n;

#[derive(DeriveMigrationName)]
pub struct Migration;

fn cascade(col: &'static str, to: &'static str) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .from(n("channel_events_slim"), n(col))
        .to(n(to), n("id"))
        .on_delete(ForeignKeyAction::Cascade)
        .to_owned()
}

/// Copies every old event whose message exists (all of them: messages are only soft-deleted),
/// with the message id and kind taken out of the payload.
fn copy_sql(backend: DbBackend) -> &'static str {
    match backend {
        DbBackend::Postgres => {
            "INSERT INTO channel_events_slim (id, channel_id, seq, message_id, kind, created_at) \
             SELECT e.id, e.channel_id, e.seq, m.id, e.payload->>'kind', e.created_at FROM channel_events e \
             JOIN messages m ON m.id = (e.payload->'snapshot'->'message'->>'id')::uuid"
        }
        // Ids are stored as 16-byte blobs; the payload holds them as hyphenated hex.
        _ => {
            "INSERT INTO channel_events_slim (id, channel_id, seq, message_id, kind, created_at) \
             SELECT e.id, e.channel_id, e.seq, m.id, json_extract(e.payload, '$.kind'), e.created_at \
             FROM channel_events e \
             JOIN messages m ON m.id = unhex(replace(json_extract(e.payload, '$.snapshot.message.id'), '-', ''))"
        }
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(n("channel_events_slim"))
                .col(pk_uuid(n("id")))
                .col(uuid(n("channel_id")))
                .col(big_integer(n("seq")))
                .col(uuid(n("message_id")))
                .col(string(n("kind")))
                .col(timestamp_with_time_zone(n("created_at")))
                .foreign_key(&mut cascade("channel_id", "channels"))
                .foreign_key(&mut cascade("message_id", "messages"))
                .to_owned(),
        )
        .await?;
        m.get_connection().execute_unprepared(copy_sql(m.get_database_backend())).await?;
        m.drop_table(Table::drop().table(n("channel_events")).to_owned()).await?;
        m.rename_table(Table::rename().table(n("channel_events_slim"), n("channel_events")).to_owned()).await?;
        m.create_index(
            Index::create()
                .name("idx_channel_events_channel_seq")
                .table(n("channel_events"))
                .col(n("channel_id"))
                .col(n("seq"))
                .unique()
                .to_owned(),
        )
        .await
    }

    async fn down(&self, _: &SchemaManager) -> Result<(), DbErr> {
        Err(DbErr::Migration(
            "m20261201_120000_slim_channel_events cannot be undone: the message text it removed from \
             channel_events is gone"
                .to_owned(),
        ))
    }
}
