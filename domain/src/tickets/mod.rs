//! Helpdesk tickets (#21): numbered per workspace, moved only through the one transition table
//! (`transitions`) with the caller's version, admitted to their department by capacity or queued,
//! split into sub-tickets, merged and linked, and timed on business-hours SLAs (`sla` is the pure
//! calendar arithmetic, `service_levels` the stored policies, `deadlines` what falls due).

mod approvals;
pub mod deadlines;
mod edit;
mod lifecycle;
pub mod model;
mod notify;
mod queries;
pub mod service_levels;
pub mod sla;
mod store;
pub mod stream;
pub mod transitions;

pub use approvals::{
    Approval, ApprovalMode, ApprovalPolicy, ApprovalPolicyInput, Decision, DecisionInput, approval_policies, approvals,
    create_approval_policy, decide_approval, request_approval,
};
pub use deadlines::{DeadlineRun, next_deadline, run_deadlines};
pub(crate) use edit::message_posted;
pub use edit::{
    TicketSettings, TicketUpdate, create_follow_up, create_subticket, link_tickets, merge_ticket, ticket_settings,
    update_ticket, update_ticket_settings, watch_ticket,
};
pub(crate) use lifecycle::admit_waiting;
pub use lifecycle::{MAX_LABELS, NewTicket, REASON_CHARS, TITLE_CHARS, TransitionInput, create_ticket, transition};
pub use model::{
    HistoryEntry, LinkKind, Priority, QueueEvent, Ticket, TicketCount, TicketEvent, TicketEventKind, TicketLink,
};
pub use queries::{TicketFilter, TicketSort, history, links, ticket, ticket_counts, tickets, watchers};
pub use service_levels::{
    CalendarInput, PolicyInput, SlaCalendar, SlaPolicy, calendars, create_calendar, create_sla_policy, sla_policies,
};
pub use stream::{queue_events, ticket_events};
pub use transitions::{Action, State};
