//! Helpdesk tickets (#21), in six rows (the last three, the clocks, are in `ticket_clock.rs`):
//!
//! - `tickets-transitions`: A agents (16) each work their own tickets through ASSIGN (to
//!   themselves) → START → HOLD → RESUME → RESOLVE, every step with the version the previous one
//!   returned: transitions/s, p50/p99 per transition, SQL statements per transition. With
//!   `--database-url`, the baseline from the same run: afterwards, the same five state changes on
//!   the same rows as raw guarded `UPDATE tickets SET state = …, version = version + 1 WHERE id = …
//!   AND version = …` statements (autocommit, same concurrency). The rows end as the server left
//!   them (resolved), their version 5 higher.
//! - `tickets-inbox`: the inbox page (50 tickets with labels, assignee, SLA due date and available
//!   transitions) read by the department head at concurrency C: req/s, p50/p99, SQL statements per
//!   page from the server's counter (the target is at most 4).
//! - `tickets-queue`: a department of capacity 1 with one ticket in progress and more queued; an
//!   agent subscribed to `ticketQueue` over graphql-transport-ws. Time from sending RESOLVE to the
//!   `admitted: true` event, K times (each admitted ticket is assigned, started, then resolved).
//! - `tickets-due-dates`, `tickets-sweep`, `tickets-breach-lag`: due dates on a year's business
//!   calendar, the deadline clock marking N overdue tickets breached, and how late a breach is
//!   marked after its due date (the last two need `--database-url`).
//!
//! Each row runs in its own workspace; the users (an owner, a requester, the agents) are shared.

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use futures::{SinkExt as _, StreamExt as _};
use sea_orm::{ConnectionTrait as _, Database, DbBackend, Statement};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

use crate::client::{self, Api, User};
use crate::stats::{Latency, Report};
use crate::ticket_clock;

/// How big each row is.
#[derive(Debug, Clone, Copy)]
pub struct Sizes {
    /// Concurrent agents working tickets (the 16).
    pub agents: usize,
    /// Tickets each agent works through the five transitions.
    pub tickets_per_agent: usize,
    /// Assigned, labelled tickets in the inbox's workspace.
    pub inbox_tickets: usize,
    /// Concurrent inbox readers.
    pub concurrency: usize,
    /// Inbox pages read in all.
    pub requests: usize,
    /// Slot-freed → admitted measurements.
    pub admissions: usize,
    /// Tickets opened in each department (with and without SLA policy) for due dates.
    pub due_tickets: usize,
    /// Overdue tickets the deadline clock sweeps.
    pub sweep_tickets: usize,
    /// Tickets whose breach lag is measured.
    pub lag_tickets: usize,
}

impl Sizes {
    pub const fn defaults(quick: bool) -> Self {
        if quick {
            Self {
                agents: 16,
                tickets_per_agent: 3,
                inbox_tickets: 100,
                concurrency: 4,
                requests: 200,
                admissions: 5,
                due_tickets: 100,
                sweep_tickets: 2_000,
                lag_tickets: 5,
            }
        } else {
            Self {
                agents: 16,
                tickets_per_agent: 50,
                inbox_tickets: 500,
                concurrency: 16,
                requests: 5_000,
                admissions: 50,
                due_tickets: 2_000,
                sweep_tickets: 100_000,
                lag_tickets: 20,
            }
        }
    }
}

/// Tickets opened at once during set-up.
const SETUP_CONCURRENCY: usize = 8;

pub(crate) const OPEN: &str = "mutation($w: ID!, $d: ID!, $i: TicketInput!) { createTicket(workspaceId: $w, departmentId: $d, input: $i) { id state version } }";
const TRANSITION: &str = "mutation($i: TransitionTicketInput!) { transitionTicket(input: $i) { id state version } }";
const INBOX: &str = "query($w: ID!) { tickets(workspaceId: $w, first: 50) { nodes { id number title state priority labels assignee { id displayName } resolutionDueAt breachedAt availableTransitions } } }";
const QUEUE: &str =
    "subscription($d: ID!) { ticketQueue(departmentId: $d) { departmentId ticketId admitted occupancy waiting at } }";

