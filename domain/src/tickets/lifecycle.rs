//! A ticket's life: creation (numbered, admitted or queued), transitions through the one table
//! with the caller's version, and the slot accounting that admits the head of a queue in the same
//! transaction that frees a slot.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use sea_orm::ActiveValue::Set;
use sea_orm::{ConnectionTrait, EntityTrait};
use stoa_entities::{channels, departments, ticket_links, ticket_watchers, tickets, workspaces};

use crate::actor::Actor;
use crate::app::AppCtx;
use crate::audit::{self, AuditRecord};
use crate::authz::Permission;
use crate::chat::create_channel::add_member_row;
use crate::error::{DomainError, Result};
use crate::events::Event;
use crate::ids::{ChannelId, DepartmentId, TicketId, UserId, WorkspaceId};
use crate::tickets::model::{LinkKind, Priority, QueueEvent, Ticket, TicketEvent, TicketEventKind};
use crate::tickets::store::{self, Viewer};
use crate::tickets::transitions::{self, Action, Facts, Party, Reason, Refusal, State};
use crate::tickets::{queries, service_levels};
use crate::tx::Tx;
use crate::workspaces::department_members;

/// Longest title, in characters.
pub const TITLE_CHARS: usize = 200;
/// Longest description, in characters.
pub const DESCRIPTION_CHARS: usize = 20_000;
/// Longest reason (hold, cancel, reject, reopen), in characters.
pub const REASON_CHARS: usize = 2_000;
/// Most labels on a ticket.
pub const MAX_LABELS: usize = 20;

/// What a new ticket says.
#[derive(Debug, Clone)]
pub struct NewTicket {
    pub title: String,
    pub description: String,
    pub priority: Priority,
    pub category: Option<String>,
    pub labels: Vec<String>,
    pub watcher_ids: Vec<UserId>,
}

/// Input of [`transition`].
#[derive(Debug, Clone)]
pub struct TransitionInput {
    pub ticket: TicketId,
    /// The version the caller read.
    pub version: i64,
    pub action: Action,
    /// Required to hold, cancel and reject; optional otherwise.
    pub reason: Option<String>,
    /// When a hold ends by itself (must be in the future).
    pub until: Option<DateTime<Utc>>,
    /// Who to assign (`ASSIGN`); the caller when absent.
    pub assignee: Option<UserId>,
}

pub(crate) fn parse_title(raw: &str) -> Result<String> {
    let title = raw.trim();
    if title.is_empty() || title.chars().count() > TITLE_CHARS || title.chars().any(char::is_control) {
        return Err(DomainError::invalid("title", format!("1 to {TITLE_CHARS} characters, no control characters")));
    }
    Ok(title.to_owned())
}

pub(crate) fn parse_description(raw: &str) -> Result<String> {
    if raw.chars().count() > DESCRIPTION_CHARS {
        return Err(DomainError::invalid("description", format!("at most {DESCRIPTION_CHARS} characters")));
    }
    Ok(raw.trim().to_owned())
}

pub(crate) fn parse_category(raw: Option<String>) -> Result<Option<String>> {
    let Some(category) = raw.map(|c| c.trim().to_lowercase()).filter(|c| !c.is_empty()) else { return Ok(None) };
    if category.chars().count() > 64 || category.chars().any(char::is_control) {
        return Err(DomainError::invalid("category", "at most 64 characters"));
    }
    Ok(Some(category))
}

pub(crate) fn parse_labels(raw: Vec<String>) -> Result<Vec<String>> {
    let mut labels: Vec<String> = Vec::new();
    for label in raw {
        let label = label.trim().to_lowercase();
        if label.is_empty() || label.chars().count() > 40 || label.chars().any(|c| c.is_control() || c == ',') {
            return Err(DomainError::invalid("labels", "each 1 to 40 characters, no commas"));
        }
        if !labels.contains(&label) {
            labels.push(label);
        }
    }
    if labels.len() > MAX_LABELS {
        return Err(DomainError::invalid("labels", format!("at most {MAX_LABELS}")));
    }
    labels.sort();
    Ok(labels)
}

