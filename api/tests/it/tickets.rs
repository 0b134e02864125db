//! Helpdesk tickets through the API, on both backends: the lifecycle and its history, reopens and
//! follow-ups, auto-close on a moved clock, optimistic locking, numbering under concurrency,
//! capacity and the queue, sub-tickets, merges, business-hours SLAs, breaches after a restart,
//! what requesters hear, and bad input.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use chrono::{TimeZone as _, Utc};
use serde_json::{Value, json};

use crate::helpers::{Gql, TestApp, TestUser, WsClient, WsEvent, spawn_app_with, spawn_app_with_clock};

const FIELDS: &str = "id number title state version priority labels availableTransitions queuePosition reopenCount \
     stateReason holdUntil departmentId parentId mergedIntoId channelId notesChannelId resolutionDueAt \
     firstResponseDueAt firstResponseAt breachedAt assignee { id } requester { id }";

/// A workspace with a department: alice owns both (head, so one of its agents), bob is an agent,
/// carol and dave are members who ask.
struct Desk {
    app: TestApp,
    alice: TestUser,
    bob: TestUser,
    carol: TestUser,
    dave: TestUser,
    ws: String,
    dept: String,
}

async fn desk_with(vars: &[(&str, &str)], capacity: i64) -> Desk {
    let app = spawn_app_with(vars).await;
    desk_on(app, capacity).await
}

async fn desk_on(app: TestApp, capacity: i64) -> Desk {
    let alice = app.signed_up("alice").await;
    let bob = app.signed_up("bob").await;
    let carol = app.signed_up("carol").await;
    let dave = app.signed_up("dave").await;
    let ws = app.workspace(&alice, "helpdesk").await;
    app.add(&alice, &ws, &bob, "AGENT").await;
    app.add(&alice, &ws, &carol, "MEMBER").await;
    app.add(&alice, &ws, &dave, "MEMBER").await;
    let dept = department(&app, &alice, &ws, "MAINT", capacity).await;
    let add = "mutation($i: DepartmentMemberInput!) { addDepartmentMember(input: $i) { departmentId } }";
    app.gql_as(Some(&alice.token), add, json!({ "i": { "departmentId": dept, "userId": bob.id } })).await.ok();
    Desk { app, alice, bob, carol, dave, ws, dept }
}

async fn department(app: &TestApp, alice: &TestUser, ws: &str, code: &str, capacity: i64) -> String {
    let create = "mutation($i: CreateDepartmentInput!) { createDepartment(input: $i) { department { id } } }";
    let fields = json!({ "name": code.to_lowercase(), "code": code, "headUserId": alice.id, "capacity": capacity });
    let res = app.gql_as(Some(&alice.token), create, json!({ "i": { "workspaceId": ws, "department": fields } })).await;
    res.ok().data()["createDepartment"]["department"]["id"].as_str().unwrap().to_owned()
}

impl Desk {
    async fn run(&self, by: &TestUser, query: &str, vars: Value) -> Gql {
        self.app.gql_as(Some(&by.token), query, vars).await
    }

    async fn open_in(&self, by: &TestUser, dept: &str, title: &str, priority: &str) -> Value {
        let q = format!(
            "mutation($w: ID!, $d: ID!, $i: TicketInput!) {{ createTicket(workspaceId: $w, departmentId: $d, input: $i) {{ {FIELDS} }} }}"
        );
        let input =
            json!({ "title": title, "description": "it leaks", "priority": priority, "labels": ["Water", "b"] });
        let res = self.run(by, &q, json!({ "w": self.ws, "d": dept, "i": input })).await.ok();
        res.data()["createTicket"].clone()
    }

    async fn open(&self, by: &TestUser, title: &str) -> Value {
        self.open_in(by, &self.dept, title, "NORMAL").await
    }

    async fn ticket(&self, by: &TestUser, id: &str) -> Gql {
        self.run(by, &format!("query($t: ID!) {{ ticket(id: $t) {{ {FIELDS} }} }}"), json!({ "t": id })).await
    }

    async fn read(&self, by: &TestUser, id: &str) -> Value {
        self.ticket(by, id).await.ok().data()["ticket"].clone()
    }

    /// Fires `action` with `extra` input fields, at `version`.
    async fn fire_at(&self, by: &TestUser, id: &str, version: i64, action: &str, extra: Value) -> Gql {
        let mut input = json!({ "ticketId": id, "version": version, "action": action });
        if let (Some(input), Some(extra)) = (input.as_object_mut(), extra.as_object()) {
            input.extend(extra.clone());
        }
        let q = format!("mutation($i: TransitionTicketInput!) {{ transitionTicket(input: $i) {{ {FIELDS} }} }}");
        self.run(by, &q, json!({ "i": input })).await
    }

    /// Fires `action` at the ticket's current version; panics on an error.
    async fn fire(&self, by: &TestUser, id: &str, action: &str, extra: Value) -> Value {
        let version = self.read(by, id).await["version"].as_i64().unwrap();
        let res = self.fire_at(by, id, version, action, extra).await;
        assert!(res.body.get("errors").is_none(), "{action} by {}: {}", by.email, res.body);
        res.body["data"]["transitionTicket"].clone()
    }

    /// Assigns to `agent` (by alice), then starts (by the assignee).
    async fn work(&self, id: &str, agent: &TestUser) -> Value {
        self.fire(&self.alice, id, "ASSIGN", json!({ "assigneeId": agent.id })).await;
        self.fire(agent, id, "START", json!({})).await
    }

    async fn counts(&self) -> Vec<Value> {
        let q = "query($w: ID!) { ticketCounts(workspaceId: $w) { departmentId state count } }";
        self.run(&self.alice, q, json!({ "w": self.ws })).await.ok().data()["ticketCounts"].as_array().unwrap().clone()
    }
}

/// Makes each socket's `ticketEvents` subscription on `ticket` live: the protocol has no
/// "subscribed" message, so alice watches the ticket (an `UPDATED` event) until every socket hears
/// one; then what is still in flight is drained.
async fn until_live(d: &Desk, sockets: &mut [&mut WsClient], ticket: &str) {
    let watch = "mutation($t: ID!) { watchTicket(ticketId: $t) { id } }";
    for socket in sockets.iter_mut() {
        let mut live = false;
        for _ in 0..50 {
            d.run(&d.alice, watch, json!({ "t": ticket })).await.ok();
            if socket.try_next(Duration::from_millis(200)).await.is_some() {
                live = true;
                break;
            }
        }
        assert!(live, "a ticketEvents subscription never became live");
    }
    for socket in sockets.iter_mut() {
        while socket.try_next(Duration::from_millis(150)).await.is_some() {}
    }
}

fn state(t: &Value) -> &str {
    t["state"].as_str().unwrap_or_default()
}

fn actions(t: &Value) -> Vec<String> {
    t["availableTransitions"].as_array().unwrap().iter().map(|a| a.as_str().unwrap().to_owned()).collect()
}

fn ext<'a>(res: &'a Gql, key: &str) -> &'a Value {
    &res.body["errors"][0]["extensions"][key]
}

