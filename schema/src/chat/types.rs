//! Chat types; each wraps a domain read model.

use async_graphql::connection::{Connection, Edge, EmptyFields};
use async_graphql::{Context, Enum, ID, Object, SimpleObject};
use chrono::{DateTime, Utc};
use stoa_domain::chat::{self, AuthorCard, ReactionSummary};
use stoa_domain::identity::UserCard;
use stoa_domain::ids::UserId;

use crate::chat::loaders::{ReactionsLoader, ThreadParticipantsLoader, UnreadLoader};
use crate::context::{ContextExt as _, loader};
use crate::error::Result;
use crate::identity::User;
use crate::pagination;
use crate::workspaces::load_user;

/// What a channel is for.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
pub enum ChannelKind {
    /// Every workspace member may read and join.
    Public,
    /// Members only, by invitation.
    Private,
    /// A direct conversation between a fixed set of people.
    Direct,
    /// A helpdesk ticket's conversation.
    Ticket,
    /// A voice room's text side.
    Voice,
}

impl From<chat::ChannelKind> for ChannelKind {
    fn from(k: chat::ChannelKind) -> Self {
        match k {
            chat::ChannelKind::Public => Self::Public,
            chat::ChannelKind::Private => Self::Private,
            chat::ChannelKind::Direct => Self::Direct,
            chat::ChannelKind::Ticket => Self::Ticket,
            chat::ChannelKind::Voice => Self::Voice,
        }
    }
}

/// The relations a page's selection reads (under `edges.node` or `nodes`): only those are queried.
fn wanted(ctx: &Context<'_>) -> chat::Wanted {
    let look = ctx.look_ahead();
    let (edge, node) = (look.field("edges").field("node"), look.field("nodes"));
    let any = |name: &str| edge.field(name).exists() || node.field(name).exists();
    let reactors = edge.field("reactions").field("users").exists() || node.field("reactions").field("users").exists();
    chat::Wanted {
        reactions: any("reactions"),
        participants: any("threadParticipants"),
        attachments: any("attachments"),
        users: any("author") || any("threadParticipants") || reactors,
    }
}

/// A page of messages as a Relay connection; cursors are sequence numbers.
pub type MessageConnection = Connection<String, Message, EmptyFields, EmptyFields>;

pub fn connection(page: chat::SeqPage) -> MessageConnection {
    let mut c = Connection::new(page.has_previous_page, page.has_next_page);
    let related = std::sync::Arc::new(page.related);
    c.edges.extend(page.items.into_iter().map(|m| {
        Edge::new(
            m.seq.to_string(),
            Message { inner: m, author: None, reactions: None, related: Some(related.clone()) },
        )
    }));
    c
}

/// A channel as the viewer sees it.
pub struct Channel(pub chat::Channel);

/// A channel as the viewer sees it.
#[Object]
impl Channel {
    /// The channel's ID.
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    /// Its workspace.
    async fn workspace_id(&self) -> ID {
        ID(self.0.workspace_id.to_string())
    }
    /// What it is for.
    async fn kind(&self) -> ChannelKind {
        self.0.kind.into()
    }
    /// Name (absent for direct channels).
    async fn name(&self) -> Option<&str> {
        self.0.name.as_deref()
    }
    /// Topic line.
    async fn topic(&self) -> Option<&str> {
        self.0.topic.as_deref()
    }
    /// What the channel is for.
    async fn purpose(&self) -> Option<&str> {
        self.0.purpose.as_deref()
    }
    /// Archived channels are read-only.
    async fn archived(&self) -> bool {
        self.0.archived
    }
    /// When it was created.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    /// The sequence number of the channel's latest event.
    async fn last_seq(&self) -> i64 {
        self.0.last_seq
    }
    /// Whether the viewer is a member.
    async fn is_member(&self) -> bool {
        self.0.my_last_read_seq.is_some()
    }
    /// The viewer's read mark (absent when not a member).
    async fn last_read_seq(&self) -> Option<i64> {
        self.0.my_last_read_seq
    }
    /// Top-level messages by others after the viewer's read mark.
    async fn unread_count(&self, ctx: &Context<'_>) -> Result<i64> {
        Ok(loader::<UnreadLoader>(ctx)?.load_one(self.0.id).await?.map_or(0, |c| c.unread))
    }
    /// Mentions of the viewer after the read mark.
    async fn mention_count(&self, ctx: &Context<'_>) -> Result<i64> {
        Ok(loader::<UnreadLoader>(ctx)?.load_one(self.0.id).await?.map_or(0, |c| c.mentions))
    }
    /// Top-level messages, oldest first within a page. `last`/`before` page back in time,
    /// `first`/`after` forward; with neither, the newest 50.
    #[graphql(complexity = "pagination::cost(first.or(last), 50, child_complexity)")]
    async fn messages(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "At most this many, read forward from the oldest or from `after` (default 50, at most 100).")]
        first: Option<i32>,
        #[graphql(desc = "Only messages after this cursor (a message's `seq`).")] after: Option<String>,
        #[graphql(desc = "At most this many, read back from the newest or from `before` (default 50, at most 100).")]
        last: Option<i32>,
        #[graphql(desc = "Only messages before this cursor (a message's `seq`).")] before: Option<String>,
    ) -> Result<MessageConnection> {
        let w = pagination::seq_window(first, after, last, before)?;
        Ok(connection(chat::channel_history(ctx.app()?, &self.0, w, wanted(ctx)).await?))
    }
}

