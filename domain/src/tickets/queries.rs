//! Reading tickets: one, a filtered page (the inbox: one statement for tickets, labels, sub-ticket
//! counts, watch flags, queue positions and the reopen window), counts, history, sub-tickets and links.

use chrono::{DateTime, Utc};
use sea_orm::{ColumnTrait, ConnectionTrait, DbBackend, EntityTrait, FromQueryResult as _, QueryFilter, QueryOrder};
use stoa_entities::{audit_log, ticket_links, tickets};

use crate::actor::Actor;
use crate::app::AppCtx;
use crate::chat::store::stmt;
use crate::error::{DomainError, Result};
use crate::ids::{DepartmentId, TicketId, UserId, WorkspaceId};
use crate::pagination::{Page, PageRequest};
use crate::tickets::model::{HistoryEntry, LinkKind, Priority, Ticket, TicketCount, TicketLink};
use crate::tickets::store::{self, DONE_STATES, Viewer};
use crate::tickets::transitions::State;

/// The rank of a priority column `p` as SQL (urgent 3 … low 0).
fn rank(p: &str) -> String {
    format!("CASE {p}.priority WHEN 'urgent' THEN 3 WHEN 'high' THEN 2 WHEN 'normal' THEN 1 ELSE 0 END")
}

/// Extra columns every ticket read selects beside `t.*`: open sub-tickets, whether the viewer
/// (`$1`) watches it, its queue position, its labels and the workspace's reopen window.
fn extras(backend: DbBackend) -> String {
    let labels = if backend == DbBackend::Postgres {
        "(SELECT string_agg(l.label, ',' ORDER BY l.label) FROM ticket_labels l WHERE l.ticket_id = t.id)"
    } else {
        "(SELECT group_concat(label, ',') FROM (SELECT l.label FROM ticket_labels l WHERE l.ticket_id = t.id ORDER BY l.label))"
    };
    format!(
        "(SELECT COUNT(*) FROM tickets s WHERE s.parent_id = t.id AND s.state NOT IN {DONE_STATES}) AS x_open_subs, \
         (SELECT COUNT(*) FROM ticket_watchers w WHERE w.ticket_id = t.id AND w.user_id = $1) AS x_watching, \
         CASE WHEN t.state = 'queued' THEN (SELECT COUNT(*) FROM tickets q WHERE q.department_id = t.department_id \
           AND q.state = 'queued' AND ({rq} > {rt} OR ({rq} = {rt} AND (q.queued_at < t.queued_at \
           OR (q.queued_at = t.queued_at AND q.id < t.id))))) + 1 END AS x_position, \
         {labels} AS x_labels, ws.ticket_reopen_window_minutes AS x_window",
        rq = rank("q"),
        rt = rank("t"),
    )
}

/// One row of [`extras`] as the viewer's read model.
fn from_row(row: &sea_orm::QueryResult, viewer: &Viewer, now: DateTime<Utc>) -> Result<Ticket> {
    let model = tickets::Model::from_query_result(row, "")?;
    let open_subs: i64 = row.try_get("", "x_open_subs")?;
    let watching: i64 = row.try_get("", "x_watching")?;
    let position: Option<i64> = row.try_get("", "x_position")?;
    let labels: Option<String> = row.try_get("", "x_labels")?;
    let window: i32 = row.try_get("", "x_window")?;
    let labels = labels.map(|l| l.split(',').map(str::to_owned).collect()).unwrap_or_default();
    let facts = store::facts(&model, open_subs > 0, window, now);
    Ok(store::view(model, viewer, watching > 0, labels, facts, position))
}

/// The visibility predicate of lists for `viewer`, its parameters from `$2` on (`$1` is the viewer).
fn visible(viewer: &Viewer, backend: DbBackend, from: usize) -> (String, Vec<sea_orm::Value>) {
    if viewer.sees_all() {
        return ("1 = 1".to_owned(), vec![]);
    }
    let own = "((t.parent_id IS NULL AND (t.requester_id = $1 OR EXISTS (SELECT 1 FROM ticket_watchers vw \
               WHERE vw.ticket_id = t.id AND vw.user_id = $1))) \
               OR EXISTS (SELECT 1 FROM ticket_approvals va JOIN ticket_approval_deciders vd ON vd.approval_id = va.id \
               WHERE va.ticket_id = t.id AND vd.user_id = $1))";
    if viewer.departments.is_empty() {
        return (own.to_owned(), vec![]);
    }
    let ids = viewer.departments.iter().map(|d| d.0).collect();
    let (depts, values) = crate::chat::store::one_of(backend, "t.department_id", from, ids);
    (format!("({depts} OR {own})"), values)
}

