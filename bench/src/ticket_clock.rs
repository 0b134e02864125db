//! The helpdesk's clocks (#21), three more rows of `tickets`:
//!
//! - `tickets-due-dates`: a business calendar (`Europe/Berlin`, Monday to Friday 08:00–18:00, 20
//!   holidays spread over the next year) and an SLA policy scoped to one department whose
//!   resolution target lands about a year ahead, so every ticket's due date is a calendar walk
//!   over a year with 20 holidays. Tickets are opened in that department at concurrency C:
//!   tickets/s, p50/p99. Baseline in the same run: the same creations in a second department of
//!   the same workspace with no policy, as a ratio. The department head then reads the tickets
//!   back (staff see SLA dates): every one must have a `resolutionDueAt`.
//! - `tickets-sweep` (`--database-url`): N overdue tickets in progress, one opened over HTTP and
//!   N − 1 copies of its row written by raw SQL; how long the server's deadline clock takes to
//!   mark them all breached (it reads the earliest deadline every second and handles at most 500
//!   tickets per kind per run). Baseline: one raw `UPDATE … SET breached_at` over another
//!   workspace's N copies, as a ratio.
//! - `tickets-breach-lag` (`--database-url`): K tickets opened over HTTP whose due dates are set
//!   by raw SQL to 2 s from now (staggered); breached_at − due per ticket, p50/p99/max (the
//!   clock's poll period is 1 s).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use chrono::{DateTime, Datelike as _, Days, NaiveDate, TimeDelta, Utc};
use sea_orm::{
    ConnectionTrait as _, DatabaseConnection, DbBackend, QueryResult, Statement, TransactionTrait as _, Value,
};
use serde_json::{Value as Json, json};

use crate::client::{Api, User};
use crate::stats::{Latency, Report};
use crate::tickets::{
    OPEN, Staff, department, fire, ms, open_tickets, round2, sla_calendar, sla_policy, sql_for, ticket_input, workspace,
};

/// The resolution target of the due-date row: 240 business days of 10 hours, about a year of
/// Monday-to-Friday days less 20 holidays (a year of minutes, 525,600, would land 3.4 years out).
const DUE_MINUTES: i64 = 240 * 600;
/// Holidays in the due-date row's calendar.
const HOLIDAYS: u64 = 20;
/// Rows per multi-row `INSERT` when copying tickets (35 columns: 14,000 parameters, under both
/// SQLite's 32,766 and Postgres's 65,535).
const ROWS_PER_INSERT: usize = 400;
/// `INSERT`s per transaction.
const INSERTS_PER_TX: usize = 10;
/// How far apart the breach-lag row's due dates are.
const LAG_STAGGER: Duration = Duration::from_millis(100);
/// What the server's clock handles per kind per run, and how often it looks (workers/src/deadlines.rs).
const CLOCK_BATCH: usize = 500;
const CLOCK_POLL_MS: u64 = 1_000;

fn stmt(backend: DbBackend, sql: &str, values: Vec<Value>) -> Statement {
    Statement::from_sql_and_values(backend, sql_for(backend, sql), values)
}

fn secs3(d: Duration) -> f64 {
    (d.as_secs_f64() * 1000.0).round() / 1000.0
}

// ---------------------------------------------------------------------------------------------
// Due dates

/// [`HOLIDAYS`] weekdays spread over the year after `today` (every 18 days from the 9th, a weekend
/// moved to the Monday after), `YYYY-MM-DD`. `today` is UTC's: close enough for Berlin's dates.
fn holidays(today: NaiveDate) -> Vec<String> {
    (0..HOLIDAYS)
        .map(|k| {
            let mut day = today + Days::new(9 + 18 * k);
            while day.weekday().number_from_monday() > 5 {
                day = day + Days::new(1);
            }
            day.format("%Y-%m-%d").to_string()
        })
        .collect()
}

/// What C workers opening tickets did.
struct Opened {
    latencies: Vec<f64>,
    secs: f64,
    errors: usize,
    first_error: Option<String>,
}