/// One emoji's reactions on a message.
pub struct Reaction {
    summary: ReactionSummary,
    me: Option<UserId>,
    related: Option<std::sync::Arc<chat::Related>>,
}

/// One emoji's reactions on a message.
#[Object]
impl Reaction {
    /// The emoji.
    async fn emoji(&self) -> &str {
        &self.summary.emoji
    }
    /// How many people reacted with it.
    async fn count(&self) -> usize {
        self.summary.user_ids.len()
    }
    /// Whether the viewer is one of them.
    async fn reacted_by_me(&self) -> bool {
        self.me.is_some_and(|me| self.summary.user_ids.contains(&me))
    }
    /// Who reacted, oldest first.
    async fn users(&self, ctx: &Context<'_>) -> Result<Vec<User>> {
        if let Some(related) = &self.related {
            return Ok(self
                .summary
                .user_ids
                .iter()
                .filter_map(|id| related.users.get(id).cloned().map(User))
                .collect());
        }
        let loader = loader::<crate::identity::UserCards>(ctx)?;
        let cards = loader.load_many(self.summary.user_ids.iter().copied()).await?;
        Ok(self.summary.user_ids.iter().filter_map(|id| cards.get(id).cloned().map(User)).collect())
    }
}

/// A chat message. Deleted messages keep their place with an empty body.
pub struct Message {
    inner: chat::Message,
    author: Option<AuthorCard>,
    reactions: Option<Vec<ReactionSummary>>,
    /// Relations read with the page this message came in.
    related: Option<std::sync::Arc<chat::Related>>,
}

impl Message {
    /// A message read from the database: relations come from loaders.
    pub fn loaded(inner: chat::Message) -> Self {
        Self { inner, author: None, reactions: None, related: None }
    }

    /// A message from an event payload: author and reactions travel with it.
    pub fn snapshot(s: chat::MessageSnapshot) -> Self {
        Self { inner: s.message, author: Some(s.author), reactions: Some(s.reactions), related: None }
    }
}

