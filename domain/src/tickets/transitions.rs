//! The one transition table of a ticket's life: rows `(from, action, to, who may, conditions)`.
//! [`fire`] is the only function that decides a ticket's next state, and [`available`] lists what
//! a caller may fire now, from the same rows, so clients never copy the table.
//!
//! As in django-fsm, a failed *permission* is told apart from a wrong *source* or a failed
//! *condition*: the first is [`Refusal::Forbidden`], the others [`Refusal::InvalidState`] with a
//! [`Reason`] and the actions that are allowed instead.
//!
//! "Cancelled from any open state" yields to "only a decision leaves `pending_approval`": a ticket
//! waiting for approval is decided first (a rejection returns it to `in_progress`), then cancelled.

/// Where a ticket stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum State {
    New,
    /// Waiting for a slot: its department is at capacity.
    Queued,
    Assigned,
    InProgress,
    OnHold,
    WaitingOnRequester,
    PendingApproval,
    Resolved,
    Reopened,
    Closed,
    Cancelled,
    Merged,
}

impl State {
    /// Every state.
    pub const ALL: [Self; 12] = [
        Self::New,
        Self::Queued,
        Self::Assigned,
        Self::InProgress,
        Self::OnHold,
        Self::WaitingOnRequester,
        Self::PendingApproval,
        Self::Resolved,
        Self::Reopened,
        Self::Closed,
        Self::Cancelled,
        Self::Merged,
    ];

    /// Open: it still needs work (it occupies a slot of its department, or waits for one).
    #[must_use]
    pub const fn is_open(self) -> bool {
        !matches!(self, Self::Resolved | Self::Closed | Self::Cancelled | Self::Merged)
    }

    /// Holds one of its department's `capacity` slots (open and not waiting for one).
    #[must_use]
    pub const fn occupies_slot(self) -> bool {
        self.is_open() && !matches!(self, Self::Queued)
    }

    /// The database and wire form, snake case (`in_progress`).
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::New => "new",
            Self::Queued => "queued",
            Self::Assigned => "assigned",
            Self::InProgress => "in_progress",
            Self::OnHold => "on_hold",
            Self::WaitingOnRequester => "waiting_on_requester",
            Self::PendingApproval => "pending_approval",
            Self::Resolved => "resolved",
            Self::Reopened => "reopened",
            Self::Closed => "closed",
            Self::Cancelled => "cancelled",
            Self::Merged => "merged",
        }
    }

    /// The GraphQL enum value (`IN_PROGRESS`), as `extensions.currentState` names it.
    #[must_use]
    pub const fn api_name(self) -> &'static str {
        match self {
            Self::New => "NEW",
            Self::Queued => "QUEUED",
            Self::Assigned => "ASSIGNED",
            Self::InProgress => "IN_PROGRESS",
            Self::OnHold => "ON_HOLD",
            Self::WaitingOnRequester => "WAITING_ON_REQUESTER",
            Self::PendingApproval => "PENDING_APPROVAL",
            Self::Resolved => "RESOLVED",
            Self::Reopened => "REOPENED",
            Self::Closed => "CLOSED",
            Self::Cancelled => "CANCELLED",
            Self::Merged => "MERGED",
        }
    }

    /// The state named `s` ([`Self::as_str`]).
    #[must_use]
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|state| state.as_str() == s)
    }

    /// Terminal: nothing leaves it.
    #[must_use]
    pub const fn is_terminal(self) -> bool {
        matches!(self, Self::Cancelled | Self::Merged)
    }
}

/// What a caller asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum Action {
    /// The department has a free slot: a new or queued ticket is admitted (system).
    Admit,
    /// The department is full: a new ticket waits (system).
    Queue,
    Assign,
    Start,
    Hold,
    Resume,
    AskRequester,
    RequesterReplied,
    RequestApproval,
    Approve,
    Reject,
    Resolve,
    /// The requester confirms the resolution.
    Confirm,
    /// `autoCloseAfter` passed since the resolution (system).
    AutoClose,
    Reopen,
    Cancel,
    Merge,
}