/// Opens `count` tickets in `dept` as `requester` from `concurrency` workers.
async fn open_at(
    api: &Api,
    requester: &User,
    ws: &str,
    dept: &str,
    count: usize,
    concurrency: usize,
) -> anyhow::Result<Opened> {
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut workers = Vec::new();
    for _ in 0..concurrency.max(1) {
        let (api, token, next) = (api.clone(), requester.token.clone(), next.clone());
        let (ws, dept) = (ws.to_owned(), dept.to_owned());
        workers.push(tokio::spawn(async move {
            let (mut latencies, mut errors, mut first_error) = (Vec::new(), 0, None);
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= count {
                    break;
                }
                let t = Instant::now();
                match api.gql(Some(&token), OPEN, json!({ "w": ws, "d": dept, "i": ticket_input(i) })).await {
                    Ok(_) => latencies.push(ms(t.elapsed())),
                    Err(e) => {
                        errors += 1;
                        first_error.get_or_insert_with(|| e.to_string());
                    }
                }
            }
            (latencies, errors, first_error)
        }));
    }
    let mut opened = Opened { latencies: Vec::new(), secs: 0.0, errors: 0, first_error: None };
    for w in workers {
        let (latencies, errors, first_error) = w.await?;
        opened.latencies.extend(latencies);
        opened.errors += errors;
        opened.first_error = opened.first_error.or(first_error);
    }
    opened.secs = started.elapsed().as_secs_f64();
    if opened.latencies.is_empty() {
        bail!("no ticket could be opened: {}", opened.first_error.unwrap_or_default());
    }
    Ok(opened)
}

const DEPARTMENT_PAGE: &str = "query($w: ID!, $d: ID!, $a: String) { tickets(workspaceId: $w, filter: { departmentId: $d }, first: 100, after: $a) { nodes { id resolutionDueAt firstResponseDueAt } pageInfo { hasNextPage endCursor } } }";

/// Every ticket of `dept` as `viewer` reads it: its resolution due date, if it shows one.
async fn resolution_dues(api: &Api, viewer: &User, ws: &str, dept: &str) -> anyhow::Result<Vec<Option<DateTime<Utc>>>> {
    let (mut dues, mut after) = (Vec::new(), Json::Null);
    loop {
        let data = api.gql(Some(&viewer.token), DEPARTMENT_PAGE, json!({ "w": ws, "d": dept, "a": after })).await?;
        let page = &data["tickets"];
        for node in page["nodes"].as_array().context("nodes")? {
            dues.push(match node["resolutionDueAt"].as_str() {
                Some(at) => Some(DateTime::parse_from_rfc3339(at).context("resolutionDueAt")?.with_timezone(&Utc)),
                None => None,
            });
        }
        if page["pageInfo"]["hasNextPage"].as_bool() != Some(true) {
            return Ok(dues);
        }
        after = page["pageInfo"]["endCursor"].clone();
    }
}