/// The five steps each agent fires on each of its tickets, and the state each leads to.
const STEPS: [(&str, &str); 5] = [
    ("ASSIGN", "ASSIGNED"),
    ("START", "IN_PROGRESS"),
    ("HOLD", "ON_HOLD"),
    ("RESUME", "IN_PROGRESS"),
    ("RESOLVE", "RESOLVED"),
];

/// The same steps as the stored states the raw baseline writes.
const RAW_STATES: [&str; 5] = ["assigned", "in_progress", "on_hold", "in_progress", "resolved"];

pub(crate) struct Staff {
    pub owner: User,
    pub requester: User,
    pub agents: Vec<User>,
}

pub(crate) fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

pub(crate) fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

/// A workspace owned by `owner` with `members` added at their roles (`AGENT`, `MEMBER`).
pub(crate) async fn workspace(api: &Api, owner: &User, members: &[(&User, &str)]) -> anyhow::Result<String> {
    let ws = api
        .gql_setup(
            Some(&owner.token),
            "mutation { createWorkspace(input: { name: \"Bench desk\" }) { workspace { id } } }",
            json!({}),
        )
        .await?;
    let ws = ws["createWorkspace"]["workspace"]["id"].as_str().context("workspace")?.to_owned();
    for (m, role) in members {
        api.gql_setup(
            Some(&owner.token),
            "mutation($i: AddMemberInput!) { addMember(input: $i) { member { role } } }",
            json!({ "i": { "workspaceId": ws, "email": m.email, "role": role } }),
        )
        .await?;
    }
    Ok(ws)
}

/// A department headed by `agents[0]` with the other agents enrolled, and (with `sla`) a 24/7 SLA
/// policy for the workspace, so tickets carry due dates (a year out: nothing breaches).
pub(crate) async fn department(
    api: &Api,
    owner: &User,
    ws: &str,
    code: &str,
    capacity: i64,
    agents: &[&User],
    sla: bool,
) -> anyhow::Result<String> {
    let head = agents.first().context("a department needs a head")?;
    let fields = json!({ "name": code.to_lowercase(), "code": code, "headUserId": head.id, "capacity": capacity });
    let data = api
        .gql_setup(
            Some(&owner.token),
            "mutation($i: CreateDepartmentInput!) { createDepartment(input: $i) { department { id } } }",
            json!({ "i": { "workspaceId": ws, "department": fields } }),
        )
        .await?;
    let dept = data["createDepartment"]["department"]["id"].as_str().context("department")?.to_owned();
    // The head is enrolled by naming them.
    for agent in &agents[1..] {
        api.gql_setup(
            Some(&owner.token),
            "mutation($i: DepartmentMemberInput!) { addDepartmentMember(input: $i) { userId } }",
            json!({ "i": { "departmentId": dept, "userId": agent.id } }),
        )
        .await?;
    }
    if sla {
        let hours: Vec<Value> = (1..=7).map(|d| json!({ "weekday": d, "start": "00:00", "end": "23:59" })).collect();
        let cal = sla_calendar(api, owner, ws, json!({ "name": "always", "timezone": "UTC", "hours": hours })).await?;
        sla_policy(
            api,
            owner,
            ws,
            json!({ "calendarId": cal, "firstResponseMinutes": 525_600, "resolutionMinutes": 525_600 }),
        )
        .await?;
    }
    Ok(dept)
}

/// A business calendar (`SlaCalendarInput`) of `ws`, created by `owner`: its ID.
pub(crate) async fn sla_calendar(api: &Api, owner: &User, ws: &str, input: Value) -> anyhow::Result<String> {
    let cal = api
        .gql_setup(
            Some(&owner.token),
            "mutation($w: ID!, $i: SlaCalendarInput!) { createSlaCalendar(workspaceId: $w, input: $i) { id } }",
            json!({ "w": ws, "i": input }),
        )
        .await?;
    Ok(cal["createSlaCalendar"]["id"].as_str().context("calendar")?.to_owned())
}