impl Action {
    /// The wire form: the GraphQL enum value (`REQUEST_APPROVAL`), as `extensions.allowed` lists it.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Admit => "ADMIT",
            Self::Queue => "QUEUE",
            Self::Assign => "ASSIGN",
            Self::Start => "START",
            Self::Hold => "HOLD",
            Self::Resume => "RESUME",
            Self::AskRequester => "ASK_REQUESTER",
            Self::RequesterReplied => "REQUESTER_REPLIED",
            Self::RequestApproval => "REQUEST_APPROVAL",
            Self::Approve => "APPROVE",
            Self::Reject => "REJECT",
            Self::Resolve => "RESOLVE",
            Self::Confirm => "CONFIRM",
            Self::AutoClose => "AUTO_CLOSE",
            Self::Reopen => "REOPEN",
            Self::Cancel => "CANCEL",
            Self::Merge => "MERGE",
        }
    }

    /// Every action.
    pub const ALL: [Self; 17] = [
        Self::Admit,
        Self::Queue,
        Self::Assign,
        Self::Start,
        Self::Hold,
        Self::Resume,
        Self::AskRequester,
        Self::RequesterReplied,
        Self::RequestApproval,
        Self::Approve,
        Self::Reject,
        Self::Resolve,
        Self::Confirm,
        Self::AutoClose,
        Self::Reopen,
        Self::Cancel,
        Self::Merge,
    ];
}

/// How the caller stands to this ticket (the strongest that applies).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Party {
    /// The person who asked (or watches).
    Requester,
    /// An agent of the ticket's department, not its assignee.
    Agent,
    /// The agent the ticket is assigned to.
    Assignee,
    /// A moderator, admin or owner of the workspace.
    Moderator,
    /// Someone the ticket's approval policy names as a decider (never its requester or assignee).
    Approver,
    /// Jobs: admission, auto-close.
    System,
}

impl Party {
    /// Every party.
    pub const ALL: [Self; 6] =
        [Self::Requester, Self::Agent, Self::Assignee, Self::Moderator, Self::Approver, Self::System];
}

/// What the conditions of a row read, gathered by the caller of [`fire`] from the ticket.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Facts {
    /// Sub-tickets not yet resolved, closed, cancelled or merged.
    pub open_subtickets: bool,
    /// Times the ticket was reopened.
    pub reopen_count: u32,
    /// Whether a closed ticket is still within `reopenWindow` of its closing.
    pub within_reopen_window: bool,
}

/// Reopens allowed; the next one is refused with [`Reason::ReopenLimit`] (a follow-up ticket instead).
pub const MAX_REOPENS: u32 = 3;

/// Why a transition cannot happen in the ticket's state (`extensions.reason`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    /// No row leaves this state with this action.
    InvalidTransition,
    /// The ticket cannot resolve while a sub-ticket is open.
    OpenSubtickets,
    /// Only a decision (approve, reject) leaves `pending_approval`.
    ApprovalPending,
    /// Reopened [`MAX_REOPENS`] times already.
    ReopenLimit,
    /// Closed longer ago than the reopen window.
    ReopenWindow,
}

impl Reason {
    /// The wire string of `extensions.reason`.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::InvalidTransition => "INVALID_TRANSITION",
            Self::OpenSubtickets => "OPEN_SUBTICKETS",
            Self::ApprovalPending => "APPROVAL_PENDING",
            Self::ReopenLimit => "REOPEN_LIMIT",
            Self::ReopenWindow => "REOPEN_WINDOW",
        }
    }
}

/// Why [`fire`] refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// The row exists, but this party may not fire it (`FORBIDDEN`).
    Forbidden,
    /// The state or a condition does not allow it (`INVALID_STATE`); `allowed` is what this party
    /// may fire now instead.
    InvalidState { reason: Reason, allowed: Vec<Action> },
}

/// A condition a row checks beyond its source state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Condition {
    NoOpenSubtickets,
    UnderReopenLimit,
    /// Under the limit, and (from `closed`) within the window.
    ReopenableFromClosed,
}

