//! GraphQL types of the helpdesk.

use async_graphql::{Context, Enum, ID, InputObject, Object, SimpleObject};
use stoa_domain::tickets as t;

use crate::context::ContextExt as _;
use crate::error::Result;
use crate::identity::User;
use crate::workspaces::load_user;

/// Where a ticket stands.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
pub enum TicketState {
    /// Admitted to its department, not yet assigned.
    New,
    /// Waiting for a slot: its department is at capacity (`queuePosition` says where).
    Queued,
    /// An agent owns it.
    Assigned,
    /// Being worked on.
    InProgress,
    /// Paused (`stateReason`, and `holdUntil` when it resumes by itself).
    OnHold,
    /// Waiting for the requester's answer (the SLA clock stops by default).
    WaitingOnRequester,
    /// Waiting for a decision; only approve or reject leave it (the SLA clock stops by default).
    PendingApproval,
    /// Solved; closes on the requester's confirmation or after `autoCloseMinutes`.
    Resolved,
    /// Reopened after a resolution or closing.
    Reopened,
    /// Done.
    Closed,
    /// Given up (`stateReason`); terminal.
    Cancelled,
    /// Merged into another ticket (`mergedIntoId`); terminal, its chat read-only.
    Merged,
}

impl From<t::State> for TicketState {
    fn from(s: t::State) -> Self {
        match s {
            t::State::New => Self::New,
            t::State::Queued => Self::Queued,
            t::State::Assigned => Self::Assigned,
            t::State::InProgress => Self::InProgress,
            t::State::OnHold => Self::OnHold,
            t::State::WaitingOnRequester => Self::WaitingOnRequester,
            t::State::PendingApproval => Self::PendingApproval,
            t::State::Resolved => Self::Resolved,
            t::State::Reopened => Self::Reopened,
            t::State::Closed => Self::Closed,
            t::State::Cancelled => Self::Cancelled,
            t::State::Merged => Self::Merged,
        }
    }
}

impl From<TicketState> for t::State {
    fn from(s: TicketState) -> Self {
        match s {
            TicketState::New => Self::New,
            TicketState::Queued => Self::Queued,
            TicketState::Assigned => Self::Assigned,
            TicketState::InProgress => Self::InProgress,
            TicketState::OnHold => Self::OnHold,
            TicketState::WaitingOnRequester => Self::WaitingOnRequester,
            TicketState::PendingApproval => Self::PendingApproval,
            TicketState::Resolved => Self::Resolved,
            TicketState::Reopened => Self::Reopened,
            TicketState::Closed => Self::Closed,
            TicketState::Cancelled => Self::Cancelled,
            TicketState::Merged => Self::Merged,
        }
    }
}

/// A transition of the ticket table. `availableTransitions` lists those the viewer may fire now.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
pub enum TicketAction {
    /// A free slot admits a queued ticket (the system only).
    Admit,
    /// A full department queues the ticket (the system only).
    Queue,
    /// Give the ticket to an agent of its department (`assigneeId`, the caller by default).
    Assign,
    /// Start work.
    Start,
    /// Pause, with a `reason` and an optional `until`.
    Hold,
    /// Resume a hold.
    Resume,
    /// Ask the requester and wait for their answer.
    AskRequester,
    /// The requester answered.
    RequesterReplied,
    /// Ask for an approval.
    RequestApproval,
    /// Approve (an approver only).
    Approve,
    /// Reject, with a `reason` (an approver only).
    Reject,
    /// Resolve (not while a sub-ticket is open).
    Resolve,
    /// The requester confirms the resolution: the ticket closes.
    Confirm,
    /// A resolved ticket closes after `autoCloseMinutes` (the system only).
    AutoClose,
    /// Reopen a resolved ticket (requester or staff) or a closed one (staff, within the window), 3 times at most.
    Reopen,
    /// Cancel, with a `reason`.
    Cancel,
    /// Merge into another ticket (`mergeTicket`).
    Merge,
}