/// A chat message. Deleted messages keep their place with an empty body.
#[Object]
impl Message {
    /// The message's ID.
    async fn id(&self) -> ID {
        ID(self.inner.id.to_string())
    }
    /// Its channel.
    async fn channel_id(&self) -> ID {
        ID(self.inner.channel_id.to_string())
    }
    /// Its sequence number in the channel (increasing, the cursor of history and `after`).
    async fn seq(&self) -> i64 {
        self.inner.seq
    }
    /// Who wrote it.
    async fn author(&self, ctx: &Context<'_>) -> Result<Option<User>> {
        if let Some(card) = &self.author {
            return Ok(Some(User(UserCard {
                id: card.id,
                display_name: card.display_name.clone(),
                status_text: None,
                status_emoji: None,
            })));
        }
        if let Some(related) = &self.related {
            return Ok(related.users.get(&self.inner.author_id).cloned().map(User));
        }
        load_user(ctx, self.inner.author_id).await
    }
    /// Text; `<@userId>` mentions a person and `@channel` everyone. Empty when deleted.
    async fn body(&self) -> &str {
        &self.inner.body
    }
    /// The thread this reply belongs to.
    async fn thread_root_id(&self) -> Option<ID> {
        self.inner.thread_root_id.map(|id| ID(id.to_string()))
    }
    /// Replies in this message's thread.
    async fn reply_count(&self) -> i32 {
        self.inner.reply_count
    }
    /// When the last reply came.
    async fn last_reply_at(&self) -> Option<DateTime<Utc>> {
        self.inner.last_reply_at
    }
    /// Distinct authors of the thread's replies, in order of first reply.
    async fn thread_participants(&self, ctx: &Context<'_>) -> Result<Vec<User>> {
        if self.inner.reply_count == 0 {
            return Ok(Vec::new());
        }
        if let Some(related) = &self.related {
            let ids = related.participants.get(&self.inner.id).cloned().unwrap_or_default();
            return Ok(ids.iter().filter_map(|id| related.users.get(id).cloned().map(User)).collect());
        }
        let ids = loader::<ThreadParticipantsLoader>(ctx)?.load_one(self.inner.id).await?.unwrap_or_default();
        let cards = loader::<crate::identity::UserCards>(ctx)?.load_many(ids.iter().copied()).await?;
        Ok(ids.iter().filter_map(|id| cards.get(id).cloned().map(User)).collect())
    }
    /// Replies, oldest first.
    #[graphql(complexity = "pagination::cost(first, 50, child_complexity)")]
    async fn replies(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Return at most this many replies (default 50, at most 100).")] first: Option<i32>,
        #[graphql(desc = "Only replies after this cursor (a reply's `seq`).")] after: Option<String>,
    ) -> Result<MessageConnection> {
        let w = pagination::seq_window(Some(first.unwrap_or(50)), after, None, None)?;
        Ok(connection(chat::thread(ctx.app()?, ctx.actor()?, self.inner.id, w, wanted(ctx)).await?))
    }
    /// When it was posted.
    async fn created_at(&self) -> DateTime<Utc> {
        self.inner.created_at
    }
    /// When it was last edited.
    async fn edited_at(&self) -> Option<DateTime<Utc>> {
        self.inner.edited_at
    }
    /// Whether it was deleted (the body is then empty).
    async fn deleted(&self) -> bool {
        self.inner.deleted_at.is_some()
    }
    /// Whether it is pinned.
    async fn pinned(&self) -> bool {
        self.inner.pinned_at.is_some()
    }
    /// Files attached to the message.
    async fn attachments(&self, ctx: &Context<'_>) -> Result<Vec<crate::files::Attachment>> {
        let list = match &self.related {
            Some(related) => related.attachments.get(&self.inner.id).cloned().unwrap_or_default(),
            None => loader::<crate::files::AttachmentsLoader>(ctx)?.load_one(self.inner.id).await?.unwrap_or_default(),
        };
        Ok(list.into_iter().map(crate::files::Attachment).collect())
    }
    /// Reactions grouped by emoji.
    async fn reactions(&self, ctx: &Context<'_>) -> Result<Vec<Reaction>> {
        let me = ctx.actor().ok().and_then(|a| a.user_id().ok());
        let list = match (&self.reactions, &self.related) {
            (Some(list), _) => list.clone(),
            (None, Some(related)) => related.reactions.get(&self.inner.id).cloned().unwrap_or_default(),
            (None, None) => loader::<ReactionsLoader>(ctx)?.load_one(self.inner.id).await?.unwrap_or_default(),
        };
        let related = self.related.clone();
        Ok(list.into_iter().map(|summary| Reaction { summary, me, related: related.clone() }).collect())
    }
}

/// What happened to a message.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
pub enum ChannelEventKind {
    /// A new message or reply.
    Posted,
    /// The body changed.
    Edited,
    /// It was deleted.
    Deleted,
    /// A reaction was added or removed.
    ReactionChanged,
    /// It was pinned.
    Pinned,
    /// It was unpinned.
    Unpinned,
}

