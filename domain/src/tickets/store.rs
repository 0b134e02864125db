//! Named queries of the helpdesk: who the viewer is to a ticket, locked loads, the guarded write,
//! numbering, occupancy and the queue.

use sea_orm::ActiveValue::Set;
use sea_orm::{ColumnTrait, ConnectionTrait, DbBackend, EntityTrait, QueryFilter, QuerySelect};
use stoa_entities::{departments, ticket_labels, ticket_watchers, tickets};

use crate::actor::Actor;
use crate::authz::Role;
use crate::chat::store::stmt;
use crate::error::{DomainError, Result};
use crate::ids::{DepartmentId, TicketId, UserId, WorkspaceId};
use crate::tickets::model::{Priority, Ticket};
use crate::tickets::transitions::{self, Action, Facts, Party, State};

/// Who is looking, in one workspace: their role and the departments they staff.
#[derive(Debug, Clone)]
pub(crate) struct Viewer {
    pub user: UserId,
    pub role: Role,
    pub departments: Vec<DepartmentId>,
    /// Tickets whose pending approval round waits for the viewer's decision.
    pub approving: Vec<TicketId>,
    /// Tickets the viewer was asked to decide (they stay visible to the decider).
    pub deciding: Vec<TicketId>,
}

impl Viewer {
    /// Moderators, admins and owners see and work every ticket of the workspace.
    pub fn sees_all(&self) -> bool {
        matches!(self.role, Role::Owner | Role::Admin | Role::Moderator)
    }

    /// Staff of `department`: its agents, and moderators and above.
    pub fn staffs(&self, department: DepartmentId) -> bool {
        self.sees_all() || self.departments.contains(&department)
    }

    /// Whether the viewer may see `row` (`watcher`: the viewer watches it). Requesters see their
    /// own and watched tickets, never a sub-ticket.
    pub fn sees(&self, row: &tickets::Model, watcher: bool) -> bool {
        self.staffs(row.department_id.into())
            || (row.parent_id.is_none() && (row.requester_id == self.user.0 || watcher))
            || self.deciding.contains(&TicketId(row.id))
    }

    /// Every part the viewer plays in `row`, strongest first.
    pub fn parties(&self, row: &tickets::Model, watcher: bool) -> Vec<Party> {
        let mut out = Vec::new();
        if self.sees_all() {
            out.push(Party::Moderator);
        }
        if row.assignee_id == Some(self.user.0) {
            out.push(Party::Assignee);
        }
        if self.departments.contains(&row.department_id.into()) {
            out.push(Party::Agent);
        }
        if row.parent_id.is_none() && (row.requester_id == self.user.0 || watcher) {
            out.push(Party::Requester);
        }
        if self.approving.contains(&TicketId(row.id)) {
            out.push(Party::Approver);
        }
        out
    }
}

/// The viewer of `workspace`, in one statement (its role, the departments it staffs, the tickets
/// awaiting its decision): `NOT_FOUND` (as `entity`) for a non-member, so nothing leaks.
pub(crate) async fn viewer(
    db: &impl ConnectionTrait,
    actor: &Actor,
    workspace: WorkspaceId,
    entity: &'static str,
) -> Result<Viewer> {
    let user = actor.user_id()?;
    let rows = db
        .query_all_raw(stmt(
            db.get_database_backend(),
            "SELECT m.role, dm.department_id, CAST(NULL AS uuid), CAST(NULL AS integer) FROM memberships m \
             LEFT JOIN department_members dm ON dm.workspace_id = m.workspace_id AND dm.user_id = m.user_id \
             WHERE m.workspace_id = $1 AND m.user_id = $2 \
             UNION ALL \
             SELECT NULL, NULL, a.ticket_id, CASE WHEN a.status = 'pending' AND ad.decision IS NULL THEN 1 ELSE 0 END \
             FROM ticket_approvals a \
             JOIN ticket_approval_deciders ad ON ad.approval_id = a.id \
             JOIN tickets tk ON tk.id = a.ticket_id \
             WHERE tk.workspace_id = $1 AND ad.user_id = $2",
            vec![workspace.0.into(), user.0.into()],
        ))
        .await?;
    let mut role = None;
    let mut departments = Vec::new();
    let mut approving = Vec::new();
    let mut deciding = Vec::new();
    for row in &rows {
        if let Some(r) = row.try_get_by_index::<Option<String>>(0)? {
            role = Role::parse(&r);
        }
        if let Some(d) = row.try_get_by_index::<Option<uuid::Uuid>>(1)? {
            departments.push(DepartmentId(d));
        }
        if let Some(t) = row.try_get_by_index::<Option<uuid::Uuid>>(2)? {
            deciding.push(TicketId(t));
            if row.try_get_by_index::<Option<i32>>(3)? == Some(1) {
                approving.push(TicketId(t));
            }
        }
    }
    let role = role.ok_or(DomainError::NotFound(entity))?;
    Ok(Viewer { user, role, departments, approving, deciding })
}

