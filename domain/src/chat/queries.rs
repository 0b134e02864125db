//! Reads: channel lists with unread counts, history pages in both directions, threads, search,
//! and the batch reads behind the schema's DataLoaders. Each is a constant number of statements.

use std::collections::HashMap;

use sea_orm::sea_query::Condition;
use sea_orm::{
    ColumnTrait, ConnectionTrait as _, EntityTrait, FromQueryResult as _, QueryFilter, QueryOrder, QuerySelect,
};
use stoa_entities::{channel_members, channels, messages};

use crate::actor::Actor;
use crate::app::AppCtx;
use crate::authz::Permission;
use crate::chat::model::{Channel, ChannelKind, Message, ReactionSummary, UnreadCounts};
use crate::chat::store::{self, channel_view, stmt};
use crate::error::{DomainError, Result};
use crate::ids::{ChannelId, MessageId, UserId, WorkspaceId};
use crate::pagination::MAX_PAGE;
use crate::workspaces::store::require_permission;

/// Channels of a workspace the actor can see: every public one and those they belong to.
///
/// # Errors
/// `NOT_FOUND` (not a member of the workspace).
pub async fn channels(app: &AppCtx, actor: &Actor, workspace: WorkspaceId) -> Result<Vec<Channel>> {
    let user = actor.user_id()?;
    require_permission(app.db(), actor, workspace, Permission::ViewWorkspace).await?;
    let mine: HashMap<uuid::Uuid, i64> = channel_members::Entity::find()
        .filter(channel_members::Column::UserId.eq(user.0))
        .all(app.db())
        .await?
        .into_iter()
        .map(|m| (m.channel_id, m.last_read_seq))
        .collect();
    let rows = channels::Entity::find()
        .filter(channels::Column::WorkspaceId.eq(workspace.0))
        .filter(
            Condition::any()
                .add(channels::Column::Kind.eq(ChannelKind::Public.as_str()))
                .add(channels::Column::Id.is_in(mine.keys().copied())),
        )
        .order_by_asc(channels::Column::CreatedAt)
        .all(app.db())
        .await?;
    Ok(rows
        .into_iter()
        .map(|c| {
            let read = mine.get(&c.id).copied();
            channel_view(c, read)
        })
        .collect())
}

/// One channel the actor can read.
///
/// # Errors
/// `NOT_FOUND`.
pub async fn channel(app: &AppCtx, actor: &Actor, id: ChannelId) -> Result<Channel> {
    Ok(store::readable(app.db(), actor, id).await?.view())
}

/// Unread and mention counts of channels for `user` (DataLoader backend): two statements.
///
/// # Errors
/// `Internal` on database failure.
pub async fn unread_counts(app: &AppCtx, user: UserId, ids: &[ChannelId]) -> Result<HashMap<ChannelId, UnreadCounts>> {
    let mut out: HashMap<ChannelId, UnreadCounts> = ids.iter().map(|id| (*id, UnreadCounts::default())).collect();
    if ids.is_empty() {
        return Ok(out);
    }
    let backend = app.db().get_database_backend();
    let placeholders: Vec<String> = (0..ids.len()).map(|i| format!("${}", i + 2)).collect();
    let mut values: Vec<sea_orm::Value> = vec![user.0.into()];
    values.extend(ids.iter().map(|id| sea_orm::Value::from(id.0)));
    let unread = format!(
        "SELECT m.channel_id, COUNT(*) FROM messages m JOIN channel_members cm ON cm.channel_id = m.channel_id AND cm.user_id = $1 \
         WHERE m.channel_id IN ({}) AND m.seq > cm.last_read_seq AND m.thread_root_id IS NULL AND m.deleted_at IS NULL \
         AND m.author_id <> $1 GROUP BY m.channel_id",
        placeholders.join(", ")
    );
    let mentions = format!(
        "SELECT n.channel_id, COUNT(*) FROM mentions n JOIN channel_members cm ON cm.channel_id = n.channel_id AND cm.user_id = $1 \
         WHERE n.user_id = $1 AND n.channel_id IN ({}) AND n.seq > cm.last_read_seq GROUP BY n.channel_id",
        placeholders.join(", ")
    );
    for (sql, is_unread) in [(unread, true), (mentions, false)] {
        for row in app.db().query_all_raw(stmt(backend, &sql, values.clone())).await? {
            let channel: uuid::Uuid = row.try_get_by_index(0)?;
            let count: i64 = row.try_get_by_index(1)?;
            let entry = out.entry(ChannelId(channel)).or_default();
            if is_unread {
                entry.unread = count;
            } else {
                entry.mentions = count;
            }
        }
    }
    Ok(out)
}