#[tokio::test]
async fn a_ticket_lives_from_new_to_closed_and_its_history_tells_it() {
    let d = desk_with(&[], 10).await;
    let t = d.open(&d.carol, "The boiler leaks").await;
    let id = t["id"].as_str().unwrap().to_owned();
    assert_eq!((state(&t), t["number"].as_i64(), t["version"].as_i64()), ("NEW", Some(1), Some(1)));
    assert_eq!(t["labels"], json!(["b", "water"]), "labels are lower-cased and sorted");
    assert_eq!(actions(&t), ["CANCEL"], "the requester of a new ticket may only cancel it");
    assert!(t["notesChannelId"].is_null() && t["resolutionDueAt"].is_null(), "requesters see no internals: {t}");
    let seen_by_agent = d.read(&d.bob, &id).await;
    assert!(actions(&seen_by_agent).contains(&"ASSIGN".to_owned()), "{seen_by_agent}");
    assert!(seen_by_agent["notesChannelId"].is_string(), "agents see the notes channel");

    // The source is checked first: START from NEW is an invalid transition, whoever asks.
    let wrong = d.fire_at(&d.carol, &id, 1, "START", json!({})).await;
    assert_eq!(wrong.error_code().as_deref(), Some("INVALID_STATE"), "{}", wrong.body);
    assert_eq!(ext(&wrong, "reason"), "INVALID_TRANSITION");
    assert_eq!(ext(&wrong, "allowed"), &json!(["CANCEL"]));
    // The row exists, but the requester's part may not assign.
    let forbidden = d.fire_at(&d.carol, &id, 1, "ASSIGN", json!({})).await;
    assert_eq!(forbidden.error_code().as_deref(), Some("FORBIDDEN"), "{}", forbidden.body);
    // The assignee must be an agent of the department.
    let outsider = d.fire_at(&d.alice, &id, 1, "ASSIGN", json!({ "assigneeId": d.carol.id })).await;
    assert_eq!(outsider.error_code().as_deref(), Some("BAD_USER_INPUT"), "{}", outsider.body);
    assert_eq!(ext(&outsider, "field"), "assigneeId");

    let t = d.work(&id, &d.bob).await;
    assert_eq!((state(&t), t["assignee"]["id"].as_str()), ("IN_PROGRESS", Some(d.bob.id.as_str())));
    assert_eq!(t["version"], 3);

    // A hold needs a reason; its end lies in the future.
    for (extra, field) in [
        (json!({}), "reason"),
        (json!({ "reason": "x".repeat(2_001) }), "reason"),
        (json!({ "reason": "parts", "until": "2001-01-01T00:00:00Z" }), "until"),
    ] {
        let refused = d.fire_at(&d.bob, &id, 3, "HOLD", extra).await;
        assert_eq!(refused.error_code().as_deref(), Some("BAD_USER_INPUT"), "{}", refused.body);
        assert_eq!(ext(&refused, "field"), field);
    }
    let until = (Utc::now() + chrono::Duration::days(2)).to_rfc3339();
    let t = d.fire(&d.bob, &id, "HOLD", json!({ "reason": "waiting for parts", "until": until })).await;
    assert_eq!((state(&t), t["stateReason"].as_str()), ("ON_HOLD", Some("waiting for parts")));
    d.fire(&d.bob, &id, "RESUME", json!({})).await;
    d.fire(&d.bob, &id, "ASK_REQUESTER", json!({})).await;
    let t = d.fire(&d.carol, &id, "REQUESTER_REPLIED", json!({})).await;
    assert_eq!(state(&t), "IN_PROGRESS");
    let t = d.fire(&d.bob, &id, "RESOLVE", json!({})).await;
    assert_eq!(state(&t), "RESOLVED");
    assert_eq!(actions(&d.read(&d.carol, &id).await), ["CONFIRM", "REOPEN"]);
    let t = d.fire(&d.carol, &id, "CONFIRM", json!({})).await;
    assert_eq!(state(&t), "CLOSED");
    assert_eq!(t["version"], 9, "one version per write: {t}");

    let q = "query($t: ID!) { ticket(id: $t) { history { action from to reason actor { id } actorLabel } } }";
    let history = d.run(&d.carol, q, json!({ "t": id })).await.ok().data()["ticket"]["history"].clone();
    let moves: Vec<(String, String)> = history
        .as_array()
        .unwrap()
        .iter()
        .filter(|h| h["action"] == "ticket.transitioned")
        .map(|h| (h["from"].as_str().unwrap().to_owned(), h["to"].as_str().unwrap().to_owned()))
        .collect();
    let expected = [
        ("new", "assigned"),
        ("assigned", "in_progress"),
        ("in_progress", "on_hold"),
        ("on_hold", "in_progress"),
        ("in_progress", "waiting_on_requester"),
        ("waiting_on_requester", "in_progress"),
        ("in_progress", "resolved"),
        ("resolved", "closed"),
    ];
    assert_eq!(moves, expected.map(|(a, b)| (a.to_owned(), b.to_owned())), "{history}");
    assert_eq!(history[0]["action"], "ticket.created");
    let hold = history.as_array().unwrap().iter().find(|h| h["to"] == "on_hold").unwrap();
    assert_eq!(
        (hold["reason"].as_str(), hold["actor"]["id"].as_str()),
        (Some("waiting for parts"), Some(d.bob.id.as_str()))
    );
}

#[tokio::test]
async fn what_a_ticket_lists_as_available_is_what_its_mutation_accepts() {
    let d = desk_with(&[], 10).await;
    let people = [&d.alice, &d.bob, &d.carol];
    // Walk a ticket through many states; at each, every action is tried by every person on a
    // fresh copy of the state (the same ticket at the same version: a refusal writes nothing).
    let t = d.open(&d.carol, "probe").await;
    let id = t["id"].as_str().unwrap().to_owned();
    let all = [
        "ASSIGN",
        "START",
        "HOLD",
        "RESUME",
        "ASK_REQUESTER",
        "REQUESTER_REPLIED",
        "RESOLVE",
        "CONFIRM",
        "REOPEN",
        "CANCEL",
        "ADMIT",
        "QUEUE",
        "AUTO_CLOSE",
        "APPROVE",
        "REJECT",
        "REQUEST_APPROVAL",
    ];
    let path = ["ASSIGN", "START", "HOLD", "RESUME", "ASK_REQUESTER", "REQUESTER_REPLIED", "RESOLVE"];
    for step in 0..=path.len() {
        for person in people {
            let seen = d.read(person, &id).await;
            let version = seen["version"].as_i64().unwrap();
            let listed: BTreeSet<String> = actions(&seen).into_iter().collect();
            for action in all {
                // Only refusals are tried here (an accepted action would move the ticket on).
                if listed.contains(action) {
                    continue;
                }
                let res =
                    d.fire_at(person, &id, version, action, json!({ "reason": "r", "assigneeId": d.bob.id })).await;
                let code = res.error_code();
                assert!(
                    matches!(code.as_deref(), Some("FORBIDDEN" | "INVALID_STATE" | "BAD_USER_INPUT")),
                    "{action} by {} at {} is not listed, yet: {}",
                    person.email,
                    state(&seen),
                    res.body
                );
            }
            assert_eq!(d.read(person, &id).await["version"].as_i64(), Some(version), "a refusal wrote something");
        }
        if let Some(action) = path.get(step) {
            let by = if *action == "ASSIGN" {
                &d.alice
            } else if *action == "REQUESTER_REPLIED" {
                &d.carol
            } else {
                &d.bob
            };
            let seen = d.read(by, &id).await;
            assert!(actions(&seen).contains(&(*action).to_owned()), "{action} is not listed for its doer: {seen}");
            d.fire(by, &id, action, json!({ "reason": "r", "assigneeId": d.bob.id })).await;
        }
    }
}