fn parse_reason(raw: Option<String>, required: bool) -> Result<Option<String>> {
    let reason = raw.map(|r| r.trim().to_owned()).filter(|r| !r.is_empty());
    match reason {
        None if required => Err(DomainError::invalid("reason", "a reason is required")),
        Some(r) if r.chars().count() > REASON_CHARS => {
            Err(DomainError::invalid("reason", format!("at most {REASON_CHARS} characters")))
        }
        other => Ok(other),
    }
}

/// The workspace's ticket settings (auto-close and reopen window, in minutes).
pub(crate) async fn settings(db: &impl ConnectionTrait, workspace: WorkspaceId) -> Result<(i32, i32)> {
    let row = workspaces::Entity::find_by_id(workspace.0).one(db).await?.ok_or(DomainError::NotFound("workspace"))?;
    Ok((row.ticket_auto_close_minutes, row.ticket_reopen_window_minutes))
}

/// A private ticket channel with `members`.
async fn open_channel(
    tx: &mut Tx,
    workspace: WorkspaceId,
    name: String,
    creator: UserId,
    members: &[UserId],
    now: DateTime<Utc>,
) -> Result<ChannelId> {
    let id = ChannelId::new();
    channels::Entity::insert(channels::ActiveModel {
        id: Set(id.0),
        workspace_id: Set(workspace.0),
        kind: Set(crate::chat::ChannelKind::Ticket.as_str().to_owned()),
        name: Set(Some(name)),
        topic: Set(None),
        purpose: Set(None),
        deleted_at: Set(None),
        dm_key: Set(None),
        last_seq: Set(0),
        created_by: Set(creator.0),
        created_at: Set(now),
        archived_at: Set(None),
    })
    .exec_without_returning(tx.db())
    .await?;
    let mut added: Vec<UserId> = Vec::new();
    for user in members {
        if !added.contains(user) {
            add_member_row(tx, id, *user, 0).await?;
            added.push(*user);
        }
    }
    Ok(id)
}

/// Adds `user` to a ticket channel unless they are in it.
pub(crate) async fn join_channel(tx: &mut Tx, channel: Option<uuid::Uuid>, user: UserId) -> Result<()> {
    let Some(channel) = channel.map(ChannelId) else { return Ok(()) };
    if crate::chat::store::membership(tx.db(), channel, user).await?.is_none() {
        add_member_row(tx, channel, user, 0).await?;
    }
    Ok(())
}

/// Where a new ticket goes.
pub(crate) struct Placement {
    pub workspace: WorkspaceId,
    pub department: DepartmentId,
    pub requester: UserId,
    pub parent: Option<TicketId>,
    /// A link the new ticket starts with (`follow_up_of`).
    pub link: Option<(LinkKind, TicketId)>,
    /// Its number, when the caller took it before the transaction (see [`create_ticket`]);
    /// otherwise taken inside it.
    pub number: Option<i64>,
}