/// `FOR NO KEY UPDATE` on Postgres (SQLite's one writer serializes transactions already): it
/// serialises writers of the row but, unlike `FOR UPDATE`, not the `KEY SHARE` locks that rows
/// referencing it take (a ticket inserted into a department, a link to a ticket), which would
/// deadlock two creations that each inserted first and locked second.
fn for_update(backend: DbBackend) -> &'static str {
    if backend == DbBackend::Postgres { " FOR NO KEY UPDATE" } else { "" }
}

/// The ticket's row, locked to the end of the transaction.
pub(crate) async fn lock(db: &impl ConnectionTrait, id: TicketId) -> Result<Option<tickets::Model>> {
    use sea_orm::FromQueryResult as _;
    let backend = db.get_database_backend();
    let sql = format!("SELECT * FROM tickets WHERE id = $1{}", for_update(backend));
    let row = db.query_one_raw(stmt(backend, &sql, vec![id.0.into()])).await?;
    row.map(|r| tickets::Model::from_query_result(&r, "")).transpose().map_err(Into::into)
}

/// The department's row, locked: every change of its occupancy holds it, so occupancy and
/// admissions are decided one at a time.
pub(crate) async fn lock_department(db: &impl ConnectionTrait, id: DepartmentId) -> Result<departments::Model> {
    use sea_orm::FromQueryResult as _;
    let backend = db.get_database_backend();
    let sql = format!("SELECT * FROM departments WHERE id = $1{}", for_update(backend));
    let row =
        db.query_one_raw(stmt(backend, &sql, vec![id.0.into()])).await?.ok_or(DomainError::NotFound("department"))?;
    Ok(departments::Model::from_query_result(&row, "")?)
}

/// `department` of `workspace`, locked as [`lock_department`] locks it: `BAD_USER_INPUT` on
/// `field` when it is missing or another workspace's.
pub(crate) async fn lock_department_in(
    db: &impl ConnectionTrait,
    workspace: WorkspaceId,
    department: DepartmentId,
    field: &'static str,
) -> Result<departments::Model> {
    match lock_department(db, department).await {
        Ok(found) if found.workspace_id == workspace.0 => Ok(found),
        Ok(_) | Err(DomainError::NotFound(_)) => {
            Err(DomainError::invalid(field, "no such department in this workspace"))
        }
        Err(e) => Err(e),
    }
}

/// Whether `user` watches `ticket`.
pub(crate) async fn is_watcher(db: &impl ConnectionTrait, ticket: TicketId, user: UserId) -> Result<bool> {
    Ok(ticket_watchers::Entity::find()
        .filter(ticket_watchers::Column::TicketId.eq(ticket.0))
        .filter(ticket_watchers::Column::UserId.eq(user.0))
        .one(db)
        .await?
        .is_some())
}

/// The states in which a ticket no longer needs work, as SQL.
pub(crate) const DONE_STATES: &str = "('resolved', 'closed', 'cancelled', 'merged')";
/// The states holding a slot, as SQL.
pub(crate) const SLOT_STATES: &str =
    "('new', 'assigned', 'in_progress', 'on_hold', 'waiting_on_requester', 'pending_approval', 'reopened')";

/// The open sub-tickets of `ticket`, oldest first.
pub(crate) async fn open_subtickets(db: &impl ConnectionTrait, ticket: TicketId) -> Result<Vec<uuid::Uuid>> {
    let rows = db
        .query_all_raw(stmt(
            db.get_database_backend(),
            &format!("SELECT id FROM tickets WHERE parent_id = $1 AND state NOT IN {DONE_STATES} ORDER BY number"),
            vec![ticket.0.into()],
        ))
        .await?;
    rows.iter().map(|r| r.try_get_by_index::<uuid::Uuid>(0).map_err(Into::into)).collect()
}

