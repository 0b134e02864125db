//! Helpdesk mutations. Every change of a ticket passes the `version` the caller read; a stale one
//! is `CONFLICT` with `currentVersion` and `currentState`, and nothing is written.

use async_graphql::{Context, ID, InputObject, MaybeUndefined, Object};
use chrono::{NaiveDate, NaiveTime};
use stoa_domain::tickets as t;

use crate::context::{ContextExt as _, parse_id};
use crate::error::{GqlError, Result};
use crate::tickets::types::{
    BusinessHours, SlaCalendar, SlaPolicy, Ticket, TicketAction, TicketLinkKind, TicketPriority, TicketSettings,
    TicketState,
};

/// What a new ticket says.
#[derive(InputObject)]
pub struct TicketInput {
    /// 1 to 200 characters.
    pub title: String,
    /// At most 20,000 characters.
    #[graphql(default)]
    pub description: String,
    /// `NORMAL` by default.
    #[graphql(default_with = "TicketPriority::Normal")]
    pub priority: TicketPriority,
    /// A category (at most 64 characters), which SLA policies may match.
    pub category: Option<String>,
    /// At most 20 labels, each 1 to 40 characters without commas.
    #[graphql(default)]
    pub labels: Vec<String>,
    /// Workspace members who follow it as its requester does (at most 50).
    #[graphql(default)]
    pub watcher_ids: Vec<ID>,
}

impl TicketInput {
    fn into_domain(self) -> Result<t::NewTicket> {
        Ok(t::NewTicket {
            title: self.title,
            description: self.description,
            priority: self.priority.into(),
            category: self.category,
            labels: self.labels,
            watcher_ids: self.watcher_ids.iter().map(|w| parse_id(w, "watcherIds")).collect::<Result<_>>()?,
        })
    }
}

/// A transition to fire.
#[derive(InputObject)]
pub struct TransitionTicketInput {
    /// The ticket.
    pub ticket_id: ID,
    /// The version the caller read.
    pub version: i64,
    /// What to do (one of the ticket's `availableTransitions`).
    pub action: TicketAction,
    /// Required to hold, cancel and reject (at most 2,000 characters).
    pub reason: Option<String>,
    /// When a hold resumes by itself (in the future).
    pub until: Option<chrono::DateTime<chrono::Utc>>,
    /// Who to assign (`ASSIGN`): an agent of the ticket's department; the caller by default.
    pub assignee_id: Option<ID>,
}

/// Fields to change; absent ones stay.
#[derive(InputObject, Default)]
pub struct UpdateTicketInput {
    /// 1 to 200 characters.
    pub title: Option<String>,
    /// At most 20,000 characters.
    pub description: Option<String>,
    /// A new priority (recomputes the SLA due dates).
    pub priority: Option<TicketPriority>,
    /// A new category; `null` clears it.
    pub category: MaybeUndefined<String>,
    /// The labels, replacing all.
    pub labels: Option<Vec<String>>,
    /// Transfer to this department (queued when it is full; the assignee stays only if they are its agent).
    pub department_id: Option<ID>,
}

/// A new business calendar.
#[derive(InputObject)]
pub struct SlaCalendarInput {
    /// Its name.
    pub name: String,
    /// An IANA time zone (`Europe/Berlin`).
    pub timezone: String,
    /// Weekly opening intervals, in local time; they may not overlap.
    pub hours: Vec<BusinessHours>,
    /// Closed days, `YYYY-MM-DD` (at most 1,000).
    #[graphql(default)]
    pub holidays: Vec<String>,
}

/// A new SLA policy. Absent matchers match any ticket.
#[derive(InputObject)]
pub struct SlaPolicyInput {
    /// The calendar its minutes count on.
    pub calendar_id: ID,
    /// Only tickets of this priority.
    pub priority: Option<TicketPriority>,
    /// Only tickets of this department (a sub-ticket follows its own department's policy).
    pub department_id: Option<ID>,
    /// Only tickets of this category.
    pub category: Option<String>,
    /// Business minutes to the first public staff answer (1 to 525,600).
    pub first_response_minutes: i64,
    /// Business minutes to the resolution (1 to 525,600).
    pub resolution_minutes: i64,
    /// Business minutes before the resolution target to warn the assignee (default 60).
    pub warn_before_minutes: Option<i64>,
    /// States in which the clock stands still (default `WAITING_ON_REQUESTER`, `PENDING_APPROVAL`).
    pub pauses_in: Option<Vec<TicketState>>,
}