impl From<t::Action> for TicketAction {
    fn from(a: t::Action) -> Self {
        match a {
            t::Action::Admit => Self::Admit,
            t::Action::Queue => Self::Queue,
            t::Action::Assign => Self::Assign,
            t::Action::Start => Self::Start,
            t::Action::Hold => Self::Hold,
            t::Action::Resume => Self::Resume,
            t::Action::AskRequester => Self::AskRequester,
            t::Action::RequesterReplied => Self::RequesterReplied,
            t::Action::RequestApproval => Self::RequestApproval,
            t::Action::Approve => Self::Approve,
            t::Action::Reject => Self::Reject,
            t::Action::Resolve => Self::Resolve,
            t::Action::Confirm => Self::Confirm,
            t::Action::AutoClose => Self::AutoClose,
            t::Action::Reopen => Self::Reopen,
            t::Action::Cancel => Self::Cancel,
            t::Action::Merge => Self::Merge,
        }
    }
}

impl From<TicketAction> for t::Action {
    fn from(a: TicketAction) -> Self {
        match a {
            TicketAction::Admit => Self::Admit,
            TicketAction::Queue => Self::Queue,
            TicketAction::Assign => Self::Assign,
            TicketAction::Start => Self::Start,
            TicketAction::Hold => Self::Hold,
            TicketAction::Resume => Self::Resume,
            TicketAction::AskRequester => Self::AskRequester,
            TicketAction::RequesterReplied => Self::RequesterReplied,
            TicketAction::RequestApproval => Self::RequestApproval,
            TicketAction::Approve => Self::Approve,
            TicketAction::Reject => Self::Reject,
            TicketAction::Resolve => Self::Resolve,
            TicketAction::Confirm => Self::Confirm,
            TicketAction::AutoClose => Self::AutoClose,
            TicketAction::Reopen => Self::Reopen,
            TicketAction::Cancel => Self::Cancel,
            TicketAction::Merge => Self::Merge,
        }
    }
}

/// How urgent a ticket is; a queue admits higher priorities first.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
pub enum TicketPriority {
    /// Whenever there is time.
    Low,
    /// The default.
    Normal,
    /// Before normal work.
    High,
    /// First.
    Urgent,
}

impl From<t::Priority> for TicketPriority {
    fn from(p: t::Priority) -> Self {
        match p {
            t::Priority::Low => Self::Low,
            t::Priority::Normal => Self::Normal,
            t::Priority::High => Self::High,
            t::Priority::Urgent => Self::Urgent,
        }
    }
}

impl From<TicketPriority> for t::Priority {
    fn from(p: TicketPriority) -> Self {
        match p {
            TicketPriority::Low => Self::Low,
            TicketPriority::Normal => Self::Normal,
            TicketPriority::High => Self::High,
            TicketPriority::Urgent => Self::Urgent,
        }
    }
}

/// How two tickets relate.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
pub enum TicketLinkKind {
    /// Related work.
    RelatesTo,
    /// Continues a ticket that may not be reopened again.
    FollowUpOf,
    /// The same request (a merged ticket points at its target so).
    DuplicateOf,
}

impl From<t::LinkKind> for TicketLinkKind {
    fn from(k: t::LinkKind) -> Self {
        match k {
            t::LinkKind::RelatesTo => Self::RelatesTo,
            t::LinkKind::FollowUpOf => Self::FollowUpOf,
            t::LinkKind::DuplicateOf => Self::DuplicateOf,
        }
    }
}

impl From<TicketLinkKind> for t::LinkKind {
    fn from(k: TicketLinkKind) -> Self {
        match k {
            TicketLinkKind::RelatesTo => Self::RelatesTo,
            TicketLinkKind::FollowUpOf => Self::FollowUpOf,
            TicketLinkKind::DuplicateOf => Self::DuplicateOf,
        }
    }
}

/// How a ticket list is ordered.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug, Default)]
pub enum TicketSort {
    /// Newest first.
    #[default]
    Newest,
    /// Oldest first.
    Oldest,
    /// Urgent first, then newest.
    Priority,
    /// Soonest resolution due date first; tickets without one last.
    DueAt,
}

impl From<TicketSort> for t::TicketSort {
    fn from(s: TicketSort) -> Self {
        match s {
            TicketSort::Newest => Self::Newest,
            TicketSort::Oldest => Self::Oldest,
            TicketSort::Priority => Self::Priority,
            TicketSort::DueAt => Self::DueAt,
        }
    }
}

/// A helpdesk ticket, as the viewer may see it: requesters see their own and watched tickets
/// (never a sub-ticket, nor SLA dates or the notes channel); agents their departments'; moderators
/// and admins all.
pub struct Ticket(pub t::Ticket);

