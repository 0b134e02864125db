//! GraphQL surface of the helpdesk: tickets, their transitions, queues, SLAs and streams.

mod approvals;
mod mutation;
mod query;
mod subscription;
mod types;

pub use approvals::{ApprovalMutation, ApprovalQuery};
pub use mutation::TicketMutation;
pub use query::TicketQuery;
pub use subscription::TicketSubscription;
pub(crate) use types::Ticket;