pub async fn due_dates(api: &Api, staff: &Staff, count: usize, concurrency: usize) -> anyhow::Result<Report> {
    let head = &staff.agents[0];
    let plain_head = staff.agents.get(1).unwrap_or(head);
    let mut members: Vec<(&User, &str)> = vec![(&staff.requester, "MEMBER"), (head, "AGENT")];
    if plain_head.id != head.id {
        members.push((plain_head, "AGENT"));
    }
    let ws = workspace(api, &staff.owner, &members).await?;
    let sla_dept = department(api, &staff.owner, &ws, "OFFICE", 0, &[head], false).await?;
    let plain_dept = department(api, &staff.owner, &ws, "PLAIN", 0, &[plain_head], false).await?;
    let holidays = holidays(Utc::now().date_naive());
    let hours: Vec<Json> = (1..=5).map(|d| json!({ "weekday": d, "start": "08:00", "end": "18:00" })).collect();
    let cal = sla_calendar(
        api,
        &staff.owner,
        &ws,
        json!({ "name": "office", "timezone": "Europe/Berlin", "hours": hours, "holidays": holidays }),
    )
    .await?;
    // Scoped to the first department: a policy without one would apply to the baseline's too.
    sla_policy(
        api,
        &staff.owner,
        &ws,
        json!({ "calendarId": cal, "departmentId": sla_dept, "firstResponseMinutes": 60, "resolutionMinutes": DUE_MINUTES }),
    )
    .await?;
    // A few of each first (document cache, connections), then the two measured runs.
    let warm = concurrency.max(1);
    open_at(api, &staff.requester, &ws, &sla_dept, warm, warm).await?;
    open_at(api, &staff.requester, &ws, &plain_dept, warm, warm).await?;
    let sla = open_at(api, &staff.requester, &ws, &sla_dept, count, concurrency).await?;
    let plain = open_at(api, &staff.requester, &ws, &plain_dept, count, concurrency).await?;

    let now = Utc::now();
    let dues = resolution_dues(api, head, &ws, &sla_dept).await?;
    let expected = warm + sla.latencies.len();
    if dues.len() != expected {
        bail!("the head reads {} tickets in the SLA department, expected {expected}", dues.len());
    }
    let with_due: Vec<DateTime<Utc>> = dues.iter().flatten().copied().collect();
    if with_due.len() != dues.len() {
        bail!("{} of {} tickets under the SLA policy have no resolutionDueAt", dues.len() - with_due.len(), dues.len());
    }
    let days = |at: &DateTime<Utc>| (at.signed_duration_since(now).num_minutes() as f64 / 1440.0 * 10.0).round() / 10.0;
    let earliest = with_due.iter().min().map(days);
    let latest = with_due.iter().max().map(days);
    let plain_dues = resolution_dues(api, plain_head, &ws, &plain_dept).await?;
    let plain_with_due = plain_dues.iter().flatten().count();
    if plain_with_due > 0 {
        bail!("{plain_with_due} tickets of the department without a policy have a resolutionDueAt");
    }

    let (sla_per_s, plain_per_s) = (sla.latencies.len() as f64 / sla.secs, plain.latencies.len() as f64 / plain.secs);
    let (errors, first_error) = (sla.errors + plain.errors, sla.first_error.clone().or(plain.first_error.clone()));
    let (sla_lat, plain_lat) = (Latency::of(sla.latencies), Latency::of(plain.latencies));
    Ok(Report {
        name: "tickets-due-dates",
        params: json!({
            "tickets": count,
            "concurrency": concurrency,
            "calendar": "Europe/Berlin, Mon-Fri 08:00-18:00",
            "holidays": HOLIDAYS,
            "resolution_minutes": DUE_MINUTES,
            "first_response_minutes": 60,
        }),
        metrics: json!({
            "tickets_per_s": sla_per_s.round(),
            "latency_p50_ms": round2(sla_lat.p50_ms),
            "latency_p99_ms": round2(sla_lat.p99_ms),
            "no_sla_tickets_per_s": plain_per_s.round(),
            "no_sla_latency_p50_ms": round2(plain_lat.p50_ms),
            "no_sla_latency_p99_ms": round2(plain_lat.p99_ms),
            "ratio_sla_to_no_sla": round2(sla_per_s / plain_per_s),
            "ratio_p50_sla_to_no_sla": round2(sla_lat.p50_ms / plain_lat.p50_ms),
            "errors": errors,
            "first_error": first_error,
            "tickets_with_due_date": format!("{}/{}", with_due.len(), dues.len()),
            "due_days_ahead_min": earliest,
            "due_days_ahead_max": latest,
            "baseline": "the same creations in a department of the same workspace with no SLA policy",
        }),
    })
}

// ---------------------------------------------------------------------------------------------
// Copying ticket rows

#[derive(Debug, Clone, Copy)]
enum Kind {
    Uuid,
    Text,
    Int64,
    Int32,
    Bool,
    Time,
}

/// The `tickets` table's columns, as the migration makes them.
const COLUMNS: [(&str, Kind); 35] = [
    ("id", Kind::Uuid),
    ("workspace_id", Kind::Uuid),
    ("number", Kind::Int64),
    ("title", Kind::Text),
    ("description", Kind::Text),
    ("priority", Kind::Text),
    ("category", Kind::Text),
    ("requester_id", Kind::Uuid),
    ("department_id", Kind::Uuid),
    ("assignee_id", Kind::Uuid),
    ("state", Kind::Text),
    ("state_reason", Kind::Text),
    ("hold_until", Kind::Time),
    ("version", Kind::Int64),
    ("reopen_count", Kind::Int32),
    ("parent_id", Kind::Uuid),
    ("merged_into_id", Kind::Uuid),
    ("channel_id", Kind::Uuid),
    ("notes_channel_id", Kind::Uuid),
    ("approval_rejected", Kind::Bool),
    ("created_at", Kind::Time),
    ("updated_at", Kind::Time),
    ("queued_at", Kind::Time),
    ("resolved_at", Kind::Time),
    ("auto_close_at", Kind::Time),
    ("closed_at", Kind::Time),
    ("first_response_at", Kind::Time),
    ("sla_policy_id", Kind::Uuid),
    ("first_response_due_at", Kind::Time),
    ("resolution_due_at", Kind::Time),
    ("sla_paused_minutes", Kind::Int64),
    ("sla_paused_since", Kind::Time),
    ("sla_warn_at", Kind::Time),
    ("sla_warned_at", Kind::Time),
    ("breached_at", Kind::Time),
];

