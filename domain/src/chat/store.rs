//! Chat queries shared by the use cases: visibility, sequence numbers, the event log (stored
//! without text, replayed from the current rows), snapshots, notification previews.

use std::collections::{BTreeSet, HashMap};

use chrono::{DateTime, Utc};

use sea_orm::ActiveValue::Set;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbBackend, EntityTrait, ExprTrait as _, QueryFilter, Statement, Value as DbValue,
};
use stoa_entities::{channel_events, channel_members, channels, mentions, messages, notifications, reactions, users};

use crate::actor::Actor;
use crate::authz::{Permission, Role};
use crate::chat::model::{
    AuthorCard, Channel, ChannelKind, ChatEvent, ChatEventKind, Message, MessageSnapshot, Notification, ReactionSummary,
};
use crate::error::{DomainError, Result};
use crate::events::Event;
use crate::identity::UserCard;
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
    /// Until when the actor is timed out in the channel's workspace.
    pub timed_out_until: Option<DateTime<Utc>>,
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
        match &self.member {
            Some(member) if writable(true, self.channel.archived_at.is_some()) => Ok(member),
            _ => Err(Refused::Forbidden.error()),
        }
    }

    /// Posting and reacting also need the actor not to be timed out at `now`.
    pub fn require_postable(&self, now: DateTime<Utc>) -> Result<&channel_members::Model> {
        let member = self.require_writable()?;
        match timed_out(self.timed_out_until, now) {
            Some(refused) => Err(refused.error()),
            None => Ok(member),
        }
    }
}

/// The refusal of a member timed out until `until`, while that is after `now`.
fn timed_out(until: Option<DateTime<Utc>>, now: DateTime<Utc>) -> Option<Refused> {
    until.filter(|u| *u > now).map(Refused::TimedOut)
}

/// Whether a workspace member sees a channel: its members do, and everyone sees a public one.
fn sees(member: bool, kind: &str) -> bool {
    member || kind == ChannelKind::Public.as_str()
}

/// Whether one who sees a channel may write in it: a member, while it is not archived.
fn writable(member: bool, archived: bool) -> bool {
    member && !archived
}