/// `row` as `viewer` sees it, read again with its extras.
pub(crate) async fn view_in(
    db: &impl ConnectionTrait,
    viewer: &Viewer,
    row: tickets::Model,
    now: DateTime<Utc>,
) -> Result<Ticket> {
    let backend = db.get_database_backend();
    let sql = format!(
        "SELECT t.*, {} FROM tickets t JOIN workspaces ws ON ws.id = t.workspace_id WHERE t.id = $2",
        extras(backend)
    );
    let found = db
        .query_one_raw(stmt(backend, &sql, vec![viewer.user.0.into(), row.id.into()]))
        .await?
        .ok_or(DomainError::NotFound("ticket"))?;
    from_row(&found, viewer, now)
}

/// One ticket.
///
/// # Errors
/// `NOT_FOUND` (missing or invisible).
pub async fn ticket(app: &AppCtx, actor: &Actor, id: TicketId) -> Result<Ticket> {
    let db = app.db();
    let row = tickets::Entity::find_by_id(id.0).one(db).await?.ok_or(DomainError::NotFound("ticket"))?;
    let viewer = store::viewer(db, actor, row.workspace_id.into(), "ticket").await?;
    let watcher = store::is_watcher(db, id, viewer.user).await?;
    if !viewer.sees(&row, watcher) {
        return Err(DomainError::NotFound("ticket"));
    }
    view_in(db, &viewer, row, app.now()).await
}

/// How a ticket list is ordered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TicketSort {
    /// Newest first.
    #[default]
    Newest,
    Oldest,
    /// Urgent first, then newest.
    Priority,
    /// Soonest resolution due date first; tickets without one last.
    DueAt,
}

/// What a ticket list keeps.
#[derive(Debug, Clone, Default)]
pub struct TicketFilter {
    pub states: Vec<State>,
    pub priorities: Vec<Priority>,
    pub department: Option<DepartmentId>,
    pub assignee: Option<UserId>,
    pub label: Option<String>,
    pub breached: Option<bool>,
    /// Resolution due within this many minutes from now (overdue included).
    pub due_within_minutes: Option<i64>,
    /// Words in the title or description.
    pub text: Option<String>,
    /// Only sub-tickets of this ticket.
    pub parent: Option<TicketId>,
}

