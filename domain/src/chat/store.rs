//! Chat queries shared by the use cases: visibility, sequence numbers, the event log, snapshots.

use std::collections::{BTreeSet, HashMap};

use chrono::{DateTime, Utc};

use sea_orm::ActiveValue::Set;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbBackend, EntityTrait, ExprTrait as _, QueryFilter, QueryOrder, Statement,
    Value as DbValue,
};
use stoa_entities::{channel_events, channel_members, channels, mentions, messages, notifications, reactions, users};

use crate::actor::Actor;
use crate::authz::{Permission, Role};
use crate::chat::model::{
    AuthorCard, Channel, ChannelKind, ChatEvent, ChatEventKind, Message, MessageSnapshot, Notification, ReactionSummary,
};
use crate::error::{DomainError, Result};
use crate::events::Event;
use crate::ids::{ChannelId, MessageId, NotificationId, UserId, WorkspaceId};
use crate::tx::Tx;

/// A statement written with `$1…` placeholders, rewritten to `?1…` for SQLite.
pub(crate) fn stmt(backend: DbBackend, sql: &str, values: Vec<DbValue>) -> Statement {
    let sql = if backend == DbBackend::Sqlite { sql.replace('$', "?") } else { sql.to_owned() };
    Statement::from_sql_and_values(backend, sql, values)
}

/// What the actor may do with a channel it can see.
pub(crate) struct Access {
    pub channel: channels::Model,
    pub member: Option<channel_members::Model>,
    pub role: Role,
    pub user: UserId,
    /// The actor's display name, read with the rest (what a post's snapshot shows as author).
    pub display_name: String,
}

impl Access {
    pub fn kind(&self) -> ChannelKind {
        ChannelKind::parse(&self.channel.kind).unwrap_or(ChannelKind::Private)
    }

    pub fn id(&self) -> ChannelId {
        ChannelId(self.channel.id)
    }

    pub fn workspace(&self) -> WorkspaceId {
        WorkspaceId(self.channel.workspace_id)
    }

    pub fn view(&self) -> Channel {
        channel_view(self.channel.clone(), self.member.as_ref().map(|m| m.last_read_seq))
    }

    /// Posting (and reacting, pinning, reading receipts) needs membership and a live channel.
    pub fn require_writable(&self) -> Result<&channel_members::Model> {
        let member = self.member.as_ref().ok_or(DomainError::Forbidden { needed: Permission::PostMessages })?;
        if self.channel.archived_at.is_some() {
            return Err(DomainError::Forbidden { needed: Permission::PostMessages });
        }
        Ok(member)
    }
}

pub(crate) fn channel_view(c: channels::Model, my_last_read_seq: Option<i64>) -> Channel {
    Channel {
        id: c.id.into(),
        workspace_id: c.workspace_id.into(),
        kind: ChannelKind::parse(&c.kind).unwrap_or(ChannelKind::Private),
        name: c.name,
        topic: c.topic,
        last_seq: c.last_seq,
        created_by: c.created_by.into(),
        created_at: c.created_at,
        archived: c.archived_at.is_some(),
        my_last_read_seq,
    }
}

pub(crate) async fn membership(
    db: &impl ConnectionTrait,
    channel: ChannelId,
    user: UserId,
) -> Result<Option<channel_members::Model>> {
    Ok(channel_members::Entity::find()
        .filter(channel_members::Column::ChannelId.eq(channel.0))
        .filter(channel_members::Column::UserId.eq(user.0))
        .one(db)
        .await?)
}

/// The channel if the actor may read it: a workspace member, and a channel member unless the
/// channel is public. Anything else is `NOT_FOUND`.
pub(crate) async fn readable(db: &impl ConnectionTrait, actor: &Actor, id: ChannelId) -> Result<Access> {
    use sea_orm::FromQueryResult as _;
    let user = actor.user_id()?;
    // One statement: the channel, the actor's workspace role and channel membership (hot path of
    // every chat read and write).
    let sql = "SELECT c.*, w.role AS ws_role, cm.id AS cm_id, cm.last_read_seq AS cm_last_read_seq, cm.joined_at AS cm_joined_at, \
               u.display_name AS u_display_name \
               FROM channels c \
               LEFT JOIN memberships w ON w.workspace_id = c.workspace_id AND w.user_id = $2 \
               LEFT JOIN channel_members cm ON cm.channel_id = c.id AND cm.user_id = $2 \
               LEFT JOIN users u ON u.id = $2 \
               WHERE c.id = $1";
    let row = db
        .query_one_raw(stmt(db.get_database_backend(), sql, vec![id.0.into(), user.0.into()]))
        .await?
        .ok_or(DomainError::NotFound("channel"))?;
    let channel = channels::Model::from_query_result(&row, "")?;
    let role: Option<String> = row.try_get("", "ws_role")?;
    let role = role.as_deref().and_then(Role::parse).ok_or(DomainError::NotFound("channel"))?;
    let member = match row.try_get::<Option<uuid::Uuid>>("", "cm_id")? {
        Some(member_id) => Some(channel_members::Model {
            id: member_id,
            channel_id: id.0,
            user_id: user.0,
            last_read_seq: row.try_get("", "cm_last_read_seq")?,
            joined_at: row.try_get("", "cm_joined_at")?,
        }),
        None => None,
    };
    if member.is_none() && channel.kind != ChannelKind::Public.as_str() {
        return Err(DomainError::NotFound("channel"));
    }
    let display_name: Option<String> = row.try_get("", "u_display_name")?;
    let display_name = display_name.unwrap_or_else(|| "deleted user".to_owned());
    Ok(Access { channel, member, role, user, display_name })
}