/// A window of messages by sequence number, oldest first.
#[derive(Debug, Clone)]
pub struct SeqPage {
    pub items: Vec<Message>,
    pub has_previous_page: bool,
    pub has_next_page: bool,
    /// Everything the page's messages point at, read in a fixed number of statements.
    pub related: Related,
}

/// The relations of a page of messages (a joined read model: no per-message query, and the same
/// statements whatever the page size or timing).
#[derive(Debug, Clone, Default)]
pub struct Related {
    pub users: HashMap<UserId, crate::identity::UserCard>,
    pub reactions: HashMap<MessageId, Vec<ReactionSummary>>,
    pub participants: HashMap<MessageId, Vec<UserId>>,
    pub attachments: HashMap<MessageId, Vec<crate::files::Attachment>>,
}

/// Loads the wanted relations of `items`: at most four statements, whatever the page size.
async fn related(app: &AppCtx, items: &[Message], wanted: Wanted) -> Result<Related> {
    let ids: Vec<MessageId> = items.iter().map(|m| m.id).collect();
    if ids.is_empty() {
        return Ok(Related::default());
    }
    let reactions = if wanted.reactions { store::reactions_of(app.db(), &ids).await? } else { HashMap::new() };
    let participants = if wanted.participants { thread_participants(app, &ids).await? } else { HashMap::new() };
    let attachments =
        if wanted.attachments { crate::files::attachments_of_messages(app, &ids).await? } else { HashMap::new() };
    if !wanted.users {
        return Ok(Related { users: HashMap::new(), reactions, participants, attachments });
    }
    let mut people: Vec<UserId> = items.iter().map(|m| m.author_id).collect();
    people.extend(reactions.values().flatten().flat_map(|r| r.user_ids.iter().copied()));
    people.extend(participants.values().flatten().copied());
    people.sort();
    people.dedup();
    let users = crate::identity::cards_by_ids(app, &people).await?;
    Ok(Related { users, reactions, participants, attachments })
}

/// Which window to read: `first`/`after` reads forward, `last`/`before` backward; neither reads the
/// newest `DEFAULT_PAGE`.
#[derive(Debug, Clone, Copy, Default)]
pub struct SeqWindow {
    pub first: Option<u64>,
    pub after: Option<i64>,
    pub last: Option<u64>,
    pub before: Option<i64>,
}

const DEFAULT_PAGE: u64 = 50;

/// Which relations of a page the caller will read; the others are not queried. Every field is
/// read by default.
#[derive(Debug, Clone, Copy)]
#[expect(clippy::struct_excessive_bools, reason = "independent yes/no choices, one per relation")]
pub struct Wanted {
    pub reactions: bool,
    pub participants: bool,
    pub attachments: bool,
    /// Authors, reactors and participants as user cards.
    pub users: bool,
}

impl Default for Wanted {
    fn default() -> Self {
        Self { reactions: true, participants: true, attachments: true, users: true }
    }
}