/// The workspace's next ticket number. The upsert takes the counter row's lock to the commit, so
/// concurrent creations get distinct, increasing numbers.
pub(crate) async fn next_number(db: &impl ConnectionTrait, workspace: WorkspaceId) -> Result<i64> {
    let row = db
        .query_one_raw(stmt(
            db.get_database_backend(),
            "INSERT INTO ticket_counters (workspace_id, last_number) VALUES ($1, 1) \
             ON CONFLICT (workspace_id) DO UPDATE SET last_number = ticket_counters.last_number + 1 \
             RETURNING last_number",
            vec![workspace.0.into()],
        ))
        .await?
        .ok_or_else(|| DomainError::Internal(anyhow::anyhow!("the ticket counter returned no row")))?;
    Ok(row.try_get_by_index::<i64>(0)?)
}

/// Tickets of `department` holding a slot, and those waiting for one.
pub(crate) async fn occupancy(db: &impl ConnectionTrait, department: DepartmentId) -> Result<(i64, i64)> {
    let row = db
        .query_one_raw(stmt(
            db.get_database_backend(),
            &format!(
                "SELECT COALESCE(SUM(CASE WHEN state IN {SLOT_STATES} THEN 1 ELSE 0 END), 0), \
                 COALESCE(SUM(CASE WHEN state = 'queued' THEN 1 ELSE 0 END), 0) \
                 FROM tickets WHERE department_id = $1 AND state IN {SLOT_STATES_AND_QUEUED}"
            ),
            vec![department.0.into()],
        ))
        .await?
        .ok_or_else(|| DomainError::Internal(anyhow::anyhow!("occupancy returned no row")))?;
    Ok((row.try_get_by_index::<i64>(0)?, row.try_get_by_index::<i64>(1)?))
}

const SLOT_STATES_AND_QUEUED: &str =
    "('new', 'assigned', 'in_progress', 'on_hold', 'waiting_on_requester', 'pending_approval', 'reopened', 'queued')";

/// Queue order as SQL: priority (urgent first), then the time it joined the queue.
pub(crate) const QUEUE_ORDER: &str =
    "CASE priority WHEN 'urgent' THEN 3 WHEN 'high' THEN 2 WHEN 'normal' THEN 1 ELSE 0 END DESC, queued_at, id";

/// The head of `department`'s queue.
pub(crate) async fn queue_head(db: &impl ConnectionTrait, department: DepartmentId) -> Result<Option<TicketId>> {
    let row = db
        .query_one_raw(stmt(
            db.get_database_backend(),
            &format!(
                "SELECT id FROM tickets WHERE department_id = $1 AND state = 'queued' ORDER BY {QUEUE_ORDER} LIMIT 1"
            ),
            vec![department.0.into()],
        ))
        .await?;
    row.map(|r| r.try_get_by_index::<uuid::Uuid>(0).map(TicketId)).transpose().map_err(Into::into)
}

/// Replaces the ticket's labels.
pub(crate) async fn set_labels(db: &impl ConnectionTrait, ticket: TicketId, labels: &[String]) -> Result<()> {
    ticket_labels::Entity::delete_many().filter(ticket_labels::Column::TicketId.eq(ticket.0)).exec(db).await?;
    if labels.is_empty() {
        return Ok(());
    }
    let rows = labels.iter().map(|label| ticket_labels::ActiveModel {
        id: Set(uuid::Uuid::now_v7()),
        ticket_id: Set(ticket.0),
        label: Set(label.clone()),
    });
    ticket_labels::Entity::insert_many(rows).exec_without_returning(db).await?;
    Ok(())
}

/// The users watching `ticket`.
pub(crate) async fn watchers(db: &impl ConnectionTrait, ticket: TicketId) -> Result<Vec<UserId>> {
    let rows = ticket_watchers::Entity::find()
        .filter(ticket_watchers::Column::TicketId.eq(ticket.0))
        .select_only()
        .column(ticket_watchers::Column::UserId)
        .into_tuple::<uuid::Uuid>()
        .all(db)
        .await?;
    Ok(rows.into_iter().map(UserId).collect())
}