/// The message and the channel it is in, if the actor may read that channel.
pub(crate) async fn readable_message(
    db: &impl ConnectionTrait,
    actor: &Actor,
    id: MessageId,
) -> Result<(messages::Model, Access)> {
    let message = messages::Entity::find_by_id(id.0).one(db).await?.ok_or(DomainError::NotFound("message"))?;
    let access = readable(db, actor, ChannelId(message.channel_id))
        .await
        .map_err(|e| if matches!(e, DomainError::NotFound(_)) { DomainError::NotFound("message") } else { e })?;
    Ok((message, access))
}

/// A top-level message posted `now`: no replies, edits or pin yet.
pub(crate) fn new_message(
    channel: ChannelId,
    seq: i64,
    author: UserId,
    body: String,
    now: chrono::DateTime<chrono::Utc>,
) -> Message {
    Message {
        id: MessageId::new(),
        channel_id: channel,
        seq,
        author_id: author,
        body,
        thread_root_id: None,
        reply_count: 0,
        last_reply_at: None,
        created_at: now,
        edited_at: None,
        deleted_at: None,
        pinned_at: None,
    }
}

/// The row that stores `m`.
pub(crate) fn message_row(m: &Message) -> messages::ActiveModel {
    messages::ActiveModel {
        id: Set(m.id.0),
        channel_id: Set(m.channel_id.0),
        seq: Set(m.seq),
        author_id: Set(m.author_id.0),
        body: Set(m.body.clone()),
        thread_root_id: Set(m.thread_root_id.map(|r| r.0)),
        reply_count: Set(m.reply_count),
        last_reply_at: Set(m.last_reply_at),
        created_at: Set(m.created_at),
        edited_at: Set(m.edited_at),
        deleted_at: Set(m.deleted_at),
        pinned_at: Set(m.pinned_at),
        pinned_by: Set(None),
    }
}

/// Hands out the channel's next sequence number. The row update serializes writers per channel,
/// so commit order follows sequence order.
pub(crate) async fn next_seq(db: &impl ConnectionTrait, channel: ChannelId) -> Result<i64> {
    next_seqs(db, channel, 1).await
}

/// Hands out `count` consecutive sequence numbers; returns the last (the first is `last - count + 1`).
pub(crate) async fn next_seqs(db: &impl ConnectionTrait, channel: ChannelId, count: i64) -> Result<i64> {
    let backend = db.get_database_backend();
    let row = db
        .query_one_raw(stmt(
            backend,
            "UPDATE channels SET last_seq = last_seq + $2 WHERE id = $1 RETURNING last_seq",
            vec![channel.0.into(), count.into()],
        ))
        .await?
        .ok_or(DomainError::NotFound("channel"))?;
    Ok(row.try_get_by_index::<i64>(0)?)
}

/// Reactions of each message, grouped by emoji in first-reaction order.
pub(crate) async fn reactions_of(
    db: &impl ConnectionTrait,
    ids: &[MessageId],
) -> Result<HashMap<MessageId, Vec<ReactionSummary>>> {
    let rows = reactions::Entity::find()
        .filter(reactions::Column::MessageId.is_in(ids.iter().map(|m| m.0)))
        .order_by_asc(reactions::Column::Id)
        .all(db)
        .await?;
    let mut out: HashMap<MessageId, Vec<ReactionSummary>> = HashMap::new();
    for row in rows {
        let list = out.entry(MessageId(row.message_id)).or_default();
        match list.iter_mut().find(|r| r.emoji == row.emoji) {
            Some(summary) => summary.user_ids.push(UserId(row.user_id)),
            None => list.push(ReactionSummary { emoji: row.emoji, user_ids: vec![UserId(row.user_id)] }),
        }
    }
    Ok(out)
}