fn column(name: &str) -> usize {
    COLUMNS.iter().position(|(c, _)| *c == name).unwrap_or_else(|| unreachable!("no column {name}"))
}

/// One `tickets` row as typed values, in [`COLUMNS`] order: bound again, each is written exactly
/// as the server's driver writes it (on SQLite: UUIDs as 16-byte blobs, timestamps as RFC 3339
/// text with nanoseconds; on Postgres: `uuid` and `timestamptz`).
#[derive(Clone)]
struct Row(Vec<Value>);

impl Row {
    fn read(r: &QueryResult) -> anyhow::Result<Self> {
        let names = r.column_names();
        let unknown: Vec<&String> = names.iter().filter(|n| !COLUMNS.iter().any(|(c, _)| c == n)).collect();
        if !unknown.is_empty() {
            bail!("the tickets table has columns this bench does not copy: {unknown:?}");
        }
        let mut values = Vec::with_capacity(COLUMNS.len());
        for (name, kind) in COLUMNS {
            let get = || format!("tickets.{name}");
            values.push(match kind {
                Kind::Uuid => r.try_get::<Option<uuid::Uuid>>("", name).with_context(get)?.into(),
                Kind::Text => r.try_get::<Option<String>>("", name).with_context(get)?.into(),
                Kind::Int64 => r.try_get::<Option<i64>>("", name).with_context(get)?.into(),
                Kind::Int32 => r.try_get::<Option<i32>>("", name).with_context(get)?.into(),
                Kind::Bool => r.try_get::<Option<bool>>("", name).with_context(get)?.into(),
                Kind::Time => r.try_get::<Option<DateTime<Utc>>>("", name).with_context(get)?.into(),
            });
        }
        Ok(Self(values))
    }

    fn set(&mut self, name: &str, value: impl Into<Value>) {
        self.0[column(name)] = value.into();
    }

    fn get(&self, name: &str) -> &Value {
        &self.0[column(name)]
    }
}

/// How the server stored the template row, from the database's own type names.
async fn storage_of(db: &DatabaseConnection, id: uuid::Uuid) -> anyhow::Result<Json> {
    let backend = db.get_database_backend();
    let sql = if backend == DbBackend::Sqlite {
        "SELECT typeof(id), typeof(created_at), CAST(created_at AS TEXT) FROM tickets WHERE id = $1"
    } else {
        "SELECT pg_typeof(id)::text, pg_typeof(created_at)::text, created_at::text FROM tickets WHERE id = $1"
    };
    let row = db.query_one_raw(stmt(backend, sql, vec![id.into()])).await?.context("the template row by its id")?;
    let (uuid_type, time_type, sample): (String, String, String) =
        (row.try_get_by_index(0)?, row.try_get_by_index(1)?, row.try_get_by_index(2)?);
    if backend == DbBackend::Sqlite && (uuid_type != "blob" || time_type != "text") {
        bail!("SQLite stores the ticket's id as {uuid_type} and created_at as {time_type}: expected blob and text");
    }
    Ok(json!({ "uuid": uuid_type, "timestamp": time_type, "timestamp_sample": sample }))
}

/// What seeding a workspace with copies left.
struct Seeded {
    ws: String,
    storage: Json,
    insert_secs: f64,
}

