//! Facts the domain announces after commit, and the topics subscribers listen on.

use serde::{Deserialize, Serialize};

use crate::authz::Role;
use crate::chat::{ChatEvent, Notification, PresenceStatus};
use crate::ids::{ChannelId, DepartmentId, SessionFamilyId, TicketId, UserId, WorkspaceId};

/// Where an event is delivered. Each maps to one bus channel name.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", content = "id")]
pub enum Topic {
    /// Everything about one user: notifications, membership changes.
    User(UserId),
    /// Workspace-wide facts: members, presence.
    Workspace(WorkspaceId),
    /// One chat channel: messages, reactions, pins, typing, membership.
    Channel(ChannelId),
    /// Sessions that ended: every replica listens, to close their sockets and forget them.
    Sessions,
    /// One helpdesk ticket: its transitions and changes (`ticketEvents`).
    Ticket(TicketId),
    /// One department's ticket queue: admissions and positions (`ticketQueue`).
    Department(DepartmentId),
}

impl Topic {
    /// The stable string form used as a bus channel name (`user:<uuid>`).
    #[must_use]
    pub fn key(&self) -> String {
        match self {
            Self::User(id) => format!("user:{id}"),
            Self::Workspace(id) => format!("workspace:{id}"),
            Self::Channel(id) => format!("channel:{id}"),
            Self::Sessions => "sessions".to_owned(),
            Self::Ticket(id) => format!("ticket:{id}"),
            Self::Department(id) => format!("department:{id}"),
        }
    }
}

/// One past-tense variant per fact. Payloads carry what every authorized subscriber may see, so
/// fan-out needs no per-subscriber query.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum Event {
    /// A user joined a workspace (or was added).
    MemberAdded { workspace_id: WorkspaceId, user_id: UserId, role: Role },
    /// A user left or was removed from a workspace.
    MemberRemoved { workspace_id: WorkspaceId, user_id: UserId },
    /// A member's role changed.
    RoleChanged { workspace_id: WorkspaceId, user_id: UserId, role: Role },
    /// A member was timed out until `until`, or (`None`) the timeout was lifted.
    MemberTimedOut { workspace_id: WorkspaceId, user_id: UserId, until: Option<chrono::DateTime<chrono::Utc>> },
    /// Something happened to a message; carries the channel's sequence number. Shared, not
    /// copied, by every subscriber it reaches.
    Chat(std::sync::Arc<ChatEvent>),
    /// A user joined or was added to a channel.
    ChannelMemberAdded { channel_id: ChannelId, user_id: UserId },
    /// A channel's name, topic or purpose changed, or it was archived, unarchived or deleted.
    ChannelChanged(crate::chat::ChannelChange),
    /// A user left or was removed from a channel: their channel streams end at once.
    ChannelMemberRemoved { channel_id: ChannelId, user_id: UserId },
    /// A user started or stopped typing (ephemeral, never stored).
    TypingChanged { channel_id: ChannelId, user_id: UserId, display_name: String, typing: bool },
    /// A notification was stored for a user.
    NotificationCreated(Notification),
    /// A file's scan finished (clean, infected or failed).
    AttachmentScanned(crate::files::Attachment),
    /// A login's session family was revoked (logout, refresh-token reuse): its access tokens stop
    /// working and its sockets close.
    SessionRevoked { user_id: UserId, session: SessionFamilyId },
    /// Local only, never published: this replica's bus may have missed events of the topic (its
    /// upstream connection came back, or a subscriber lagged). Resumable streams read the
    /// database to fill the gap.
    Resync,
    /// A ticket was created, changed or moved through a transition. Shared by every subscriber.
    Ticket(std::sync::Arc<crate::tickets::TicketEvent>),
    /// A department's queue moved: a ticket was queued or admitted, or positions changed.
    TicketQueue(std::sync::Arc<crate::tickets::QueueEvent>),
    /// A user's presence or custom status in a workspace changed (ephemeral).
    PresenceChanged {
        workspace_id: WorkspaceId,
        user_id: UserId,
        status: PresenceStatus,
        status_text: Option<String>,
        status_emoji: Option<String>,
    },
}

impl Event {
    /// The topics this event is delivered to.
    #[must_use]
    pub fn topics(&self) -> Vec<Topic> {
        match self {
            Self::MemberAdded { workspace_id, user_id, .. }
            | Self::MemberRemoved { workspace_id, user_id }
            | Self::RoleChanged { workspace_id, user_id, .. }
            | Self::MemberTimedOut { workspace_id, user_id, .. } => {
                vec![Topic::Workspace(*workspace_id), Topic::User(*user_id)]
            }
            Self::Chat(event) => vec![Topic::Channel(event.channel_id)],
            Self::ChannelMemberAdded { channel_id, user_id } | Self::ChannelMemberRemoved { channel_id, user_id } => {
                vec![Topic::Channel(*channel_id), Topic::User(*user_id)]
            }
            Self::TypingChanged { channel_id, .. } => vec![Topic::Channel(*channel_id)],
            Self::ChannelChanged(change) => vec![Topic::Channel(change.channel_id)],
            Self::NotificationCreated(n) => vec![Topic::User(n.user_id)],
            Self::PresenceChanged { workspace_id, .. } => vec![Topic::Workspace(*workspace_id)],
            Self::AttachmentScanned(a) => vec![Topic::User(a.uploader_id)],
            Self::SessionRevoked { .. } => vec![Topic::Sessions],
            // A sub-ticket's moves reach its parent's followers as the parent's own
            // `SubticketChanged` event.
            Self::Ticket(event) => vec![Topic::Ticket(event.ticket_id)],
            Self::TicketQueue(event) => vec![Topic::Department(event.department_id)],
            Self::Resync => vec![],
        }
    }
}