/// An SLA policy (`SlaPolicyInput`) of `ws`, created by `owner`: its ID.
pub(crate) async fn sla_policy(api: &Api, owner: &User, ws: &str, input: Value) -> anyhow::Result<String> {
    let policy = api
        .gql_setup(
            Some(&owner.token),
            "mutation($w: ID!, $i: SlaPolicyInput!) { createSlaPolicy(workspaceId: $w, input: $i) { id } }",
            json!({ "w": ws, "i": input }),
        )
        .await?;
    Ok(policy["createSlaPolicy"]["id"].as_str().context("policy")?.to_owned())
}

pub(crate) fn ticket_input(i: usize) -> Value {
    let priority = ["LOW", "NORMAL", "HIGH", "URGENT"][i % 4];
    let labels = [format!("team-{}", i % 5), (if i.is_multiple_of(2) { "billing" } else { "access" }).to_owned()];
    json!({ "title": format!("bench ticket {i}"), "description": "opened by stoa-bench", "priority": priority, "labels": labels })
}

/// Opens `count` tickets as `requester` (a few at a time): their IDs and versions, in order.
pub(crate) async fn open_tickets(
    api: &Api,
    requester: &User,
    ws: &str,
    dept: &str,
    count: usize,
    input: impl Fn(usize) -> Value,
) -> anyhow::Result<Vec<(String, i64)>> {
    let token = requester.token.as_str();
    let opened: Vec<anyhow::Result<(String, i64)>> = futures::stream::iter(0..count)
        .map(|i| {
            let vars = json!({ "w": ws, "d": dept, "i": input(i) });
            async move {
                let data = api.gql_setup(Some(token), OPEN, vars).await?;
                let t = &data["createTicket"];
                Ok((t["id"].as_str().context("ticket id")?.to_owned(), t["version"].as_i64().context("version")?))
            }
        })
        .buffered(SETUP_CONCURRENCY)
        .collect()
        .await;
    opened.into_iter().collect()
}

/// Fires `action` on `ticket` at `version` as `by`; checks the state it leads to and returns the
/// new version.
pub(crate) async fn fire(
    api: &Api,
    by: &User,
    ticket: &str,
    version: i64,
    action: &str,
    expect: &str,
) -> anyhow::Result<i64> {
    let mut input = json!({ "ticketId": ticket, "version": version, "action": action });
    match action {
        "ASSIGN" => input["assigneeId"] = json!(by.id),
        "HOLD" => input["reason"] = json!("bench"),
        _ => {}
    }
    let data = api.gql(Some(&by.token), TRANSITION, json!({ "i": input })).await?;
    let t = &data["transitionTicket"];
    if t["state"].as_str() != Some(expect) {
        bail!("{action} led to {} (expected {expect})", t["state"]);
    }
    t["version"].as_i64().context("version")
}

/// Every row in turn, each emitted as it finishes.
pub async fn run(api: &Api, sizes: Sizes, database_url: Option<String>, out: &Path) -> anyhow::Result<()> {
    if sizes.agents == 0 {
        bail!("--agents must be at least 1");
    }
    let owner = api.sign_up("desk-owner").await?;
    let requester = api.sign_up("desk-requester").await?;
    // One at a time: the server hashes few passwords at once and refuses the rest.
    let mut agents = Vec::new();
    for i in 0..sizes.agents {
        agents.push(api.sign_up(&format!("agent{i}")).await?);
    }
    let staff = Staff { owner, requester, agents };
    Box::pin(transitions(api, &staff, sizes, database_url.as_deref())).await?.emit(out)?;
    Box::pin(inbox(api, &staff, sizes)).await?.emit(out)?;
    Box::pin(queue(api, &staff, sizes.admissions)).await?.emit(out)?;
    Box::pin(ticket_clock::due_dates(api, &staff, sizes.due_tickets, sizes.concurrency)).await?.emit(out)?;
    let Some(url) = database_url else {
        println!("\n(tickets-breach-lag and tickets-sweep skipped: they need --database-url)");
        return Ok(());
    };
    let db = Database::connect(&url).await?;
    // The lag first, while the clock has nothing else to do.
    Box::pin(ticket_clock::breach_lag(api, &staff, sizes.lag_tickets, &db)).await?.emit(out)?;
    Box::pin(ticket_clock::sweep(api, &staff, sizes.sweep_tickets, &db)).await?.emit(out)?;
    db.close().await?;
    Ok(())
}

