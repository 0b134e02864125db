//! Changing a ticket besides its state: fields and transfers (version-guarded), watchers,
//! sub-tickets, follow-ups, links, merges, the workspace's ticket settings, and what a message in
//! a ticket's channels means for it (the first public agent reply is the first response).

use chrono::{DateTime, Utc};
use sea_orm::ActiveValue::Set;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use stoa_entities::{channels, ticket_links, ticket_watchers, tickets, workspaces};

use crate::actor::Actor;
use crate::app::AppCtx;
use crate::audit::{self, AuditRecord};
use crate::authz::Permission;
use crate::error::{DomainError, OnUnique as _, Result};
use crate::ids::{ChannelId, DepartmentId, TicketId, UserId, WorkspaceId};
use crate::tickets::lifecycle::{
    self, Change, NewTicket, Placement, after_move, announce, apply, fire_as, join_channel, load_for_change,
    load_visible, parse_category, parse_description, parse_labels, parse_title, refusal,
};
use crate::tickets::model::{LinkKind, Priority, Ticket, TicketEventKind};
use crate::tickets::store::{self, Viewer};
use crate::tickets::transitions::{Action, Party, State};
use crate::tickets::{queries, service_levels};
use crate::workspaces::department_members;

/// Fields to change; `None` leaves one as it is.
#[derive(Debug, Clone, Default)]
pub struct TicketUpdate {
    pub title: Option<String>,
    pub description: Option<String>,
    pub priority: Option<Priority>,
    /// `Some(None)` clears it.
    pub category: Option<Option<String>>,
    pub labels: Option<Vec<String>>,
    /// Transfer to another department of the workspace.
    pub department: Option<DepartmentId>,
}

fn require_staff(viewer: &Viewer, row: &tickets::Model) -> Result<()> {
    if viewer.staffs(row.department_id.into()) || row.assignee_id == Some(viewer.user.0) {
        Ok(())
    } else {
        Err(DomainError::Forbidden { needed: Permission::WorkTicket })
    }
}

/// Changes a ticket's fields with the version the caller read. Staff only. A transfer into a full
/// department queues the ticket; the slot it left admits the head of its old queue; an assignee
/// who is no agent of the new department is unassigned. Priority, department and category
/// changes recompute the SLA due dates from the same start.
///
/// # Errors
/// `NOT_FOUND`, `CONFLICT` (stale version), `FORBIDDEN`, `INVALID_STATE` (a terminal, closed or
/// pending-approval ticket cannot move), `BAD_USER_INPUT`.
#[tracing::instrument(skip_all, fields(actor = %actor.label(), ticket = %id))]
pub async fn update_ticket(
    app: &AppCtx,
    actor: &Actor,
    id: TicketId,
    version: i64,
    update: TicketUpdate,
) -> Result<Ticket> {
    let now = app.now();
    let mut tx = app.begin().await?;
    let (row, viewer, _) = load_for_change(&tx, actor, id, version).await?;
    require_staff(&viewer, &row)?;
    let state = store::state_of(&row);
    if state.is_terminal() {
        return Err(DomainError::InvalidState { reason: "INVALID_TRANSITION", allowed: vec![], blocked_by: vec![] });
    }
    let mut write = tickets::ActiveModel::default();
    let mut record = AuditRecord::new(actor, Some(row.workspace_id.into()), "ticket.updated", "ticket", Some(row.id));
    if let Some(title) = update.title {
        let title = parse_title(&title)?;
        record = record.changed("title", &row.title, &title);
        write.title = Set(title);
    }
    if let Some(description) = update.description {
        let description = parse_description(&description)?;
        record = record.changed("description", row.description.len(), description.len());
        write.description = Set(description);
    }
    let priority = update.priority.unwrap_or_else(|| Priority::parse(&row.priority).unwrap_or(Priority::Normal));
    if let Some(p) = update.priority {
        record = record.changed("priority", row.priority.as_str(), p.as_str());
        write.priority = Set(p.as_str().to_owned());
    }
    let category = match update.category {
        Some(c) => {
            let c = parse_category(c)?;
            record = record.changed("category", &row.category, &c);
            write.category = Set(c.clone());
            c
        }
        None => row.category.clone(),
    };
    if let Some(labels) = update.labels {
        let labels = parse_labels(labels)?;
        store::set_labels(tx.db(), id, &labels).await?;
        record = record.with(serde_json::json!({ "labels": labels }));
    }
    let old_department = DepartmentId(row.department_id);
    let department = update.department.unwrap_or(old_department);
    let transfer = department != old_department;
    if transfer {
        if matches!(state, State::PendingApproval | State::Resolved | State::Closed) {
            return Err(DomainError::InvalidState {
                reason: if state == State::PendingApproval { "APPROVAL_PENDING" } else { "INVALID_TRANSITION" },
                allowed: vec![],
                blocked_by: vec![],
            });
        }
        store::lock_department_in(tx.db(), row.workspace_id.into(), department, "departmentId").await?;
        write.department_id = Set(department.0);
        if let Some(assignee) = row.assignee_id
            && !department_members::is_enrolled(tx.db(), department, UserId(assignee)).await?
        {
            write.assignee_id = Set(None);
        }
        for agent in department_members::member_ids(tx.db(), department).await? {
            join_channel(&mut tx, row.channel_id, agent).await?;
            join_channel(&mut tx, row.notes_channel_id, agent).await?;
        }
        record = record.changed("departmentId", row.department_id, department.0);
    }
    if update.priority.is_some() || transfer || category != row.category {
        service_levels::recompute(tx.db(), &row, department, priority, category.as_deref(), &mut write).await?;
    }
    let fresh = store::write(tx.db(), &row, write, now).await?;
    audit::record(&mut tx, record).await?;
    announce(&mut tx, &fresh, TicketEventKind::Updated, None, None, actor, now);
    let mut fresh = fresh;
    if transfer && state.occupies_slot() {
        let dept = store::lock_department(tx.db(), department).await?;
        let (occupied, _) = store::occupancy(tx.db(), department).await?;
        if dept.capacity > 0 && occupied > i64::from(dept.capacity) {
            fresh = lifecycle::system_fire(&mut tx, fresh, Action::Queue, now).await?;
        }
        lifecycle::admit_waiting(&mut tx, old_department, now).await?;
    } else if transfer && state == State::Queued {
        // It waits in the new queue from now; the new department may have room at once.
        lifecycle::admit_waiting(&mut tx, department, now).await?;
    }
    let ticket = queries::view_in(tx.db(), &viewer, fresh, now).await?;
    tx.commit().await?;
    Ok(ticket)
}