/// A workspace with an agent, a department of capacity 0 under a 24/7 SLA policy, one ticket
/// opened over HTTP and taken to `in_progress` by the agent, and `n − 1` raw copies of its row
/// (fresh UUID v7 ids, numbers continuing). All `n` are overdue (`resolution_due_at`,
/// `first_response_due_at`, `sla_warn_at` an hour ago, no marks) but held: `sla_paused_since`
/// set, which the clock skips, so nothing is swept until [`arm`] clears it in one statement.
async fn seed(api: &Api, staff: &Staff, db: &DatabaseConnection, code: &str, n: usize) -> anyhow::Result<Seeded> {
    let backend = db.get_database_backend();
    let agent = &staff.agents[0];
    let ws = workspace(api, &staff.owner, &[(&staff.requester, "MEMBER"), (agent, "AGENT")]).await?;
    let dept = department(api, &staff.owner, &ws, code, 0, &[agent], true).await?;
    let opened = open_tickets(api, &staff.requester, &ws, &dept, 1, ticket_input).await?;
    let (id, version) = opened.into_iter().next().context("the template ticket")?;
    let version = fire(api, agent, &id, version, "ASSIGN", "ASSIGNED").await?;
    fire(api, agent, &id, version, "START", "IN_PROGRESS").await?;
    let id = uuid::Uuid::parse_str(&id)?;
    let storage = storage_of(db, id).await?;
    let found = db.query_one_raw(stmt(backend, "SELECT * FROM tickets WHERE id = $1", vec![id.into()])).await?;
    let template = Row::read(&found.context("the template row")?)?;
    let Value::BigInt(Some(first_number)) = *template.get("number") else { bail!("the template's number") };
    if matches!(template.get("assignee_id"), Value::Uuid(None))
        || matches!(template.get("sla_policy_id"), Value::Uuid(None))
    {
        bail!("the template ticket has no assignee or no SLA policy");
    }
    let (past, hold) = (Utc::now() - TimeDelta::hours(1), Utc::now());
    let overdue = "UPDATE tickets SET resolution_due_at = $1, first_response_due_at = $1, sla_warn_at = $1, \
                   sla_paused_since = $2 WHERE id = $3";
    db.execute_raw(stmt(backend, overdue, vec![past.into(), hold.into(), id.into()])).await?;

    let names: Vec<&str> = COLUMNS.iter().map(|(c, _)| *c).collect();
    let n64 = i64::try_from(n)?;
    let started = Instant::now();
    let copies: Vec<i64> = (1..n64).collect();
    for tx_rows in copies.chunks(ROWS_PER_INSERT * INSERTS_PER_TX) {
        #[expect(clippy::disallowed_methods, reason = "a load generator's own writes: no server events to publish")]
        let tx = db.begin().await?;
        for rows in tx_rows.chunks(ROWS_PER_INSERT) {
            let mut sql = format!("INSERT INTO tickets ({}) VALUES ", names.join(", "));
            let mut values = Vec::with_capacity(rows.len() * COLUMNS.len());
            for (r, offset) in rows.iter().enumerate() {
                let mut row = template.clone();
                row.set("id", uuid::Uuid::now_v7());
                row.set("number", first_number + offset);
                row.set("state", "in_progress");
                for due in ["resolution_due_at", "first_response_due_at", "sla_warn_at"] {
                    row.set(due, Some(past));
                }
                row.set("breached_at", None::<DateTime<Utc>>);
                row.set("sla_warned_at", None::<DateTime<Utc>>);
                row.set("sla_paused_since", Some(hold));
                let base = r * COLUMNS.len();
                let marks: Vec<String> = (1..=COLUMNS.len()).map(|c| format!("${}", base + c)).collect();
                if r > 0 {
                    sql.push_str(", ");
                }
                sql.push('(');
                sql.push_str(&marks.join(", "));
                sql.push(')');
                values.extend(row.0);
            }
            tx.execute_raw(stmt(backend, &sql, values)).await?;
        }
        tx.commit().await?;
    }
    let insert_secs = started.elapsed().as_secs_f64();
    let ws_id = uuid::Uuid::parse_str(&ws)?;
    db.execute_raw(stmt(
        backend,
        "UPDATE ticket_counters SET last_number = $1 WHERE workspace_id = $2",
        vec![(first_number + n64 - 1).into(), ws_id.into()],
    ))
    .await?;
    // The copies read back as the clock reads them: overdue by its own comparison.
    let check =
        "SELECT COUNT(*) FROM tickets WHERE workspace_id = $1 AND resolution_due_at <= $2 AND breached_at IS NULL";
    let row = db.query_one_raw(stmt(backend, check, vec![ws_id.into(), Utc::now().into()])).await?;
    let overdue: i64 = row.context("count")?.try_get_by_index(0)?;
    if overdue != n64 {
        bail!("{overdue} of the workspace's {n} tickets read as overdue after the copy");
    }
    if backend == DbBackend::Sqlite {
        // A copy's timestamp text is the server's, character for character.
        let texts = "SELECT CAST(created_at AS TEXT) FROM tickets WHERE workspace_id = $1 ORDER BY number LIMIT 2";
        let rows = db.query_all_raw(stmt(backend, texts, vec![ws_id.into()])).await?;
        let texts: Vec<String> = rows.iter().map(|r| r.try_get_by_index(0)).collect::<Result<_, _>>()?;
        if texts.len() == 2 && texts[0] != texts[1] {
            bail!("a copied created_at reads {:?}, the server's {:?}", texts[1], texts[0]);
        }
    }
    Ok(Seeded { ws, storage, insert_secs })
}