/// A helpdesk ticket, as the viewer may see it.
#[Object]
impl Ticket {
    /// The ticket's ID.
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    /// Its number, unique and increasing in the workspace.
    async fn number(&self) -> i64 {
        self.0.number
    }
    /// The workspace.
    async fn workspace_id(&self) -> ID {
        ID(self.0.workspace_id.to_string())
    }
    /// The title (at most 200 characters).
    async fn title(&self) -> &str {
        &self.0.title
    }
    /// The description.
    async fn description(&self) -> &str {
        &self.0.description
    }
    /// How urgent it is.
    async fn priority(&self) -> TicketPriority {
        self.0.priority.into()
    }
    /// Its category, lower case.
    async fn category(&self) -> Option<&str> {
        self.0.category.as_deref()
    }
    /// Its labels, sorted (at most 20).
    async fn labels(&self) -> &[String] {
        &self.0.labels
    }
    /// Where it stands.
    async fn state(&self) -> TicketState {
        self.0.state.into()
    }
    /// The reason of the last hold, cancellation or rejection.
    async fn state_reason(&self) -> Option<&str> {
        self.0.state_reason.as_deref()
    }
    /// When a hold resumes by itself.
    async fn hold_until(&self) -> Option<chrono::DateTime<chrono::Utc>> {
        self.0.hold_until
    }
    /// The version to pass to every mutation of this ticket (+1 on every write).
    async fn version(&self) -> i64 {
        self.0.version
    }
    /// How often it was reopened (a 4th reopen is refused: open a follow-up instead).
    async fn reopen_count(&self) -> i32 {
        self.0.reopen_count
    }
    /// Who asked.
    async fn requester(&self, ctx: &Context<'_>) -> Result<Option<User>> {
        load_user(ctx, self.0.requester_id).await
    }
    /// The agent it is assigned to.
    async fn assignee(&self, ctx: &Context<'_>) -> Result<Option<User>> {
        match self.0.assignee_id {
            Some(id) => load_user(ctx, id).await,
            None => Ok(None),
        }
    }
    /// The department that works it.
    async fn department_id(&self) -> ID {
        ID(self.0.department_id.to_string())
    }
    /// The parent, for a sub-ticket.
    async fn parent_id(&self) -> Option<ID> {
        self.0.parent_id.map(|id| ID(id.to_string()))
    }
    /// The ticket it was merged into.
    async fn merged_into_id(&self) -> Option<ID> {
        self.0.merged_into_id.map(|id| ID(id.to_string()))
    }
    /// The conversation with the requester (a `TICKET` channel).
    async fn channel_id(&self) -> Option<ID> {
        self.0.channel_id.map(|id| ID(id.to_string()))
    }
    /// The agents' private notes (staff only; absent for requesters).
    async fn notes_channel_id(&self) -> Option<ID> {
        self.0.notes_channel_id.map(|id| ID(id.to_string()))
    }
    /// The last approval was rejected; it may be requested again.
    async fn approval_rejected(&self) -> bool {
        self.0.approval_rejected
    }
    /// Its 1-based place in the department's queue, while `QUEUED`.
    async fn queue_position(&self) -> Option<i64> {
        self.0.queue_position
    }
    /// What the viewer may fire now (`transitionTicket`); clients never copy the table.
    async fn available_transitions(&self) -> Vec<TicketAction> {
        self.0.available.iter().copied().map(TicketAction::from).collect()
    }
    /// When it was opened.
    async fn created_at(&self) -> chrono::DateTime<chrono::Utc> {
        self.0.created_at
    }
    /// When it last changed.
    async fn updated_at(&self) -> chrono::DateTime<chrono::Utc> {
        self.0.updated_at
    }
    /// When it was resolved (absent once reopened).
    async fn resolved_at(&self) -> Option<chrono::DateTime<chrono::Utc>> {
        self.0.resolved_at
    }
    /// When it was closed.
    async fn closed_at(&self) -> Option<chrono::DateTime<chrono::Utc>> {
        self.0.closed_at
    }
    /// When staff first answered in its conversation.
    async fn first_response_at(&self) -> Option<chrono::DateTime<chrono::Utc>> {
        self.0.first_response_at
    }
    /// When the first response is due under its SLA policy (staff only).
    async fn first_response_due_at(&self) -> Option<chrono::DateTime<chrono::Utc>> {
        self.0.first_response_due_at
    }
    /// When the resolution is due under its SLA policy, pushed by paused business time (staff only).
    async fn resolution_due_at(&self) -> Option<chrono::DateTime<chrono::Utc>> {
        self.0.resolution_due_at
    }
    /// When a target was missed (staff only).
    async fn breached_at(&self) -> Option<chrono::DateTime<chrono::Utc>> {
        self.0.breached_at
    }
    /// What happened to it, oldest first (from the audit log).
    #[graphql(complexity = "5 * child_complexity")]
    async fn history(&self, ctx: &Context<'_>) -> Result<Vec<TicketHistoryEntry>> {
        let entries = t::history(ctx.app()?, ctx.actor()?, self.0.id).await?;
        Ok(entries.into_iter().map(TicketHistoryEntry).collect())
    }
    /// Its sub-tickets the viewer may see, oldest first (at most 100).
    #[graphql(complexity = "5 * child_complexity")]
    async fn subtickets(&self, ctx: &Context<'_>) -> Result<Vec<Ticket>> {
        let filter = t::TicketFilter { parent: Some(self.0.id), ..t::TicketFilter::default() };
        let page = stoa_domain::pagination::PageRequest { first: Some(100), after: None };
        let found =
            t::tickets(ctx.app()?, ctx.actor()?, self.0.workspace_id, filter, t::TicketSort::Oldest, page).await?;
        Ok(found.items.into_iter().map(Ticket).collect())
    }
    /// Links to other tickets the viewer may see.
    #[graphql(complexity = "5 * child_complexity")]
    async fn links(&self, ctx: &Context<'_>) -> Result<Vec<TicketLink>> {
        Ok(t::links(ctx.app()?, ctx.actor()?, self.0.id).await?.into_iter().map(TicketLink).collect())
    }
    /// Its approval rounds, oldest first.
    #[graphql(complexity = "5 * child_complexity")]
    async fn approvals(&self, ctx: &Context<'_>) -> Result<Vec<crate::tickets::approvals::TicketApproval>> {
        let rounds = t::approvals(ctx.app()?, ctx.actor()?, self.0.id).await?;
        Ok(rounds.into_iter().map(crate::tickets::approvals::TicketApproval).collect())
    }
    /// The people who watch it (they see it as its requester does).
    #[graphql(complexity = "5 * child_complexity")]
    async fn watchers(&self, ctx: &Context<'_>) -> Result<Vec<User>> {
        let ids = t::watchers(ctx.app()?, ctx.actor()?, self.0.id).await?;
        let mut cards =
            crate::context::loader::<crate::identity::UserCards>(ctx)?.load_many(ids.iter().copied()).await?;
        Ok(ids.iter().filter_map(|id| cards.remove(id)).map(User).collect())
    }
}