/// Adds `user` (the caller when `None`) as a watcher: they see the ticket as its requester does.
/// The requester and staff may add anyone of the workspace; others nobody.
///
/// # Errors
/// `NOT_FOUND`, `FORBIDDEN`, `BAD_USER_INPUT` (userId not a member).
pub async fn watch_ticket(
    app: &AppCtx,
    actor: &Actor,
    id: TicketId,
    user: Option<UserId>,
    watch: bool,
) -> Result<Ticket> {
    let mut tx = app.begin().await?;
    let (row, viewer, watcher) = load_visible(&tx, actor, id).await?;
    let user = user.unwrap_or(viewer.user);
    let may = viewer.staffs(row.department_id.into())
        || row.requester_id == viewer.user.0
        || (user == viewer.user && watcher);
    if !may || row.parent_id.is_some() {
        return Err(DomainError::Forbidden { needed: Permission::WorkTicket });
    }
    if crate::workspaces::store::membership(tx.db(), row.workspace_id.into(), user).await?.is_none() {
        return Err(DomainError::invalid("userId", "watchers must be members of the workspace"));
    }
    if watch {
        if user.0 != row.requester_id && !store::is_watcher(tx.db(), id, user).await? {
            ticket_watchers::Entity::insert(ticket_watchers::ActiveModel {
                id: Set(uuid::Uuid::now_v7()),
                ticket_id: Set(id.0),
                user_id: Set(user.0),
            })
            .exec_without_returning(tx.db())
            .await?;
            join_channel(&mut tx, row.channel_id, user).await?;
        }
    } else {
        ticket_watchers::Entity::delete_many()
            .filter(ticket_watchers::Column::TicketId.eq(id.0))
            .filter(ticket_watchers::Column::UserId.eq(user.0))
            .exec(tx.db())
            .await?;
    }
    let action = if watch { "ticket.watcher_added" } else { "ticket.watcher_removed" };
    audit::record(
        &mut tx,
        AuditRecord::new(actor, Some(row.workspace_id.into()), action, "ticket", Some(row.id))
            .with(serde_json::json!({ "userId": user.0 })),
    )
    .await?;
    announce(&mut tx, &row, TicketEventKind::Updated, None, None, actor, app.now());
    let ticket = queries::view_in(tx.db(), &viewer, row, app.now()).await;
    tx.commit().await?;
    // One who stopped watching may no longer see it: answer from the row as it was.
    ticket.map_err(|_| DomainError::NotFound("ticket"))
}