/// The message with its author card and reactions, as event payloads carry it.
pub(crate) async fn snapshot(db: &impl ConnectionTrait, message: messages::Model) -> Result<MessageSnapshot> {
    let id = MessageId(message.id);
    let author = users::Entity::find_by_id(message.author_id).one(db).await?;
    let author = AuthorCard {
        id: UserId(message.author_id),
        display_name: author.map_or_else(|| "deleted user".to_owned(), |u| u.display_name),
    };
    let reactions = reactions_of(db, &[id]).await?.remove(&id).unwrap_or_default();
    Ok(MessageSnapshot { message: message.into(), author, reactions })
}

/// Stores the event under `seq` and queues it for publication after commit.
pub(crate) async fn record_event(
    tx: &mut Tx,
    seq: i64,
    kind: ChatEventKind,
    snapshot: MessageSnapshot,
) -> Result<ChatEvent> {
    let event = ChatEvent { channel_id: snapshot.message.channel_id, seq, kind, snapshot };
    record_events(tx, vec![event.clone()]).await?;
    Ok(event)
}

/// Stores numbered events in one statement and queues them, in order, for publication after commit.
pub(crate) async fn record_events(tx: &mut Tx, events: Vec<ChatEvent>) -> Result<()> {
    let now = chrono::Utc::now();
    let rows = events
        .iter()
        .map(|event| {
            Ok(channel_events::ActiveModel {
                id: Set(uuid::Uuid::now_v7()),
                channel_id: Set(event.channel_id.0),
                seq: Set(event.seq),
                payload: Set(serde_json::to_value(event).map_err(anyhow::Error::from)?),
                created_at: Set(now),
            })
        })
        .collect::<Result<Vec<_>>>()?;
    channel_events::Entity::insert_many(rows).exec_without_returning(tx.db()).await?;
    for event in events {
        tx.emit(Event::Chat(std::sync::Arc::new(event)));
    }
    Ok(())
}

/// Stored events of a channel with `after < seq <= up_to`, oldest first, at most `limit`.
pub(crate) async fn events_between(
    db: &impl ConnectionTrait,
    channel: ChannelId,
    after: i64,
    up_to: Option<i64>,
    limit: u64,
) -> Result<Vec<std::sync::Arc<ChatEvent>>> {
    use sea_orm::QuerySelect as _;
    let mut query = channel_events::Entity::find()
        .filter(channel_events::Column::ChannelId.eq(channel.0))
        .filter(channel_events::Column::Seq.gt(after))
        .order_by_asc(channel_events::Column::Seq)
        .limit(limit);
    if let Some(up_to) = up_to {
        query = query.filter(channel_events::Column::Seq.lte(up_to));
    }
    query
        .all(db)
        .await?
        .into_iter()
        .map(|row| {
            serde_json::from_value::<ChatEvent>(row.payload)
                .map(std::sync::Arc::new)
                .map_err(|e| DomainError::Internal(e.into()))
        })
        .collect()
}

/// Removes `user`'s `emoji` reaction on `message`; whether there was one.
pub(crate) async fn remove_reaction(
    db: &impl ConnectionTrait,
    message: MessageId,
    user: UserId,
    emoji: &str,
) -> Result<bool> {
    let res = reactions::Entity::delete_many()
        .filter(reactions::Column::MessageId.eq(message.0))
        .filter(reactions::Column::UserId.eq(user.0))
        .filter(reactions::Column::Emoji.eq(emoji))
        .exec(db)
        .await?;
    Ok(res.rows_affected > 0)
}

/// The different emoji on `message`.
pub(crate) async fn reaction_emojis(db: &impl ConnectionTrait, message: MessageId) -> Result<BTreeSet<String>> {
    let rows = reactions::Entity::find().filter(reactions::Column::MessageId.eq(message.0)).all(db).await?;
    Ok(rows.into_iter().map(|r| r.emoji).collect())
}

/// Adds `user`'s `emoji` reaction on `message`.
pub(crate) async fn add_reaction(
    db: &impl ConnectionTrait,
    message: MessageId,
    user: UserId,
    emoji: String,
    at: DateTime<Utc>,
) -> Result<()> {
    reactions::Entity::insert(reactions::ActiveModel {
        id: Set(uuid::Uuid::now_v7()),
        message_id: Set(message.0),
        user_id: Set(user.0),
        emoji: Set(emoji),
        created_at: Set(at),
    })
    .exec_without_returning(db)
    .await?;
    Ok(())
}

