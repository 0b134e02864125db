//! Helpdesk queries.

use async_graphql::connection::{Connection, Edge, EmptyFields};
use async_graphql::{Context, ID, InputObject, Object};
use stoa_domain::tickets as t;

use crate::context::{ContextExt as _, parse_id};
use crate::error::Result;
use crate::pagination;
use crate::tickets::types::{
    SlaCalendar, SlaPolicy, Ticket, TicketCount, TicketPriority, TicketSettings, TicketSort, TicketState,
};

/// What a ticket list keeps; every field narrows it.
#[derive(InputObject, Default)]
pub struct TicketFilterInput {
    /// Only these states.
    pub states: Option<Vec<TicketState>>,
    /// Only these priorities.
    pub priorities: Option<Vec<TicketPriority>>,
    /// Only this department's.
    pub department_id: Option<ID>,
    /// Only those assigned to this user.
    pub assignee_id: Option<ID>,
    /// Only those with this label.
    pub label: Option<String>,
    /// Only breached (`true`) or unbreached (`false`) tickets.
    pub breached: Option<bool>,
    /// Only open tickets whose resolution is due within this many minutes (overdue included).
    pub due_within_minutes: Option<i64>,
    /// Words in the title or description (at most 100 characters).
    pub text: Option<String>,
}

/// Helpdesk queries.
#[derive(Default)]
pub struct TicketQuery;

#[Object]
impl TicketQuery {
    /// One ticket. `NOT_FOUND` unless the viewer may see it.
    async fn ticket(&self, ctx: &Context<'_>, #[graphql(desc = "The ticket's ID.")] id: ID) -> Result<Ticket> {
        Ok(Ticket(t::ticket(ctx.app()?, ctx.actor()?, parse_id(&id, "id")?).await?))
    }

    /// The workspace's tickets the viewer may see, filtered and sorted, `first` at a time (default
    /// 50, at most 100).
    #[graphql(complexity = "pagination::cost(first, 50, child_complexity)")]
    async fn tickets(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The workspace whose tickets are listed.")] workspace_id: ID,
        #[graphql(desc = "What to keep.")] filter: Option<TicketFilterInput>,
        #[graphql(desc = "The order (newest first by default).")] sort: Option<TicketSort>,
        #[graphql(desc = "Return at most this many tickets (default 50, at most 100).")] first: Option<i32>,
        #[graphql(desc = "Cursor of the last ticket of the previous page.")] after: Option<String>,
    ) -> Result<Connection<String, Ticket, EmptyFields, EmptyFields>> {
        let workspace = parse_id(&workspace_id, "workspaceId")?;
        let page = pagination::page(first, after)?;
        let f = filter.unwrap_or_default();
        let filter = t::TicketFilter {
            states: f.states.unwrap_or_default().into_iter().map(Into::into).collect(),
            priorities: f.priorities.unwrap_or_default().into_iter().map(Into::into).collect(),
            department: f.department_id.as_ref().map(|d| parse_id(d, "departmentId")).transpose()?,
            assignee: f.assignee_id.as_ref().map(|a| parse_id(a, "assigneeId")).transpose()?,
            label: f.label,
            breached: f.breached,
            due_within_minutes: f.due_within_minutes,
            text: f.text,
            parent: None,
        };
        let sort = sort.unwrap_or_default().into();
        let result = t::tickets(ctx.app()?, ctx.actor()?, workspace, filter, sort, page).await?;
        let mut c = Connection::new(page.after.is_some(), result.has_next_page);
        c.edges.extend(result.items.into_iter().map(|ticket| Edge::new(ticket.id.to_string(), Ticket(ticket))));
        Ok(c)
    }

    /// How many tickets the viewer may see, per department and state.
    async fn ticket_counts(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The workspace.")] workspace_id: ID,
    ) -> Result<Vec<TicketCount>> {
        let counts = t::ticket_counts(ctx.app()?, ctx.actor()?, parse_id(&workspace_id, "workspaceId")?).await?;
        Ok(counts
            .into_iter()
            .map(|c| TicketCount {
                department_id: ID(c.department_id.to_string()),
                state: c.state.into(),
                count: c.count,
            })
            .collect())
    }

    /// The workspace's close and reopen settings.
    async fn ticket_settings(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The workspace.")] workspace_id: ID,
    ) -> Result<TicketSettings> {
        Ok(t::ticket_settings(ctx.app()?, ctx.actor()?, parse_id(&workspace_id, "workspaceId")?).await?.into())
    }

    /// The workspace's business calendars.
    async fn sla_calendars(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The workspace.")] workspace_id: ID,
    ) -> Result<Vec<SlaCalendar>> {
        let found = t::calendars(ctx.app()?, ctx.actor()?, parse_id(&workspace_id, "workspaceId")?).await?;
        Ok(found.into_iter().map(SlaCalendar).collect())
    }

    /// The workspace's SLA policies, oldest first.
    async fn sla_policies(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The workspace.")] workspace_id: ID,
    ) -> Result<Vec<SlaPolicy>> {
        let found = t::sla_policies(ctx.app()?, ctx.actor()?, parse_id(&workspace_id, "workspaceId")?).await?;
        Ok(found.into_iter().map(SlaPolicy).collect())
    }
}
