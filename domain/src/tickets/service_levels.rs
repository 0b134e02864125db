//! Business calendars and SLA policies as stored, and how a ticket's clock follows them: due dates
//! in business minutes from the ticket's creation, pushed by the business time spent in a pausing
//! state, recomputed (from the same start) when priority or department change.

use chrono::{DateTime, NaiveDate, NaiveTime, Utc, Weekday};
use sea_orm::ActiveValue::Set;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder};
use serde::{Deserialize, Serialize};
use stoa_entities::{sla_calendars, sla_policies, tickets};

use crate::actor::Actor;
use crate::app::AppCtx;
use crate::audit::{self, AuditRecord};
use crate::authz::Permission;
use crate::error::{DomainError, Result};
use crate::ids::{DepartmentId, SlaCalendarId, SlaPolicyId, WorkspaceId};
use crate::tickets::model::Priority;
use crate::tickets::sla::{self, Calendar, WeeklyHours};
use crate::tickets::transitions::State;
use crate::workspaces::store::require_permission;

/// Business minutes before the resolution target at which the assignee is warned, by default.
pub const DEFAULT_WARN_BEFORE: i64 = 60;
/// States that stop the clock, by default.
pub const DEFAULT_PAUSES_IN: [State; 2] = [State::WaitingOnRequester, State::PendingApproval];

/// One stored opening interval (`weekday`: Monday = 1 … Sunday = 7; times `HH:MM`).
#[derive(Debug, Clone, Serialize, Deserialize)]
struct StoredHours {
    weekday: u32,
    start: String,
    end: String,
}

fn weekday_of(n: u32) -> Option<Weekday> {
    match n {
        1 => Some(Weekday::Mon),
        2 => Some(Weekday::Tue),
        3 => Some(Weekday::Wed),
        4 => Some(Weekday::Thu),
        5 => Some(Weekday::Fri),
        6 => Some(Weekday::Sat),
        7 => Some(Weekday::Sun),
        _ => None,
    }
}

/// A calendar as the API shows it.
#[derive(Debug, Clone)]
pub struct SlaCalendar {
    pub id: SlaCalendarId,
    pub workspace_id: WorkspaceId,
    pub name: String,
    pub timezone: String,
    pub hours: Vec<WeeklyHours>,
    pub holidays: Vec<NaiveDate>,
}

/// What a new calendar says.
#[derive(Debug, Clone)]
pub struct CalendarInput {
    pub name: String,
    pub timezone: String,
    pub hours: Vec<WeeklyHours>,
    pub holidays: Vec<NaiveDate>,
}

/// An SLA policy as the API shows it.
#[derive(Debug, Clone)]
pub struct SlaPolicy {
    pub id: SlaPolicyId,
    pub workspace_id: WorkspaceId,
    pub calendar_id: SlaCalendarId,
    pub priority: Option<Priority>,
    pub department_id: Option<DepartmentId>,
    pub category: Option<String>,
    pub first_response_minutes: i64,
    pub resolution_minutes: i64,
    pub warn_before_minutes: i64,
    pub pauses_in: Vec<State>,
}

/// What a new policy says; `None` warn and pauses take the defaults.
#[derive(Debug, Clone)]
pub struct PolicyInput {
    pub calendar_id: SlaCalendarId,
    pub priority: Option<Priority>,
    pub department_id: Option<DepartmentId>,
    pub category: Option<String>,
    pub first_response_minutes: i64,
    pub resolution_minutes: i64,
    pub warn_before_minutes: Option<i64>,
    pub pauses_in: Option<Vec<State>>,
}

fn stored_hours(hours: &[WeeklyHours]) -> serde_json::Value {
    let list: Vec<StoredHours> = hours
        .iter()
        .map(|h| StoredHours {
            weekday: h.weekday.number_from_monday(),
            start: h.start.format("%H:%M").to_string(),
            end: h.end.format("%H:%M").to_string(),
        })
        .collect();
    serde_json::to_value(list).unwrap_or(serde_json::Value::Null)
}

fn read_hours(value: &serde_json::Value) -> Vec<WeeklyHours> {
    let list: Vec<StoredHours> = serde_json::from_value(value.clone()).unwrap_or_default();
    list.into_iter()
        .filter_map(|h| {
            Some(WeeklyHours {
                weekday: weekday_of(h.weekday)?,
                start: NaiveTime::parse_from_str(&h.start, "%H:%M").ok()?,
                end: NaiveTime::parse_from_str(&h.end, "%H:%M").ok()?,
            })
        })
        .collect()
}