/// Inserts a ticket, its labels, watchers, channels and link, admits or queues it, and records it.
#[expect(clippy::too_many_lines, reason = "one insert naming every column reads best whole")]
pub(crate) async fn insert_ticket(
    app: &AppCtx,
    tx: &mut Tx,
    actor: &Actor,
    place: Placement,
    input: NewTicket,
) -> Result<tickets::Model> {
    let now = app.now();
    let title = parse_title(&input.title)?;
    let description = parse_description(&input.description)?;
    let category = parse_category(input.category)?;
    let labels = parse_labels(input.labels)?;
    if input.watcher_ids.len() > 50 {
        return Err(DomainError::invalid("watcherIds", "at most 50"));
    }
    // Checked now, locked last: the department's lock serialises creations only for the few
    // statements that decide admission, not for the whole insert.
    let found = stoa_entities::departments::Entity::find_by_id(place.department.0).one(tx.db()).await?;
    if found.is_none_or(|d| d.workspace_id != place.workspace.0) {
        return Err(DomainError::invalid("departmentId", "no such department in this workspace"));
    }
    for watcher in &input.watcher_ids {
        if crate::workspaces::store::membership(tx.db(), place.workspace, *watcher).await?.is_none() {
            return Err(DomainError::invalid("watcherIds", "every watcher must be a member of the workspace"));
        }
    }
    let number = match place.number {
        Some(number) => number,
        None => store::next_number(tx.db(), place.workspace).await?,
    };
    let agents = department_members::member_ids(tx.db(), place.department).await?;
    let requester_side: Vec<UserId> = std::iter::once(place.requester).chain(agents.iter().copied()).collect();
    let channel =
        open_channel(tx, place.workspace, format!("ticket-{number}"), place.requester, &requester_side, now).await?;
    let notes =
        open_channel(tx, place.workspace, format!("ticket-{number}-notes"), place.requester, &agents, now).await?;
    let id = TicketId::new();
    let policy =
        service_levels::policy_for(tx.db(), place.workspace, place.department, input.priority, category.as_deref())
            .await?;
    let dues = policy.as_ref().map(|p| p.dues(now, 0)).unwrap_or_default();
    let row = tickets::Entity::insert(tickets::ActiveModel {
        id: Set(id.0),
        workspace_id: Set(place.workspace.0),
        number: Set(number),
        title: Set(title),
        description: Set(description),
        priority: Set(input.priority.as_str().to_owned()),
        category: Set(category),
        requester_id: Set(place.requester.0),
        department_id: Set(place.department.0),
        assignee_id: Set(None),
        state: Set(State::New.as_str().to_owned()),
        state_reason: Set(None),
        hold_until: Set(None),
        version: Set(1),
        reopen_count: Set(0),
        parent_id: Set(place.parent.map(|p| p.0)),
        merged_into_id: Set(None),
        channel_id: Set(Some(channel.0)),
        notes_channel_id: Set(Some(notes.0)),
        approval_rejected: Set(false),
        created_at: Set(now),
        updated_at: Set(now),
        queued_at: Set(now),
        resolved_at: Set(None),
        auto_close_at: Set(None),
        closed_at: Set(None),
        first_response_at: Set(None),
        sla_policy_id: Set(policy.as_ref().map(|p| p.id.0)),
        first_response_due_at: Set(dues.first_response),
        resolution_due_at: Set(dues.resolution),
        sla_paused_minutes: Set(0),
        sla_paused_since: Set(None),
        sla_warn_at: Set(dues.warn),
        sla_warned_at: Set(None),
        breached_at: Set(None),
    })
    .exec_with_returning(tx.db())
    .await?;
    store::set_labels(tx.db(), id, &labels).await?;
    let mut watchers: Vec<UserId> = Vec::new();
    for watcher in input.watcher_ids {
        if watcher != place.requester && !watchers.contains(&watcher) {
            watchers.push(watcher);
            ticket_watchers::Entity::insert(ticket_watchers::ActiveModel {
                id: Set(uuid::Uuid::now_v7()),
                ticket_id: Set(id.0),
                user_id: Set(watcher.0),
            })
            .exec_without_returning(tx.db())
            .await?;
            join_channel(tx, Some(channel.0), watcher).await?;
        }
    }
    if let Some((kind, other)) = place.link {
        ticket_links::Entity::insert(ticket_links::ActiveModel {
            id: Set(uuid::Uuid::now_v7()),
            ticket_id: Set(id.0),
            other_id: Set(other.0),
            kind: Set(kind.as_str().to_owned()),
            created_by: Set(actor.user_id().ok().map(|u| u.0)),
            created_at: Set(now),
        })
        .exec_without_returning(tx.db())
        .await?;
    }
    let record = AuditRecord::new(actor, Some(place.workspace), "ticket.created", "ticket", Some(id.0))
        .with(serde_json::json!({ "number": number, "to": State::New.as_str(), "parent": place.parent.map(|p| p.0) }));
    audit::record(tx, record).await?;
    announce(tx, &row, TicketEventKind::Created, None, None, actor, now);
    // A full department queues it: decided under its lock, which every other change of its
    // occupancy takes too; a concurrent creation's count waits here and then sees this one.
    let department = store::lock_department_in(tx.db(), place.workspace, place.department, "departmentId").await?;
    let (occupied, _) = store::occupancy(tx.db(), place.department).await?;
    if full(&department, occupied) {
        return system_fire(tx, row, Action::Queue, now).await;
    }
    Ok(row)
}

