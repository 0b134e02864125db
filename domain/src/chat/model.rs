//! Read models of chat. Event payloads reuse them, so they are serializable.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::ids::{ChannelId, MessageId, NotificationId, UserId, WorkspaceId};

/// What a channel is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChannelKind {
    /// Every workspace member may read and join.
    Public,
    /// Only members, who are invited.
    Private,
    /// A direct conversation between a fixed set of people.
    Direct,
    /// The conversation of a helpdesk ticket.
    Ticket,
    /// A voice room's text side.
    Voice,
}

impl ChannelKind {
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Public => "public",
            Self::Private => "private",
            Self::Direct => "direct",
            Self::Ticket => "ticket",
            Self::Voice => "voice",
        }
    }

    #[must_use]
    pub fn parse(s: &str) -> Option<Self> {
        [Self::Public, Self::Private, Self::Direct, Self::Ticket, Self::Voice].into_iter().find(|k| k.as_str() == s)
    }
}

/// A channel as one viewer sees it. Only this crate builds one, and only after checking that the
/// viewer may read it: holding one is proof of that check (see [`crate::chat::channel_history`]).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Channel {
    pub id: ChannelId,
    pub workspace_id: WorkspaceId,
    pub kind: ChannelKind,
    pub name: Option<String>,
    pub topic: Option<String>,
    /// What the channel is for.
    pub purpose: Option<String>,
    pub last_seq: i64,
    pub created_by: UserId,
    pub created_at: DateTime<Utc>,
    pub archived: bool,
    /// The viewer's membership: `Some(last_read_seq)` when a member.
    pub my_last_read_seq: Option<i64>,
}

/// The author as shown beside a message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthorCard {
    pub id: UserId,
    pub display_name: String,
}

/// One emoji's reactions on a message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReactionSummary {
    pub emoji: String,
    /// Who reacted, oldest first.
    pub user_ids: Vec<UserId>,
}

/// A message as everyone who may read the channel sees it. Deleted messages keep their place with
/// an empty body (a tombstone).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Message {
    pub id: MessageId,
    pub channel_id: ChannelId,
    pub seq: i64,
    pub author_id: UserId,
    pub body: String,
    pub thread_root_id: Option<MessageId>,
    pub reply_count: i32,
    pub last_reply_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub edited_at: Option<DateTime<Utc>>,
    pub deleted_at: Option<DateTime<Utc>>,
    pub pinned_at: Option<DateTime<Utc>>,
}

impl From<stoa_entities::messages::Model> for Message {
    fn from(m: stoa_entities::messages::Model) -> Self {
        Self {
            id: m.id.into(),
            channel_id: m.channel_id.into(),
            seq: m.seq,
            author_id: m.author_id.into(),
            // Deleting empties the row's body; a tombstone shows none even if a row still had one.
            body: if m.deleted_at.is_some() { String::new() } else { m.body },
            thread_root_id: m.thread_root_id.map(MessageId),
            reply_count: m.reply_count,
            last_reply_at: m.last_reply_at,
            created_at: m.created_at,
            edited_at: m.edited_at,
            deleted_at: m.deleted_at,
            pinned_at: m.pinned_at,
        }
    }
}

/// A message with everything a subscriber renders, so fan-out needs no query.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessageSnapshot {
    pub message: Message,
    pub author: AuthorCard,
    pub reactions: Vec<ReactionSummary>,
}

/// What happened to a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChatEventKind {
    Posted,
    Edited,
    Deleted,
    ReactionChanged,
    Pinned,
    Unpinned,
}

impl ChatEventKind {
    const ALL: [Self; 6] =
        [Self::Posted, Self::Edited, Self::Deleted, Self::ReactionChanged, Self::Pinned, Self::Unpinned];

    /// The name stored in `channel_events.kind` (the same as its serde name).
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Posted => "posted",
            Self::Edited => "edited",
            Self::Deleted => "deleted",
            Self::ReactionChanged => "reaction_changed",
            Self::Pinned => "pinned",
            Self::Unpinned => "unpinned",
        }
    }

    #[must_use]
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// One numbered event of a channel, as published on its topic and replayed. `channel_events` stores
/// only its number, kind and message: a replayed event carries the message as it is now (an edited
/// message with its current text, a deleted one as a tombstone), never a stored copy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChatEvent {
    pub channel_id: ChannelId,
    pub seq: i64,
    pub kind: ChatEventKind,
    pub snapshot: MessageSnapshot,
}

/// A stored notification.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Notification {
    pub id: NotificationId,
    pub user_id: UserId,
    pub workspace_id: WorkspaceId,
    /// `mention`, `channel_mention` or `direct_message`.
    pub kind: String,
    pub channel_id: Option<ChannelId>,
    pub message_id: Option<MessageId>,
    pub actor_id: Option<UserId>,
    pub preview: String,
    pub created_at: DateTime<Utc>,
    pub read_at: Option<DateTime<Utc>>,
}

impl From<stoa_entities::notifications::Model> for Notification {
    fn from(m: stoa_entities::notifications::Model) -> Self {
        Self {
            id: m.id.into(),
            user_id: m.user_id.into(),
            workspace_id: m.workspace_id.into(),
            kind: m.kind,
            channel_id: m.channel_id.map(ChannelId),
            message_id: m.message_id.map(MessageId),
            actor_id: m.actor_id.map(UserId),
            preview: m.preview,
            created_at: m.created_at,
            read_at: m.read_at,
        }
    }
}

/// A channel's unread state for one viewer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct UnreadCounts {
    /// Top-level messages by others after the viewer's read mark.
    pub unread: i64,
    /// Mentions of the viewer after the read mark.
    pub mentions: i64,
}

/// Presence of a user in a workspace.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PresenceStatus {
    Online,
    Away,
    Offline,
}

#[cfg(test)]
mod tests {
    use super::ChatEventKind;

    #[test]
    fn event_kinds_are_stored_under_their_serde_names() {
        for kind in ChatEventKind::ALL {
            assert_eq!(serde_json::to_value(kind).ok(), Some(serde_json::Value::from(kind.as_str())));
            assert_eq!(ChatEventKind::parse(kind.as_str()), Some(kind));
        }
        assert_eq!(ChatEventKind::parse("nonsense"), None);
    }
}