fn read_holidays(value: &serde_json::Value) -> Vec<NaiveDate> {
    let list: Vec<String> = serde_json::from_value(value.clone()).unwrap_or_default();
    list.iter().filter_map(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok()).collect()
}

fn calendar_view(row: sla_calendars::Model) -> SlaCalendar {
    SlaCalendar {
        id: row.id.into(),
        workspace_id: row.workspace_id.into(),
        hours: read_hours(&row.hours),
        holidays: read_holidays(&row.holidays),
        name: row.name,
        timezone: row.timezone,
    }
}

fn read_states(value: &serde_json::Value) -> Vec<State> {
    let list: Vec<String> = serde_json::from_value(value.clone()).unwrap_or_default();
    list.iter().filter_map(|s| State::parse(s)).collect()
}

fn policy_view(row: sla_policies::Model) -> SlaPolicy {
    SlaPolicy {
        id: row.id.into(),
        workspace_id: row.workspace_id.into(),
        calendar_id: row.calendar_id.into(),
        priority: row.priority.as_deref().and_then(Priority::parse),
        department_id: row.department_id.map(DepartmentId),
        category: row.category,
        first_response_minutes: i64::from(row.first_response_minutes),
        resolution_minutes: i64::from(row.resolution_minutes),
        warn_before_minutes: i64::from(row.warn_before_minutes),
        pauses_in: read_states(&row.pauses_in),
    }
}

/// Creates a business calendar. Hours are local to `timezone` (IANA); holidays close whole days.
///
/// # Errors
/// `NOT_FOUND`, `FORBIDDEN` (not an owner or admin), `BAD_USER_INPUT` (name, timezone, hours,
/// holidays).
pub async fn create_calendar(
    app: &AppCtx,
    actor: &Actor,
    workspace: WorkspaceId,
    input: CalendarInput,
) -> Result<SlaCalendar> {
    let name = crate::workspaces::create_workspace::parse_name(&input.name)?;
    Calendar::new(&input.timezone, &input.hours, &input.holidays)
        .map_err(|e| DomainError::invalid(e.field(), e.reason()))?;
    let mut holidays: Vec<String> = input.holidays.iter().map(|d| d.format("%Y-%m-%d").to_string()).collect();
    holidays.sort();
    holidays.dedup();
    let mut tx = app.begin().await?;
    require_permission(tx.db(), actor, workspace, Permission::ManageHelpdesk).await?;
    let id = SlaCalendarId::new();
    let row = sla_calendars::Entity::insert(sla_calendars::ActiveModel {
        id: Set(id.0),
        workspace_id: Set(workspace.0),
        name: Set(name),
        timezone: Set(input.timezone.clone()),
        hours: Set(stored_hours(&input.hours)),
        holidays: Set(serde_json::json!(holidays)),
        created_at: Set(app.now()),
    })
    .exec_with_returning(tx.db())
    .await?;
    audit::record(
        &mut tx,
        AuditRecord::new(actor, Some(workspace), "sla_calendar.created", "sla_calendar", Some(id.0)),
    )
    .await?;
    tx.commit().await?;
    Ok(calendar_view(row))
}

/// The workspace's calendars.
///
/// # Errors
/// `NOT_FOUND` (not a member).
pub async fn calendars(app: &AppCtx, actor: &Actor, workspace: WorkspaceId) -> Result<Vec<SlaCalendar>> {
    require_permission(app.db(), actor, workspace, Permission::ViewWorkspace).await?;
    let rows = sla_calendars::Entity::find()
        .filter(sla_calendars::Column::WorkspaceId.eq(workspace.0))
        .order_by_asc(sla_calendars::Column::Id)
        .all(app.db())
        .await?;
    Ok(rows.into_iter().map(calendar_view).collect())
}

fn check_target(field: &'static str, minutes: i64) -> Result<i64> {
    sla::check_target(minutes).map_err(|reason| DomainError::invalid(field, reason))
}