/// Writes `change` over `row` if the row is still at `row.version`, and returns the new row
/// (version + 1). The whole row is guarded: any write since the read makes this `CONFLICT`.
pub(crate) async fn write(
    db: &impl ConnectionTrait,
    row: &tickets::Model,
    mut change: tickets::ActiveModel,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<tickets::Model> {
    change.version = Set(row.version + 1);
    change.updated_at = Set(now);
    change.id = sea_orm::ActiveValue::NotSet;
    let done = tickets::Entity::update_many()
        .set(change)
        .filter(tickets::Column::Id.eq(row.id))
        .filter(tickets::Column::Version.eq(row.version))
        .exec(db)
        .await?;
    let fresh = tickets::Entity::find_by_id(row.id).one(db).await?.ok_or(DomainError::NotFound("ticket"))?;
    if done.rows_affected == 0 {
        return Err(stale(&fresh));
    }
    Ok(fresh)
}

/// The `CONFLICT` of a caller who read an older version than `current`.
pub(crate) fn stale(current: &tickets::Model) -> DomainError {
    DomainError::StaleVersion { current_version: current.version, current_state: state_of(current).api_name() }
}

/// The row's state (a row always holds a valid one: only this module writes it).
pub(crate) fn state_of(row: &tickets::Model) -> State {
    State::parse(&row.state).unwrap_or(State::New)
}

/// What the transition table reads about `row` at `now`.
pub(crate) fn facts(
    row: &tickets::Model,
    open_subtickets: bool,
    reopen_window_minutes: i32,
    now: chrono::DateTime<chrono::Utc>,
) -> Facts {
    let within_reopen_window =
        row.closed_at.is_some_and(|closed| now < closed + chrono::Duration::minutes(i64::from(reopen_window_minutes)));
    Facts { open_subtickets, reopen_count: u32::try_from(row.reopen_count).unwrap_or(0), within_reopen_window }
}

/// What the viewer may fire on `row`, in table order, over all the parts they play.
pub(crate) fn available(state: State, parties: &[Party], facts: Facts) -> Vec<Action> {
    let mut out: Vec<Action> = Vec::new();
    for party in parties {
        for action in transitions::available(state, *party, facts) {
            if !out.contains(&action) {
                out.push(action);
            }
        }
    }
    // Merging needs a target: it has its own mutation, but is listed so clients know they may.
    out
}

/// The read model of `row` for `viewer`.
pub(crate) fn view(
    row: tickets::Model,
    viewer: &Viewer,
    watcher: bool,
    labels: Vec<String>,
    facts: Facts,
    queue_position: Option<i64>,
) -> Ticket {
    let state = state_of(&row);
    let staff = viewer.staffs(row.department_id.into());
    let available = available(state, &viewer.parties(&row, watcher), facts);
    Ticket {
        id: row.id.into(),
        workspace_id: row.workspace_id.into(),
        number: row.number,
        title: row.title,
        description: row.description,
        priority: Priority::parse(&row.priority).unwrap_or(Priority::Normal),
        category: row.category,
        requester_id: row.requester_id.into(),
        department_id: row.department_id.into(),
        assignee_id: row.assignee_id.map(UserId),
        state,
        state_reason: row.state_reason,
        hold_until: row.hold_until,
        version: row.version,
        reopen_count: row.reopen_count,
        parent_id: row.parent_id.map(TicketId),
        merged_into_id: row.merged_into_id.map(TicketId),
        channel_id: row.channel_id.map(Into::into),
        notes_channel_id: if staff { row.notes_channel_id.map(Into::into) } else { None },
        approval_rejected: row.approval_rejected,
        labels,
        created_at: row.created_at,
        updated_at: row.updated_at,
        resolved_at: row.resolved_at,
        closed_at: row.closed_at,
        first_response_at: row.first_response_at,
        first_response_due_at: if staff { row.first_response_due_at } else { None },
        resolution_due_at: if staff { row.resolution_due_at } else { None },
        breached_at: if staff { row.breached_at } else { None },
        queue_position,
        available,
        viewer_is_staff: staff,
    }
}