impl From<chat::ChatEventKind> for ChannelEventKind {
    fn from(k: chat::ChatEventKind) -> Self {
        match k {
            chat::ChatEventKind::Posted => Self::Posted,
            chat::ChatEventKind::Edited => Self::Edited,
            chat::ChatEventKind::Deleted => Self::Deleted,
            chat::ChatEventKind::ReactionChanged => Self::ReactionChanged,
            chat::ChatEventKind::Pinned => Self::Pinned,
            chat::ChatEventKind::Unpinned => Self::Unpinned,
        }
    }
}

/// One numbered event of a channel.
pub struct ChannelEvent(pub std::sync::Arc<chat::ChatEvent>);

/// One numbered event of a channel.
#[Object]
impl ChannelEvent {
    /// The channel's sequence number for this event; pass the last one seen as `after` to resume.
    async fn seq(&self) -> i64 {
        self.0.seq
    }
    /// What happened.
    async fn kind(&self) -> ChannelEventKind {
        self.0.kind.into()
    }
    /// The message. Live, as it is at the event's commit; replayed (with `after`, or to fill a
    /// gap), as it is now: an edited message with its current text, a deleted one as a tombstone.
    /// Text its author replaced or deleted never comes back.
    async fn message(&self) -> Message {
        Message::snapshot(self.0.snapshot.clone())
    }
}

/// A stored notification.
pub struct Notification(pub chat::Notification);

/// A stored notification.
#[Object]
impl Notification {
    /// The notification's ID.
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    /// `mention`, `channel_mention` or `direct_message`.
    async fn kind(&self) -> &str {
        &self.0.kind
    }
    /// The workspace it happened in.
    async fn workspace_id(&self) -> ID {
        ID(self.0.workspace_id.to_string())
    }
    /// The channel.
    async fn channel_id(&self) -> Option<ID> {
        self.0.channel_id.map(|id| ID(id.to_string()))
    }
    /// The message.
    async fn message_id(&self) -> Option<ID> {
        self.0.message_id.map(|id| ID(id.to_string()))
    }
    /// Who caused it.
    async fn actor(&self, ctx: &Context<'_>) -> Result<Option<User>> {
        match self.0.actor_id {
            Some(id) => load_user(ctx, id).await,
            None => Ok(None),
        }
    }
    /// The first 140 characters of the message.
    async fn preview(&self) -> &str {
        &self.0.preview
    }
    /// When it was created.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    /// Whether it was read.
    async fn read(&self) -> bool {
        self.0.read_at.is_some()
    }
}

/// Presence status.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
pub enum PresenceStatus {
    /// Has a live connection.
    Online,
    /// Connected but marked away.
    Away,
    /// No live connection.
    Offline,
}

impl From<chat::PresenceStatus> for PresenceStatus {
    fn from(s: chat::PresenceStatus) -> Self {
        match s {
            chat::PresenceStatus::Online => Self::Online,
            chat::PresenceStatus::Away => Self::Away,
            chat::PresenceStatus::Offline => Self::Offline,
        }
    }
}

/// A member's presence and custom status.
#[derive(SimpleObject)]
pub struct Presence {
    /// The member.
    pub user_id: ID,
    /// Online, away or offline.
    pub status: PresenceStatus,
    /// Custom status text.
    pub status_text: Option<String>,
    /// Custom status emoji.
    pub status_emoji: Option<String>,
}

impl From<chat::presence::Presence> for Presence {
    fn from(p: chat::presence::Presence) -> Self {
        Self {
            user_id: ID(p.user_id.to_string()),
            status: p.status.into(),
            status_text: p.status_text,
            status_emoji: p.status_emoji,
        }
    }
}

/// Someone started or stopped typing.
#[derive(SimpleObject)]
pub struct TypingEvent {
    /// Who.
    pub user_id: ID,
    /// Their display name.
    pub display_name: String,
    /// True while typing; false when they stopped or ~5 s passed without a refresh.
    pub typing: bool,
}

impl From<chat::TypingChange> for TypingEvent {
    fn from(t: chat::TypingChange) -> Self {
        Self { user_id: ID(t.user_id.to_string()), display_name: t.display_name, typing: t.typing }
    }
}
