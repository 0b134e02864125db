//! Message reads: history pages by sequence number in both directions, thread replies, one
//! message, and the batch reads (reactions, thread participants) behind the schema's DataLoaders.
//! A page and everything it points at cost a fixed number of statements, whatever its size.
//! Search lives in `search.rs`; nothing here writes.

use std::collections::HashMap;

use sea_orm::{ColumnTrait, ConnectionTrait as _, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use stoa_entities::messages;

use crate::actor::Actor;
use crate::app::AppCtx;
use crate::chat::model::{Channel, Message, ReactionSummary};
use crate::chat::store::{self, stmt};
use crate::error::Result;
use crate::ids::{ChannelId, MessageId, UserId};
use crate::pagination;

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
    let limit = pagination::limit(if forward { w.first } else { w.last }, DEFAULT_PAGE);
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