/// One entry of a ticket's history.
pub struct TicketHistoryEntry(pub t::HistoryEntry);

/// One entry of a ticket's history.
#[Object]
impl TicketHistoryEntry {
    /// When.
    async fn at(&self) -> chrono::DateTime<chrono::Utc> {
        self.0.at
    }
    /// Who (absent for the system: admission, auto-close, SLA).
    async fn actor(&self, ctx: &Context<'_>) -> Result<Option<User>> {
        match self.0.actor_id {
            Some(id) => load_user(ctx, id).await,
            None => Ok(None),
        }
    }
    /// Who, as the audit log names them (`system:tickets` for jobs).
    async fn actor_label(&self) -> &str {
        &self.0.actor_label
    }
    /// What (`ticket.created`, `ticket.transitioned`, `ticket.updated`, …).
    async fn action(&self) -> &str {
        &self.0.action
    }
    /// The state before (`in_progress`), for transitions.
    async fn from(&self) -> Option<&str> {
        self.0.from.as_deref()
    }
    /// The state after, for transitions.
    async fn to(&self) -> Option<&str> {
        self.0.to.as_deref()
    }
    /// The reason given.
    async fn reason(&self) -> Option<&str> {
        self.0.reason.as_deref()
    }
}

/// A link from one ticket to another.
pub struct TicketLink(pub t::TicketLink);