/// What one agent's worker did.
struct Worked {
    latencies: Vec<f64>,
    /// The tickets it took to `RESOLVED`, at their last version.
    resolved: Vec<(String, i64)>,
    errors: usize,
    first_error: Option<String>,
}

async fn transitions(api: &Api, staff: &Staff, sizes: Sizes, database_url: Option<&str>) -> anyhow::Result<Report> {
    let mut members: Vec<(&User, &str)> = vec![(&staff.requester, "MEMBER")];
    members.extend(staff.agents.iter().map(|a| (a, "AGENT")));
    let ws = workspace(api, &staff.owner, &members).await?;
    let agents: Vec<&User> = staff.agents.iter().collect();
    // Capacity 0: no limit, every ticket is admitted (`NEW`) at once.
    let dept = department(api, &staff.owner, &ws, "FLOW", 0, &agents, true).await?;
    let count = sizes.agents * sizes.tickets_per_agent;
    let tickets = open_tickets(api, &staff.requester, &ws, &dept, count, ticket_input).await?;
    let statements_before = api.metric("stoa_sql_statements_total").await?;
    let started = Instant::now();
    let mut workers = Vec::new();
    for (i, agent) in staff.agents.iter().enumerate() {
        let mine: Vec<(String, i64)> = tickets.iter().skip(i).step_by(sizes.agents).cloned().collect();
        let (api, agent) = (api.clone(), agent.clone());
        workers.push(tokio::spawn(async move {
            let mut worked = Worked { latencies: Vec::new(), resolved: Vec::new(), errors: 0, first_error: None };
            'ticket: for (id, mut version) in mine {
                for (action, expect) in STEPS {
                    let t = Instant::now();
                    match fire(&api, &agent, &id, version, action, expect).await {
                        Ok(v) => {
                            worked.latencies.push(ms(t.elapsed()));
                            version = v;
                        }
                        Err(e) => {
                            worked.errors += 1;
                            worked.first_error.get_or_insert_with(|| format!("{action}: {e}"));
                            continue 'ticket;
                        }
                    }
                }
                worked.resolved.push((id, version));
            }
            worked
        }));
    }
    let (mut latencies, mut resolved, mut errors, mut first_error) = (Vec::new(), Vec::new(), 0, None);
    for w in workers {
        let w = w.await?;
        latencies.extend(w.latencies);
        resolved.push(w.resolved);
        errors += w.errors;
        first_error = first_error.or(w.first_error);
    }
    let secs = started.elapsed().as_secs_f64();
    let statements = api.metric("stoa_sql_statements_total").await? - statements_before;
    if latencies.is_empty() {
        bail!("no transition succeeded: {}", first_error.unwrap_or_default());
    }
    let latency = Latency::of(latencies);
    let per_s = latency.samples as f64 / secs;
    let tickets_resolved: usize = resolved.iter().map(Vec::len).sum();
    let raw = match database_url {
        Some(url) => Some(raw_transitions(url, resolved).await?),
        None => None,
    };
    Ok(Report {
        name: "tickets-transitions",
        params: json!({
            "agents": sizes.agents,
            "tickets": count,
            "steps": "ASSIGN START HOLD RESUME RESOLVE",
            "sla_policy": true,
        }),
        metrics: json!({
            "transitions": latency.samples,
            "transitions_per_s": per_s.round(),
            "latency_p50_ms": round2(latency.p50_ms),
            "latency_p99_ms": round2(latency.p99_ms),
            "transition_errors": errors,
            // A failed step abandons its ticket: the rest of its steps are not fired.
            "tickets_resolved": tickets_resolved,
            "first_error": first_error,
            "sql_statements_per_transition": round2(statements / latency.samples.max(1) as f64),
            "raw_update_per_s": raw.as_ref().map(|r| r.0.round()),
            "raw_update_p50_ms": raw.as_ref().map(|r| (r.1.p50_ms * 1000.0).round() / 1000.0),
            "raw_update_p99_ms": raw.as_ref().map(|r| (r.1.p99_ms * 1000.0).round() / 1000.0),
            "ratio_transition_to_update": raw.as_ref().map(|r| round2(per_s / r.0)),
            "baseline": if raw.is_some() {
                "guarded UPDATE tickets SET state, version + 1 WHERE id AND version, autocommit, on the same rows afterwards"
            } else {
                "none: pass --database-url for the raw guarded UPDATE baseline"
            },
        }),
    })
}