async fn window(
    app: &AppCtx,
    base: sea_orm::Select<messages::Entity>,
    w: SeqWindow,
    wanted: Wanted,
) -> Result<SeqPage> {
    let forward = w.first.is_some() || (w.after.is_some() && w.last.is_none());
    let limit = if forward { w.first } else { w.last }.unwrap_or(DEFAULT_PAGE).clamp(1, MAX_PAGE);
    let mut query = base;
    if let Some(after) = w.after {
        query = query.filter(messages::Column::Seq.gt(after));
    }
    if let Some(before) = w.before {
        query = query.filter(messages::Column::Seq.lt(before));
    }
    query =
        if forward { query.order_by_asc(messages::Column::Seq) } else { query.order_by_desc(messages::Column::Seq) };
    let mut rows = query.limit(limit + 1).all(app.db()).await?;
    let more = rows.len() as u64 > limit;
    rows.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
    if !forward {
        rows.reverse();
    }
    let items: Vec<Message> = rows.into_iter().map(Message::from).collect();
    let related = related(app, &items, wanted).await?;
    Ok(if forward {
        SeqPage { items, has_previous_page: w.after.is_some(), has_next_page: more, related }
    } else {
        SeqPage { items, has_previous_page: more, has_next_page: w.before.is_some(), related }
    })
}

/// A page of a channel's top-level messages (thread replies are read with [`thread`]).
///
/// # Errors
/// `NOT_FOUND`.
pub async fn history(app: &AppCtx, actor: &Actor, id: ChannelId, w: SeqWindow, wanted: Wanted) -> Result<SeqPage> {
    store::readable(app.db(), actor, id).await?;
    top_level_page(app, id, w, wanted).await
}

/// A page of a channel already read for this viewer: the [`Channel`] is the proof of the
/// visibility check (only this crate builds one, after that check), so none is repeated.
///
/// # Errors
/// `Internal` on database failure.
pub async fn channel_history(app: &AppCtx, channel: &Channel, w: SeqWindow, wanted: Wanted) -> Result<SeqPage> {
    top_level_page(app, channel.id, w, wanted).await
}

async fn top_level_page(app: &AppCtx, id: ChannelId, w: SeqWindow, wanted: Wanted) -> Result<SeqPage> {
    let base = messages::Entity::find()
        .filter(messages::Column::ChannelId.eq(id.0))
        .filter(messages::Column::ThreadRootId.is_null());
    window(app, base, w, wanted).await
}

/// A page of a thread's replies.
///
/// # Errors
/// `NOT_FOUND`.
pub async fn thread(app: &AppCtx, actor: &Actor, root: MessageId, w: SeqWindow, wanted: Wanted) -> Result<SeqPage> {
    store::readable_message(app.db(), actor, root).await?;
    window(app, messages::Entity::find().filter(messages::Column::ThreadRootId.eq(root.0)), w, wanted).await
}

/// One message the actor can read.
///
/// # Errors
/// `NOT_FOUND`.
pub async fn message(app: &AppCtx, actor: &Actor, id: MessageId) -> Result<Message> {
    Ok(store::readable_message(app.db(), actor, id).await?.0.into())
}

/// Reactions of messages the caller already read (DataLoader backend): one statement.
///
/// # Errors
/// `Internal` on database failure.
pub async fn reactions_by_messages(
    app: &AppCtx,
    ids: &[MessageId],
) -> Result<HashMap<MessageId, Vec<ReactionSummary>>> {
    store::reactions_of(app.db(), ids).await
}

/// Distinct reply authors of thread roots the caller already read (DataLoader backend): one statement.
///
/// # Errors
/// `Internal` on database failure.
pub async fn thread_participants(app: &AppCtx, roots: &[MessageId]) -> Result<HashMap<MessageId, Vec<UserId>>> {
    let mut out: HashMap<MessageId, Vec<UserId>> = HashMap::new();
    if roots.is_empty() {
        return Ok(out);
    }
    // One row per (thread, participant), not per reply: a long thread costs no more than its people.
    let backend = app.db().get_database_backend();
    let placeholders: Vec<String> = (1..=roots.len()).map(|i| format!("${i}")).collect();
    let sql = format!(
        "SELECT thread_root_id, author_id, MIN(seq) AS first_seq FROM messages WHERE thread_root_id IN ({}) \
         GROUP BY thread_root_id, author_id ORDER BY first_seq",
        placeholders.join(", ")
    );
    let values: Vec<sea_orm::Value> = roots.iter().map(|r| sea_orm::Value::from(r.0)).collect();
    for row in app.db().query_all_raw(stmt(backend, &sql, values)).await? {
        let root: uuid::Uuid = row.try_get_by_index(0)?;
        let author: uuid::Uuid = row.try_get_by_index(1)?;
        out.entry(MessageId(root)).or_default().push(UserId(author));
    }
    Ok(out)
}