/// Splits a sub-ticket for another department off `parent` (one level). The moderator or the
/// parent's assignee may; the sub-ticket has its own assignee, state, reopen count and SLA (its
/// department's), and the parent cannot resolve while it is open.
///
/// # Errors
/// `NOT_FOUND`, `CONFLICT` (stale parent version), `FORBIDDEN`, `BAD_USER_INPUT` (parentId: a
/// sub-ticket's sub-ticket; a parent that is no longer open), the [`NewTicket`] fields.
pub async fn create_subticket(
    app: &AppCtx,
    actor: &Actor,
    parent: TicketId,
    version: i64,
    department: DepartmentId,
    input: NewTicket,
) -> Result<Ticket> {
    let now = app.now();
    let mut tx = app.begin().await?;
    let (row, viewer, watcher) = load_for_change(&tx, actor, parent, version).await?;
    let parties = viewer.parties(&row, watcher);
    if !parties.iter().any(|p| matches!(p, Party::Moderator | Party::Assignee)) {
        return Err(DomainError::Forbidden { needed: Permission::WorkTicket });
    }
    if row.parent_id.is_some() {
        return Err(DomainError::invalid("parentId", "a sub-ticket cannot have sub-tickets (one level)"));
    }
    if !store::state_of(&row).is_open() {
        return Err(DomainError::invalid("parentId", "the parent is no longer open"));
    }
    // The parent's version moves: the split is a write to it.
    let parent_row = store::write(tx.db(), &row, tickets::ActiveModel::default(), now).await?;
    let place = Placement {
        workspace: row.workspace_id.into(),
        department,
        requester: UserId(row.requester_id),
        parent: Some(parent),
        link: None,
        number: None,
    };
    let sub = lifecycle::insert_ticket(app, &mut tx, actor, place, input).await?;
    announce(&mut tx, &parent_row, TicketEventKind::SubticketChanged, None, None, actor, now);
    let sub_viewer = viewer.clone();
    let ticket = queries::view_in(tx.db(), &sub_viewer, sub, now).await?;
    tx.commit().await?;
    Ok(ticket)
}

/// Opens a new ticket continuing `original`, linked `follow_up_of` (for a ticket reopened
/// `MAX_REOPENS` times, or any resolved or closed one). Its requester is the original's.
///
/// # Errors
/// `NOT_FOUND`, `FORBIDDEN` (neither its requester nor staff), `INVALID_STATE` (the original is
/// still open), the [`NewTicket`] fields.
pub async fn create_follow_up(app: &AppCtx, actor: &Actor, original: TicketId, input: NewTicket) -> Result<Ticket> {
    let mut tx = app.begin().await?;
    let (row, viewer, _) = load_visible(&tx, actor, original).await?;
    if !(viewer.staffs(row.department_id.into()) || row.requester_id == viewer.user.0) {
        return Err(DomainError::Forbidden { needed: Permission::WorkTicket });
    }
    if !matches!(store::state_of(&row), State::Resolved | State::Closed) {
        return Err(DomainError::InvalidState { reason: "INVALID_TRANSITION", allowed: vec![], blocked_by: vec![] });
    }
    let place = Placement {
        workspace: row.workspace_id.into(),
        department: row.department_id.into(),
        requester: UserId(row.requester_id),
        parent: None,
        link: Some((LinkKind::FollowUpOf, original)),
        number: None,
    };
    let created = lifecycle::insert_ticket(app, &mut tx, actor, place, input).await?;
    let ticket = queries::view_in(tx.db(), &viewer, created, app.now()).await?;
    tx.commit().await?;
    Ok(ticket)
}

