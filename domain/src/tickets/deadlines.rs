//! What falls due by the clock: resolved tickets that close by themselves, holds that end, SLA
//! warnings and breaches. [`run_deadlines`] does all that is due at `now` (each ticket in its own
//! transaction, guarded by its state and marks, so two workers running it at once do each thing
//! once); [`next_deadline`] says when to run it next. The worker's scheduler runs it at that time
//! and at least once a minute, which also repairs whatever a restart missed.

use chrono::{DateTime, Utc};
use sea_orm::ActiveValue::Set;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};
use stoa_entities::{memberships, tickets};

use crate::actor::Actor;
use crate::app::{AppCtx, PROBE_MARK};
use crate::audit::{self, AuditRecord};
use crate::chat::store::stmt;
use crate::error::Result;
use crate::ids::{TicketId, UserId};
use crate::tickets::lifecycle::{after_move, announce, system_fire};
use crate::tickets::model::TicketEventKind;
use crate::tickets::notify;
use crate::tickets::store::{self, DONE_STATES};
use crate::tickets::transitions::{Action, State};

/// How many tickets one run handles per kind; the rest wait for the next run (a moment later).
const BATCH: u64 = 500;

/// What one run did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct DeadlineRun {
    pub closed: u64,
    pub resumed: u64,
    pub warned: u64,
    pub breached: u64,
}

/// The ids `sql` selects at `now`. A poll, marked so the statement counter leaves it out: it
/// runs every second whatever clients do.
async fn ids(db: &impl ConnectionTrait, sql: &str, now: DateTime<Utc>) -> Result<Vec<TicketId>> {
    let sql = format!("{PROBE_MARK} {sql} LIMIT {BATCH}");
    let rows = db.query_all_raw(stmt(db.get_database_backend(), &sql, vec![now.into()])).await?;
    rows.iter().map(|r| r.try_get_by_index::<uuid::Uuid>(0).map(TicketId).map_err(Into::into)).collect()
}

/// Does what is due at `now`.
///
/// # Errors
/// `Internal` or `UNAVAILABLE` when the database fails (what was done stays done).
pub async fn run_deadlines(app: &AppCtx, now: DateTime<Utc>) -> Result<DeadlineRun> {
    let mut run = DeadlineRun::default();
    let db = app.db();
    let closing =
        ids(db, "SELECT id FROM tickets WHERE state = 'resolved' AND auto_close_at <= $1 ORDER BY auto_close_at", now)
            .await?;
    for id in closing {
        if close_if_due(app, id, now).await? {
            run.closed += 1;
        }
    }
    for id in
        ids(db, "SELECT id FROM tickets WHERE state = 'on_hold' AND hold_until <= $1 ORDER BY hold_until", now).await?
    {
        if resume_if_due(app, id, now).await? {
            run.resumed += 1;
        }
    }
    let warn_sql = format!(
        "SELECT id FROM tickets WHERE sla_warn_at <= $1 AND sla_warned_at IS NULL AND breached_at IS NULL \
         AND sla_paused_since IS NULL AND state NOT IN {DONE_STATES} ORDER BY sla_warn_at"
    );
    for id in ids(db, &warn_sql, now).await? {
        if mark(app, id, now, Mark::Warning).await? {
            run.warned += 1;
        }
    }
    let breach_sql = format!(
        "SELECT id FROM tickets WHERE breached_at IS NULL AND sla_paused_since IS NULL AND state NOT IN {DONE_STATES} \
         AND (resolution_due_at <= $1 OR (first_response_at IS NULL AND first_response_due_at <= $1)) \
         ORDER BY resolution_due_at"
    );
    for id in ids(db, &breach_sql, now).await? {
        if mark(app, id, now, Mark::Breach).await? {
            run.breached += 1;
        }
    }
    Ok(run)
}

/// Closes a resolved ticket whose `autoCloseAfter` has passed.
async fn close_if_due(app: &AppCtx, id: TicketId, now: DateTime<Utc>) -> Result<bool> {
    let mut tx = app.begin().await?;
    let Some(row) = store::lock(tx.db(), id).await? else { return Ok(false) };
    if store::state_of(&row) != State::Resolved || row.auto_close_at.is_none_or(|d| d > now) {
        return Ok(false);
    }
    let from = store::state_of(&row);
    let moved = system_fire(&mut tx, row, Action::AutoClose, now).await?;
    after_move(&mut tx, from, moved, now).await?;
    tx.commit().await?;
    Ok(true)
}

