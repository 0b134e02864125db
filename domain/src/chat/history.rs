//! Message reads: history pages by sequence number in both directions, thread replies, one
//! message, and the batch reads (reactions, thread participants) behind the schema's DataLoaders.
//! A page and everything it points at cost a fixed number of statements, whatever its size.
//! Search lives in `search.rs`; nothing here writes.

use std::collections::HashMap;
use std::fmt::Write as _;

use sea_orm::{ConnectionTrait, DatabaseExecutor, DbBackend};

use crate::actor::Actor;
use crate::app::AppCtx;
use crate::chat::model::{Channel, Message, ReactionSummary};
use crate::chat::store::{self, CARD_COLUMNS, NO_CARD, card_at, stmt};
use crate::error::Result;
use crate::identity::UserCard;
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
    pub users: HashMap<UserId, UserCard>,
    pub reactions: HashMap<MessageId, Vec<ReactionSummary>>,
    pub participants: HashMap<MessageId, Vec<UserId>>,
    pub attachments: HashMap<MessageId, Vec<crate::files::Attachment>>,
}

/// Loads the wanted relations of `items` on the page's connection: at most three statements,
/// whatever the page size. User cards come joined to the rows that point at them (authors with the
/// page, reactors with the reactions, participants with the threads), not in a statement of their own.
async fn related(db: &impl ConnectionTrait, items: &[Message], wanted: Wanted) -> Result<Related> {
    let ids: Vec<MessageId> = items.iter().map(|m| m.id).collect();
    let mut related = Related::default();
    if ids.is_empty() {
        return Ok(related);
    }
    if wanted.reactions {
        related.reactions = store::reactions_of_with(db, &ids, wanted.users.then_some(&mut related.users)).await?;
    }
    if wanted.participants {
        related.participants = participants_of(db, &ids, wanted.users.then_some(&mut related.users)).await?;
    }
    if wanted.attachments {
        related.attachments = crate::files::attachments_on(db, &ids).await?;
    }
    Ok(related)
}