/// Releases every held ticket of `ws` to the clock at once.
async fn arm(db: &DatabaseConnection, ws: &str) -> anyhow::Result<u64> {
    let backend = db.get_database_backend();
    let sql = "UPDATE tickets SET sla_paused_since = NULL WHERE workspace_id = $1 AND sla_paused_since IS NOT NULL";
    Ok(db.execute_raw(stmt(backend, sql, vec![uuid::Uuid::parse_str(ws)?.into()])).await?.rows_affected())
}

async fn count(db: &DatabaseConnection, sql: &str, ws: &str) -> anyhow::Result<i64> {
    let backend = db.get_database_backend();
    let row = db.query_one_raw(stmt(backend, sql, vec![uuid::Uuid::parse_str(ws)?.into()])).await?;
    Ok(row.context("count")?.try_get_by_index(0)?)
}

const BREACHED: &str = "SELECT COUNT(*) FROM tickets WHERE workspace_id = $1 AND breached_at IS NOT NULL";
const WARNED: &str = "SELECT COUNT(*) FROM tickets WHERE workspace_id = $1 AND sla_warned_at IS NOT NULL";

// ---------------------------------------------------------------------------------------------
// The sweep

pub async fn sweep(api: &Api, staff: &Staff, n: usize, db: &DatabaseConnection) -> anyhow::Result<Report> {
    if n == 0 {
        bail!("--sweep-tickets must be at least 1");
    }
    let seeded = seed(api, staff, db, "SWEEP", n).await?;
    let armed = arm(db, &seeded.ws).await?;
    let started = Instant::now();
    if armed != n as u64 {
        bail!("released {armed} tickets to the clock, expected {n}");
    }
    // Polled every 100 ms; a sweep that makes no progress for 30 s fails.
    let (mut breached, mut last_progress, mut last_count) = (0, Instant::now(), -1);
    let n64 = i64::try_from(n)?;
    while breached < n64 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        breached = count(db, BREACHED, &seeded.ws).await?;
        if breached != last_count {
            (last_count, last_progress) = (breached, Instant::now());
        } else if last_progress.elapsed() > Duration::from_secs(30) {
            bail!("the deadline clock marked {breached} of {n} tickets breached and then nothing for 30 s");
        }
    }
    let sweep = started.elapsed();
    let warned = count(db, WARNED, &seeded.ws).await?;

    // Baseline: another workspace's N copies (still held, so the clock leaves them alone) marked by
    // one raw UPDATE, after the sweep so the two do not share the database.
    let other = seed(api, staff, db, "RAWSWEEP", n).await?;
    let backend = db.get_database_backend();
    let raw = "UPDATE tickets SET breached_at = $1 WHERE workspace_id = $2 AND breached_at IS NULL";
    let t = Instant::now();
    let updated = db
        .execute_raw(stmt(backend, raw, vec![Utc::now().into(), uuid::Uuid::parse_str(&other.ws)?.into()]))
        .await?
        .rows_affected();
    let raw_secs = t.elapsed();
    if updated != n as u64 {
        bail!("the raw UPDATE marked {updated} rows, expected {n}");
    }
    let per_s = n as f64 / sweep.as_secs_f64();
    let raw_per_s = n as f64 / raw_secs.as_secs_f64();
    Ok(Report {
        name: "tickets-sweep",
        params: json!({
            "tickets": n,
            "state": "in_progress, assigned, overdue, unmarked",
            "seeded": "one ticket over HTTP, the rest raw copies of its row",
            "storage": seeded.storage,
            "clock_batch_per_kind": CLOCK_BATCH,
            "clock_poll_ms": CLOCK_POLL_MS,
        }),
        metrics: json!({
            "sweep_s": secs3(sweep),
            "breaches_per_s": per_s.round(),
            "warnings_marked": warned,
            // N / 500 runs at least, one a second: the clock's own ceiling.
            "batch_floor_s": (n.div_ceil(CLOCK_BATCH) - 1) as f64,
            "copy_inserts_per_s": (n.saturating_sub(1) as f64 / seeded.insert_secs).round(),
            "raw_update_s": secs3(raw_secs),
            "raw_update_rows_per_s": raw_per_s.round(),
            // Four decimals: the clock is orders of magnitude below one UPDATE.
            "ratio_sweep_to_update": (per_s / raw_per_s * 10_000.0).round() / 10_000.0,
            "baseline": "one UPDATE tickets SET breached_at WHERE workspace_id AND breached_at IS NULL over another workspace's N copies",
        }),
    })
}