/// A page of the workspace's tickets the viewer may see.
///
/// # Errors
/// `NOT_FOUND` (workspace), `BAD_USER_INPUT` (text, label, dueWithinMinutes, after).
pub async fn tickets(
    app: &AppCtx,
    actor: &Actor,
    workspace: WorkspaceId,
    filter: TicketFilter,
    sort: TicketSort,
    page: PageRequest,
) -> Result<Page<Ticket>> {
    let db = app.db();
    let now = app.now();
    let backend = db.get_database_backend();
    let viewer = store::viewer(db, actor, workspace, "workspace").await?;
    let mut values: Vec<sea_orm::Value> = vec![viewer.user.0.into(), workspace.0.into()];
    let (vis, vis_values) = visible(&viewer, backend, 3);
    values.extend(vis_values);
    let mut wheres = vec!["t.workspace_id = $2".to_owned(), vis];
    let bind = |v: sea_orm::Value, values: &mut Vec<sea_orm::Value>| {
        values.push(v);
        format!("${}", values.len())
    };
    if !filter.states.is_empty() {
        let list: Vec<String> = filter.states.iter().map(|s| bind(s.as_str().to_owned().into(), &mut values)).collect();
        wheres.push(format!("t.state IN ({})", list.join(", ")));
    }
    if !filter.priorities.is_empty() {
        let list: Vec<String> =
            filter.priorities.iter().map(|p| bind(p.as_str().to_owned().into(), &mut values)).collect();
        wheres.push(format!("t.priority IN ({})", list.join(", ")));
    }
    if let Some(d) = filter.department {
        let p = bind(d.0.into(), &mut values);
        wheres.push(format!("t.department_id = {p}"));
    }
    if let Some(a) = filter.assignee {
        let p = bind(a.0.into(), &mut values);
        wheres.push(format!("t.assignee_id = {p}"));
    }
    if let Some(parent) = filter.parent {
        let p = bind(parent.0.into(), &mut values);
        wheres.push(format!("t.parent_id = {p}"));
    }
    if let Some(label) = filter.label {
        let label = label.trim().to_lowercase();
        if label.is_empty() || label.chars().count() > 40 {
            return Err(DomainError::invalid("label", "1 to 40 characters"));
        }
        let p = bind(label.into(), &mut values);
        wheres.push(format!("EXISTS (SELECT 1 FROM ticket_labels fl WHERE fl.ticket_id = t.id AND fl.label = {p})"));
    }
    match filter.breached {
        Some(true) => wheres.push("t.breached_at IS NOT NULL".to_owned()),
        Some(false) => wheres.push("t.breached_at IS NULL".to_owned()),
        None => {}
    }
    if let Some(minutes) = filter.due_within_minutes {
        if !(0..=525_600).contains(&minutes) {
            return Err(DomainError::invalid("dueWithinMinutes", "0 to 525600"));
        }
        let p = bind((now + chrono::Duration::minutes(minutes)).into(), &mut values);
        wheres.push(format!(
            "t.resolution_due_at IS NOT NULL AND t.resolution_due_at <= {p} AND t.state NOT IN {DONE_STATES}"
        ));
    }
    if let Some(text) = filter.text.map(|t| t.trim().to_lowercase()).filter(|t| !t.is_empty()) {
        if text.chars().count() > 100 {
            return Err(DomainError::invalid("text", "at most 100 characters"));
        }
        let escaped = text.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_");
        let p = bind(format!("%{escaped}%").into(), &mut values);
        wheres.push(format!("(LOWER(t.title) LIKE {p} ESCAPE '\\' OR LOWER(t.description) LIKE {p} ESCAPE '\\')"));
    }
    let rt = rank("t");
    let (order, after_clause) = match sort {
        TicketSort::Newest => ("t.id DESC".to_owned(), "t.id < $A".to_owned()),
        TicketSort::Oldest => ("t.id ASC".to_owned(), "t.id > $A".to_owned()),
        TicketSort::Priority => (
            format!("{rt} DESC, t.id DESC"),
            format!("({rt} < (SELECT {ra} FROM tickets a WHERE a.id = $A) OR ({rt} = (SELECT {ra} FROM tickets a WHERE a.id = $A) AND t.id < $A))", ra = rank("a")),
        ),
        TicketSort::DueAt => (
            "CASE WHEN t.resolution_due_at IS NULL THEN 1 ELSE 0 END, t.resolution_due_at, t.id".to_owned(),
            "((CASE WHEN t.resolution_due_at IS NULL THEN 1 ELSE 0 END), COALESCE(t.resolution_due_at, t.created_at), t.id) > \
             (SELECT CASE WHEN a.resolution_due_at IS NULL THEN 1 ELSE 0 END, COALESCE(a.resolution_due_at, a.created_at), a.id FROM tickets a WHERE a.id = $A)"
                .to_owned(),
        ),
    };
    if let Some(after) = page.after {
        let p = bind(after.into(), &mut values);
        wheres.push(after_clause.replace("$A", &p));
    }
    let limit = page.limit();
    let sql = format!(
        "SELECT t.*, {} FROM tickets t JOIN workspaces ws ON ws.id = t.workspace_id WHERE {} ORDER BY {order} LIMIT {}",
        extras(backend),
        wheres.join(" AND "),
        limit + 1
    );
    let rows = db.query_all_raw(stmt(backend, &sql, values)).await?;
    let has_next_page = rows.len() as u64 > limit;
    let items = rows
        .iter()
        .take(usize::try_from(limit).unwrap_or(usize::MAX))
        .map(|r| from_row(r, &viewer, now))
        .collect::<Result<Vec<_>>>()?;
    Ok(Page { items, has_next_page })
}