#[tokio::test]
async fn three_reopens_then_reopen_limit_and_a_follow_up() {
    let d = desk_with(&[], 10).await;
    let id = d.open(&d.carol, "Flickering light").await["id"].as_str().unwrap().to_owned();
    d.work(&id, &d.bob).await;
    for n in 1..=3 {
        d.fire(&d.bob, &id, "RESOLVE", json!({})).await;
        let t = d.fire(&d.carol, &id, "REOPEN", json!({ "reason": "still flickers" })).await;
        assert_eq!((state(&t), t["reopenCount"].as_i64()), ("REOPENED", Some(n)));
        d.fire(&d.bob, &id, "START", json!({})).await;
    }
    let t = d.fire(&d.bob, &id, "RESOLVE", json!({})).await;
    let fourth = d.fire_at(&d.carol, &id, t["version"].as_i64().unwrap(), "REOPEN", json!({})).await;
    assert_eq!(fourth.error_code().as_deref(), Some("INVALID_STATE"), "{}", fourth.body);
    assert_eq!(ext(&fourth, "reason"), "REOPEN_LIMIT");
    assert_eq!(ext(&fourth, "allowed"), &json!(["CONFIRM"]));
    // Each reopen told the department's head.
    let q = "{ notifications(first: 10) { nodes { kind preview } } }";
    let notes = d.run(&d.alice, q, json!({})).await.ok().data()["notifications"]["nodes"].clone();
    let reopened = notes.as_array().unwrap().iter().filter(|n| n["kind"] == "ticket_reopened").count();
    assert_eq!(reopened, 3, "{notes}");

    let follow = "mutation($t: ID!, $i: TicketInput!) { createFollowUpTicket(ticketId: $t, input: $i) { id number state requester { id } links { kind outgoing ticket { id } } } }";
    let res = d.run(&d.carol, follow, json!({ "t": id, "i": { "title": "Still flickering" } })).await.ok();
    let f = &res.data()["createFollowUpTicket"];
    assert_eq!((f["number"].as_i64(), f["state"].as_str()), (Some(2), Some("NEW")));
    assert_eq!(f["requester"]["id"].as_str(), Some(d.carol.id.as_str()));
    assert_eq!(f["links"], json!([{ "kind": "FOLLOW_UP_OF", "outgoing": true, "ticket": { "id": id } }]));
    // An open ticket has no follow-up: it is still being worked.
    let open = f["id"].as_str().unwrap();
    let refused = d.run(&d.carol, follow, json!({ "t": open, "i": { "title": "again" } })).await;
    assert_eq!(refused.error_code().as_deref(), Some("INVALID_STATE"), "{}", refused.body);
}