/// `$n` placeholders as the backend wants them (SQLite: `?n`).
pub(crate) fn sql_for(backend: DbBackend, sql: &str) -> String {
    if backend == DbBackend::Sqlite { sql.replace('$', "?") } else { sql.to_owned() }
}

/// The five state changes again on the rows the agents resolved, as raw guarded UPDATEs, one task
/// per agent: UPDATEs/s and latency per UPDATE. The rows end resolved, as they were.
async fn raw_transitions(url: &str, per_agent: Vec<Vec<(String, i64)>>) -> anyhow::Result<(f64, Latency)> {
    let db = Database::connect(url).await?;
    let backend = db.get_database_backend();
    let sql = sql_for(backend, "UPDATE tickets SET state = $1, version = version + 1 WHERE id = $2 AND version = $3");
    let started = Instant::now();
    let mut tasks = Vec::new();
    for rows in per_agent {
        let (db, sql) = (db.clone(), sql.clone());
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            for (id, mut version) in rows {
                let id = uuid::Uuid::parse_str(&id)?;
                for state in RAW_STATES {
                    let t = Instant::now();
                    let stmt = Statement::from_sql_and_values(backend, &sql, [state.into(), id.into(), version.into()]);
                    if db.execute_raw(stmt).await?.rows_affected() != 1 {
                        bail!("the guarded UPDATE of {id} at version {version} matched no row");
                    }
                    latencies.push(ms(t.elapsed()));
                    version += 1;
                }
            }
            anyhow::Ok(latencies)
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await??);
    }
    let secs = started.elapsed().as_secs_f64();
    db.close().await?;
    let latency = Latency::of(all);
    Ok((latency.samples as f64 / secs, latency))
}