/// Tickets per department and state, of those the viewer may see.
///
/// # Errors
/// `NOT_FOUND` (workspace).
pub async fn ticket_counts(app: &AppCtx, actor: &Actor, workspace: WorkspaceId) -> Result<Vec<TicketCount>> {
    let db = app.db();
    let backend = db.get_database_backend();
    let viewer = store::viewer(db, actor, workspace, "workspace").await?;
    let mut values: Vec<sea_orm::Value> = vec![viewer.user.0.into(), workspace.0.into()];
    let (vis, vis_values) = visible(&viewer, backend, 3);
    values.extend(vis_values);
    let sql = format!(
        "SELECT t.department_id, t.state, COUNT(*) FROM tickets t WHERE t.workspace_id = $2 AND {vis} \
         GROUP BY t.department_id, t.state ORDER BY t.department_id, t.state"
    );
    let rows = db.query_all_raw(stmt(backend, &sql, values)).await?;
    let mut out = Vec::new();
    for row in rows {
        let state: String = row.try_get_by_index(1)?;
        let Some(state) = State::parse(&state) else { continue };
        out.push(TicketCount {
            department_id: DepartmentId(row.try_get_by_index(0)?),
            state,
            count: row.try_get_by_index(2)?,
        });
    }
    Ok(out)
}

/// What happened to a ticket, oldest first (the audit log's entries about it).
///
/// # Errors
/// `NOT_FOUND` (missing or invisible).
pub async fn history(app: &AppCtx, actor: &Actor, id: TicketId) -> Result<Vec<HistoryEntry>> {
    let ticket = ticket(app, actor, id).await?;
    let rows = audit_log::Entity::find()
        .filter(audit_log::Column::ObjectType.eq("ticket"))
        .filter(audit_log::Column::ObjectId.eq(id.0))
        .order_by_asc(audit_log::Column::CreatedAt)
        .order_by_asc(audit_log::Column::Id)
        .all(app.db())
        .await?;
    let text = |v: &serde_json::Value, k: &str| v.get(k).and_then(serde_json::Value::as_str).map(str::to_owned);
    Ok(rows
        .into_iter()
        // SLA warnings and breaches are for staff; transition reasons are public.
        .filter(|r| ticket.viewer_is_staff || !r.action.starts_with("ticket.sla"))
        .map(|r| HistoryEntry {
            at: r.created_at,
            actor_id: r.actor_user_id.map(UserId),
            actor_label: r.actor_label,
            action: r.action,
            from: text(&r.details, "from"),
            to: text(&r.details, "to"),
            reason: text(&r.details, "reason"),
        })
        .collect())
}

/// The links of a ticket to others the viewer may see.
///
/// # Errors
/// `NOT_FOUND` (missing or invisible).
pub async fn links(app: &AppCtx, actor: &Actor, id: TicketId) -> Result<Vec<TicketLink>> {
    let _ = ticket(app, actor, id).await?;
    let rows = ticket_links::Entity::find()
        .filter(
            sea_orm::Condition::any()
                .add(ticket_links::Column::TicketId.eq(id.0))
                .add(ticket_links::Column::OtherId.eq(id.0)),
        )
        .order_by_asc(ticket_links::Column::CreatedAt)
        .all(app.db())
        .await?;
    let mut out = Vec::new();
    for row in rows {
        let outgoing = row.ticket_id == id.0;
        let other = TicketId(if outgoing { row.other_id } else { row.ticket_id });
        if ticket(app, actor, other).await.is_err() {
            continue;
        }
        if let Some(kind) = LinkKind::parse(&row.kind) {
            out.push(TicketLink { kind, other_id: other, outgoing });
        }
    }
    Ok(out)
}

/// The users watching a ticket (staff and the requester may ask).
///
/// # Errors
/// `NOT_FOUND` (missing or invisible).
pub async fn watchers(app: &AppCtx, actor: &Actor, id: TicketId) -> Result<Vec<UserId>> {
    let _ = ticket(app, actor, id).await?;
    store::watchers(app.db(), id).await
}