impl Condition {
    const fn check(self, facts: Facts) -> Result<(), Reason> {
        match self {
            Self::NoOpenSubtickets if facts.open_subtickets => Err(Reason::OpenSubtickets),
            Self::UnderReopenLimit | Self::ReopenableFromClosed if facts.reopen_count >= MAX_REOPENS => {
                Err(Reason::ReopenLimit)
            }
            Self::ReopenableFromClosed if !facts.within_reopen_window => Err(Reason::ReopenWindow),
            _ => Ok(()),
        }
    }
}

/// One row of the table.
struct Row {
    from: &'static [State],
    action: Action,
    to: State,
    who: &'static [Party],
    condition: Option<Condition>,
}

use Action as A;
use Party as P;
use State as S;

/// Those who work a ticket: its assignee and moderators.
const WORKERS: &[Party] = &[P::Assignee, P::Moderator];
/// Those who staff the department: any of its agents, and moderators.
const STAFF: &[Party] = &[P::Agent, P::Assignee, P::Moderator];
/// Open states a ticket is worked in (cancel and merge leave them).
const WORKED: &[State] = &[S::Assigned, S::InProgress, S::OnHold, S::WaitingOnRequester, S::Reopened];

/// The table. Every transition of a ticket is one of these rows; nothing else writes the state.
const TABLE: &[Row] = &[
    // A full department queues a new ticket, and one reopened or transferred into it.
    Row {
        from: &[S::New, S::Assigned, S::InProgress, S::OnHold, S::WaitingOnRequester, S::Reopened],
        action: A::Queue,
        to: S::Queued,
        who: &[P::System],
        condition: None,
    },
    Row { from: &[S::Queued], action: A::Admit, to: S::New, who: &[P::System], condition: None },
    Row { from: &[S::New, S::Reopened], action: A::Assign, to: S::Assigned, who: STAFF, condition: None },
    Row { from: &[S::Assigned], action: A::Assign, to: S::Assigned, who: WORKERS, condition: None },
    Row { from: &[S::Assigned, S::Reopened], action: A::Start, to: S::InProgress, who: WORKERS, condition: None },
    Row { from: &[S::InProgress], action: A::Hold, to: S::OnHold, who: WORKERS, condition: None },
    // A hold with an end resumes by itself (system) when `until` passes.
    Row {
        from: &[S::OnHold],
        action: A::Resume,
        to: S::InProgress,
        who: &[P::Assignee, P::Moderator, P::System],
        condition: None,
    },
    Row { from: &[S::InProgress], action: A::AskRequester, to: S::WaitingOnRequester, who: WORKERS, condition: None },
    Row {
        from: &[S::WaitingOnRequester],
        action: A::RequesterReplied,
        to: S::InProgress,
        who: &[P::Requester, P::Assignee, P::Moderator],
        condition: None,
    },
    Row { from: &[S::InProgress], action: A::RequestApproval, to: S::PendingApproval, who: WORKERS, condition: None },
    Row { from: &[S::PendingApproval], action: A::Approve, to: S::InProgress, who: &[P::Approver], condition: None },
    Row { from: &[S::PendingApproval], action: A::Reject, to: S::InProgress, who: &[P::Approver], condition: None },
    Row {
        from: &[S::InProgress],
        action: A::Resolve,
        to: S::Resolved,
        who: WORKERS,
        condition: Some(Condition::NoOpenSubtickets),
    },
    Row { from: &[S::Resolved], action: A::Confirm, to: S::Closed, who: &[P::Requester], condition: None },
    Row { from: &[S::Resolved], action: A::AutoClose, to: S::Closed, who: &[P::System], condition: None },
    Row {
        from: &[S::Resolved],
        action: A::Reopen,
        to: S::Reopened,
        who: &[P::Requester, P::Agent, P::Assignee, P::Moderator],
        condition: Some(Condition::UnderReopenLimit),
    },
    Row {
        from: &[S::Closed],
        action: A::Reopen,
        to: S::Reopened,
        who: &[P::Agent, P::Assignee, P::Moderator],
        condition: Some(Condition::ReopenableFromClosed),
    },
    Row {
        from: &[S::New, S::Queued, S::Assigned, S::InProgress, S::OnHold, S::WaitingOnRequester, S::Reopened],
        action: A::Cancel,
        to: S::Cancelled,
        who: &[P::Requester, P::Assignee, P::Moderator],
        condition: None,
    },
    Row { from: WORKED, action: A::Merge, to: S::Merged, who: WORKERS, condition: None },
    Row { from: &[S::New, S::Queued], action: A::Merge, to: S::Merged, who: &[P::Moderator], condition: None },
];