async fn inbox(api: &Api, staff: &Staff, sizes: Sizes) -> anyhow::Result<Report> {
    // The head and up to four more agents, who get the tickets in turn.
    let agents: Vec<&User> = staff.agents.iter().take(5).collect();
    let head = agents[0];
    let mut members: Vec<(&User, &str)> = vec![(&staff.requester, "MEMBER")];
    members.extend(agents.iter().map(|a| (*a, "AGENT")));
    let ws = workspace(api, &staff.owner, &members).await?;
    let dept = department(api, &staff.owner, &ws, "DESK", 0, &agents, true).await?;
    let tickets = open_tickets(api, &staff.requester, &ws, &dept, sizes.inbox_tickets, ticket_input).await?;
    // The head assigns every ticket, round robin over the agents.
    let assigned: Vec<anyhow::Result<()>> = futures::stream::iter(tickets.iter().enumerate())
        .map(|(i, (id, version))| {
            let input = json!({ "ticketId": id, "version": version, "action": "ASSIGN", "assigneeId": agents[i % agents.len()].id });
            async move {
                api.gql_setup(Some(&head.token), TRANSITION, json!({ "i": input })).await?;
                Ok(())
            }
        })
        .buffered(SETUP_CONCURRENCY)
        .collect()
        .await;
    assigned.into_iter().collect::<anyhow::Result<()>>()?;
    // Check the page once, and warm the document cache.
    let page = api.gql(Some(&head.token), INBOX, json!({ "w": ws })).await?;
    let nodes = page["tickets"]["nodes"].as_array().context("nodes")?;
    if nodes.len() != sizes.inbox_tickets.min(50) {
        bail!("the inbox page has {} tickets, expected {}", nodes.len(), sizes.inbox_tickets.min(50));
    }
    if let Some(bad) =
        nodes.iter().find(|n| n["assignee"]["id"].is_null() || n["labels"].as_array().map_or(0, Vec::len) != 2)
    {
        bail!("an inbox ticket without its assignee or two labels: {bad}");
    }
    let due_dates = nodes.iter().filter(|n| n["resolutionDueAt"].is_string()).count();
    for _ in 0..4 {
        api.gql(Some(&head.token), INBOX, json!({ "w": ws })).await?;
    }
    let statements_before = api.metric("stoa_sql_statements_total").await?;
    let next = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let started = Instant::now();
    let mut workers = Vec::new();
    for _ in 0..sizes.concurrency {
        let (api, token, ws, next) = (api.clone(), head.token.clone(), ws.clone(), next.clone());
        workers.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            while next.fetch_add(1, std::sync::atomic::Ordering::Relaxed) < sizes.requests {
                let t = Instant::now();
                api.gql(Some(&token), INBOX, json!({ "w": ws })).await?;
                latencies.push(ms(t.elapsed()));
            }
            anyhow::Ok(latencies)
        }));
    }
    let mut all = Vec::new();
    for w in workers {
        all.extend(w.await??);
    }
    let secs = started.elapsed().as_secs_f64();
    let statements = api.metric("stoa_sql_statements_total").await? - statements_before;
    let latency = Latency::of(all);
    let per_page = round2(statements / latency.samples.max(1) as f64);
    Ok(Report {
        name: "tickets-inbox",
        params: json!({
            "concurrency": sizes.concurrency,
            "requests": sizes.requests,
            "page": 50,
            "tickets": sizes.inbox_tickets,
            "labels_per_ticket": 2,
            "viewer": "department head (agent)",
        }),
        metrics: json!({
            "requests_per_s": (latency.samples as f64 / secs).round(),
            "latency_p50_ms": round2(latency.p50_ms),
            "latency_p99_ms": round2(latency.p99_ms),
            "sql_statements_per_page": per_page,
            "sql_statements_target": 4,
            "sql_statements_target_met": per_page <= 4.0,
            "page_tickets_with_due_date": due_dates,
        }),
    })
}

/// The current version of `ticket`, as `by` reads it.
async fn version_of(api: &Api, by: &User, ticket: &str) -> anyhow::Result<i64> {
    let data =
        api.gql(Some(&by.token), "query($t: ID!) { ticket(id: $t) { version } }", json!({ "t": ticket })).await?;
    data["ticket"]["version"].as_i64().context("version")
}