/// Distinct reply authors of the threads of `roots`, in order of first reply; with `cards`, their
/// user cards go there.
async fn participants_of(
    db: &impl ConnectionTrait,
    roots: &[MessageId],
    mut cards: Option<&mut HashMap<UserId, UserCard>>,
) -> Result<HashMap<MessageId, Vec<UserId>>> {
    let mut out: HashMap<MessageId, Vec<UserId>> = HashMap::new();
    if roots.is_empty() {
        return Ok(out);
    }
    let (columns, join) =
        if cards.is_some() { (CARD_COLUMNS, "LEFT JOIN users u ON u.id = t.author_id") } else { (NO_CARD, "") };
    // One row per (thread, participant), not per reply: a long thread costs no more than its people.
    let backend = db.get_database_backend();
    let (filter, values) = store::one_of(backend, "thread_root_id", 1, roots.iter().map(|r| r.0).collect());
    let sql = format!(
        "SELECT t.thread_root_id, t.author_id, {columns} FROM \
         (SELECT thread_root_id, author_id, MIN(seq) AS first_seq FROM messages \
          WHERE {filter} GROUP BY thread_root_id, author_id) t \
         {join} ORDER BY t.first_seq"
    );
    for row in db.query_all_raw(stmt(backend, &sql, values)).await? {
        let root = MessageId(row.try_get_by_index(0)?);
        let author = UserId(row.try_get_by_index(1)?);
        if let Some(cards) = cards.as_deref_mut()
            && let Some(card) = card_at(&row, 2)?
        {
            cards.entry(card.id).or_insert(card);
        }
        out.entry(root).or_default().push(author);
    }
    Ok(out)
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

/// Which messages a window is taken from.
#[derive(Debug, Clone, Copy)]
enum Scope {
    /// A channel's top-level messages.
    Channel(ChannelId),
    /// A thread's replies.
    Thread(MessageId),
}

/// The message columns in the order [`message_at`] decodes them.
const MESSAGE_COLUMNS: &str = "m.id, m.channel_id, m.seq, m.author_id, m.body, m.thread_root_id, m.reply_count, \
     m.last_reply_at, m.created_at, m.edited_at, m.deleted_at, m.pinned_at, m.pinned_by";

/// Columns of [`MESSAGE_COLUMNS`]: an author's card follows them.
const MESSAGE_COLUMN_COUNT: usize = 13;

/// A message from the first columns of `row` ([`MESSAGE_COLUMNS`]), by index, as the row model
/// turns into one (a deleted message's body stays empty).
fn message_at(row: &sea_orm::QueryResult) -> Result<Message> {
    Ok(stoa_entities::messages::Model {
        id: row.try_get_by_index(0)?,
        channel_id: row.try_get_by_index(1)?,
        seq: row.try_get_by_index(2)?,
        author_id: row.try_get_by_index(3)?,
        body: row.try_get_by_index(4)?,
        thread_root_id: row.try_get_by_index(5)?,
        reply_count: row.try_get_by_index(6)?,
        last_reply_at: row.try_get_by_index(7)?,
        created_at: row.try_get_by_index(8)?,
        edited_at: row.try_get_by_index(9)?,
        deleted_at: row.try_get_by_index(10)?,
        pinned_at: row.try_get_by_index(11)?,
        pinned_by: row.try_get_by_index(12)?,
    }
    .into())
}

/// Runs a page's reads. On SQLite: on one connection of the read pool, in one read transaction,
/// so also one snapshot (a page's reactions and threads match its messages). On Postgres: on the
/// pool, statement by statement. Pinning one connection there takes a transaction, whose `BEGIN`
/// and `COMMIT` cost two more round trips than the connection releases they save (measured: 626
/// against 709 pages/s), and under `READ COMMITTED` it would not even be one snapshot.
async fn on_reader<T>(app: &AppCtx, read: impl AsyncFnOnce(&DatabaseExecutor<'_>) -> Result<T>) -> Result<T> {
    if app.reads().get_database_backend() == DbBackend::Postgres {
        return read(&DatabaseExecutor::Connection(app.reads())).await;
    }
    let txn = app.read_snapshot().await?;
    let out = read(&DatabaseExecutor::Transaction(&txn)).await?;
    txn.commit().await?;
    Ok(out)
}

/// One window and its wanted relations.
async fn window(app: &AppCtx, scope: Scope, w: SeqWindow, wanted: Wanted) -> Result<SeqPage> {
    on_reader(app, async |db| window_on(db, scope, w, wanted).await).await
}

async fn window_on(db: &impl ConnectionTrait, scope: Scope, w: SeqWindow, wanted: Wanted) -> Result<SeqPage> {
    let forward = w.first.is_some() || (w.after.is_some() && w.last.is_none());
    let limit = pagination::limit(if forward { w.first } else { w.last }, DEFAULT_PAGE);
    let mut values: Vec<sea_orm::Value> = Vec::with_capacity(4);
    let mut filter = match scope {
        Scope::Channel(id) => {
            values.push(id.0.into());
            "m.channel_id = $1 AND m.thread_root_id IS NULL".to_owned()
        }
        Scope::Thread(root) => {
            values.push(root.0.into());
            "m.thread_root_id = $1".to_owned()
        }
    };
    if let Some(after) = w.after {
        values.push(after.into());
        let _ = write!(filter, " AND m.seq > ${}", values.len());
    }
    if let Some(before) = w.before {
        values.push(before.into());
        let _ = write!(filter, " AND m.seq < ${}", values.len());
    }
    values.push(i64::try_from(limit + 1).unwrap_or(i64::MAX).into());
    // Authors come with their messages when the selection reads any user card.
    let (author, join) =
        if wanted.users { (CARD_COLUMNS, "LEFT JOIN users u ON u.id = m.author_id") } else { (NO_CARD, "") };
    let sql = format!(
        "SELECT {MESSAGE_COLUMNS}, {author} FROM messages m {join} WHERE {filter} ORDER BY m.seq {} LIMIT ${}",
        if forward { "ASC" } else { "DESC" },
        values.len()
    );
    let rows = db.query_all_raw(stmt(db.get_database_backend(), &sql, values)).await?;
    let more = rows.len() as u64 > limit;
    let mut items = Vec::with_capacity(rows.len());
    let mut authors = HashMap::new();
    for row in rows.iter().take(usize::try_from(limit).unwrap_or(usize::MAX)) {
        items.push(message_at(row)?);
        if let Some(card) = card_at(row, MESSAGE_COLUMN_COUNT)? {
            authors.entry(card.id).or_insert(card);
        }
    }
    if !forward {
        items.reverse();
    }
    let mut related = related(db, &items, wanted).await?;
    related.users.extend(authors);
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
    on_reader(app, async |db| {
        store::readable(db, actor, id).await?;
        window_on(db, Scope::Channel(id), w, wanted).await
    })
    .await
}

/// A page of a channel already read for this viewer: the [`Channel`] is the proof of the
/// visibility check (only this crate builds one, after that check), so none is repeated.
///
/// # Errors
/// `Internal` on database failure.
pub async fn channel_history(app: &AppCtx, channel: &Channel, w: SeqWindow, wanted: Wanted) -> Result<SeqPage> {
    window(app, Scope::Channel(channel.id), w, wanted).await
}

/// A page of a thread's replies.
///
/// # Errors
/// `NOT_FOUND`.
pub async fn thread(app: &AppCtx, actor: &Actor, root: MessageId, w: SeqWindow, wanted: Wanted) -> Result<SeqPage> {
    on_reader(app, async |db| {
        store::readable_message(db, actor, root).await?;
        window_on(db, Scope::Thread(root), w, wanted).await
    })
    .await
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
    participants_of(app.db(), roots, None).await
}