fn hours_of(hours: &[BusinessHours]) -> Result<Vec<stoa_domain::tickets::sla::WeeklyHours>> {
    let time = |s: &str| {
        NaiveTime::parse_from_str(s, "%H:%M").map_err(|_| GqlError::invalid("hours", format!("{s:?} is not HH:MM")))
    };
    hours
        .iter()
        .map(|h| {
            let weekday = match h.weekday {
                1 => chrono::Weekday::Mon,
                2 => chrono::Weekday::Tue,
                3 => chrono::Weekday::Wed,
                4 => chrono::Weekday::Thu,
                5 => chrono::Weekday::Fri,
                6 => chrono::Weekday::Sat,
                7 => chrono::Weekday::Sun,
                _ => return Err(GqlError::invalid("hours", "weekday is 1 (Monday) to 7 (Sunday)")),
            };
            Ok(stoa_domain::tickets::sla::WeeklyHours { weekday, start: time(&h.start)?, end: time(&h.end)? })
        })
        .collect()
}

/// Helpdesk mutations.
#[derive(Default)]
pub struct TicketMutation;

#[Object]
impl TicketMutation {
    /// Opens a ticket in a department, as its requester. It is `NEW` when the department has a free
    /// slot, else `QUEUED`.
    async fn create_ticket(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The workspace.")] workspace_id: ID,
        #[graphql(desc = "The department to work it.")] department_id: ID,
        #[graphql(desc = "What it says.")] input: TicketInput,
    ) -> Result<Ticket> {
        let workspace = parse_id(&workspace_id, "workspaceId")?;
        let department = parse_id(&department_id, "departmentId")?;
        let ticket = t::create_ticket(ctx.app()?, ctx.actor()?, workspace, department, input.into_domain()?).await?;
        Ok(Ticket(ticket))
    }

    /// Fires a transition of the ticket table. A permission the caller's part lacks is
    /// `FORBIDDEN`; a wrong state or failed condition is `INVALID_STATE` with `reason` and `allowed`.
    async fn transition_ticket(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The ticket, its version and the action.")] input: TransitionTicketInput,
    ) -> Result<Ticket> {
        let input = t::TransitionInput {
            ticket: parse_id(&input.ticket_id, "ticketId")?,
            version: input.version,
            action: input.action.into(),
            reason: input.reason,
            until: input.until,
            assignee: input.assignee_id.as_ref().map(|a| parse_id(a, "assigneeId")).transpose()?,
        };
        Ok(Ticket(t::transition(ctx.app()?, ctx.actor()?, input).await?))
    }

    /// Changes a ticket's fields or transfers it (staff only).
    async fn update_ticket(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The ticket.")] ticket_id: ID,
        #[graphql(desc = "The version the caller read.")] version: i64,
        #[graphql(desc = "What to change.")] input: UpdateTicketInput,
    ) -> Result<Ticket> {
        let update = t::TicketUpdate {
            title: input.title,
            description: input.description,
            priority: input.priority.map(Into::into),
            category: match input.category {
                MaybeUndefined::Undefined => None,
                MaybeUndefined::Null => Some(None),
                MaybeUndefined::Value(c) => Some(Some(c)),
            },
            labels: input.labels,
            department: input.department_id.as_ref().map(|d| parse_id(d, "departmentId")).transpose()?,
        };
        let id = parse_id(&ticket_id, "ticketId")?;
        Ok(Ticket(t::update_ticket(ctx.app()?, ctx.actor()?, id, version, update).await?))
    }

    /// Adds a watcher (the caller by default). The requester and staff may add any member.
    async fn watch_ticket(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The ticket.")] ticket_id: ID,
        #[graphql(desc = "Who watches (the caller by default).")] user_id: Option<ID>,
    ) -> Result<Ticket> {
        let user = user_id.as_ref().map(|u| parse_id(u, "userId")).transpose()?;
        Ok(Ticket(t::watch_ticket(ctx.app()?, ctx.actor()?, parse_id(&ticket_id, "ticketId")?, user, true).await?))
    }

    /// Removes a watcher (the caller by default).
    async fn unwatch_ticket(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The ticket.")] ticket_id: ID,
        #[graphql(desc = "Who stops watching (the caller by default).")] user_id: Option<ID>,
    ) -> Result<Ticket> {
        let user = user_id.as_ref().map(|u| parse_id(u, "userId")).transpose()?;
        Ok(Ticket(t::watch_ticket(ctx.app()?, ctx.actor()?, parse_id(&ticket_id, "ticketId")?, user, false).await?))
    }

    /// Splits a sub-ticket for a department off a ticket (one level; the moderator or the
    /// parent's assignee). The parent cannot resolve while it is open.
    async fn create_subticket(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The parent ticket.")] parent_id: ID,
        #[graphql(desc = "The version of the parent the caller read.")] version: i64,
        #[graphql(desc = "The department to work the sub-ticket.")] department_id: ID,
        #[graphql(desc = "What it says.")] input: TicketInput,
    ) -> Result<Ticket> {
        let parent = parse_id(&parent_id, "parentId")?;
        let department = parse_id(&department_id, "departmentId")?;
        let input = input.into_domain()?;
        Ok(Ticket(t::create_subticket(ctx.app()?, ctx.actor()?, parent, version, department, input).await?))
    }