/// Creates an SLA policy. The most specific policy matching a ticket's priority, department and
/// category applies (ties: the oldest).
///
/// # Errors
/// `NOT_FOUND`, `FORBIDDEN`, `BAD_USER_INPUT` (calendarId, departmentId, targets, warnBeforeMinutes,
/// pausesIn).
pub async fn create_sla_policy(
    app: &AppCtx,
    actor: &Actor,
    workspace: WorkspaceId,
    input: PolicyInput,
) -> Result<SlaPolicy> {
    let first = check_target("firstResponseMinutes", input.first_response_minutes)?;
    let resolution = check_target("resolutionMinutes", input.resolution_minutes)?;
    let warn = input.warn_before_minutes.unwrap_or(DEFAULT_WARN_BEFORE);
    if !(0..resolution).contains(&warn) {
        return Err(DomainError::invalid("warnBeforeMinutes", "0 or more, and less than the resolution target"));
    }
    let pauses = input.pauses_in.unwrap_or_else(|| DEFAULT_PAUSES_IN.to_vec());
    if pauses.iter().any(|s| !s.is_open() || matches!(s, State::New | State::Queued)) {
        return Err(DomainError::invalid("pausesIn", "only states a ticket is worked in may pause the clock"));
    }
    let category = crate::tickets::lifecycle::parse_category(input.category)?;
    let mut tx = app.begin().await?;
    require_permission(tx.db(), actor, workspace, Permission::ManageHelpdesk).await?;
    let calendar = sla_calendars::Entity::find_by_id(input.calendar_id.0).one(tx.db()).await?;
    if calendar.is_none_or(|c| c.workspace_id != workspace.0) {
        return Err(DomainError::invalid("calendarId", "no such calendar in this workspace"));
    }
    if let Some(d) = input.department_id {
        crate::tickets::store::lock_department_in(tx.db(), workspace, d, "departmentId").await?;
    }
    let id = SlaPolicyId::new();
    let to_i32 = |v: i64| i32::try_from(v).unwrap_or(i32::MAX);
    let row = sla_policies::Entity::insert(sla_policies::ActiveModel {
        id: Set(id.0),
        workspace_id: Set(workspace.0),
        calendar_id: Set(input.calendar_id.0),
        priority: Set(input.priority.map(|p| p.as_str().to_owned())),
        department_id: Set(input.department_id.map(|d| d.0)),
        category: Set(category),
        first_response_minutes: Set(to_i32(first)),
        resolution_minutes: Set(to_i32(resolution)),
        warn_before_minutes: Set(to_i32(warn)),
        pauses_in: Set(serde_json::json!(pauses.iter().map(|s| s.as_str()).collect::<Vec<_>>())),
        created_at: Set(app.now()),
    })
    .exec_with_returning(tx.db())
    .await?;
    audit::record(&mut tx, AuditRecord::new(actor, Some(workspace), "sla_policy.created", "sla_policy", Some(id.0)))
        .await?;
    tx.commit().await?;
    Ok(policy_view(row))
}

/// The workspace's SLA policies, oldest first.
///
/// # Errors
/// `NOT_FOUND` (not a member).
pub async fn sla_policies(app: &AppCtx, actor: &Actor, workspace: WorkspaceId) -> Result<Vec<SlaPolicy>> {
    require_permission(app.db(), actor, workspace, Permission::ViewWorkspace).await?;
    let rows = sla_policies::Entity::find()
        .filter(sla_policies::Column::WorkspaceId.eq(workspace.0))
        .order_by_asc(sla_policies::Column::Id)
        .all(app.db())
        .await?;
    Ok(rows.into_iter().map(policy_view).collect())
}

/// A policy with its calendar, ready to compute due dates.
pub(crate) struct Policy {
    pub id: SlaPolicyId,
    calendar: Calendar,
    first_response_minutes: i64,
    resolution_minutes: i64,
    warn_before_minutes: i64,
    pauses_in: Vec<State>,
}

/// The due dates of a ticket under a policy.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Dues {
    pub first_response: Option<DateTime<Utc>>,
    pub resolution: Option<DateTime<Utc>>,
    pub warn: Option<DateTime<Utc>>,
}

impl Policy {
    /// Due dates for a ticket created at `start` whose clock stood still `paused` business minutes.
    pub fn dues(&self, start: DateTime<Utc>, paused: i64) -> Dues {
        let add = |minutes: i64| self.calendar.add_business_minutes(start, minutes + paused);
        Dues {
            first_response: add(self.first_response_minutes),
            resolution: add(self.resolution_minutes),
            warn: add(self.resolution_minutes - self.warn_before_minutes),
        }
    }

    /// Whether `state` stops the clock.
    pub fn pauses(&self, state: State) -> bool {
        self.pauses_in.contains(&state)
    }