/// Ends every channel membership of `user` in `workspace`; the channels left.
pub(crate) async fn leave_workspace_channels(
    db: &impl ConnectionTrait,
    workspace: WorkspaceId,
    user: UserId,
) -> Result<Vec<ChannelId>> {
    let in_workspace = sea_orm::sea_query::Query::select()
        .column(channels::Column::Id)
        .from(channels::Entity)
        .and_where(channels::Column::WorkspaceId.eq(workspace.0))
        .to_owned();
    let left: Vec<ChannelId> = channel_members::Entity::find()
        .filter(channel_members::Column::UserId.eq(user.0))
        .filter(channel_members::Column::ChannelId.in_subquery(in_workspace.clone()))
        .all(db)
        .await?
        .into_iter()
        .map(|m| ChannelId(m.channel_id))
        .collect();
    channel_members::Entity::delete_many()
        .filter(channel_members::Column::UserId.eq(user.0))
        .filter(channel_members::Column::ChannelId.in_subquery(in_workspace))
        .exec(db)
        .await?;
    Ok(left)
}

/// Whether `root` is a top-level message of `channel` (a thread can hang off it).
pub(crate) async fn is_thread_root(db: &impl ConnectionTrait, channel: ChannelId, root: MessageId) -> Result<bool> {
    let root = messages::Entity::find_by_id(root.0).one(db).await?;
    Ok(root.is_some_and(|r| r.channel_id == channel.0 && r.thread_root_id.is_none()))
}

/// Inserts one message.
pub(crate) async fn insert_message(db: &impl ConnectionTrait, message: &Message) -> Result<()> {
    messages::Entity::insert(message_row(message)).exec_without_returning(db).await?;
    Ok(())
}

/// Counts one more reply in the thread of `root`, replied to at `at`.
pub(crate) async fn count_reply(db: &impl ConnectionTrait, root: MessageId, at: DateTime<Utc>) -> Result<()> {
    messages::Entity::update_many()
        .col_expr(messages::Column::ReplyCount, Expr::col(messages::Column::ReplyCount).add(1))
        .col_expr(messages::Column::LastReplyAt, Expr::value(at))
        .filter(messages::Column::Id.eq(root.0))
        .exec(db)
        .await?;
    Ok(())
}

/// Every member of a channel.
pub(crate) async fn member_ids(db: &impl ConnectionTrait, channel: ChannelId) -> Result<BTreeSet<UserId>> {
    Ok(channel_members::Entity::find()
        .filter(channel_members::Column::ChannelId.eq(channel.0))
        .all(db)
        .await?
        .into_iter()
        .map(|m| UserId(m.user_id))
        .collect())
}

/// Rows per multi-row insert: well under SQLite's 32,766 bound parameters at 10 columns a row.
const INSERT_CHUNK: usize = 500;

/// Records that `message` (number `seq` in `channel`) mentions each of `users`.
pub(crate) async fn insert_mentions(
    db: &impl ConnectionTrait,
    message: MessageId,
    channel: ChannelId,
    seq: i64,
    users: &[UserId],
) -> Result<()> {
    for chunk in users.chunks(INSERT_CHUNK) {
        let rows = chunk.iter().map(|user| mentions::ActiveModel {
            id: Set(uuid::Uuid::now_v7()),
            message_id: Set(message.0),
            channel_id: Set(channel.0),
            seq: Set(seq),
            user_id: Set(user.0),
        });
        mentions::Entity::insert_many(rows).exec_without_returning(db).await?;
    }
    Ok(())
}

/// A notification about to be stored.
pub(crate) struct NewNotification {
    pub user: UserId,
    pub workspace: WorkspaceId,
    /// `mention`, `channel_mention` or `direct_message`.
    pub kind: &'static str,
    pub channel: ChannelId,
    pub message: MessageId,
    pub actor: UserId,
    pub preview: String,
    pub at: DateTime<Utc>,
}

/// Stores notifications, in multi-row inserts, and returns them as their recipients see them.
pub(crate) async fn insert_notifications(
    db: &impl ConnectionTrait,
    notes: Vec<NewNotification>,
) -> Result<Vec<Notification>> {
    let rows: Vec<notifications::Model> = notes
        .into_iter()
        .map(|n| notifications::Model {
            id: NotificationId::new().0,
            user_id: n.user.0,
            workspace_id: n.workspace.0,
            kind: n.kind.to_owned(),
            channel_id: Some(n.channel.0),
            message_id: Some(n.message.0),
            actor_id: Some(n.actor.0),
            preview: n.preview,
            created_at: n.at,
            read_at: None,
        })
        .collect();
    for chunk in rows.chunks(INSERT_CHUNK) {
        let models = chunk.iter().map(|r| notifications::ActiveModel {
            id: Set(r.id),
            user_id: Set(r.user_id),
            workspace_id: Set(r.workspace_id),
            kind: Set(r.kind.clone()),
            channel_id: Set(r.channel_id),
            message_id: Set(r.message_id),
            actor_id: Set(r.actor_id),
            preview: Set(r.preview.clone()),
            created_at: Set(r.created_at),
            read_at: Set(r.read_at),
        });
        notifications::Entity::insert_many(models).exec_without_returning(db).await?;
    }
    Ok(rows.into_iter().map(Notification::from).collect())
}