// ---------------------------------------------------------------------------------------------
// Breach lag

pub async fn breach_lag(api: &Api, staff: &Staff, k: usize, db: &DatabaseConnection) -> anyhow::Result<Report> {
    if k == 0 {
        bail!("--lag-tickets must be at least 1");
    }
    let backend = db.get_database_backend();
    let agent = &staff.agents[0];
    let ws = workspace(api, &staff.owner, &[(&staff.requester, "MEMBER"), (agent, "AGENT")]).await?;
    let dept = department(api, &staff.owner, &ws, "LAG", 0, &[agent], true).await?;
    let tickets = open_tickets(api, &staff.requester, &ws, &dept, k, ticket_input).await?;
    let base = Utc::now() + TimeDelta::seconds(2);
    let set = "UPDATE tickets SET resolution_due_at = $1, first_response_due_at = $1, sla_warn_at = $1 WHERE id = $2";
    for (i, (id, _)) in tickets.iter().enumerate() {
        let due = base + TimeDelta::from_std(LAG_STAGGER * i as u32)?;
        db.execute_raw(stmt(backend, set, vec![due.into(), uuid::Uuid::parse_str(id)?.into()])).await?;
    }
    let last_due = base + TimeDelta::from_std(LAG_STAGGER * k as u32)?;
    let give_up = last_due + TimeDelta::seconds(20);
    let k64 = i64::try_from(k)?;
    while count(db, BREACHED, &ws).await? < k64 {
        if Utc::now() > give_up {
            bail!("the tickets were not all breached 20 s after their due dates");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let rows = db
        .query_all_raw(stmt(
            backend,
            "SELECT resolution_due_at, breached_at FROM tickets WHERE workspace_id = $1",
            vec![uuid::Uuid::parse_str(&ws)?.into()],
        ))
        .await?;
    let mut lags = Vec::new();
    for r in &rows {
        let (due, breached): (DateTime<Utc>, DateTime<Utc>) = (r.try_get_by_index(0)?, r.try_get_by_index(1)?);
        lags.push(breached.signed_duration_since(due).num_microseconds().context("lag")? as f64 / 1000.0);
    }
    let min = lags.iter().copied().fold(f64::INFINITY, f64::min);
    let within = lags.iter().filter(|l| **l <= CLOCK_POLL_MS as f64).count();
    let lag = Latency::of(lags);
    Ok(Report {
        name: "tickets-breach-lag",
        params: json!({
            "tickets": k,
            "due_in_s": 2,
            "stagger_ms": LAG_STAGGER.as_millis(),
            "clock_poll_ms": CLOCK_POLL_MS,
        }),
        metrics: json!({
            "lag_p50_ms": round2(lag.p50_ms),
            "lag_p99_ms": round2(lag.p99_ms),
            "lag_max_ms": round2(lag.max_ms),
            "lag_min_ms": round2(min),
            "within_poll_period": format!("{within}/{}", lag.samples),
        }),
    })
}