/// Merges `source` into `target` (as Zammad, without moving messages: chat `seq` stays intact).
/// The source turns `merged` (terminal; its channels are archived, so read-only) and points at
/// the target; its requester and watchers watch the target.
///
/// # Errors
/// `NOT_FOUND`, `CONFLICT` (stale source version), `FORBIDDEN`, `INVALID_STATE` (the source's
/// state), `BAD_USER_INPUT` (targetId: itself, another workspace, or a ticket no longer open).
pub async fn merge_ticket(
    app: &AppCtx,
    actor: &Actor,
    source: TicketId,
    version: i64,
    target: TicketId,
) -> Result<Ticket> {
    let now = app.now();
    if source == target {
        return Err(DomainError::invalid("targetId", "a ticket cannot merge into itself"));
    }
    let mut tx = app.begin().await?;
    let (row, viewer, watcher) = load_for_change(&tx, actor, source, version).await?;
    let into = store::lock(tx.db(), target).await?;
    let into = match into {
        Some(t)
            if t.workspace_id == row.workspace_id
                && viewer.sees(&t, store::is_watcher(tx.db(), target, viewer.user).await?) =>
        {
            t
        }
        _ => return Err(DomainError::invalid("targetId", "no such ticket in this workspace")),
    };
    if !store::state_of(&into).occupies_slot() && store::state_of(&into) != State::Queued {
        return Err(DomainError::invalid("targetId", "the target is no longer open"));
    }
    let (_, window) = lifecycle::settings(tx.db(), row.workspace_id.into()).await?;
    let open = store::open_subtickets(tx.db(), source).await?;
    let facts = store::facts(&row, !open.is_empty(), window, now);
    let from = store::state_of(&row);
    let to = fire_as(from, Action::Merge, &viewer.parties(&row, watcher), facts).map_err(|r| refusal(r, open))?;
    let change = Change { merged_into: Some(target), ..Change::default() };
    let merged = apply(&mut tx, actor, row.clone(), Action::Merge, to, change, now).await?;
    let merged = after_move(&mut tx, from, merged, now).await?;
    let mut people = store::watchers(tx.db(), source).await?;
    people.push(UserId(row.requester_id));
    for person in people {
        if person.0 != into.requester_id && !store::is_watcher(tx.db(), target, person).await? {
            ticket_watchers::Entity::insert(ticket_watchers::ActiveModel {
                id: Set(uuid::Uuid::now_v7()),
                ticket_id: Set(target.0),
                user_id: Set(person.0),
            })
            .exec_without_returning(tx.db())
            .await?;
            join_channel(&mut tx, into.channel_id, person).await?;
        }
    }
    for channel in [row.channel_id, row.notes_channel_id].into_iter().flatten() {
        channels::Entity::update_many()
            .col_expr(channels::Column::ArchivedAt, sea_orm::sea_query::Expr::value(now))
            .filter(channels::Column::Id.eq(channel))
            .exec(tx.db())
            .await?;
    }
    insert_link(&tx, source, target, LinkKind::DuplicateOf, actor, now).await?;
    let ticket = queries::view_in(tx.db(), &viewer, merged, now).await?;
    tx.commit().await?;
    Ok(ticket)
}

async fn insert_link(
    tx: &crate::tx::Tx,
    from: TicketId,
    to: TicketId,
    kind: LinkKind,
    actor: &Actor,
    now: DateTime<Utc>,
) -> Result<()> {
    ticket_links::Entity::insert(ticket_links::ActiveModel {
        id: Set(uuid::Uuid::now_v7()),
        ticket_id: Set(from.0),
        other_id: Set(to.0),
        kind: Set(kind.as_str().to_owned()),
        created_by: Set(actor.user_id().ok().map(|u| u.0)),
        created_at: Set(now),
    })
    .exec_without_returning(tx.db())
    .await
    .on_unique(|| DomainError::Conflict("these tickets are linked so already"))?;
    Ok(())
}

/// Links two tickets of a workspace (staff of the first).
///
/// # Errors
/// `NOT_FOUND`, `FORBIDDEN`, `BAD_USER_INPUT` (otherId: itself or another workspace), `CONFLICT`
/// (linked so already).
pub async fn link_tickets(
    app: &AppCtx,
    actor: &Actor,
    id: TicketId,
    other: TicketId,
    kind: LinkKind,
) -> Result<Ticket> {
    if id == other {
        return Err(DomainError::invalid("otherId", "a ticket cannot link to itself"));
    }
    let mut tx = app.begin().await?;
    let (row, viewer, _) = load_visible(&tx, actor, id).await?;
    require_staff(&viewer, &row)?;
    let theirs = tickets::Entity::find_by_id(other.0).one(tx.db()).await?;
    if theirs.is_none_or(|t| t.workspace_id != row.workspace_id) {
        return Err(DomainError::invalid("otherId", "no such ticket in this workspace"));
    }
    insert_link(&tx, id, other, kind, actor, app.now()).await?;
    audit::record(
        &mut tx,
        AuditRecord::new(actor, Some(row.workspace_id.into()), "ticket.linked", "ticket", Some(row.id))
            .with(serde_json::json!({ "otherId": other.0, "kind": kind.as_str() })),
    )
    .await?;
    let ticket = queries::view_in(tx.db(), &viewer, row, app.now()).await?;
    tx.commit().await?;
    Ok(ticket)
}

