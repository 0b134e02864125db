//! Read models of the helpdesk: what the API shows of a ticket, and the events its streams carry.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::ids::{ChannelId, DepartmentId, TicketId, UserId, WorkspaceId};
use crate::tickets::transitions::{Action, State};

/// How urgent a ticket is; the queue admits higher first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Priority {
    Low,
    Normal,
    High,
    Urgent,
}

impl Priority {
    /// Every priority, lowest first.
    pub const ALL: [Self; 4] = [Self::Low, Self::Normal, Self::High, Self::Urgent];

    /// The database form.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Low => "low",
            Self::Normal => "normal",
            Self::High => "high",
            Self::Urgent => "urgent",
        }
    }

    /// The priority named `s`.
    #[must_use]
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.as_str() == s)
    }

    /// Queue order: higher first.
    #[must_use]
    pub const fn rank(self) -> i32 {
        match self {
            Self::Low => 0,
            Self::Normal => 1,
            Self::High => 2,
            Self::Urgent => 3,
        }
    }
}

/// How two tickets relate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum LinkKind {
    RelatesTo,
    /// A new ticket continuing one that may not be reopened again.
    FollowUpOf,
    DuplicateOf,
}

impl LinkKind {
    /// The database form.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::RelatesTo => "relates_to",
            Self::FollowUpOf => "follow_up_of",
            Self::DuplicateOf => "duplicate_of",
        }
    }

    /// The kind named `s`.
    #[must_use]
    pub fn parse(s: &str) -> Option<Self> {
        [Self::RelatesTo, Self::FollowUpOf, Self::DuplicateOf].into_iter().find(|k| k.as_str() == s)
    }
}

/// A ticket as one viewer sees it. Only `domain` builds one, after the visibility check, so a
/// `Ticket` value is proof the viewer may see it.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Ticket {
    pub id: TicketId,
    pub workspace_id: WorkspaceId,
    pub number: i64,
    pub title: String,
    pub description: String,
    pub priority: Priority,
    pub category: Option<String>,
    pub requester_id: UserId,
    pub department_id: DepartmentId,
    pub assignee_id: Option<UserId>,
    pub state: State,
    /// The reason of the last hold, cancellation or rejection.
    pub state_reason: Option<String>,
    pub hold_until: Option<DateTime<Utc>>,
    pub version: i64,
    pub reopen_count: i32,
    pub parent_id: Option<TicketId>,
    pub merged_into_id: Option<TicketId>,
    /// The conversation with the requester.
    pub channel_id: Option<ChannelId>,
    /// The agents' private notes: `None` for a viewer who is not staff.
    pub notes_channel_id: Option<ChannelId>,
    /// The last approval was rejected; it may be requested again.
    pub approval_rejected: bool,
    pub labels: Vec<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub resolved_at: Option<DateTime<Utc>>,
    pub closed_at: Option<DateTime<Utc>>,
    pub first_response_at: Option<DateTime<Utc>>,
    pub first_response_due_at: Option<DateTime<Utc>>,
    pub resolution_due_at: Option<DateTime<Utc>>,
    pub breached_at: Option<DateTime<Utc>>,
    /// 1-based place in the department's queue, while `queued`.
    pub queue_position: Option<i64>,
    /// What this viewer may fire now.
    pub available: Vec<Action>,
    /// Whether the viewer is staff here (agent of the department, moderator or above): staff see
    /// internal facts.
    pub viewer_is_staff: bool,
}

/// What happened to a ticket, as its stream tells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum TicketEventKind {
    Created,
    /// Moved through a transition (`from` → `to`).
    Transitioned,
    /// Fields changed (title, priority, department, labels, watchers, assignee).
    Updated,
    /// A sub-ticket changed (for the parent's followers; staff only).
    SubticketChanged,
    /// A message in the ticket's conversation (public).
    MessagePosted,
    /// A note in the agents' channel (internal: never sent to requesters).
    NoteAdded,
    /// The SLA will breach soon (staff only).
    SlaWarning,
    /// A target passed (staff only).
    SlaBreached,
}

impl TicketEventKind {
    /// Whether only staff may receive it.
    #[must_use]
    pub const fn internal(self) -> bool {
        matches!(self, Self::SubticketChanged | Self::NoteAdded | Self::SlaWarning | Self::SlaBreached)
    }
}

/// One fact about a ticket. Carries no text a requester may not read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TicketEvent {
    pub ticket_id: TicketId,
    /// The ticket's parent, for a sub-ticket: the event reaches the parent's topic too.
    pub parent_id: Option<TicketId>,
    pub workspace_id: WorkspaceId,
    pub kind: TicketEventKind,
    pub from: Option<State>,
    pub to: State,
    pub action: Option<Action>,
    pub version: i64,
    pub actor_id: Option<UserId>,
    pub at: DateTime<Utc>,
}

/// A move in a department's queue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueueEvent {
    pub department_id: DepartmentId,
    pub ticket_id: TicketId,
    /// `true`: the ticket got a slot; `false`: it was queued.
    pub admitted: bool,
    /// Open tickets holding a slot after this move.
    pub occupancy: i64,
    /// Tickets still waiting.
    pub waiting: i64,
    pub at: DateTime<Utc>,
}

/// One entry of a ticket's history (from the audit log).
#[derive(Debug, Clone)]
pub struct HistoryEntry {
    pub at: DateTime<Utc>,
    pub actor_id: Option<UserId>,
    pub actor_label: String,
    pub action: String,
    pub from: Option<String>,
    pub to: Option<String>,
    pub reason: Option<String>,
}

/// Tickets counted by state, in one department (or all the viewer sees).
#[derive(Debug, Clone)]
pub struct TicketCount {
    pub department_id: DepartmentId,
    pub state: State,
    pub count: i64,
}

/// A link to another ticket the viewer can see.
#[derive(Debug, Clone)]
pub struct TicketLink {
    pub kind: LinkKind,
    pub other_id: TicketId,
    /// `true`: this ticket is the link's subject (`this follow_up_of other`); `false`: the other is.
    pub outgoing: bool,
}