/// Whether `occupied` slots exceed what `department` holds (capacity 0: no limit).
fn full(department: &departments::Model, occupied: i64) -> bool {
    department.capacity > 0 && occupied > i64::from(department.capacity)
}

/// Queues the event of a change to `row`.
pub(crate) fn announce(
    tx: &mut Tx,
    row: &tickets::Model,
    kind: TicketEventKind,
    from: Option<State>,
    action: Option<Action>,
    actor: &Actor,
    now: DateTime<Utc>,
) {
    tx.emit(Event::Ticket(Arc::new(TicketEvent {
        ticket_id: row.id.into(),
        parent_id: row.parent_id.map(TicketId),
        workspace_id: row.workspace_id.into(),
        kind,
        from,
        to: store::state_of(row),
        action,
        version: row.version,
        actor_id: actor.user_id().ok(),
        at: now,
    })));
}

/// Fires `action` as the system (admission, queueing, auto-close): no version from a client, but
/// the row's own version still guards the write.
pub(crate) async fn system_fire(
    tx: &mut Tx,
    row: tickets::Model,
    action: Action,
    now: DateTime<Utc>,
) -> Result<tickets::Model> {
    let facts = Facts::default();
    let to = transitions::fire(store::state_of(&row), action, Party::System, facts).map_err(|r| refusal(r, vec![]))?;
    let actor = Actor::system("tickets");
    let moved = apply(tx, &actor, row, action, to, Change::default(), now).await?;
    if matches!(action, Action::Admit | Action::Queue) {
        let department = DepartmentId(moved.department_id);
        let (occupancy, waiting) = store::occupancy(tx.db(), department).await?;
        tx.emit(Event::TicketQueue(Arc::new(QueueEvent {
            department_id: department,
            ticket_id: moved.id.into(),
            admitted: action == Action::Admit,
            occupancy,
            waiting,
            at: now,
        })));
    }
    Ok(moved)
}

/// What a transition writes besides the state.
#[derive(Debug, Default)]
pub(crate) struct Change {
    pub assignee: Option<UserId>,
    pub reason: Option<String>,
    pub until: Option<DateTime<Utc>>,
    pub merged_into: Option<TicketId>,
    /// When a resolution closes by itself.
    pub auto_close_at: Option<DateTime<Utc>>,
}