#[tokio::test]
async fn a_resolved_ticket_closes_by_itself_after_auto_close_and_a_closed_one_reopens_only_within_the_window() {
    let d = desk_with(&[("STOA_TICKET_TICK_MS", "100")], 10).await;
    let id = d.open(&d.carol, "Door lock").await["id"].as_str().unwrap().to_owned();
    d.work(&id, &d.bob).await;
    d.fire(&d.bob, &id, "RESOLVE", json!({})).await;
    d.app.clock.advance(chrono::Duration::hours(71));
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(state(&d.read(&d.carol, &id).await), "RESOLVED", "not before 72 hours");
    d.app.clock.advance(chrono::Duration::hours(2));
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    let closed = loop {
        let t = d.read(&d.carol, &id).await;
        if state(&t) == "CLOSED" || tokio::time::Instant::now() > deadline {
            break t;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(state(&closed), "CLOSED", "{closed}");
    let q = "query($t: ID!) { ticket(id: $t) { history { action actorLabel to } } }";
    let history = d.run(&d.bob, q, json!({ "t": id })).await.ok().data()["ticket"]["history"].clone();
    assert!(
        history.as_array().unwrap().iter().any(|h| h["to"] == "closed" && h["actorLabel"] == "system:tickets"),
        "{history}"
    );
    // Closed: the requester may not reopen; an agent may, within 14 days.
    assert_eq!(actions(&closed), Vec::<String>::new());
    assert_eq!(actions(&d.read(&d.bob, &id).await), ["REOPEN"]);
    d.app.clock.advance(chrono::Duration::days(15));
    let late = d.fire_at(&d.bob, &id, closed["version"].as_i64().unwrap(), "REOPEN", json!({})).await;
    assert_eq!(ext(&late, "reason"), "REOPEN_WINDOW", "{}", late.body);

    // A hold with an end resumes by itself when it passes.
    let held = d.open(&d.carol, "Paint").await["id"].as_str().unwrap().to_owned();
    d.work(&held, &d.bob).await;
    let until = (d.app.clock_now() + chrono::Duration::hours(1)).to_rfc3339();
    d.fire(&d.bob, &held, "HOLD", json!({ "reason": "drying", "until": until })).await;
    d.app.clock.advance(chrono::Duration::hours(2));
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    let resumed = loop {
        let t = d.read(&d.carol, &held).await;
        if state(&t) == "IN_PROGRESS" || tokio::time::Instant::now() > deadline {
            break t;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(state(&resumed), "IN_PROGRESS", "{resumed}");
}

#[tokio::test]
async fn a_transfer_into_a_full_department_queues_and_unassigns_an_agent_of_the_old_one() {
    let d = desk_with(&[], 10).await;
    let small = department(&d.app, &d.alice, &d.ws, "SMALL", 1).await;
    let first = d.open_in(&d.carol, &small, "occupies the only slot", "NORMAL").await;
    assert_eq!(state(&first), "NEW");
    let id = d.open(&d.carol, "moves").await["id"].as_str().unwrap().to_owned();
    let t = d.work(&id, &d.bob).await;
    let update = "mutation($t: ID!, $v: Int!, $d: ID!) { updateTicket(ticketId: $t, version: $v, input: { departmentId: $d }) { state departmentId assignee { id } queuePosition } }";
    let moved =
        d.run(&d.alice, update, json!({ "t": id, "v": t["version"], "d": small })).await.ok().data()["updateTicket"]
            .clone();
    assert_eq!(moved["state"], "QUEUED", "{moved}");
    assert_eq!((moved["departmentId"].as_str(), moved["queuePosition"].as_i64()), (Some(small.as_str()), Some(1)));
    assert!(moved["assignee"].is_null(), "bob is no agent of SMALL: {moved}");
    // The requester cannot transfer: that is staff's.
    let version = d.read(&d.alice, &id).await["version"].clone();
    let refused = d.run(&d.carol, update, json!({ "t": id, "v": version, "d": d.dept })).await;
    assert_eq!(refused.error_code().as_deref(), Some("FORBIDDEN"), "{}", refused.body);
}

#[tokio::test]
async fn two_writers_on_one_version_get_one_conflict_and_nothing_of_the_loser_is_written() {
    let d = desk_with(&[], 10).await;
    let id = d.open(&d.carol, "Window").await["id"].as_str().unwrap().to_owned();
    let update = "mutation($t: ID!, $v: Int!, $i: UpdateTicketInput!) { updateTicket(ticketId: $t, version: $v, input: $i) { version title } }";
    let (a, b) = tokio::join!(
        d.run(&d.alice, update, json!({ "t": id, "v": 1, "i": { "title": "by alice" } })),
        d.run(&d.bob, update, json!({ "t": id, "v": 1, "i": { "title": "by bob" } })),
    );
    let (won, lost) = if a.body.get("errors").is_none() { (a, b) } else { (b, a) };
    assert!(won.body.get("errors").is_none(), "{}", won.body);
    assert_eq!(lost.error_code().as_deref(), Some("CONFLICT"), "{}", lost.body);
    assert_eq!(ext(&lost, "currentVersion"), 2);
    assert_eq!(ext(&lost, "currentState"), "NEW");
    let title = won.body["data"]["updateTicket"]["title"].clone();
    let now = d.read(&d.alice, &id).await;
    assert_eq!((now["title"].clone(), now["version"].as_i64()), (title, Some(2)));
    // A transition with the stale version writes nothing either.
    let stale = d.fire_at(&d.alice, &id, 1, "ASSIGN", json!({})).await;
    assert_eq!(stale.error_code().as_deref(), Some("CONFLICT"), "{}", stale.body);
    assert_eq!(d.read(&d.alice, &id).await["version"], 2);
}

#[tokio::test]
async fn a_hundred_concurrent_creations_get_a_hundred_distinct_numbers() {
    let d = Arc::new(desk_with(&[("STOA_RATE_LIMITS", "member=100000")], 0).await);
    let tasks: Vec<_> = (0..100)
        .map(|i| {
            let d = Arc::clone(&d);
            tokio::spawn(async move {
                let by = if i % 2 == 0 { &d.carol } else { &d.dave };
                d.open(by, &format!("ticket {i}")).await["number"].as_i64().unwrap()
            })
        })
        .collect();
    let mut numbers = BTreeSet::new();
    for task in tasks {
        numbers.insert(task.await.unwrap());
    }
    assert_eq!(numbers, (1..=100).collect::<BTreeSet<i64>>());
}

#[tokio::test]
async fn a_department_at_capacity_queues_and_every_freed_slot_admits_the_head_of_its_queue() {
    let d = Arc::new(desk_with(&[("STOA_RATE_LIMITS", "owner=100000,agent=100000,member=100000")], 5).await);
    let mut socket = WsClient::init(&d.app, Some(&d.bob.token)).await;
    let sub = "subscription($d: ID!) { ticketQueue(departmentId: $d) { ticketId admitted occupancy waiting } }";
    socket.subscribe("q", sub, json!({ "d": d.dept })).await;
    let mut ids = Vec::new();
    for i in 0..20 {
        let t = d.open(&d.carol, &format!("job {i}")).await;
        let expected = if i < 5 { "NEW" } else { "QUEUED" };
        assert_eq!(state(&t), expected, "{t}");
        if i >= 5 {
            assert_eq!(t["queuePosition"].as_i64(), Some(i - 4), "{t}");
        }
        ids.push(t["id"].as_str().unwrap().to_owned());
    }
    // An urgent ticket jumps the queue.
    let urgent = d.open_in(&d.carol, &d.dept, "flood", "URGENT").await;
    assert_eq!(urgent["queuePosition"], 1, "{urgent}");

    // A poller watches occupancy while ten resolutions run, five at a time.
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let poller = {
        let (d, stop) = (Arc::clone(&d), Arc::clone(&stop));
        tokio::spawn(async move {
            let mut most = 0;
            while !stop.load(std::sync::atomic::Ordering::SeqCst) {
                let occupied: i64 = d
                    .counts()
                    .await
                    .iter()
                    .filter(|c| {
                        !matches!(c["state"].as_str(), Some("QUEUED" | "RESOLVED" | "CLOSED" | "CANCELLED" | "MERGED"))
                    })
                    .map(|c| c["count"].as_i64().unwrap())
                    .sum();
                most = most.max(occupied);
            }
            most
        })
    };
    let mut admitted_order = Vec::new();
    for round in 0..2 {
        let open: Vec<String> = {
            let q = "query($w: ID!) { tickets(workspaceId: $w, filter: { states: [NEW] }, sort: OLDEST) { nodes { id title } } }";
            let res = d.run(&d.alice, q, json!({ "w": d.ws })).await.ok();
            res.data()["tickets"]["nodes"]
                .as_array()
                .unwrap()
                .iter()
                .map(|n| n["id"].as_str().unwrap().to_owned())
                .collect()
        };
        assert_eq!(open.len(), 5, "round {round}: five slots are taken");
        if round == 1 {
            admitted_order.extend(open.iter().cloned());
        }
        for id in &open {
            d.work(id, &d.bob).await;
        }
        let tasks: Vec<_> = open
            .into_iter()
            .map(|id| {
                let d = Arc::clone(&d);
                tokio::spawn(async move { d.fire(&d.bob, &id, "RESOLVE", json!({})).await })
            })
            .collect();
        for task in tasks {
            assert_eq!(state(&task.await.unwrap()), "RESOLVED");
        }
    }
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    let most = poller.await.unwrap();
    assert!(most <= 5, "occupancy reached {most}");
    // The second round's five were admitted in queue order: the urgent one, then the oldest.
    let urgent_id = urgent["id"].as_str().unwrap().to_owned();
    let mut expected = vec![urgent_id.clone()];
    expected.extend(ids[5..9].iter().cloned());
    let got: BTreeSet<_> = admitted_order.iter().cloned().collect();
    assert_eq!(got, expected.iter().cloned().collect::<BTreeSet<_>>(), "admitted out of order");
    // Ten freed slots admitted ten tickets; the queue stream told each admission.
    let mut admissions = 0;
    while admissions < 10 {
        match socket.try_next(Duration::from_secs(5)).await {
            Some(WsEvent::Json(v)) if v["type"] == "next" => {
                if v["payload"]["data"]["ticketQueue"]["admitted"] == true {
                    admissions += 1;
                    assert!(v["payload"]["data"]["ticketQueue"]["occupancy"].as_i64().unwrap() <= 5, "{v}");
                }
            }
            Some(WsEvent::Json(_)) => {}
            other => panic!("{admissions} admissions heard, then {other:?}"),
        }
    }
    // Raising capacity admits at once.
    let update = "mutation($i: UpdateDepartmentInput!) { updateDepartment(input: $i) { department { capacity } } }";
    let fields = json!({ "name": "maint", "code": "MAINT", "headUserId": d.alice.id, "capacity": 100 });
    d.run(&d.alice, update, json!({ "i": { "id": d.dept, "department": fields } })).await.ok();
    let q = "query($w: ID!) { tickets(workspaceId: $w, filter: { states: [QUEUED] }) { nodes { id } } }";
    let waiting = d.run(&d.alice, q, json!({ "w": d.ws })).await.ok().data()["tickets"]["nodes"].clone();
    assert_eq!(waiting, json!([]), "raising capacity left tickets waiting");
}

#[tokio::test]
async fn a_parent_waits_for_its_subtickets_which_its_requester_never_sees() {
    let d = desk_with(&[], 10).await;
    let it = department(&d.app, &d.alice, &d.ws, "IT", 10).await;
    let parent = d.open(&d.carol, "Move office").await["id"].as_str().unwrap().to_owned();
    let t = d.work(&parent, &d.bob).await;
    let split = "mutation($p: ID!, $v: Int!, $d: ID!, $i: TicketInput!) { createSubticket(parentId: $p, version: $v, departmentId: $d, input: $i) { id parentId state departmentId } }";
    let vars = json!({ "p": parent, "v": t["version"], "d": it, "i": { "title": "Move the network" } });
    // The requester may not split; the assignee may.
    let refused = d.run(&d.carol, split, vars.clone()).await;
    assert_eq!(refused.error_code().as_deref(), Some("FORBIDDEN"), "{}", refused.body);
    let sub = d.run(&d.bob, split, vars).await.ok().data()["createSubticket"].clone();
    let sub_id = sub["id"].as_str().unwrap().to_owned();
    assert_eq!((sub["parentId"].as_str(), sub["departmentId"].as_str()), (Some(parent.as_str()), Some(it.as_str())));
    // One level only.
    let sub_version = d.read(&d.alice, &sub_id).await["version"].clone();
    let deeper = json!({ "p": sub_id, "v": sub_version, "d": it, "i": { "title": "deeper" } });
    let refused = d.run(&d.alice, split, deeper).await;
    assert_eq!(
        (refused.error_code().as_deref(), ext(&refused, "field").as_str()),
        (Some("BAD_USER_INPUT"), Some("parentId"))
    );
    // The requester sees the parent only.
    let hidden = d.ticket(&d.carol, &sub_id).await;
    assert_eq!(hidden.error_code().as_deref(), Some("NOT_FOUND"), "{}", hidden.body);
    // The parent cannot resolve while the sub-ticket is open.
    let version = d.read(&d.bob, &parent).await["version"].as_i64().unwrap();
    let blocked = d.fire_at(&d.bob, &parent, version, "RESOLVE", json!({})).await;
    assert_eq!(ext(&blocked, "reason"), "OPEN_SUBTICKETS", "{}", blocked.body);
    assert_eq!(ext(&blocked, "blockedBy"), &json!([sub_id]));
    assert!(!actions(&d.read(&d.bob, &parent).await).contains(&"RESOLVE".to_owned()));
    // Its moves reach the parent's followers (staff).
    let mut socket = WsClient::init(&d.app, Some(&d.bob.token)).await;
    let sub_events = "subscription($t: ID!) { ticketEvents(ticketId: $t) { kind ticketId } }";
    socket.subscribe("p", sub_events, json!({ "t": parent })).await;
    let mut requester = WsClient::init(&d.app, Some(&d.carol.token)).await;
    requester.subscribe("p", sub_events, json!({ "t": parent })).await;
    until_live(&d, &mut [&mut socket, &mut requester], &parent).await;
    d.work(&sub_id, &d.alice).await;
    d.fire(&d.alice, &sub_id, "RESOLVE", json!({})).await;
    let heard = socket.next_json().await;
    assert_eq!(heard["payload"]["data"]["ticketEvents"]["kind"], "SUBTICKET_CHANGED", "{heard}");
    assert!(requester.try_next(Duration::from_millis(500)).await.is_none(), "the requester heard a sub-ticket");
    let t = d.fire(&d.bob, &parent, "RESOLVE", json!({})).await;
    assert_eq!(state(&t), "RESOLVED");
}

#[tokio::test]
async fn a_merged_ticket_points_at_its_target_and_its_people_follow() {
    let d = desk_with(&[], 10).await;
    let target = d.open(&d.carol, "No hot water").await["id"].as_str().unwrap().to_owned();
    let source = d.open(&d.dave, "Cold shower").await["id"].as_str().unwrap().to_owned();
    let merge = "mutation($s: ID!, $v: Int!, $t: ID!) { mergeTicket(ticketId: $s, version: $v, targetId: $t) { state mergedIntoId availableTransitions } }";
    let itself = d.run(&d.alice, merge, json!({ "s": source, "v": 1, "t": source })).await;
    assert_eq!(
        (itself.error_code().as_deref(), ext(&itself, "field").as_str()),
        (Some("BAD_USER_INPUT"), Some("targetId"))
    );
    let elsewhere = {
        let ws = d.app.workspace(&d.alice, "elsewhere").await;
        let dept = department(&d.app, &d.alice, &ws, "OTHER", 10).await;
        let q = "mutation($w: ID!, $d: ID!) { createTicket(workspaceId: $w, departmentId: $d, input: { title: \"x\" }) { id } }";
        d.run(&d.alice, q, json!({ "w": ws, "d": dept })).await.ok().data()["createTicket"]["id"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let across = d.run(&d.alice, merge, json!({ "s": source, "v": 1, "t": elsewhere })).await;
    assert_eq!(ext(&across, "field"), "targetId", "{}", across.body);
    let merged =
        d.run(&d.alice, merge, json!({ "s": source, "v": 1, "t": target })).await.ok().data()["mergeTicket"].clone();
    assert_eq!(merged, json!({ "state": "MERGED", "mergedIntoId": target, "availableTransitions": [] }));
    // dave, who asked the merged one, now watches the target.
    let seen = d.read(&d.dave, &target).await;
    assert_eq!(seen["id"].as_str(), Some(target.as_str()));
    // Nothing merges into a terminal ticket.
    let third = d.open(&d.carol, "Drip").await["id"].as_str().unwrap().to_owned();
    let into_merged = d.run(&d.alice, merge, json!({ "s": third, "v": 1, "t": source })).await;
    assert_eq!(ext(&into_merged, "field"), "targetId", "{}", into_merged.body);
}

#[tokio::test]
async fn a_requester_hears_public_events_only_and_the_first_public_agent_reply_is_the_first_response() {
    let d = desk_with(&[], 10).await;
    let t = d.open(&d.carol, "Heating").await;
    let id = t["id"].as_str().unwrap().to_owned();
    let t = d.work(&id, &d.bob).await;
    let (public, notes) =
        (t["channelId"].as_str().unwrap().to_owned(), t["notesChannelId"].as_str().unwrap().to_owned());
    let sub = "subscription($t: ID!) { ticketEvents(ticketId: $t) { kind version } }";
    let mut requester = WsClient::init(&d.app, Some(&d.carol.token)).await;
    requester.subscribe("t", sub, json!({ "t": id })).await;
    let mut agent = WsClient::init(&d.app, Some(&d.alice.token)).await;
    agent.subscribe("t", sub, json!({ "t": id })).await;
    until_live(&d, &mut [&mut requester, &mut agent], &id).await;
    let post = "mutation($c: ID!, $b: String!) { postMessage(input: { channelId: $c, body: $b }) { message { id } } }";
    // The requester cannot even read the notes channel.
    let refused = d.run(&d.carol, post, json!({ "c": notes, "b": "let me in" })).await;
    assert_eq!(refused.error_code().as_deref(), Some("NOT_FOUND"), "{}", refused.body);
    d.run(&d.bob, post, json!({ "c": notes, "b": "the valve is the problem" })).await.ok();
    assert!(d.read(&d.bob, &id).await["firstResponseAt"].is_null(), "a note is no response");
    d.run(&d.bob, post, json!({ "c": public, "b": "on my way" })).await.ok();
    let kinds = |frames: Vec<Value>| -> Vec<String> {
        frames
            .iter()
            .map(|f| f["payload"]["data"]["ticketEvents"]["kind"].as_str().unwrap_or_default().to_owned())
            .collect()
    };
    let mut heard_by_agent = Vec::new();
    while heard_by_agent.len() < 2 {
        heard_by_agent.push(agent.next_json().await);
    }
    assert_eq!(kinds(heard_by_agent), ["NOTE_ADDED", "MESSAGE_POSTED"]);
    let first = requester.next_json().await;
    assert_eq!(kinds(vec![first]), ["MESSAGE_POSTED"], "the requester heard the note first");
    assert!(requester.try_next(Duration::from_millis(300)).await.is_none());
    assert!(d.read(&d.bob, &id).await["firstResponseAt"].is_string());
}

/// `at` (local wall time in `zone`) as RFC 3339 UTC.
fn local(zone: chrono_tz::Tz, y: i32, m: u32, day: u32, h: u32, min: u32) -> chrono::DateTime<Utc> {
    zone.with_ymd_and_hms(y, m, day, h, min, 0).single().unwrap().with_timezone(&Utc)
}

async fn sla_setup(d: &Desk, zone: &str, holidays: &[&str], resolution: i64) -> String {
    let hours: Vec<Value> = (1..=5).map(|w| json!({ "weekday": w, "start": "08:00", "end": "18:00" })).collect();
    let q = "mutation($w: ID!, $i: SlaCalendarInput!) { createSlaCalendar(workspaceId: $w, input: $i) { id timezone hours { weekday } holidays } }";
    let input = json!({ "name": "office", "timezone": zone, "hours": hours, "holidays": holidays });
    let cal = d.run(&d.alice, q, json!({ "w": d.ws, "i": input })).await.ok().data()["createSlaCalendar"].clone();
    let q = "mutation($w: ID!, $i: SlaPolicyInput!) { createSlaPolicy(workspaceId: $w, input: $i) { id pausesIn warnBeforeMinutes } }";
    let input = json!({ "calendarId": cal["id"], "firstResponseMinutes": 60, "resolutionMinutes": resolution });
    let policy = d.run(&d.alice, q, json!({ "w": d.ws, "i": input })).await.ok().data()["createSlaPolicy"].clone();
    assert_eq!(policy["pausesIn"], json!(["WAITING_ON_REQUESTER", "PENDING_APPROVAL"]));
    assert_eq!(policy["warnBeforeMinutes"], 60);
    cal["id"].as_str().unwrap().to_owned()
}

fn due(t: &Value) -> chrono::DateTime<Utc> {
    t["resolutionDueAt"].as_str().unwrap().parse().unwrap()
}

#[tokio::test]
async fn due_dates_count_business_hours_in_the_calendars_zone() {
    let lagos = chrono_tz::Africa::Lagos;
    let d = desk_with(&[], 100).await;
    // Tuesday 2026-12-08 is a holiday; Monday 2026-12-07 and Friday 2026-12-04 are working days.
    sla_setup(&d, "Africa/Lagos", &["2026-12-15"], 240).await;
    let cases = [
        (local(lagos, 2026, 12, 7, 16, 0), local(lagos, 2026, 12, 8, 10, 0)),
        (local(lagos, 2026, 12, 4, 17, 0), local(lagos, 2026, 12, 7, 11, 0)),
        // Monday 14th at 16:00, the 15th a holiday: due Wednesday 10:00.
        (local(lagos, 2026, 12, 14, 16, 0), local(lagos, 2026, 12, 16, 10, 0)),
    ];
    for (created, expected) in cases {
        d.app.clock.set(created);
        let t = d.open(&d.carol, "timed").await;
        let t = d.read(&d.bob, t["id"].as_str().unwrap()).await;
        let off = (due(&t) - expected).num_seconds().abs();
        assert!(off < 5, "created {created}: due {} expected {expected}", due(&t));
    }
    // Three hours waiting on the requester push the due date by three business hours.
    d.app.clock.set(local(lagos, 2026, 12, 7, 9, 0));
    let id = d.open(&d.carol, "paused").await["id"].as_str().unwrap().to_owned();
    d.work(&id, &d.bob).await;
    d.fire(&d.bob, &id, "ASK_REQUESTER", json!({})).await;
    d.app.clock.advance(chrono::Duration::hours(3));
    let t = d.fire(&d.carol, &id, "REQUESTER_REPLIED", json!({})).await;
    let t = d.read(&d.bob, t["id"].as_str().unwrap()).await;
    let expected = local(lagos, 2026, 12, 7, 16, 0);
    assert!((due(&t) - expected).num_seconds().abs() < 5, "due {} expected {expected}", due(&t));
    // A priority change recomputes from the same start (here: the same policy, the same date).
    let update = "mutation($t: ID!, $v: Int!) { updateTicket(ticketId: $t, version: $v, input: { priority: HIGH }) { resolutionDueAt } }";
    let res = d.run(&d.bob, update, json!({ "t": id, "v": t["version"] })).await.ok();
    let after: chrono::DateTime<Utc> = res.data()["updateTicket"]["resolutionDueAt"].as_str().unwrap().parse().unwrap();
    assert!((after - expected).num_seconds().abs() < 5, "recomputed to {after}");
}

#[tokio::test]
async fn due_dates_cross_both_daylight_saving_switches_in_berlin() {
    let berlin = chrono_tz::Europe::Berlin;
    let d = desk_with(&[], 100).await;
    sla_setup(&d, "Europe/Berlin", &[], 240).await;
    for (created, expected) in [
        (local(berlin, 2026, 3, 27, 16, 0), local(berlin, 2026, 3, 30, 10, 0)),
        (local(berlin, 2026, 10, 23, 16, 0), local(berlin, 2026, 10, 26, 10, 0)),
    ] {
        d.app.clock.set(created);
        let t = d.open(&d.carol, "dst").await;
        let t = d.read(&d.bob, t["id"].as_str().unwrap()).await;
        assert!((due(&t) - expected).num_seconds().abs() < 5, "created {created}: due {} expected {expected}", due(&t));
    }
}

#[tokio::test]
async fn a_breach_that_fell_due_while_the_server_was_down_is_marked_when_it_starts() {
    let berlin = chrono_tz::Europe::Berlin;
    // The first server runs no workers: nothing watches the clock while "down".
    let first = spawn_app_with(&[("STOA_WORKERS", "false")]).await;
    let clock = Arc::clone(&first.clock);
    clock.set(local(berlin, 2026, 12, 7, 9, 0));
    let d = desk_on(first, 100).await;
    sla_setup(&d, "Europe/Berlin", &[], 120).await;
    let id = d.open(&d.carol, "urgent leak").await["id"].as_str().unwrap().to_owned();
    d.work(&id, &d.bob).await;
    clock.advance(chrono::Duration::hours(5));
    assert!(d.read(&d.bob, &id).await["breachedAt"].is_null());
    let mut vars: Vec<(String, String)> = d.app.shared_vars();
    vars.push(("STOA_TICKET_TICK_MS".into(), "60000".into()));
    let vars: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let started = tokio::time::Instant::now();
    let second = spawn_app_with_clock(&vars, Arc::clone(&clock)).await;
    let deadline = started + Duration::from_mins(1);
    let marked = loop {
        let t = second
            .gql_as(
                Some(&d.bob.token),
                &format!("query($t: ID!) {{ ticket(id: $t) {{ {FIELDS} }} }}"),
                json!({ "t": id }),
            )
            .await;
        let t = t.ok().data()["ticket"].clone();
        if t["breachedAt"].is_string() || tokio::time::Instant::now() > deadline {
            break t;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(marked["breachedAt"].is_string(), "not marked within 60 s of the start: {marked}");
    let q = "{ notifications(first: 10) { nodes { kind } } }";
    let notes = second.gql_as(Some(&d.bob.token), q, json!({})).await.ok().data()["notifications"]["nodes"].clone();
    assert!(notes.as_array().unwrap().iter().any(|n| n["kind"] == "ticket_sla_breached"), "{notes}");
    assert!(
        notes.as_array().unwrap().iter().any(|n| n["kind"] == "ticket_sla_warning"),
        "the assignee was warned: {notes}"
    );
    // The head and the moderators hear of a breach too (alice is both).
    let heads = second.gql_as(Some(&d.alice.token), q, json!({})).await.ok().data()["notifications"]["nodes"].clone();
    assert!(heads.as_array().unwrap().iter().any(|n| n["kind"] == "ticket_sla_breached"), "{heads}");
    let version = marked["version"].as_i64().unwrap();
    assert_eq!(version, 3, "an SLA mark is not an edit: the version stays");
    // The requester's history holds no SLA entries; the staff's does.
    let q = "query($t: ID!) { ticket(id: $t) { history { action } } }".to_owned();
    let actions_of = |token: String| {
        let (second, q, id) = (&second, q.clone(), id.clone());
        async move {
            let res = second.gql_as(Some(&token), &q, json!({ "t": id })).await.ok();
            res.data()["ticket"]["history"]
                .as_array()
                .unwrap()
                .iter()
                .map(|h| h["action"].as_str().unwrap().to_owned())
                .collect::<Vec<_>>()
        }
    };
    let staff = actions_of(d.bob.token.clone()).await;
    assert!(staff.iter().any(|a| a == "ticket.sla_breached"), "{staff:?}");
    let requester = actions_of(d.carol.token.clone()).await;
    assert!(!requester.iter().any(|a| a.starts_with("ticket.sla")), "{requester:?}");
}

#[tokio::test]
async fn bad_helpdesk_input_is_refused_with_its_field_and_nothing_is_written() {
    let d = desk_with(&[], 10).await;
    let create = "mutation($w: ID!, $d: ID!, $i: TicketInput!) { createTicket(workspaceId: $w, departmentId: $d, input: $i) { id } }";
    let long = "x".repeat(201);
    let labels: Vec<String> = (0..21).map(|i| format!("l{i}")).collect();
    for (input, field) in [
        (json!({ "title": "" }), "title"),
        (json!({ "title": long }), "title"),
        (json!({ "title": "ok", "labels": labels }), "labels"),
        (json!({ "title": "ok", "labels": ["a,b"] }), "labels"),
        (json!({ "title": "ok", "watcherIds": [uuid::Uuid::now_v7().to_string()] }), "watcherIds"),
    ] {
        let res = d.run(&d.carol, create, json!({ "w": d.ws, "d": d.dept, "i": input })).await;
        assert_eq!(
            (res.error_code().as_deref(), ext(&res, "field").as_str()),
            (Some("BAD_USER_INPUT"), Some(field)),
            "{}",
            res.body
        );
    }
    let q = "query($w: ID!) { tickets(workspaceId: $w) { nodes { id } } }";
    assert_eq!(d.run(&d.alice, q, json!({ "w": d.ws })).await.ok().data()["tickets"]["nodes"], json!([]));

    let cal = "mutation($w: ID!, $i: SlaCalendarInput!) { createSlaCalendar(workspaceId: $w, input: $i) { id } }";
    let day = |start: &str, end: &str| json!({ "weekday": 1, "start": start, "end": end });
    for (input, field) in [
        (json!({ "name": "c", "timezone": "Mars/Olympus", "hours": [day("08:00", "18:00")] }), "timezone"),
        (json!({ "name": "c", "timezone": "UTC", "hours": [day("18:00", "08:00")] }), "hours"),
        (json!({ "name": "c", "timezone": "UTC", "hours": [day("08:00", "12:00"), day("11:00", "13:00")] }), "hours"),
        (json!({ "name": "c", "timezone": "UTC", "hours": [] }), "hours"),
        (json!({ "name": "c", "timezone": "UTC", "hours": [day("8am", "18:00")] }), "hours"),
        (
            json!({ "name": "c", "timezone": "UTC", "hours": [day("08:00", "18:00")], "holidays": ["25/12/2026"] }),
            "holidays",
        ),
    ] {
        let res = d.run(&d.alice, cal, json!({ "w": d.ws, "i": input })).await;
        assert_eq!(
            (res.error_code().as_deref(), ext(&res, "field").as_str()),
            (Some("BAD_USER_INPUT"), Some(field)),
            "{}",
            res.body
        );
    }
    let touching = json!({ "name": "c", "timezone": "UTC", "hours": [day("08:00", "12:00"), day("12:00", "13:00")] });
    let cal_id =
        d.run(&d.alice, cal, json!({ "w": d.ws, "i": touching })).await.ok().data()["createSlaCalendar"]["id"].clone();
    let policy = "mutation($w: ID!, $i: SlaPolicyInput!) { createSlaPolicy(workspaceId: $w, input: $i) { id } }";
    for (first, resolution, field) in
        [(0, 60, "firstResponseMinutes"), (-5, 60, "firstResponseMinutes"), (60, 525_601, "resolutionMinutes")]
    {
        let input = json!({ "calendarId": cal_id, "firstResponseMinutes": first, "resolutionMinutes": resolution });
        let res = d.run(&d.alice, policy, json!({ "w": d.ws, "i": input })).await;
        assert_eq!(
            (res.error_code().as_deref(), ext(&res, "field").as_str()),
            (Some("BAD_USER_INPUT"), Some(field)),
            "{}",
            res.body
        );
    }
    let q = "query($w: ID!) { slaPolicies(workspaceId: $w) { id } }";
    assert_eq!(d.run(&d.alice, q, json!({ "w": d.ws })).await.ok().data()["slaPolicies"], json!([]));

    // A department's capacity may not be negative.
    let create_dept = "mutation($i: CreateDepartmentInput!) { createDepartment(input: $i) { department { id } } }";
    let fields = json!({ "name": "neg", "code": "NEG", "capacity": -1 });
    let res = d.run(&d.alice, create_dept, json!({ "i": { "workspaceId": d.ws, "department": fields } })).await;
    assert_eq!(ext(&res, "field"), "capacity", "{}", res.body);
    // Settings stay within a year.
    let settings = "mutation($w: ID!) { updateTicketSettings(workspaceId: $w, autoCloseMinutes: 0, reopenWindowMinutes: 60) { autoCloseMinutes } }";
    let res = d.run(&d.alice, settings, json!({ "w": d.ws })).await;
    assert_eq!(ext(&res, "field"), "autoCloseMinutes", "{}", res.body);
    // An action from the system's part of the table is refused to people.
    let id = d.open(&d.carol, "fine").await["id"].as_str().unwrap().to_owned();
    let res = d.fire_at(&d.alice, &id, 1, "MERGE", json!({})).await;
    assert_eq!(ext(&res, "field"), "action", "merge names a target: {}", res.body);
    let res = d.fire_at(&d.alice, &id, 1, "AUTO_CLOSE", json!({})).await;
    assert_eq!(res.error_code().as_deref(), Some("INVALID_STATE"), "{}", res.body);
}

#[tokio::test]
async fn approvals_wait_for_any_or_all_deciders_and_nobody_approves_their_own_ticket() {
    let d = desk_with(&[], 10).await;
    let policy =
        "mutation($w: ID!, $i: ApprovalPolicyInput!) { createApprovalPolicy(workspaceId: $w, input: $i) { id mode } }";
    let make =
        |mode: &str, deciders: Vec<&str>| json!({ "name": format!("p-{mode}"), "mode": mode, "deciderIds": deciders });
    let all = d
        .run(
            &d.alice,
            policy,
            json!({ "w": d.ws, "i": make("ALL", vec![&d.dave.id, &d.alice.id, &d.bob.id, &d.carol.id]) }),
        )
        .await
        .ok();
    let all = all.data()["createApprovalPolicy"]["id"].as_str().unwrap().to_owned();
    let any = d.run(&d.alice, policy, json!({ "w": d.ws, "i": make("ANY", vec![&d.dave.id]) })).await.ok();
    let any = any.data()["createApprovalPolicy"]["id"].as_str().unwrap().to_owned();
    let id = d.open(&d.carol, "New boiler, 4,000").await["id"].as_str().unwrap().to_owned();
    d.work(&id, &d.bob).await;
    // dave, a member who is no agent, does not see the ticket before he is asked.
    assert_eq!(d.ticket(&d.dave, &id).await.error_code().as_deref(), Some("NOT_FOUND"));

    let ask = "mutation($t: ID!, $v: Int!, $p: ID!) { requestApproval(ticketId: $t, version: $v, policyId: $p, reason: \"budget\") { state version } }";
    let version = d.read(&d.bob, &id).await["version"].clone();
    let asked =
        d.run(&d.bob, ask, json!({ "t": id, "v": version, "p": all })).await.ok().data()["requestApproval"].clone();
    assert_eq!(asked["state"], "PENDING_APPROVAL");
    // Only a decision leaves pending approval.
    let blocked = d.fire_at(&d.bob, &id, asked["version"].as_i64().unwrap(), "CANCEL", json!({ "reason": "no" })).await;
    assert_eq!(ext(&blocked, "reason"), "APPROVAL_PENDING", "{}", blocked.body);

    let decide = "mutation($t: ID!, $v: Int!, $a: Boolean!, $r: String) { decideApproval(ticketId: $t, version: $v, approve: $a, reason: $r) { state version approvalRejected stateReason availableTransitions } }";
    let decide_as = |by: &TestUser, approve: bool, reason: Option<&str>| {
        let d = &d;
        let by_token = by.token.clone();
        let id = id.clone();
        let reason = reason.map(str::to_owned);
        async move {
            let version = d
                .app
                .gql_as(Some(&d.alice.token), "query($t: ID!) { ticket(id: $t) { version } }", json!({ "t": id }))
                .await;
            let version = version.data()["ticket"]["version"].clone();
            d.app.gql_as(Some(&by_token), decide, json!({ "t": id, "v": version, "a": approve, "r": reason })).await
        }
    };
    // The assignee and the requester were named, yet never decide their own ticket.
    for own in [&d.bob, &d.carol] {
        let refused = decide_as(own, true, None).await;
        assert_eq!(refused.error_code().as_deref(), Some("FORBIDDEN"), "{}", refused.body);
    }
    // dave sees it now, with his choices.
    assert_eq!(actions(&d.read(&d.dave, &id).await), ["APPROVE", "REJECT"]);
    let first = decide_as(&d.dave, true, None).await.ok().data()["decideApproval"].clone();
    assert_eq!(first["state"], "PENDING_APPROVAL", "ALL waits for alice: {first}");
    let again = decide_as(&d.dave, false, Some("changed my mind")).await;
    assert_eq!(again.error_code().as_deref(), Some("FORBIDDEN"), "a decision is written once: {}", again.body);
    let second = decide_as(&d.alice, true, None).await.ok().data()["decideApproval"].clone();
    assert_eq!(second["state"], "IN_PROGRESS", "{second}");

    // ANY: a rejection needs a reason, returns the ticket flagged, and it may be asked again.
    let version = d.read(&d.bob, &id).await["version"].clone();
    d.run(&d.bob, ask, json!({ "t": id, "v": version, "p": any })).await.ok();
    let bare = decide_as(&d.dave, false, None).await;
    assert_eq!((bare.error_code().as_deref(), ext(&bare, "field").as_str()), (Some("BAD_USER_INPUT"), Some("reason")));
    let rejected = decide_as(&d.dave, false, Some("too dear")).await.ok().data()["decideApproval"].clone();
    assert_eq!((rejected["state"].as_str(), rejected["approvalRejected"].as_bool()), (Some("IN_PROGRESS"), Some(true)));
    assert_eq!(rejected["stateReason"], "too dear");
    let version = d.read(&d.bob, &id).await["version"].clone();
    let resubmitted = d.run(&d.bob, ask, json!({ "t": id, "v": version, "p": any })).await.ok();
    assert_eq!(resubmitted.data()["requestApproval"]["state"], "PENDING_APPROVAL");
    let q =
        "query($t: ID!) { ticket(id: $t) { approvals { status mode decisions { approved reason decider { id } } } } }";
    let rounds = d.run(&d.bob, q, json!({ "t": id })).await.ok().data()["ticket"]["approvals"].clone();
    let statuses: Vec<&str> = rounds.as_array().unwrap().iter().map(|r| r["status"].as_str().unwrap()).collect();
    assert_eq!(statuses, ["approved", "rejected", "pending"], "{rounds}");
    assert_eq!(rounds[0]["decisions"].as_array().unwrap().len(), 2, "bob and carol are no deciders: {rounds}");
    // The transition mutation does not decide.
    let version = d.read(&d.bob, &id).await["version"].as_i64().unwrap();
    let via_table = d.fire_at(&d.dave, &id, version, "APPROVE", json!({})).await;
    assert_eq!(ext(&via_table, "field"), "action", "{}", via_table.body);
}

#[tokio::test]
async fn a_deadline_fires_on_time_not_at_the_next_minutes_sweep() {
    // The default clock: it runs what is due at least every minute, and reads the earliest
    // deadline every second.
    let d = desk_with(&[], 100).await;
    let hours: Vec<Value> = (1..=7).map(|w| json!({ "weekday": w, "start": "00:00", "end": "23:59" })).collect();
    let q = "mutation($w: ID!, $i: SlaCalendarInput!) { createSlaCalendar(workspaceId: $w, input: $i) { id } }";
    let input = json!({ "name": "always", "timezone": "UTC", "hours": hours });
    let cal = d.run(&d.alice, q, json!({ "w": d.ws, "i": input })).await.ok().data()["createSlaCalendar"]["id"].clone();
    let q = "mutation($w: ID!, $i: SlaPolicyInput!) { createSlaPolicy(workspaceId: $w, input: $i) { id } }";
    let input = json!({ "calendarId": cal, "firstResponseMinutes": 1, "resolutionMinutes": 2, "warnBeforeMinutes": 1 });
    d.run(&d.alice, q, json!({ "w": d.ws, "i": input })).await.ok();
    // Clear of midnight, where the calendar's last minute is closed.
    d.app.clock.set(Utc.with_ymd_and_hms(2026, 12, 7, 12, 0, 0).single().unwrap());
    let id = d.open(&d.carol, "quick").await["id"].as_str().unwrap().to_owned();
    d.work(&id, &d.bob).await;
    d.app.clock.advance(chrono::Duration::minutes(3));
    let started = tokio::time::Instant::now();
    let marked = loop {
        let t = d.read(&d.bob, &id).await;
        if t["breachedAt"].is_string() || started.elapsed() > Duration::from_secs(20) {
            break t;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(marked["breachedAt"].is_string(), "no breach in 20 s: {marked}");
    // Well before the minute's run: the earliest deadline is read every second.
    assert!(started.elapsed() < Duration::from_secs(10), "marked after {:?}", started.elapsed());
}

#[tokio::test]
async fn the_inbox_filters_sorts_and_pages_without_gaps_or_repeats() {
    let d = desk_with(&[], 0).await;
    let mut made = Vec::new();
    for (i, priority) in ["LOW", "URGENT", "NORMAL", "HIGH", "URGENT", "LOW", "NORMAL"].iter().enumerate() {
        let title = if i == 3 { "Broken window in hall".to_owned() } else { format!("ticket {i}") };
        let t = d.open_in(&d.carol, &d.dept, &title, priority).await;
        made.push((t["id"].as_str().unwrap().to_owned(), (*priority).to_owned()));
    }
    let rank = |p: &str| ["LOW", "NORMAL", "HIGH", "URGENT"].iter().position(|x| *x == p).unwrap();
    let page = "query($w: ID!, $s: TicketSort, $a: String, $f: TicketFilterInput) { tickets(workspaceId: $w, sort: $s, first: 2, after: $a, filter: $f) { edges { cursor node { id priority } } pageInfo { hasNextPage } } }";
    let walk = |sort: &'static str, filter: Value| {
        let d = &d;
        async move {
            let mut seen = Vec::new();
            let mut after: Option<String> = None;
            for _ in 0..10 {
                let res = d.run(&d.alice, page, json!({ "w": d.ws, "s": sort, "a": after, "f": filter })).await.ok();
                let tickets = &res.data()["tickets"];
                for edge in tickets["edges"].as_array().unwrap() {
                    seen.push((
                        edge["node"]["id"].as_str().unwrap().to_owned(),
                        edge["node"]["priority"].as_str().unwrap().to_owned(),
                    ));
                    after = Some(edge["cursor"].as_str().unwrap().to_owned());
                }
                if tickets["pageInfo"]["hasNextPage"] == false {
                    break;
                }
            }
            seen
        }
    };
    // Newest first, two at a time: every ticket once.
    let newest = walk("NEWEST", json!({})).await;
    let mut expected = made.clone();
    expected.reverse();
    assert_eq!(newest, expected);
    // Urgent first, newest first within a priority.
    let by_priority = walk("PRIORITY", json!({})).await;
    let mut expected = made.clone();
    expected.reverse();
    expected.sort_by_key(|(_, p)| std::cmp::Reverse(rank(p)));
    assert_eq!(by_priority, expected);
    // Filters narrow.
    let urgent = walk("OLDEST", json!({ "priorities": ["URGENT"] })).await;
    assert_eq!(urgent, vec![made[1].clone(), made[4].clone()]);
    let text = walk("NEWEST", json!({ "text": "WINDOW" })).await;
    assert_eq!(text, vec![made[3].clone()], "text matches case-insensitively");
    let labelled = walk("NEWEST", json!({ "label": "water" })).await;
    assert_eq!(labelled.len(), 7);
    let none = walk("NEWEST", json!({ "label": "nope", "states": ["NEW"] })).await;
    assert!(none.is_empty());
    let assigned = walk("NEWEST", json!({ "assigneeId": d.bob.id })).await;
    assert!(assigned.is_empty());
    d.fire(&d.alice, &made[0].0, "ASSIGN", json!({ "assigneeId": d.bob.id })).await;
    assert_eq!(walk("NEWEST", json!({ "assigneeId": d.bob.id })).await, vec![made[0].clone()]);
    assert_eq!(walk("NEWEST", json!({ "states": ["ASSIGNED"] })).await, vec![made[0].clone()]);
    // Nothing is due without a policy; a bad window is refused.
    assert!(walk("DUE_AT", json!({ "dueWithinMinutes": 60 })).await.is_empty());
    assert_eq!(walk("DUE_AT", json!({})).await.len(), 7, "tickets without a due date come last, not never");
    let refused = d.run(&d.alice, page, json!({ "w": d.ws, "s": "NEWEST", "f": { "dueWithinMinutes": -1 } })).await;
    assert_eq!(ext(&refused, "field"), "dueWithinMinutes", "{}", refused.body);
    let refused = d.run(&d.alice, page, json!({ "w": d.ws, "a": "not-a-cursor" })).await;
    assert_eq!(ext(&refused, "field"), "after", "{}", refused.body);
    // Counts follow states; the requester counts only her own.
    let counts = d.counts().await;
    let new = counts.iter().find(|c| c["state"] == "NEW").unwrap();
    assert_eq!(new["count"], 6, "{counts:?}");
    let q = "query($w: ID!) { ticketCounts(workspaceId: $w) { state count } }";
    let theirs = d.run(&d.dave, q, json!({ "w": d.ws })).await.ok().data()["ticketCounts"].clone();
    assert_eq!(theirs, json!([]), "dave asked nothing");
}