/// The workspace's ticket settings, in minutes.
#[derive(Debug, Clone, Copy)]
pub struct TicketSettings {
    pub auto_close_minutes: i32,
    pub reopen_window_minutes: i32,
}

/// Sets how long a resolved ticket waits before closing and how long a closed one may be reopened.
///
/// # Errors
/// `NOT_FOUND`, `FORBIDDEN`, `BAD_USER_INPUT` (each 1 to 525,600 minutes).
pub async fn update_ticket_settings(
    app: &AppCtx,
    actor: &Actor,
    workspace: WorkspaceId,
    settings: TicketSettings,
) -> Result<TicketSettings> {
    for (field, v) in
        [("autoCloseMinutes", settings.auto_close_minutes), ("reopenWindowMinutes", settings.reopen_window_minutes)]
    {
        if !(1..=525_600).contains(&v) {
            return Err(DomainError::invalid(field, "1 to 525600 minutes"));
        }
    }
    let mut tx = app.begin().await?;
    crate::workspaces::store::require_permission(tx.db(), actor, workspace, Permission::ManageHelpdesk).await?;
    let (auto, window) = lifecycle::settings(tx.db(), workspace).await?;
    workspaces::Entity::update_many()
        .col_expr(
            workspaces::Column::TicketAutoCloseMinutes,
            sea_orm::sea_query::Expr::value(settings.auto_close_minutes),
        )
        .col_expr(
            workspaces::Column::TicketReopenWindowMinutes,
            sea_orm::sea_query::Expr::value(settings.reopen_window_minutes),
        )
        .filter(workspaces::Column::Id.eq(workspace.0))
        .exec(tx.db())
        .await?;
    let record = AuditRecord::new(actor, Some(workspace), "workspace.ticket_settings", "workspace", Some(workspace.0))
        .changed("autoCloseMinutes", auto, settings.auto_close_minutes)
        .changed("reopenWindowMinutes", window, settings.reopen_window_minutes);
    audit::record(&mut tx, record).await?;
    tx.commit().await?;
    Ok(settings)
}

/// The workspace's ticket settings.
///
/// # Errors
/// `NOT_FOUND` (not a member).
pub async fn ticket_settings(app: &AppCtx, actor: &Actor, workspace: WorkspaceId) -> Result<TicketSettings> {
    crate::workspaces::store::require_permission(app.db(), actor, workspace, Permission::ViewWorkspace).await?;
    let (auto_close_minutes, reopen_window_minutes) = lifecycle::settings(app.db(), workspace).await?;
    Ok(TicketSettings { auto_close_minutes, reopen_window_minutes })
}

/// What a message posted in a ticket channel means for the ticket: the first public message of
/// staff is its first response; the event tells the ticket's followers (a note, staff only).
///
/// # Errors
/// `Internal` or `UNAVAILABLE` when the database fails.
pub(crate) async fn message_posted(app: &AppCtx, channel: ChannelId, author: UserId, at: DateTime<Utc>) -> Result<()> {
    let found = tickets::Entity::find()
        .filter(
            sea_orm::Condition::any()
                .add(tickets::Column::ChannelId.eq(channel.0))
                .add(tickets::Column::NotesChannelId.eq(channel.0)),
        )
        .one(app.db())
        .await?;
    let Some(row) = found else { return Ok(()) };
    let public = row.channel_id == Some(channel.0);
    let mut tx = app.begin().await?;
    let staff = author.0 != row.requester_id
        && (row.assignee_id == Some(author.0)
            || department_members::is_enrolled(tx.db(), row.department_id.into(), author).await?
            || crate::workspaces::store::membership(tx.db(), row.workspace_id.into(), author)
                .await?
                .is_some_and(|m| matches!(m.role.as_str(), "owner" | "admin" | "moderator")));
    if public && staff && row.first_response_at.is_none() {
        tickets::Entity::update_many()
            .col_expr(tickets::Column::FirstResponseAt, sea_orm::sea_query::Expr::value(at))
            .filter(tickets::Column::Id.eq(row.id))
            .filter(tickets::Column::FirstResponseAt.is_null())
            .exec(tx.db())
            .await?;
    }
    let kind = if public { TicketEventKind::MessagePosted } else { TicketEventKind::NoteAdded };
    announce(&mut tx, &row, kind, None, None, &Actor::System("chat"), at);
    tx.commit().await?;
    Ok(())
}