async fn queue(api: &Api, staff: &Staff, admissions: usize) -> anyhow::Result<Report> {
    let agent = &staff.agents[0];
    let ws = workspace(api, &staff.owner, &[(&staff.requester, "MEMBER"), (agent, "AGENT")]).await?;
    let dept = department(api, &staff.owner, &ws, "QUEUE", 1, &[agent], false).await?;
    let normal = |i: usize| json!({ "title": format!("queued {i}"), "priority": "NORMAL", "labels": ["queue"] });
    let first = open_tickets(api, &staff.requester, &ws, &dept, 1, normal).await?;
    let (mut current, mut version) = first.into_iter().next().context("the first ticket")?;
    version = fire(api, agent, &current, version, "ASSIGN", "ASSIGNED").await?;
    version = fire(api, agent, &current, version, "START", "IN_PROGRESS").await?;

    // The agent's socket: a reader task stamps every queue event as it arrives.
    let mut socket = api.socket(&agent.token).await?;
    client::subscribe(&mut socket, "q", QUEUE, json!({ "d": dept })).await?;
    let (tx, mut events) = tokio::sync::mpsc::unbounded_channel::<(Instant, Value)>();
    let reader = tokio::spawn(async move {
        while let Some(msg) = socket.next().await {
            let Message::Text(text) = msg? else { continue };
            let at = Instant::now();
            let frame: Value = serde_json::from_str(text.as_str())?;
            match frame["type"].as_str() {
                Some("next") => tx.send((at, frame["payload"]["data"]["ticketQueue"].clone()))?,
                Some("ping") => socket.send(Message::Text(json!({ "type": "pong" }).to_string().into())).await?,
                Some("error" | "complete") => bail!("the ticketQueue subscription ended: {frame}"),
                _ => {}
            }
        }
        anyhow::Ok(())
    });
    // A subscription has no "ready" message: queue tickets until it hears one, then the rest.
    let mut queued = 0;
    let live_by = Instant::now() + Duration::from_secs(30);
    loop {
        open_tickets(api, &staff.requester, &ws, &dept, 1, |_| normal(queued)).await?;
        queued += 1;
        match tokio::time::timeout(Duration::from_millis(300), events.recv()).await {
            Ok(Some((_, event))) if event["admitted"] == json!(false) => break,
            Ok(Some(_)) | Err(_) => {}
            Ok(None) => return Err(reader.await?.err().unwrap_or_else(|| anyhow::anyhow!("the reader stopped"))),
        }
        if Instant::now() > live_by {
            bail!("the ticketQueue subscription heard no queued ticket in 30 s");
        }
    }
    while queued < admissions {
        open_tickets(api, &staff.requester, &ws, &dept, 1, |_| normal(queued)).await?;
        queued += 1;
    }
    while let Ok(Some(_)) = tokio::time::timeout(Duration::from_millis(300), events.recv()).await {}

    let (mut latencies, mut resolves) = (Vec::new(), Vec::new());
    for _ in 0..admissions {
        let sent = Instant::now();
        fire(api, agent, &current, version, "RESOLVE", "RESOLVED").await?;
        resolves.push(ms(sent.elapsed()));
        let (at, event) = loop {
            match tokio::time::timeout_at((sent + Duration::from_secs(10)).into(), events.recv()).await {
                Ok(Some((at, event))) if event["admitted"] == json!(true) => break (at, event),
                Ok(Some(_)) => {}
                Ok(None) => return Err(reader.await?.err().unwrap_or_else(|| anyhow::anyhow!("the reader stopped"))),
                Err(_) => bail!("no admission event within 10 s of a RESOLVE"),
            }
        };
        latencies.push(ms(at.duration_since(sent)));
        // Work the admitted ticket, so it holds the slot the next RESOLVE frees.
        current = event["ticketId"].as_str().context("ticketId")?.to_owned();
        version = version_of(api, agent, &current).await?;
        version = fire(api, agent, &current, version, "ASSIGN", "ASSIGNED").await?;
        version = fire(api, agent, &current, version, "START", "IN_PROGRESS").await?;
    }
    reader.abort();
    let latency = Latency::of(latencies);
    let resolve = Latency::of(resolves);
    Ok(Report {
        name: "tickets-queue",
        params: json!({ "capacity": 1, "admissions": admissions, "queued": queued }),
        metrics: json!({
            "admitted_event_p50_ms": round2(latency.p50_ms),
            "admitted_event_p99_ms": round2(latency.p99_ms),
            "admitted_event_max_ms": round2(latency.max_ms),
            "resolve_response_p50_ms": round2(resolve.p50_ms),
            "resolve_response_p99_ms": round2(resolve.p99_ms),
        }),
    })
}