pub(crate) fn channel_view(c: channels::Model, my_last_read_seq: Option<i64>) -> Channel {
    Channel {
        id: c.id.into(),
        workspace_id: c.workspace_id.into(),
        kind: ChannelKind::parse(&c.kind).unwrap_or(ChannelKind::Private),
        name: c.name,
        topic: c.topic,
        purpose: c.purpose,
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
    let sql = "SELECT c.*, w.role AS ws_role, w.timed_out_until AS ws_timed_out_until, cm.id AS cm_id, cm.last_read_seq AS cm_last_read_seq, cm.joined_at AS cm_joined_at, \
               u.display_name AS u_display_name \
               FROM channels c \
               LEFT JOIN memberships w ON w.workspace_id = c.workspace_id AND w.user_id = $2 \
               LEFT JOIN channel_members cm ON cm.channel_id = c.id AND cm.user_id = $2 \
               LEFT JOIN users u ON u.id = $2 \
               WHERE c.id = $1 AND c.deleted_at IS NULL";
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
    if !sees(member.is_some(), &channel.kind) {
        return Err(DomainError::NotFound("channel"));
    }
    let display_name: Option<String> = row.try_get("", "u_display_name")?;
    let display_name = display_name.unwrap_or_else(|| "deleted user".to_owned());
    let timed_out_until: Option<DateTime<Utc>> = row.try_get("", "ws_timed_out_until")?;
    Ok(Access { channel, member, role, user, display_name, timed_out_until })
}

/// Whether the actor may post, from what [`readable`] reads: `NOT_FOUND` when it may not see the
/// channel, `FORBIDDEN` when it sees it but is no member or the channel is archived, `TIMED_OUT`
/// while the poster is timed out.
fn may_post(
    role: Option<Role>,
    member: bool,
    kind: &str,
    archived: bool,
    timed_out_until: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> std::result::Result<(), Refused> {
    if role.is_none() || !sees(member, kind) {
        return Err(Refused::NotFound);
    }
    if !writable(member, archived) {
        return Err(Refused::Forbidden);
    }
    timed_out(timed_out_until, now).map_or(Ok(()), Err)
}

/// Why a poster may not post: the errors of [`readable`] and [`Access::require_writable`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refused {
    NotFound,
    Forbidden,
    TimedOut(DateTime<Utc>),
}

impl Refused {
    pub(crate) fn error(self) -> DomainError {
        match self {
            Self::NotFound => DomainError::NotFound("channel"),
            Self::Forbidden => DomainError::Forbidden { needed: Permission::PostMessages },
            Self::TimedOut(until) => DomainError::TimedOut { until },
        }
    }
}

/// For each of `posters`: may they post in `channel` (as [`Access::require_writable`] after
/// [`readable`] decides, one statement for all), and with which display name. A poster without a
/// row (no such user, or no such channel) is absent.
pub(crate) async fn posters_access(
    db: &impl ConnectionTrait,
    channel: ChannelId,
    posters: &[UserId],
    now: DateTime<Utc>,
) -> Result<HashMap<UserId, std::result::Result<String, Refused>>> {
    let backend = db.get_database_backend();
    let (filter, ids) = one_of(backend, "u.id", 2, posters.iter().map(|u| u.0).collect());
    let mut values: Vec<DbValue> = vec![channel.0.into()];
    values.extend(ids);
    let sql = format!(
        "SELECT u.id, u.display_name, w.role, cm.id, c.kind, c.archived_at, w.timed_out_until FROM users u \
         JOIN channels c ON c.id = $1 AND c.deleted_at IS NULL \
         LEFT JOIN memberships w ON w.workspace_id = c.workspace_id AND w.user_id = u.id \
         LEFT JOIN channel_members cm ON cm.channel_id = c.id AND cm.user_id = u.id \
         WHERE {filter}"
    );
    let mut out = HashMap::new();
    for row in db.query_all_raw(stmt(backend, &sql, values)).await? {
        let user = UserId(row.try_get_by_index(0)?);
        let name: String = row.try_get_by_index(1)?;
        let role: Option<String> = row.try_get_by_index(2)?;
        let member: Option<uuid::Uuid> = row.try_get_by_index(3)?;
        let kind: String = row.try_get_by_index(4)?;
        let archived: Option<DateTime<Utc>> = row.try_get_by_index(5)?;
        let timed_out_until: Option<DateTime<Utc>> = row.try_get_by_index(6)?;
        let role = role.as_deref().and_then(Role::parse);
        let verdict = may_post(role, member.is_some(), &kind, archived.is_some(), timed_out_until, now);
        out.insert(user, verdict.map(|()| name));
    }
    Ok(out)
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

/// `column` is one of `ids`, bound from parameter `$from` on: `= ANY($from)` with one array on
/// Postgres (one statement text and a reusable plan whatever the count; an `IN` list of N
/// parameters is planned afresh each time), `IN ($from, …)` on SQLite.
pub(crate) fn one_of(backend: DbBackend, column: &str, from: usize, ids: Vec<uuid::Uuid>) -> (String, Vec<DbValue>) {
    if backend == DbBackend::Postgres {
        return (format!("{column} = ANY(${from})"), vec![ids.into()]);
    }
    let list = (from..from + ids.len()).map(|i| format!("${i}")).collect::<Vec<_>>().join(", ");
    (format!("{column} IN ({list})"), ids.into_iter().map(DbValue::from).collect())
}

/// A user card from four columns starting at `at` (id, display name, status text, status emoji);
/// none when the LEFT JOIN found no user (a deleted account).
pub(crate) fn card_at(row: &sea_orm::QueryResult, at: usize) -> Result<Option<UserCard>> {
    let Some(id) = row.try_get_by_index::<Option<uuid::Uuid>>(at)? else { return Ok(None) };
    Ok(Some(UserCard {
        id: UserId(id),
        display_name: row.try_get_by_index(at + 1)?,
        status_text: row.try_get_by_index(at + 2)?,
        status_emoji: row.try_get_by_index(at + 3)?,
    }))
}

/// The columns [`card_at`] reads, from `users u`, and their stand-in when no card is wanted.
pub(crate) const CARD_COLUMNS: &str = "u.id, u.display_name, u.status_text, u.status_emoji";
pub(crate) const NO_CARD: &str = "NULL, NULL, NULL, NULL";

/// Reactions of each message, grouped by emoji in first-reaction order.
pub(crate) async fn reactions_of(
    db: &impl ConnectionTrait,
    ids: &[MessageId],
) -> Result<HashMap<MessageId, Vec<ReactionSummary>>> {
    reactions_of_with(db, ids, None).await
}

/// [`reactions_of`]; with `cards`, each reactor's user card goes there (joined, no statement of its own).
pub(crate) async fn reactions_of_with(
    db: &impl ConnectionTrait,
    ids: &[MessageId],
    mut cards: Option<&mut HashMap<UserId, UserCard>>,
) -> Result<HashMap<MessageId, Vec<ReactionSummary>>> {
    let mut out: HashMap<MessageId, Vec<ReactionSummary>> = HashMap::new();
    if ids.is_empty() {
        return Ok(out);
    }
    let (columns, join) =
        if cards.is_some() { (CARD_COLUMNS, "LEFT JOIN users u ON u.id = r.user_id") } else { (NO_CARD, "") };
    let backend = db.get_database_backend();
    let (filter, values) = one_of(backend, "r.message_id", 1, ids.iter().map(|m| m.0).collect());
    let sql = format!(
        "SELECT r.message_id, r.emoji, r.user_id, {columns} FROM reactions r {join} WHERE {filter} ORDER BY r.id"
    );
    for row in db.query_all_raw(stmt(backend, &sql, values)).await? {
        let message = MessageId(row.try_get_by_index(0)?);
        let emoji: String = row.try_get_by_index(1)?;
        let user = UserId(row.try_get_by_index(2)?);
        if let Some(cards) = cards.as_deref_mut()
            && let Some(card) = card_at(&row, 3)?
        {
            cards.entry(card.id).or_insert(card);
        }
        let list = out.entry(message).or_default();
        match list.iter_mut().find(|r| r.emoji == emoji) {
            Some(summary) => summary.user_ids.push(user),
            None => list.push(ReactionSummary { emoji, user_ids: vec![user] }),
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
/// A stored event is its number, kind and message id, never the message's text: live subscribers get
/// the snapshot (the text as it is at this commit), and replay reads the message as it is by then.
pub(crate) async fn record_events(tx: &mut Tx, events: Vec<ChatEvent>) -> Result<()> {
    let now = chrono::Utc::now();
    let rows = events.iter().map(|event| channel_events::ActiveModel {
        id: Set(uuid::Uuid::now_v7()),
        channel_id: Set(event.channel_id.0),
        seq: Set(event.seq),
        message_id: Set(event.snapshot.message.id.0),
        kind: Set(event.kind.as_str().to_owned()),
        created_at: Set(now),
    });
    channel_events::Entity::insert_many(rows).exec_without_returning(tx.db()).await?;
    for event in events {
        tx.emit(Event::Chat(std::sync::Arc::new(event)));
    }
    Ok(())
}

/// Stored events of a channel with `seq > after`, oldest first, at most `limit`, each carrying its
/// message as it is now: an edited message with its current text, a deleted one as a tombstone.
/// Two statements whatever the page size (the events joined with their messages and authors, then
/// those messages' reactions); one when there is nothing to replay.
pub(crate) async fn events_after(
    db: &impl ConnectionTrait,
    channel: ChannelId,
    after: i64,
    limit: u64,
) -> Result<Vec<std::sync::Arc<ChatEvent>>> {
    use sea_orm::FromQueryResult as _;
    let sql = "SELECT e.seq AS e_seq, e.kind AS e_kind, u.display_name AS u_display_name, m.* \
               FROM channel_events e \
               JOIN messages m ON m.id = e.message_id \
               LEFT JOIN users u ON u.id = m.author_id \
               WHERE e.channel_id = $1 AND e.seq > $2 ORDER BY e.seq LIMIT $3";
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let values = vec![channel.0.into(), after.into(), limit.into()];
    let rows = db.query_all_raw(stmt(db.get_database_backend(), sql, values)).await?;
    let mut events = Vec::with_capacity(rows.len());
    for row in &rows {
        let kind: String = row.try_get("", "e_kind")?;
        let kind = ChatEventKind::parse(&kind)
            .ok_or_else(|| DomainError::Internal(anyhow::anyhow!("unknown channel event kind {kind:?}")))?;
        let message = Message::from(messages::Model::from_query_result(row, "")?);
        let display_name: Option<String> = row.try_get("", "u_display_name")?;
        let author = AuthorCard {
            id: message.author_id,
            display_name: display_name.unwrap_or_else(|| "deleted user".to_owned()),
        };
        events.push((row.try_get::<i64>("", "e_seq")?, kind, message, author));
    }
    if events.is_empty() {
        return Ok(Vec::new());
    }
    let mut ids: Vec<MessageId> = events.iter().map(|(_, _, message, _)| message.id).collect();
    ids.sort();
    ids.dedup();
    let reactions = reactions_of(db, &ids).await?;
    Ok(events
        .into_iter()
        .map(|(seq, kind, message, author)| {
            let reactions = reactions.get(&message.id).cloned().unwrap_or_default();
            std::sync::Arc::new(ChatEvent {
                channel_id: channel,
                seq,
                kind,
                snapshot: MessageSnapshot { message, author, reactions },
            })
        })
        .collect())
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

/// Sets the preview of every notification about `message` (mentions and direct messages) to
/// `preview`, so a notification shows the message's current text: the new one after an edit,
/// nothing once it is deleted.
pub(crate) async fn set_notification_previews(
    db: &impl ConnectionTrait,
    message: MessageId,
    preview: String,
) -> Result<()> {
    notifications::Entity::update_many()
        .col_expr(notifications::Column::Preview, Expr::value(preview))
        .filter(notifications::Column::MessageId.eq(message.0))
        .filter(notifications::Column::Kind.is_in(MESSAGE_NOTIFICATIONS))
        .exec(db)
        .await?;
    Ok(())
}

/// The notification kinds whose preview is the text of their message.
const MESSAGE_NOTIFICATIONS: [&str; 3] = ["mention", "channel_mention", "direct_message"];

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