/// Writes the transition `action` (already allowed by the table) to `to`, audits and announces it,
/// and keeps the SLA clock. Slot accounting is the caller's ([`after_move`]).
pub(crate) async fn apply(
    tx: &mut Tx,
    actor: &Actor,
    row: tickets::Model,
    action: Action,
    to: State,
    change: Change,
    now: DateTime<Utc>,
) -> Result<tickets::Model> {
    let from = store::state_of(&row);
    let mut write = tickets::ActiveModel { state: Set(to.as_str().to_owned()), ..Default::default() };
    match action {
        Action::Assign => write.assignee_id = Set(change.assignee.map(|a| a.0)),
        Action::Hold => {
            write.state_reason = Set(change.reason.clone());
            write.hold_until = Set(change.until);
        }
        Action::Resume => write.hold_until = Set(None),
        Action::Cancel => write.state_reason = Set(change.reason.clone()),
        Action::Resolve => {
            write.resolved_at = Set(Some(now));
            write.auto_close_at = Set(change.auto_close_at);
        }
        Action::Confirm | Action::AutoClose => {
            write.closed_at = Set(Some(now));
            write.auto_close_at = Set(None);
        }
        Action::Reopen => {
            write.reopen_count = Set(row.reopen_count + 1);
            write.resolved_at = Set(None);
            write.auto_close_at = Set(None);
            write.closed_at = Set(None);
        }
        Action::Queue => write.queued_at = Set(now),
        Action::Merge => write.merged_into_id = Set(change.merged_into.map(|t| t.0)),
        Action::Reject => {
            write.approval_rejected = Set(true);
            write.state_reason = Set(change.reason.clone());
        }
        Action::Approve => write.approval_rejected = Set(false),
        Action::Admit | Action::Start | Action::AskRequester | Action::RequesterReplied | Action::RequestApproval => {}
    }
    service_levels::on_move(tx.db(), &row, from, to, &mut write, now).await?;
    let fresh = store::write(tx.db(), &row, write, now).await?;
    let record = AuditRecord::new(actor, Some(row.workspace_id.into()), "ticket.transitioned", "ticket", Some(row.id))
        .changed("state", from.as_str(), to.as_str())
        .with(serde_json::json!({
            "action": action.as_str(),
            "from": from.as_str(),
            "to": to.as_str(),
            "reason": change.reason,
        }));
    audit::record(tx, record).await?;
    announce(tx, &fresh, TicketEventKind::Transitioned, Some(from), Some(action), actor, now);
    if let Some(parent) = fresh.parent_id {
        // The parent's followers (its assignee, moderators) hear of the sub-ticket's moves.
        if let Some(parent) = tickets::Entity::find_by_id(parent).one(tx.db()).await? {
            announce(tx, &parent, TicketEventKind::SubticketChanged, None, Some(action), actor, now);
        }
    }
    Ok(fresh)
}

/// After `row` moved from `from`: a freed slot admits the head of the queue (in this
/// transaction), and a ticket that took a slot in a full department is queued.
pub(crate) async fn after_move(
    tx: &mut Tx,
    from: State,
    row: tickets::Model,
    now: DateTime<Utc>,
) -> Result<tickets::Model> {
    let to = store::state_of(&row);
    let department = DepartmentId(row.department_id);
    if from.occupies_slot() && !to.occupies_slot() {
        admit_waiting(tx, department, now).await?;
        return Ok(row);
    }
    if !from.occupies_slot() && to.occupies_slot() && to != State::New {
        // A reopen: back into the queue when the department is full.
        let dept = store::lock_department(tx.db(), department).await?;
        let (occupied, _) = store::occupancy(tx.db(), department).await?;
        if full(&dept, occupied) {
            return system_fire(tx, row, Action::Queue, now).await;
        }
    }
    Ok(row)
}

/// Admits queued tickets of `department` while it has free slots, head first.
pub(crate) async fn admit_waiting(tx: &mut Tx, department: DepartmentId, now: DateTime<Utc>) -> Result<()> {
    let dept = store::lock_department(tx.db(), department).await?;
    loop {
        let (occupied, waiting) = store::occupancy(tx.db(), department).await?;
        if waiting == 0 || (dept.capacity > 0 && occupied >= i64::from(dept.capacity)) {
            return Ok(());
        }
        let Some(head) = store::queue_head(tx.db(), department).await? else { return Ok(()) };
        let Some(row) = store::lock(tx.db(), head).await? else { return Ok(()) };
        system_fire(tx, row, Action::Admit, now).await?;
    }
}

/// The `INVALID_STATE` or `FORBIDDEN` of a refusal.
pub(crate) fn refusal(refusal: Refusal, blocked_by: Vec<uuid::Uuid>) -> DomainError {
    match refusal {
        Refusal::Forbidden => DomainError::Forbidden { needed: Permission::WorkTicket },
        Refusal::InvalidState { reason, allowed } => DomainError::InvalidState {
            reason: reason.as_str(),
            allowed: allowed.into_iter().map(Action::as_str).collect(),
            blocked_by: if reason == Reason::OpenSubtickets { blocked_by } else { vec![] },
        },
    }
}