fn row(from: State, action: Action) -> Option<&'static Row> {
    TABLE.iter().find(|r| r.action == action && r.from.contains(&from))
}

/// What `party` may fire on a ticket in `state` with `facts` now, in table order.
#[must_use]
pub fn available(state: State, party: Party, facts: Facts) -> Vec<Action> {
    let mut out = Vec::new();
    for r in TABLE {
        if r.from.contains(&state)
            && r.who.contains(&party)
            && r.condition.is_none_or(|c| c.check(facts).is_ok())
            && !out.contains(&r.action)
        {
            out.push(r.action);
        }
    }
    out
}

/// The state `action` leads to, if `party` may fire it on a ticket in `state` with `facts`.
///
/// The source is checked first, then the permission, then the row's condition, so a party that
/// may not act learns nothing of the conditions.
///
/// # Errors
/// [`Refusal::InvalidState`] for a wrong source (`APPROVAL_PENDING` from `pending_approval`, else
/// `INVALID_TRANSITION`) or a failed condition; [`Refusal::Forbidden`] when `party` may not.
pub fn fire(state: State, action: Action, party: Party, facts: Facts) -> Result<State, Refusal> {
    let invalid = |reason| Refusal::InvalidState { reason, allowed: available(state, party, facts) };
    let Some(r) = row(state, action) else {
        let reason = if state == S::PendingApproval { Reason::ApprovalPending } else { Reason::InvalidTransition };
        return Err(invalid(reason));
    };
    if !r.who.contains(&party) {
        return Err(Refusal::Forbidden);
    }
    if let Some(condition) = r.condition {
        condition.check(facts).map_err(invalid)?;
    }
    Ok(r.to)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every combination of the facts a condition reads.
    fn all_facts() -> Vec<Facts> {
        let mut out = Vec::new();
        for open_subtickets in [false, true] {
            for reopen_count in [0, MAX_REOPENS - 1, MAX_REOPENS, MAX_REOPENS + 1] {
                for within_reopen_window in [false, true] {
                    out.push(Facts { open_subtickets, reopen_count, within_reopen_window });
                }
            }
        }
        out
    }

    #[test]
    fn available_lists_exactly_what_fire_accepts_over_every_state_action_party_and_fact() {
        let mut accepted = 0;
        for state in State::ALL {
            for party in Party::ALL {
                for facts in all_facts() {
                    let listed = available(state, party, facts);
                    for action in Action::ALL {
                        let fired = fire(state, action, party, facts);
                        assert_eq!(
                            fired.is_ok(),
                            listed.contains(&action),
                            "{state:?} {action:?} by {party:?} with {facts:?}: {fired:?}"
                        );
                        if let Ok(to) = fired {
                            accepted += 1;
                            assert!(!state.is_terminal(), "nothing leaves a terminal state: {state:?} -> {to:?}");
                        }
                        if let Err(Refusal::InvalidState { allowed, .. }) = &fired {
                            assert_eq!(*allowed, listed, "a refusal offers what is allowed instead");
                        }
                    }
                }
            }
        }
        assert!(accepted > 100, "the table accepts something: {accepted}");
    }

    #[test]
    fn a_wrong_source_is_an_invalid_state_and_a_wrong_party_is_forbidden() {
        let facts = Facts::default();
        let wrong = fire(S::New, A::Resolve, P::Assignee, facts);
        assert!(matches!(wrong, Err(Refusal::InvalidState { reason: Reason::InvalidTransition, .. })));
        assert_eq!(fire(S::InProgress, A::Resolve, P::Requester, facts), Err(Refusal::Forbidden));
        assert_eq!(fire(S::InProgress, A::Resolve, P::Assignee, facts), Ok(S::Resolved));
        // Only jobs admit and auto-close; only approvers decide.
        assert_eq!(fire(S::Queued, A::Admit, P::Moderator, facts), Err(Refusal::Forbidden));
        assert_eq!(fire(S::Resolved, A::AutoClose, P::Assignee, facts), Err(Refusal::Forbidden));
        assert_eq!(fire(S::PendingApproval, A::Approve, P::Assignee, facts), Err(Refusal::Forbidden));
        assert_eq!(fire(S::PendingApproval, A::Approve, P::Approver, facts), Ok(S::InProgress));
    }

    #[test]
    fn only_a_decision_leaves_pending_approval() {
        for action in Action::ALL {
            if matches!(action, A::Approve | A::Reject) {
                continue;
            }
            for party in Party::ALL {
                let refused = fire(S::PendingApproval, action, party, Facts::default());
                assert!(
                    matches!(refused, Err(Refusal::InvalidState { reason: Reason::ApprovalPending, .. })),
                    "{action:?} by {party:?}: {refused:?}"
                );
            }
        }
    }

    #[test]
    fn open_subtickets_block_the_resolution() {
        let blocked = Facts { open_subtickets: true, ..Facts::default() };
        let refused = fire(S::InProgress, A::Resolve, P::Assignee, blocked);
        let Err(Refusal::InvalidState { reason, allowed }) = refused else { panic!("{refused:?}") };
        assert_eq!(reason, Reason::OpenSubtickets);
        assert!(!allowed.contains(&A::Resolve) && allowed.contains(&A::Hold), "{allowed:?}");
    }

    #[test]
    fn reopens_stop_at_the_limit_and_a_closed_ticket_only_within_its_window() {
        let open_window = Facts { within_reopen_window: true, ..Facts::default() };
        for n in 0..MAX_REOPENS {
            let facts = Facts { reopen_count: n, ..open_window };
            assert_eq!(fire(S::Resolved, A::Reopen, P::Requester, facts), Ok(S::Reopened), "reopen {}", n + 1);
        }
        let fourth = Facts { reopen_count: MAX_REOPENS, ..open_window };
        let refused = fire(S::Resolved, A::Reopen, P::Requester, fourth);
        assert!(matches!(refused, Err(Refusal::InvalidState { reason: Reason::ReopenLimit, .. })), "{refused:?}");
        assert_eq!(fire(S::Closed, A::Reopen, P::Requester, open_window), Err(Refusal::Forbidden));
        assert_eq!(fire(S::Closed, A::Reopen, P::Agent, open_window), Ok(S::Reopened));
        let late = fire(S::Closed, A::Reopen, P::Moderator, Facts::default());
        assert!(matches!(late, Err(Refusal::InvalidState { reason: Reason::ReopenWindow, .. })), "{late:?}");
    }

    #[test]
    fn every_open_state_can_be_cancelled_and_every_state_is_reachable() {
        for state in State::ALL.into_iter().filter(|s| s.is_open() && *s != S::PendingApproval) {
            assert_eq!(fire(state, A::Cancel, P::Moderator, Facts::default()), Ok(S::Cancelled), "{state:?}");
        }
        let mut reached = vec![S::New];
        let mut frontier = vec![S::New];
        let facts = Facts { within_reopen_window: true, ..Facts::default() };
        while let Some(state) = frontier.pop() {
            for action in Action::ALL {
                for party in Party::ALL {
                    if let Ok(to) = fire(state, action, party, facts)
                        && !reached.contains(&to)
                    {
                        reached.push(to);
                        frontier.push(to);
                    }
                }
            }
        }
        for state in State::ALL {
            assert!(reached.contains(&state), "{state:?} is unreachable from new");
        }
        assert_eq!(Reason::ReopenLimit.as_str(), "REOPEN_LIMIT");
        for state in State::ALL {
            assert_eq!(State::parse(state.as_str()), Some(state));
            assert_eq!(state.api_name().to_lowercase(), state.as_str());
        }
    }
}
