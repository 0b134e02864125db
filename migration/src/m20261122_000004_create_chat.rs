//! Chat: channels, their members and per-channel event log, messages with threads, reactions,
//! mentions, notifications, and full-text search (Postgres GIN over `to_tsvector`, `SQLite` FTS5
//! kept in step by triggers). New tables: no backfill, no locks on existing data.
//!
//! `channels.last_seq` hands out one increasing number per channel event; `channel_events` keeps
//! each event's payload by `(channel_id, seq)` so a reconnecting subscriber replays exactly what it
//! missed.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::{
    big_integer, integer, json, pk_uuid, string, string_null, text, timestamp_with_time_zone,
    timestamp_with_time_zone_null, uuid, uuid_null,
};
use sea_orm_migration::sea_orm::{ConnectionTrait, DbBackend};

use crate::n;

#[derive(DeriveMigrationName)]
pub struct Migration;

fn fk(table: &'static str, col: &'static str, to: &'static str) -> ForeignKeyCreateStatement {
    ForeignKey::create().from(n(table), n(col)).to(n(to), n("id")).on_delete(ForeignKeyAction::Cascade).to_owned()
}

async fn index(
    m: &SchemaManager<'_>,
    name: &str,
    table: &'static str,
    cols: &[&'static str],
    unique: bool,
) -> Result<(), DbErr> {
    let mut stmt = Index::create().name(name).table(n(table)).to_owned();
    for col in cols {
        stmt.col(n(col));
    }
    if unique {
        stmt.unique();
    }
    m.create_index(stmt).await
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    #[expect(clippy::too_many_lines, reason = "seven tables read best top to bottom in one migration")]
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(n("channels"))
                .col(pk_uuid(n("id")))
                .col(uuid(n("workspace_id")))
                .col(string(n("kind")))
                .col(string_null(n("name")))
                .col(string_null(n("topic")))
                .col(string_null(n("dm_key")).unique_key())
                .col(big_integer(n("last_seq")))
                .col(uuid(n("created_by")))
                .col(timestamp_with_time_zone(n("created_at")))
                .col(timestamp_with_time_zone_null(n("archived_at")))
                .foreign_key(&mut fk("channels", "workspace_id", "workspaces"))
                .to_owned(),
        )
        .await?;
        index(m, "idx_channels_workspace", "channels", &["workspace_id"], false).await?;
        m.create_table(
            Table::create()
                .table(n("channel_members"))
                .col(pk_uuid(n("id")))
                .col(uuid(n("channel_id")))
                .col(uuid(n("user_id")))
                .col(big_integer(n("last_read_seq")))
                .col(timestamp_with_time_zone(n("joined_at")))
                .foreign_key(&mut fk("channel_members", "channel_id", "channels"))
                .foreign_key(&mut fk("channel_members", "user_id", "users"))
                .to_owned(),
        )
        .await?;
        index(m, "idx_channel_members_channel_user", "channel_members", &["channel_id", "user_id"], true).await?;
        index(m, "idx_channel_members_user", "channel_members", &["user_id"], false).await?;
        m.create_table(
            Table::create()
                .table(n("messages"))
                .col(pk_uuid(n("id")))
                .col(uuid(n("channel_id")))
                .col(big_integer(n("seq")))
                .col(uuid(n("author_id")))
                .col(text(n("body")))
                .col(uuid_null(n("thread_root_id")))
                .col(integer(n("reply_count")))
                .col(timestamp_with_time_zone_null(n("last_reply_at")))
                .col(timestamp_with_time_zone(n("created_at")))
                .col(timestamp_with_time_zone_null(n("edited_at")))
                .col(timestamp_with_time_zone_null(n("deleted_at")))
                .col(timestamp_with_time_zone_null(n("pinned_at")))
                .col(uuid_null(n("pinned_by")))
                .foreign_key(&mut fk("messages", "channel_id", "channels"))
                .to_owned(),
        )
        .await?;
        index(m, "idx_messages_channel_seq", "messages", &["channel_id", "seq"], true).await?;
        index(m, "idx_messages_thread", "messages", &["thread_root_id", "seq"], false).await?;
        m.create_table(
            Table::create()
                .table(n("reactions"))
                .col(pk_uuid(n("id")))
                .col(uuid(n("message_id")))
                .col(uuid(n("user_id")))
                .col(string(n("emoji")))
                .col(timestamp_with_time_zone(n("created_at")))
                .foreign_key(&mut fk("reactions", "message_id", "messages"))
                .to_owned(),
        )
        .await?;
        index(m, "idx_reactions_message_user_emoji", "reactions", &["message_id", "user_id", "emoji"], true).await?;
        m.create_table(
            Table::create()
                .table(n("mentions"))
                .col(pk_uuid(n("id")))
                .col(uuid(n("message_id")))
                .col(uuid(n("channel_id")))
                .col(big_integer(n("seq")))
                .col(uuid(n("user_id")))
                .foreign_key(&mut fk("mentions", "message_id", "messages"))
                .to_owned(),
        )
        .await?;
        index(m, "idx_mentions_user_channel_seq", "mentions", &["user_id", "channel_id", "seq"], false).await?;
        m.create_table(
            Table::create()
                .table(n("channel_events"))
                .col(pk_uuid(n("id")))
                .col(uuid(n("channel_id")))
                .col(big_integer(n("seq")))
                .col(json(n("payload")))
                .col(timestamp_with_time_zone(n("created_at")))
                .foreign_key(&mut fk("channel_events", "channel_id", "channels"))
                .to_owned(),
        )
        .await?;
        index(m, "idx_channel_events_channel_seq", "channel_events", &["channel_id", "seq"], true).await?;
        m.create_table(
            Table::create()
                .table(n("notifications"))
                .col(pk_uuid(n("id")))
                .col(uuid(n("user_id")))
                .col(uuid(n("workspace_id")))
                .col(string(n("kind")))
                .col(uuid_null(n("channel_id")))
                .col(uuid_null(n("message_id")))
                .col(uuid_null(n("actor_id")))
                .col(string(n("preview")))
                .col(timestamp_with_time_zone(n("created_at")))
                .col(timestamp_with_time_zone_null(n("read_at")))
                .foreign_key(&mut fk("notifications", "user_id", "users"))
                .to_owned(),
        )
        .await?;
        index(m, "idx_notifications_user", "notifications", &["user_id", "id"], false).await?;
        let db = m.get_connection();
        match m.get_database_backend() {
            DbBackend::Postgres => {
                db.execute_unprepared(
                    "CREATE INDEX idx_messages_search ON messages USING GIN (to_tsvector('simple', body))",
                )
                .await?;
            }
            _ => {
                db.execute_unprepared(
                    "CREATE VIRTUAL TABLE messages_fts USING fts5(body, content='messages', content_rowid='rowid');
                     CREATE TRIGGER messages_fts_ai AFTER INSERT ON messages BEGIN
                       INSERT INTO messages_fts(rowid, body) VALUES (new.rowid, new.body); END;
                     CREATE TRIGGER messages_fts_ad AFTER DELETE ON messages BEGIN
                       INSERT INTO messages_fts(messages_fts, rowid, body) VALUES ('delete', old.rowid, old.body); END;
                     CREATE TRIGGER messages_fts_au AFTER UPDATE OF body ON messages BEGIN
                       INSERT INTO messages_fts(messages_fts, rowid, body) VALUES ('delete', old.rowid, old.body);
                       INSERT INTO messages_fts(rowid, body) VALUES (new.rowid, new.body); END;",
                )
                .await?;
            }
        }
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        if m.get_database_backend() == DbBackend::Sqlite {
            m.get_connection().execute_unprepared("DROP TABLE IF EXISTS messages_fts").await?;
        }
        for table in
            ["notifications", "channel_events", "mentions", "reactions", "messages", "channel_members", "channels"]
        {
            m.drop_table(Table::drop().table(n(table)).to_owned()).await?;
        }
        Ok(())
    }
}