/// Fires `action` for the viewer over every part they play: the first part the table lets act
/// wins; if none may, the refusal of the strongest part that the state allowed (else the first).
pub(crate) fn fire_as(state: State, action: Action, parties: &[Party], facts: Facts) -> Result<State, Refusal> {
    let mut first_refusal = None;
    for party in parties {
        match transitions::fire(state, action, *party, facts) {
            Ok(to) => return Ok(to),
            Err(Refusal::InvalidState { reason, .. }) => {
                // A condition or the source refused: the same for every part. Offer what all parts may.
                let allowed = store::available(state, parties, facts);
                return Err(Refusal::InvalidState { reason, allowed });
            }
            Err(Refusal::Forbidden) => first_refusal = first_refusal.or(Some(Refusal::Forbidden)),
        }
    }
    Err(first_refusal.unwrap_or(Refusal::Forbidden))
}

/// Loads a ticket for `actor`: locked, and visible to them (else `NOT_FOUND`); with the viewer and
/// whether they watch it.
pub(crate) async fn load_visible(tx: &Tx, actor: &Actor, id: TicketId) -> Result<(tickets::Model, Viewer, bool)> {
    let row = store::lock(tx.db(), id).await?.ok_or(DomainError::NotFound("ticket"))?;
    let viewer = store::viewer(tx.db(), actor, row.workspace_id.into(), "ticket").await?;
    let watcher = store::is_watcher(tx.db(), id, viewer.user).await?;
    if !viewer.sees(&row, watcher) {
        return Err(DomainError::NotFound("ticket"));
    }
    Ok((row, viewer, watcher))
}

/// Loads a ticket for a change by `actor`: locked, visible, at the version they read.
pub(crate) async fn load_for_change(
    tx: &Tx,
    actor: &Actor,
    id: TicketId,
    version: i64,
) -> Result<(tickets::Model, Viewer, bool)> {
    let (row, viewer, watcher) = load_visible(tx, actor, id).await?;
    if row.version != version {
        return Err(store::stale(&row));
    }
    Ok((row, viewer, watcher))
}

/// Opens a ticket in `department` as its requester.
///
/// # Errors
/// `NOT_FOUND` (workspace), `BAD_USER_INPUT` (title, description, category, labels, watcherIds,
/// departmentId).
#[tracing::instrument(skip_all, fields(actor = %actor.label(), workspace = %workspace))]
pub async fn create_ticket(
    app: &AppCtx,
    actor: &Actor,
    workspace: WorkspaceId,
    department: DepartmentId,
    input: NewTicket,
) -> Result<Ticket> {
    // What needs no database is checked before a number is taken.
    parse_title(&input.title)?;
    parse_description(&input.description)?;
    parse_labels(input.labels.clone())?;
    // The number is taken in a statement of its own, before the transaction: concurrent creations
    // then do not queue behind the counter's lock until each commits (a creation refused after
    // this leaves a gap, as a sequence does). Only members take numbers.
    let viewer = store::viewer(app.db(), actor, workspace, "workspace").await?;
    let number = store::next_number(app.db(), workspace).await?;
    let mut tx = app.begin().await?;
    let place =
        Placement { workspace, department, requester: viewer.user, parent: None, link: None, number: Some(number) };
    let row = insert_ticket(app, &mut tx, actor, place, input).await?;
    let ticket = queries::view_in(tx.db(), &viewer, row, app.now()).await?;
    tx.commit().await?;
    Ok(ticket)
}