/// A link from one ticket to another.
#[Object]
impl TicketLink {
    /// How they relate.
    async fn kind(&self) -> TicketLinkKind {
        self.0.kind.into()
    }
    /// `true`: this ticket is the link's subject (this `FOLLOW_UP_OF` the other); `false`: the other is.
    async fn outgoing(&self) -> bool {
        self.0.outgoing
    }
    /// The other ticket.
    async fn ticket(&self, ctx: &Context<'_>) -> Result<Ticket> {
        Ok(Ticket(t::ticket(ctx.app()?, ctx.actor()?, self.0.other_id).await?))
    }
}

/// Tickets of one department in one state.
#[derive(SimpleObject)]
pub struct TicketCount {
    /// The department.
    pub department_id: ID,
    /// The state.
    pub state: TicketState,
    /// How many the viewer may see.
    pub count: i64,
}

/// The workspace's close and reopen settings.
#[derive(SimpleObject)]
pub struct TicketSettings {
    /// Minutes after which a resolved ticket closes by itself (default 4320: 72 hours).
    pub auto_close_minutes: i32,
    /// Minutes after closing during which staff may reopen a ticket (default 20160: 14 days).
    pub reopen_window_minutes: i32,
}

impl From<t::TicketSettings> for TicketSettings {
    fn from(s: t::TicketSettings) -> Self {
        Self { auto_close_minutes: s.auto_close_minutes, reopen_window_minutes: s.reopen_window_minutes }
    }
}

/// One weekly opening interval of a business calendar, in its local time.
#[derive(SimpleObject, InputObject, Clone)]
#[graphql(input_name = "BusinessHoursInput")]
pub struct BusinessHours {
    /// Monday = 1 … Sunday = 7.
    pub weekday: i32,
    /// Opening, `HH:MM`.
    pub start: String,
    /// Closing, `HH:MM` (after `start`).
    pub end: String,
}

/// A business calendar: an IANA time zone, weekly hours, holidays (whole days closed).
pub struct SlaCalendar(pub t::SlaCalendar);

/// A business calendar: an IANA time zone, weekly hours, holidays (whole days closed).
#[Object]
impl SlaCalendar {
    /// The calendar's ID.
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    /// Its name.
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// The IANA time zone its hours are in (`Africa/Lagos`).
    async fn timezone(&self) -> &str {
        &self.0.timezone
    }
    /// The weekly opening intervals.
    async fn hours(&self) -> Vec<BusinessHours> {
        self.0
            .hours
            .iter()
            .map(|h| BusinessHours {
                weekday: i32::try_from(h.weekday.number_from_monday()).unwrap_or(1),
                start: h.start.format("%H:%M").to_string(),
                end: h.end.format("%H:%M").to_string(),
            })
            .collect()
    }
    /// Closed days, `YYYY-MM-DD`, sorted.
    async fn holidays(&self) -> Vec<String> {
        self.0.holidays.iter().map(|d| d.format("%Y-%m-%d").to_string()).collect()
    }
}

/// Targets in business minutes for the tickets it matches (the most specific policy applies).
pub struct SlaPolicy(pub t::SlaPolicy);

/// Targets in business minutes for the tickets it matches (the most specific policy applies).
#[Object]
impl SlaPolicy {
    /// The policy's ID.
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    /// The calendar its minutes count on.
    async fn calendar_id(&self) -> ID {
        ID(self.0.calendar_id.to_string())
    }
    /// The priority it applies to (any when absent).
    async fn priority(&self) -> Option<TicketPriority> {
        self.0.priority.map(Into::into)
    }
    /// The department it applies to (any when absent).
    async fn department_id(&self) -> Option<ID> {
        self.0.department_id.map(|d| ID(d.to_string()))
    }
    /// The category it applies to (any when absent).
    async fn category(&self) -> Option<&str> {
        self.0.category.as_deref()
    }
    /// Business minutes to the first public staff answer.
    async fn first_response_minutes(&self) -> i64 {
        self.0.first_response_minutes
    }
    /// Business minutes to the resolution.
    async fn resolution_minutes(&self) -> i64 {
        self.0.resolution_minutes
    }
    /// Business minutes before the resolution target at which the assignee is warned.
    async fn warn_before_minutes(&self) -> i64 {
        self.0.warn_before_minutes
    }
    /// States in which the clock stands still.
    async fn pauses_in(&self) -> Vec<TicketState> {
        self.0.pauses_in.iter().copied().map(TicketState::from).collect()
    }
}