/// Search hits, newest first, with an opaque cursor (the last hit's id).
#[derive(Debug, Clone)]
pub struct SearchPage {
    pub items: Vec<Message>,
    pub has_next_page: bool,
}

fn search_terms(raw: &str) -> Result<Vec<String>> {
    let terms: Vec<String> =
        raw.split(|c: char| !c.is_alphanumeric()).filter(|t| !t.is_empty()).take(16).map(str::to_lowercase).collect();
    if terms.is_empty() || raw.len() > 500 {
        return Err(DomainError::invalid("query", "1 to 500 characters with at least one word"));
    }
    Ok(terms)
}

/// Full-text search over the messages of channels the actor can read in `workspace`
/// (Postgres: GIN over `to_tsvector('simple', body)`; SQLite: FTS5). Every word must match.
///
/// # Errors
/// `NOT_FOUND` (not a member), `BAD_USER_INPUT` (query).
pub async fn search(
    app: &AppCtx,
    actor: &Actor,
    workspace: WorkspaceId,
    query: &str,
    first: Option<u64>,
    after: Option<MessageId>,
) -> Result<SearchPage> {
    let user = actor.user_id()?;
    require_permission(app.db(), actor, workspace, Permission::ViewWorkspace).await?;
    let terms = search_terms(query)?;
    let limit = first.unwrap_or(20).clamp(1, MAX_PAGE);
    let backend = app.db().get_database_backend();
    let (matcher, join, needle) = if backend == sea_orm::DbBackend::Postgres {
        ("to_tsvector('simple', m.body) @@ to_tsquery('simple', $3)", "", terms.join(" & "))
    } else {
        let quoted: Vec<String> = terms.iter().map(|t| format!("\"{}\"", t.replace('"', "\"\""))).collect();
        ("messages_fts MATCH $3", "JOIN messages_fts ON messages_fts.rowid = m.rowid", quoted.join(" "))
    };
    let sql = format!(
        "SELECT m.* FROM messages m {join} JOIN channels c ON c.id = m.channel_id \
         LEFT JOIN channel_members cm ON cm.channel_id = c.id AND cm.user_id = $2 \
         WHERE c.workspace_id = $1 AND (c.kind = 'public' OR cm.id IS NOT NULL) AND m.deleted_at IS NULL \
         AND {matcher} AND ($4 IS NULL OR m.id < $4) ORDER BY m.id DESC LIMIT $5"
    );
    let values: Vec<sea_orm::Value> = vec![
        workspace.0.into(),
        user.0.into(),
        needle.into(),
        after.map(|a| a.0).into(),
        i64::try_from(limit + 1).unwrap_or(i64::MAX).into(),
    ];
    let rows = app.db().query_all_raw(stmt(backend, &sql, values)).await?;
    let mut items = rows
        .iter()
        .map(|row| messages::Model::from_query_result(row, "").map(Message::from))
        .collect::<Result<Vec<_>, _>>()?;
    let has_next_page = items.len() as u64 > limit;
    items.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
    Ok(SearchPage { items, has_next_page })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn search_terms_are_words_only() {
        assert_eq!(
            search_terms("Boiler, \"broken\" AND-NOT*").ok(),
            Some(vec!["boiler".into(), "broken".into(), "and".into(), "not".into()])
        );
        assert!(search_terms("  *** ").is_err());
    }
}
