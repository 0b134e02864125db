//! Helpdesk subscriptions: a ticket's events (public kinds only for requesters) and a
//! department's queue (its staff).

use async_graphql::{Context, Enum, ID, Object, Subscription};
use futures::StreamExt as _;
use stoa_domain::tickets as t;

use crate::context::{ContextExt as _, parse_id};
use crate::error::Result;
use crate::fanout::{EventTap, RenderOne, SharedEvent, closed_tap};
use crate::identity::User;
use crate::tickets::types::{Ticket, TicketAction, TicketState};
use crate::workspaces::load_user;

/// What happened to a ticket.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
pub enum TicketEventKind {
    /// It was opened.
    Created,
    /// It moved through a transition (`from` → `to`).
    Transitioned,
    /// Fields, watchers or its department changed.
    Updated,
    /// One of its sub-tickets changed (staff only).
    SubticketChanged,
    /// A message in its conversation.
    MessagePosted,
    /// A note in the agents' channel (staff only: never sent to requesters).
    NoteAdded,
    /// Its SLA will breach soon (staff only).
    SlaWarning,
    /// It missed an SLA target (staff only).
    SlaBreached,
}

impl From<t::TicketEventKind> for TicketEventKind {
    fn from(k: t::TicketEventKind) -> Self {
        match k {
            t::TicketEventKind::Created => Self::Created,
            t::TicketEventKind::Transitioned => Self::Transitioned,
            t::TicketEventKind::Updated => Self::Updated,
            t::TicketEventKind::SubticketChanged => Self::SubticketChanged,
            t::TicketEventKind::MessagePosted => Self::MessagePosted,
            t::TicketEventKind::NoteAdded => Self::NoteAdded,
            t::TicketEventKind::SlaWarning => Self::SlaWarning,
            t::TicketEventKind::SlaBreached => Self::SlaBreached,
        }
    }
}

/// One fact about a ticket.
pub struct TicketEvent(pub std::sync::Arc<t::TicketEvent>);

/// One fact about a ticket.
#[Object]
impl TicketEvent {
    /// What happened.
    async fn kind(&self) -> TicketEventKind {
        self.0.kind.into()
    }
    /// The ticket it happened to (a sub-ticket's ID on `SUBTICKET_CHANGED`).
    async fn ticket_id(&self) -> ID {
        ID(self.0.ticket_id.to_string())
    }
    /// The state before, for transitions.
    async fn from(&self) -> Option<TicketState> {
        self.0.from.map(Into::into)
    }
    /// The state after.
    async fn to(&self) -> TicketState {
        self.0.to.into()
    }
    /// The transition fired.
    async fn action(&self) -> Option<TicketAction> {
        self.0.action.map(Into::into)
    }
    /// The ticket's version after it.
    async fn version(&self) -> i64 {
        self.0.version
    }
    /// Who did it (absent for the system).
    async fn actor(&self, ctx: &Context<'_>) -> Result<Option<User>> {
        match self.0.actor_id {
            Some(id) => load_user(ctx, id).await,
            None => Ok(None),
        }
    }
    /// When.
    async fn at(&self) -> chrono::DateTime<chrono::Utc> {
        self.0.at
    }
    /// The ticket as the viewer sees it now (read when the event is delivered).
    async fn ticket(&self, ctx: &Context<'_>) -> Result<Ticket> {
        Ok(Ticket(t::ticket(ctx.app()?, ctx.actor()?, self.0.ticket_id).await?))
    }
}

/// A move in a department's queue.
pub struct TicketQueueEvent(pub std::sync::Arc<t::QueueEvent>);

/// A move in a department's queue.
#[Object]
impl TicketQueueEvent {
    /// The department.
    async fn department_id(&self) -> ID {
        ID(self.0.department_id.to_string())
    }
    /// The ticket that moved.
    async fn ticket_id(&self) -> ID {
        ID(self.0.ticket_id.to_string())
    }
    /// `true`: it got a slot; `false`: it was queued.
    async fn admitted(&self) -> bool {
        self.0.admitted
    }
    /// Tickets holding a slot after the move.
    async fn occupancy(&self) -> i64 {
        self.0.occupancy
    }
    /// Tickets still waiting.
    async fn waiting(&self) -> i64 {
        self.0.waiting
    }
    /// When.
    async fn at(&self) -> chrono::DateTime<chrono::Utc> {
        self.0.at
    }
}

/// Helpdesk subscriptions.
#[derive(Default)]
pub struct TicketSubscription;

#[Subscription]
impl TicketSubscription {
    /// A ticket's events. Requesters receive public kinds only; staff also receive their
    /// sub-tickets' moves, notes and SLA warnings. Ends when the viewer may no longer see it.
    async fn ticket_events(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The ticket to follow.")] ticket_id: ID,
    ) -> Result<futures::stream::BoxStream<'static, TicketEvent>> {
        if let Some(RenderOne(SharedEvent::Ticket(event))) = ctx.data_opt::<RenderOne>() {
            return Ok(futures::stream::once(futures::future::ready(TicketEvent(std::sync::Arc::clone(event)))).boxed());
        }
        let id = parse_id(&ticket_id, "ticketId")?;
        let stream = t::ticket_events(ctx.app()?, ctx.actor()?, id).await?;
        if let Some(tap) = ctx.data_opt::<EventTap>().and_then(EventTap::take) {
            // Started: the transport takes the stream over and renders its events once per group.
            let shared = stream.map(|event| Ok(SharedEvent::Ticket(event))).boxed();
            if tap.send(shared).is_ok() {
                return Ok(futures::stream::pending().boxed());
            }
            return Err(closed_tap());
        }
        Ok(stream.map(TicketEvent).boxed())
    }

    /// A department's queue: admissions and queueing, for its staff.
    async fn ticket_queue(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The department to follow.")] department_id: ID,
    ) -> Result<futures::stream::BoxStream<'static, TicketQueueEvent>> {
        if let Some(RenderOne(SharedEvent::Queue(event))) = ctx.data_opt::<RenderOne>() {
            return Ok(
                futures::stream::once(futures::future::ready(TicketQueueEvent(std::sync::Arc::clone(event)))).boxed()
            );
        }
        let id = parse_id(&department_id, "departmentId")?;
        let stream = t::queue_events(ctx.app()?, ctx.actor()?, id).await?;
        if let Some(tap) = ctx.data_opt::<EventTap>().and_then(EventTap::take) {
            let shared = stream.map(|event| Ok(SharedEvent::Queue(event))).boxed();
            if tap.send(shared).is_ok() {
                return Ok(futures::stream::pending().boxed());
            }
            return Err(closed_tap());
        }
        Ok(stream.map(TicketQueueEvent).boxed())
    }
}