/// Fires a transition with the version the caller read.
///
/// # Errors
/// `NOT_FOUND` (invisible), `CONFLICT` (stale version, with `currentVersion`), `FORBIDDEN` (the
/// caller's part may not), `INVALID_STATE` (with `reason` and `allowed`), `BAD_USER_INPUT`
/// (reason, until, assigneeId).
#[tracing::instrument(skip_all, fields(actor = %actor.label(), ticket = %input.ticket, action = input.action.as_str()))]
pub async fn transition(app: &AppCtx, actor: &Actor, input: TransitionInput) -> Result<Ticket> {
    let now = app.now();
    match input.action {
        Action::Merge => return Err(DomainError::invalid("action", "merge with mergeTicket, which names the target")),
        Action::RequestApproval => {
            return Err(DomainError::invalid("action", "ask with requestApproval, which names the policy"));
        }
        Action::Approve | Action::Reject => {
            return Err(DomainError::invalid("action", "decide with decideApproval"));
        }
        _ => {}
    }
    let required = matches!(input.action, Action::Hold | Action::Cancel | Action::Reject);
    let reason = parse_reason(input.reason, required)?;
    if let Some(until) = input.until {
        if input.action != Action::Hold {
            return Err(DomainError::invalid("until", "only a hold has an end"));
        }
        if until <= now {
            return Err(DomainError::invalid("until", "must be in the future"));
        }
    }
    let mut tx = app.begin().await?;
    let (row, viewer, watcher) = load_for_change(&tx, actor, input.ticket, input.version).await?;
    let (auto_close, window) = settings(tx.db(), row.workspace_id.into()).await?;
    let open = store::open_subtickets(tx.db(), input.ticket).await?;
    let facts = store::facts(&row, !open.is_empty(), window, now);
    let from = store::state_of(&row);
    let to =
        fire_as(from, input.action, &viewer.parties(&row, watcher), facts).map_err(|r| refusal(r, open.clone()))?;
    let auto_close_at = Some(now + chrono::Duration::minutes(i64::from(auto_close)));
    let mut change = Change { reason, until: input.until, auto_close_at, ..Change::default() };
    if input.action == Action::Assign {
        let assignee = input.assignee.unwrap_or(viewer.user);
        if !department_members::is_enrolled(tx.db(), row.department_id.into(), assignee).await? {
            return Err(DomainError::invalid("assigneeId", "the assignee must be an agent of the ticket's department"));
        }
        join_channel(&mut tx, row.channel_id, assignee).await?;
        join_channel(&mut tx, row.notes_channel_id, assignee).await?;
        change.assignee = Some(assignee);
    }
    let moved = apply(&mut tx, actor, row, input.action, to, change, now).await?;
    let moved = after_move(&mut tx, from, moved, now).await?;
    if input.action == Action::Reopen {
        crate::tickets::notify::reopened(&mut tx, &moved, now).await?;
    }
    let ticket = queries::view_in(tx.db(), &viewer, moved, now).await?;
    tx.commit().await?;
    Ok(ticket)
}

#[cfg(test)]
mod tests {
    /// Every Rust file under `dir`, recursively.
    fn sources(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
        let Ok(entries) = std::fs::read_dir(dir) else { return };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                sources(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }

    /// Like django-fsm's `protected=True`: a ticket's state is written in two places only, the
    /// insert of a new ticket and [`super::apply`] (which every transition goes through). Any other
    /// write of the column, through sea-orm or raw SQL, fails this test.
    #[test]
    fn only_the_transition_function_writes_a_tickets_state() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut files = Vec::new();
        sources(&root, &mut files);
        assert!(files.len() > 50, "the domain's sources were not found under {}", root.display());
        let mut writes = Vec::new();
        for file in files {
            let Ok(text) = std::fs::read_to_string(&file) else { continue };
            for line in text.lines() {
                let lower = line.to_ascii_lowercase();
                let writes_state = line.contains("state: Set(")
                    || line.contains(".state = Set(")
                    || lower.contains("set state")
                    || line.contains("Column::State,");
                // This test's own patterns and expectations.
                let this_test =
                    line.contains("writes_state") || line.contains("contains(\"") || line.trim_start().starts_with('"');
                if writes_state && !this_test {
                    writes.push(format!("{}: {}", file.strip_prefix(&root).unwrap_or(&file).display(), line.trim()));
                }
            }
        }
        let expected = [
            "tickets/lifecycle.rs: state: Set(State::New.as_str().to_owned()),",
            "tickets/lifecycle.rs: let mut write = tickets::ActiveModel { state: Set(to.as_str().to_owned()), ..Default::default() };",
        ];
        assert_eq!(writes, expected, "a ticket's state is written outside the transition function");
    }
}