    /// Opens a ticket continuing a resolved or closed one (for one that may not be reopened again),
    /// linked `FOLLOW_UP_OF` it.
    async fn create_follow_up_ticket(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The ticket to follow up.")] ticket_id: ID,
        #[graphql(desc = "What the new ticket says.")] input: TicketInput,
    ) -> Result<Ticket> {
        let original = parse_id(&ticket_id, "ticketId")?;
        Ok(Ticket(t::create_follow_up(ctx.app()?, ctx.actor()?, original, input.into_domain()?).await?))
    }

    /// Merges a ticket into another of the workspace: it turns `MERGED` (terminal, its chat
    /// read-only) and its people watch the target.
    async fn merge_ticket(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The ticket to merge.")] ticket_id: ID,
        #[graphql(desc = "Its version the caller read.")] version: i64,
        #[graphql(desc = "The open ticket to merge it into.")] target_id: ID,
    ) -> Result<Ticket> {
        let source = parse_id(&ticket_id, "ticketId")?;
        let target = parse_id(&target_id, "targetId")?;
        Ok(Ticket(t::merge_ticket(ctx.app()?, ctx.actor()?, source, version, target).await?))
    }

    /// Links two tickets (staff of the first).
    async fn link_tickets(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The link's subject.")] ticket_id: ID,
        #[graphql(desc = "The other ticket.")] other_id: ID,
        #[graphql(desc = "How they relate.")] kind: TicketLinkKind,
    ) -> Result<Ticket> {
        let id = parse_id(&ticket_id, "ticketId")?;
        let other = parse_id(&other_id, "otherId")?;
        Ok(Ticket(t::link_tickets(ctx.app()?, ctx.actor()?, id, other, kind.into()).await?))
    }

    /// Sets the workspace's close and reopen settings (owners and admins).
    async fn update_ticket_settings(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The workspace.")] workspace_id: ID,
        #[graphql(desc = "Minutes after which a resolved ticket closes by itself (1 to 525,600).")] auto_close_minutes: i32,
        #[graphql(desc = "Minutes after closing during which staff may reopen (1 to 525,600).")] reopen_window_minutes: i32,
    ) -> Result<TicketSettings> {
        let settings = t::TicketSettings { auto_close_minutes, reopen_window_minutes };
        let workspace = parse_id(&workspace_id, "workspaceId")?;
        Ok(t::update_ticket_settings(ctx.app()?, ctx.actor()?, workspace, settings).await?.into())
    }

    /// Creates a business calendar (owners and admins).
    async fn create_sla_calendar(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The workspace.")] workspace_id: ID,
        #[graphql(desc = "The calendar.")] input: SlaCalendarInput,
    ) -> Result<SlaCalendar> {
        let holidays = input
            .holidays
            .iter()
            .map(|d| {
                NaiveDate::parse_from_str(d, "%Y-%m-%d")
                    .map_err(|_| GqlError::invalid("holidays", format!("{d:?} is not YYYY-MM-DD")))
            })
            .collect::<Result<Vec<_>>>()?;
        let input =
            t::CalendarInput { name: input.name, timezone: input.timezone, hours: hours_of(&input.hours)?, holidays };
        let workspace = parse_id(&workspace_id, "workspaceId")?;
        Ok(SlaCalendar(t::create_calendar(ctx.app()?, ctx.actor()?, workspace, input).await?))
    }

    /// Creates an SLA policy (owners and admins).
    async fn create_sla_policy(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The workspace.")] workspace_id: ID,
        #[graphql(desc = "The policy.")] input: SlaPolicyInput,
    ) -> Result<SlaPolicy> {
        let input = t::PolicyInput {
            calendar_id: parse_id(&input.calendar_id, "calendarId")?,
            priority: input.priority.map(Into::into),
            department_id: input.department_id.as_ref().map(|d| parse_id(d, "departmentId")).transpose()?,
            category: input.category,
            first_response_minutes: input.first_response_minutes,
            resolution_minutes: input.resolution_minutes,
            warn_before_minutes: input.warn_before_minutes,
            pauses_in: input.pauses_in.map(|p| p.into_iter().map(Into::into).collect()),
        };
        let workspace = parse_id(&workspace_id, "workspaceId")?;
        Ok(SlaPolicy(t::create_sla_policy(ctx.app()?, ctx.actor()?, workspace, input).await?))
    }
}