    /// Business minutes between two instants on this policy's calendar.
    pub fn between(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> i64 {
        self.calendar.business_minutes_between(from, to)
    }
}

async fn load_policy(db: &impl ConnectionTrait, row: sla_policies::Model) -> Result<Option<Policy>> {
    let Some(calendar) = sla_calendars::Entity::find_by_id(row.calendar_id).one(db).await? else { return Ok(None) };
    let Ok(calendar) =
        Calendar::new(&calendar.timezone, &read_hours(&calendar.hours), &read_holidays(&calendar.holidays))
    else {
        return Ok(None);
    };
    Ok(Some(Policy {
        id: row.id.into(),
        calendar,
        first_response_minutes: i64::from(row.first_response_minutes),
        resolution_minutes: i64::from(row.resolution_minutes),
        warn_before_minutes: i64::from(row.warn_before_minutes),
        pauses_in: read_states(&row.pauses_in),
    }))
}

/// The policy a ticket with these fields falls under: the most specific match, ties to the oldest.
pub(crate) async fn policy_for(
    db: &impl ConnectionTrait,
    workspace: WorkspaceId,
    department: DepartmentId,
    priority: Priority,
    category: Option<&str>,
) -> Result<Option<Policy>> {
    let rows = sla_policies::Entity::find()
        .filter(sla_policies::Column::WorkspaceId.eq(workspace.0))
        .order_by_asc(sla_policies::Column::Id)
        .all(db)
        .await?;
    let score = |p: &sla_policies::Model| -> Option<u32> {
        let mut score = 0;
        match &p.priority {
            Some(x) if x != priority.as_str() => return None,
            Some(_) => score += 1,
            None => {}
        }
        match p.department_id {
            Some(d) if d != department.0 => return None,
            Some(_) => score += 2,
            None => {}
        }
        match (&p.category, category) {
            (Some(c), Some(t)) if c == t => score += 1,
            (Some(_), _) => return None,
            (None, _) => {}
        }
        Some(score)
    };
    let mut best: Option<(u32, sla_policies::Model)> = None;
    for row in rows {
        if let Some(s) = score(&row)
            && best.as_ref().is_none_or(|(b, _)| s > *b)
        {
            best = Some((s, row));
        }
    }
    match best {
        Some((_, row)) => load_policy(db, row).await,
        None => Ok(None),
    }
}

/// The policy a ticket is under now.
pub(crate) async fn policy_of(db: &impl ConnectionTrait, row: &tickets::Model) -> Result<Option<Policy>> {
    let Some(id) = row.sla_policy_id else { return Ok(None) };
    match sla_policies::Entity::find_by_id(id).one(db).await? {
        Some(policy) => load_policy(db, policy).await,
        None => Ok(None),
    }
}

/// Keeps the clock as `row` moves from `from` to `to`: entering a pausing state stops it; leaving
/// one adds the paused business time and pushes the due dates.
pub(crate) async fn on_move(
    db: &impl ConnectionTrait,
    row: &tickets::Model,
    from: State,
    to: State,
    write: &mut tickets::ActiveModel,
    now: DateTime<Utc>,
) -> Result<()> {
    let Some(policy) = policy_of(db, row).await? else { return Ok(()) };
    let (was, is) = (policy.pauses(from), policy.pauses(to));
    if !was && is {
        write.sla_paused_since = Set(Some(now));
    } else if was && !is {
        let since = row.sla_paused_since.unwrap_or(now);
        let paused = row.sla_paused_minutes + policy.between(since, now);
        write.sla_paused_minutes = Set(paused);
        write.sla_paused_since = Set(None);
        set_dues(write, row, &policy, paused);
    }
    Ok(())
}

/// Writes the due dates of `row` under `policy` (the first response only while none was given).
fn set_dues(write: &mut tickets::ActiveModel, row: &tickets::Model, policy: &Policy, paused: i64) {
    let dues = policy.dues(row.created_at, paused);
    if row.first_response_at.is_none() {
        write.first_response_due_at = Set(dues.first_response);
    }
    write.resolution_due_at = Set(dues.resolution);
    write.sla_warn_at = Set(dues.warn);
    if dues.warn.is_some_and(|w| row.sla_warned_at.is_some_and(|at| at < w)) {
        // Pushed past a warning already sent: warn again when the new time comes.
        write.sla_warned_at = Set(None);
    }
}

/// After a priority, department or category change: the policy that now applies, and its due
/// dates from the same start (the start never resets).
pub(crate) async fn recompute(
    db: &impl ConnectionTrait,
    row: &tickets::Model,
    department: DepartmentId,
    priority: Priority,
    category: Option<&str>,
    write: &mut tickets::ActiveModel,
) -> Result<()> {
    let policy = policy_for(db, row.workspace_id.into(), department, priority, category).await?;
    write.sla_policy_id = Set(policy.as_ref().map(|p| p.id.0));
    if let Some(policy) = policy {
        set_dues(write, row, &policy, row.sla_paused_minutes);
    } else {
        write.first_response_due_at = Set(None);
        write.resolution_due_at = Set(None);
        write.sla_warn_at = Set(None);
    }
    Ok(())
}