/// Resumes a hold whose `until` has passed.
async fn resume_if_due(app: &AppCtx, id: TicketId, now: DateTime<Utc>) -> Result<bool> {
    let mut tx = app.begin().await?;
    let Some(row) = store::lock(tx.db(), id).await? else { return Ok(false) };
    if store::state_of(&row) != State::OnHold || row.hold_until.is_none_or(|u| u > now) {
        return Ok(false);
    }
    system_fire(&mut tx, row, Action::Resume, now).await?;
    tx.commit().await?;
    Ok(true)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mark {
    Warning,
    Breach,
}

/// Moderators, admins and owners of the ticket's workspace.
async fn moderators(db: &impl ConnectionTrait, row: &tickets::Model) -> Result<Vec<UserId>> {
    let rows = memberships::Entity::find()
        .filter(memberships::Column::WorkspaceId.eq(row.workspace_id))
        .filter(memberships::Column::Role.is_in(["owner", "admin", "moderator"]))
        .all(db)
        .await?;
    Ok(rows.into_iter().map(|m| UserId(m.user_id)).collect())
}

/// Sets the SLA warning or breach mark (once), notifies and announces it. The marks are the
/// clock's, not an edit: they do not change the ticket's `version`.
async fn mark(app: &AppCtx, id: TicketId, now: DateTime<Utc>, mark: Mark) -> Result<bool> {
    let mut tx = app.begin().await?;
    let Some(row) = store::lock(tx.db(), id).await? else { return Ok(false) };
    let state = store::state_of(&row);
    let due = match mark {
        Mark::Warning => row.sla_warned_at.is_none() && row.sla_warn_at.is_some_and(|w| w <= now),
        Mark::Breach => {
            row.breached_at.is_none()
                && (row.resolution_due_at.is_some_and(|d| d <= now)
                    || (row.first_response_at.is_none() && row.first_response_due_at.is_some_and(|d| d <= now)))
        }
    };
    if !due || !state.is_open() || row.sla_paused_since.is_some() {
        return Ok(false);
    }
    let write = match mark {
        Mark::Warning => tickets::ActiveModel { sla_warned_at: Set(Some(now)), ..Default::default() },
        Mark::Breach => tickets::ActiveModel { breached_at: Set(Some(now)), ..Default::default() },
    };
    tickets::Entity::update_many().set(write).filter(tickets::Column::Id.eq(row.id)).exec(tx.db()).await?;
    let actor = Actor::system("sla");
    let (action, kind, notice) = match mark {
        Mark::Warning => ("ticket.sla_warning", TicketEventKind::SlaWarning, "ticket_sla_warning"),
        Mark::Breach => ("ticket.sla_breached", TicketEventKind::SlaBreached, "ticket_sla_breached"),
    };
    let record = AuditRecord::new(&actor, Some(row.workspace_id.into()), action, "ticket", Some(row.id))
        .with(serde_json::json!({ "resolutionDueAt": row.resolution_due_at, "firstResponseDueAt": row.first_response_due_at }));
    audit::record(&mut tx, record).await?;
    let mut people: Vec<UserId> = row.assignee_id.map(UserId).into_iter().collect();
    if mark == Mark::Breach {
        people.extend(notify::head_of(&tx, &row).await?);
        people.extend(moderators(tx.db(), &row).await?);
    }
    let preview = match mark {
        Mark::Warning => format!("Ticket #{} is close to its SLA deadline", row.number),
        Mark::Breach => format!("Ticket #{} breached its SLA", row.number),
    };
    notify::notify(&mut tx, &row, people, notice, preview, now).await?;
    announce(&mut tx, &row, kind, None, None, &actor, now);
    tx.commit().await?;
    Ok(true)
}

/// The earliest time something may fall due after `now`, if any: the scheduler sleeps until then
/// (at most a minute).
///
/// # Errors
/// `Internal` or `UNAVAILABLE` when the database fails.
pub async fn next_deadline(app: &AppCtx) -> Result<Option<DateTime<Utc>>> {
    let db = app.db();
    let sql = format!(
        "{PROBE_MARK} SELECT MIN(x) FROM ( \
           SELECT MIN(sla_warn_at) AS x FROM tickets WHERE sla_warned_at IS NULL AND breached_at IS NULL AND sla_paused_since IS NULL AND state NOT IN {DONE_STATES} \
           UNION ALL SELECT MIN(resolution_due_at) FROM tickets WHERE breached_at IS NULL AND sla_paused_since IS NULL AND state NOT IN {DONE_STATES} \
           UNION ALL SELECT MIN(first_response_due_at) FROM tickets WHERE breached_at IS NULL AND first_response_at IS NULL AND sla_paused_since IS NULL AND state NOT IN {DONE_STATES} \
           UNION ALL SELECT MIN(hold_until) FROM tickets WHERE state = 'on_hold' \
           UNION ALL SELECT MIN(auto_close_at) FROM tickets WHERE state = 'resolved' \
         ) d"
    );
    let row = db.query_one_raw(stmt(db.get_database_backend(), &sql, vec![])).await?;
    let Some(row) = row else { return Ok(None) };
    Ok(row.try_get_by_index::<Option<DateTime<Utc>>>(0)?)
}
