//! What deleting and editing leave behind: no API path returns text its author deleted or
//! replaced (channel replay, notifications), and a deleted message's files stop downloading and
//! leave storage. Runs on both backends (local folder, or S3 where `.ci/run` sets `TEST_S3_*`).

use std::time::Duration;

use serde_json::{Value, json};

use crate::files::{PNG, files_app, multipart, real_png};
use crate::helpers::{TestApp, TestUser, WsClient, spawn_app};

const CHANNEL_EVENTS: &str = "subscription($id: ID!, $after: Int) { channelEvents(channelId: $id, after: $after) { seq kind message { id body deleted editedAt author { displayName } reactions { emoji count } } } }";
const POST: &str = "mutation($input: PostMessageInput!) { postMessage(input: $input) { message { id seq body } } }";
const EDIT: &str =
    "mutation($id: ID!, $body: String!) { editMessage(input: { messageId: $id, body: $body }) { message { body } } }";
const DELETE: &str =
    "mutation($id: ID!) { deleteMessage(messageId: $id) { message { body deleted attachments { id } } } }";

/// A workspace owned by alice (a moderator by role), with the members `names`.
async fn workspace(app: &TestApp, names: &[&str]) -> (TestUser, Vec<TestUser>, String) {
    let alice = app.signed_up("alice").await;
    let ws = app.workspace(&alice, "W").await;
    let mut members = Vec::new();
    for name in names {
        let user = app.signed_up(name).await;
        app.add(&alice, &ws, &user, "MEMBER").await;
        members.push(user);
    }
    (alice, members, ws)
}

/// A public channel created by `by` with `members`.
async fn channel(app: &TestApp, by: &TestUser, ws: &str, members: &[&TestUser]) -> String {
    let ids: Vec<&str> = members.iter().map(|m| m.id.as_str()).collect();
    let res = app
        .gql_as(
            Some(&by.token),
            "mutation($input: CreateChannelInput!) { createChannel(input: $input) { channel { id } } }",
            json!({ "input": { "workspaceId": ws, "name": "general", "kind": "PUBLIC", "memberIds": ids } }),
        )
        .await
        .ok();
    res.data()["createChannel"]["channel"]["id"].as_str().unwrap().to_owned()
}

async fn post(app: &TestApp, by: &TestUser, input: Value) -> Value {
    let res = app.gql_as(Some(&by.token), POST, json!({ "input": input })).await.ok();
    res.data()["postMessage"]["message"].clone()
}

async fn edit(app: &TestApp, by: &TestUser, id: &Value, body: &str) {
    let res = app.gql_as(Some(&by.token), EDIT, json!({ "id": id, "body": body })).await.ok();
    assert_eq!(res.data()["editMessage"]["message"]["body"], body);
}

async fn delete(app: &TestApp, by: &TestUser, id: &Value) -> Value {
    let res = app.gql_as(Some(&by.token), DELETE, json!({ "id": id })).await.ok();
    res.data()["deleteMessage"]["message"].clone()
}

/// `channelEvents(after: 0)` as `viewer` on a fresh socket: the first `count` whole `next` frames.
async fn replay(app: &TestApp, viewer: &TestUser, channel: &str, count: usize) -> Vec<Value> {
    let mut socket = WsClient::init(app, Some(&viewer.token)).await;
    replay_on(&mut socket, channel, count).await
}

async fn replay_on(socket: &mut WsClient, channel: &str, count: usize) -> Vec<Value> {
    let payload = json!({ "query": CHANNEL_EVENTS, "variables": { "id": channel, "after": 0 } });
    socket.send(json!({ "id": "r", "type": "subscribe", "payload": payload })).await;
    let mut frames = Vec::new();
    while frames.len() < count {
        let msg = socket.next_json().await;
        assert_ne!(msg["type"], "error", "{msg}");
        if msg["type"] == "next" {
            frames.push(msg);
        }
    }
    frames
}

fn event(frame: &Value) -> &Value {
    &frame["payload"]["data"]["channelEvents"]
}

fn kinds(frames: &[Value]) -> Vec<String> {
    frames.iter().map(|f| event(f)["kind"].as_str().unwrap().to_owned()).collect()
}

/// Fails if any frame, anywhere in it, holds one of `secrets`.
fn assert_absent(frames: &[Value], secrets: &[&str]) {
    for frame in frames {
        let text = frame.to_string();
        for secret in secrets {
            assert!(!text.contains(secret), "{secret:?} came back: {frame}");
        }
    }
}

#[tokio::test]
async fn an_edited_message_replays_with_its_current_text_only() {
    let app = spawn_app().await;
    let (alice, members, ws) = workspace(&app, &["bob"]).await;
    let bob = &members[0];
    let general = channel(&app, &alice, &ws, &[bob]).await;
    // A plain post (group commit) and a thread reply (its own transaction), each edited.
    let root = post(&app, &alice, json!({ "channelId": general, "body": "first draft, typo" })).await;
    edit(&app, &alice, &root["id"], "second draft").await;
    edit(&app, &alice, &root["id"], "final text").await;
    let reply =
        post(&app, &alice, json!({ "channelId": general, "body": "reply draft", "threadRootId": root["id"] })).await;
    edit(&app, &alice, &reply["id"], "reply final").await;

    let frames = replay(&app, bob, &general, 5).await;

    assert_eq!(kinds(&frames), ["POSTED", "EDITED", "EDITED", "POSTED", "EDITED"]);
    assert_absent(&frames, &["draft", "typo"]);
    for frame in &frames[..3] {
        assert_eq!(event(frame)["message"]["body"], "final text", "{frame}");
        assert!(event(frame)["message"]["editedAt"].is_string());
    }
    for frame in &frames[3..] {
        assert_eq!(event(frame)["message"]["body"], "reply final", "{frame}");
    }
    let seqs: Vec<i64> = frames.iter().map(|f| event(f)["seq"].as_i64().unwrap()).collect();
    assert!(seqs.windows(2).all(|w| w[1] == w[0] + 1), "no gap, no duplicate: {seqs:?}");
}

#[tokio::test]
async fn a_deleted_message_replays_as_a_tombstone_whoever_deleted_it() {
    let app = spawn_app().await;
    let (alice, members, ws) = workspace(&app, &["bob", "carol"]).await;
    let (bob, carol) = (&members[0], &members[1]);
    let general = channel(&app, &alice, &ws, &[bob, carol]).await;
    let mut live = WsClient::init(&app, Some(&carol.token)).await;
    let regret = post(&app, bob, json!({ "channelId": general, "body": "bob regrets this" })).await;
    app.gql_as(
        Some(&carol.token),
        "mutation($id: ID!) { toggleReaction(input: { messageId: $id, emoji: \"👍\" }) { added } }",
        json!({ "id": regret["id"] }),
    )
    .await
    .ok();
    // A live subscriber, resuming from the start, sees the events so far and then the deletions.
    let before = replay_on(&mut live, &general, 2).await;
    assert_eq!(kinds(&before), ["POSTED", "REACTION_CHANGED"]);

    assert_eq!(delete(&app, bob, &regret["id"]).await["deleted"], true, "by its author");
    let spam = post(&app, bob, json!({ "channelId": general, "body": "spam from bob" })).await;
    let removed = delete(&app, &alice, &spam["id"]).await;
    assert_eq!((&removed["body"], &removed["deleted"]), (&json!(""), &json!(true)), "by a moderator");
    post(&app, &alice, json!({ "channelId": general, "body": "this one stays" })).await;

    let mut pushed = Vec::new();
    while pushed.len() < 4 {
        let msg = live.next_json().await;
        if msg["type"] == "next" {
            pushed.push(msg);
        }
    }
    assert_eq!(kinds(&pushed), ["DELETED", "POSTED", "DELETED", "POSTED"]);
    assert_eq!(event(&pushed[0])["message"]["body"], "", "the delete event carries the tombstone");
    assert_eq!(event(&pushed[0])["message"]["deleted"], true);

    for viewer in [carol, bob, &alice] {
        let frames = replay(&app, viewer, &general, 6).await;
        assert_eq!(kinds(&frames), ["POSTED", "REACTION_CHANGED", "DELETED", "POSTED", "DELETED", "POSTED"]);
        assert_absent(&frames, &["regrets", "spam"]);
        for frame in &frames[..5] {
            assert_eq!(event(frame)["message"]["deleted"], true, "{frame}");
            assert_eq!(event(frame)["message"]["body"], "", "{frame}");
        }
        assert_eq!(event(&frames[5])["message"]["body"], "this one stays");
        assert_eq!(event(&frames[5])["message"]["deleted"], false);
    }
}

#[tokio::test]
async fn notifications_show_only_the_current_text_of_their_message() {
    let app = spawn_app().await;
    let (alice, members, ws) = workspace(&app, &["bob"]).await;
    let bob = &members[0];
    let general = channel(&app, &alice, &ws, &[bob]).await;
    let mention = format!("<@{}>", bob.id);
    let gone = post(&app, &alice, json!({ "channelId": general, "body": format!("{mention} secret plan") })).await;
    let fixed = post(&app, &alice, json!({ "channelId": general, "body": format!("{mention} rough draft") })).await;
    edit(&app, &alice, &fixed["id"], &format!("{mention} final wording")).await;
    delete(&app, &alice, &gone["id"]).await;

    let list = app
        .gql_as(Some(&bob.token), "{ notifications(first: 10) { edges { node { kind preview } } } }", json!({}))
        .await
        .ok();

    let text = list.body.to_string();
    assert!(!text.contains("secret") && !text.contains("draft"), "{text}");
    let mut previews: Vec<String> = list.data()["notifications"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"]["preview"].as_str().unwrap().to_owned())
        .collect();
    previews.sort();
    assert_eq!(previews, [String::new(), format!("{mention} final wording")]);
}

#[tokio::test]
async fn replaying_reads_the_same_number_of_statements_for_a_short_and_a_long_log() {
    let app = spawn_app().await;
    let (alice, members, ws) = workspace(&app, &["bob"]).await;
    let bob = &members[0];
    let (short, long) = (channel(&app, &alice, &ws, &[bob]).await, channel(&app, &alice, &ws, &[bob]).await);
    post(&app, &alice, json!({ "channelId": short, "body": "only one" })).await;
    for i in 0..120 {
        let m = post(&app, &alice, json!({ "channelId": long, "body": format!("m{i}") })).await;
        if i % 30 == 0 {
            edit(&app, &alice, &m["id"], &format!("m{i} edited")).await;
        }
    }
    // The sockets open (their presence settled: a pong follows it), and the first replay reads
    // bob's role for the operation budget (cached after), before counting.
    let mut sockets = Vec::new();
    for _ in 0..3 {
        let mut socket = WsClient::init(&app, Some(&bob.token)).await;
        socket.send(json!({ "type": "ping" })).await;
        assert_eq!(socket.next_json().await["type"], "pong");
        sockets.push(socket);
    }
    let mut warm = sockets.pop().unwrap();
    replay_on(&mut warm, &short, 1).await;
    let mut counts = Vec::new();
    for (socket, (channel, events)) in sockets.iter_mut().zip([(&short, 1), (&long, 124)]) {
        let before = app.app.sql_statements();
        let frames = replay_on(socket, channel, events).await;
        assert!(socket.try_next(Duration::from_millis(200)).await.is_none(), "nothing more");
        counts.push(app.app.sql_statements() - before);
        assert_eq!(event(&frames[events - 1])["seq"], events);
    }
    assert_eq!(counts[0], counts[1], "replay statements must not grow with the log: {counts:?}");
    // Access at start (1), then one page: access again (1), the events joined with their current
    // messages and authors (1), and the reactions of those messages (1).
    assert_eq!(counts[0], 4, "{counts:?}");
}

#[tokio::test]
async fn a_deleted_messages_files_stop_downloading_and_leave_storage() {
    let app = files_app(&[]).await;
    let (alice, members, ws) = workspace(&app, &["bob"]).await;
    let bob = &members[0];
    let general = channel(&app, &alice, &ws, &[bob]).await;
    let local = std::env::var("TEST_S3_ENDPOINT").is_err();
    let mut files = Vec::new();
    // Bob's image (with a thumbnail) is removed by a moderator; alice's file by herself.
    for (owner, deleter, name, bytes) in
        [(bob, &alice, "photo.png", real_png()), (&alice, &alice, "a.png", PNG.to_vec())]
    {
        let (status, body) = multipart(&app, &owner.token, &ws, name, "image/png", &bytes, true).await;
        assert_eq!(status, 200, "{body}");
        let id = body["data"]["uploadFile"]["attachment"]["id"].as_str().unwrap().to_owned();
        let message = post(&app, owner, json!({ "channelId": general, "body": "look", "attachmentIds": [id] })).await;
        files.push((id, message["id"].clone(), owner, deleter));
    }
    let read = "query($id: ID!) { message(id: $id) { attachments { id downloadUrl thumbnailUrl } } }";
    let mut urls = Vec::new();
    for (id, message, owner, _) in &files {
        let res = app.gql_as(Some(&owner.token), read, json!({ "id": message })).await.ok();
        let attachment = &res.data()["message"]["attachments"][0];
        assert_eq!(attachment["id"], id.as_str());
        let url = attachment["downloadUrl"].as_str().unwrap().to_owned();
        assert_eq!(app.http.get(&url).send().await.unwrap().status().as_u16(), 200, "downloads before");
        urls.push(url);
        if let Some(thumb) = attachment["thumbnailUrl"].as_str() {
            urls.push(thumb.to_owned());
        }
        assert!(app.app.storage().get(&format!("clean/{id}")).await.unwrap().is_some());
        if local {
            assert!(app.data_dir.join("objects/clean").join(id).is_file(), "the file is where this test looks");
        }
    }
    assert_eq!(urls.len(), 3, "the image has a thumbnail");

    for (_, message, _, deleter) in &files {
        let deleted = delete(&app, deleter, message).await;
        assert_eq!(deleted["attachments"], json!([]), "{deleted}");
    }

    for url in &urls {
        let status = app.http.get(url).send().await.unwrap().status().as_u16();
        assert!(status == 404 || status == 403, "{url} answered {status} after its message was deleted");
    }
    for (id, message, owner, _) in &files {
        for viewer in [*owner, bob, &alice] {
            let res = app.gql_as(Some(&viewer.token), read, json!({ "id": message })).await.ok();
            assert_eq!(res.data()["message"]["attachments"], json!([]));
            let direct = app
                .gql_as(
                    Some(&viewer.token),
                    "query($id: ID!) { attachment(id: $id) { downloadUrl } }",
                    json!({ "id": id }),
                )
                .await;
            assert_eq!(direct.error_code().as_deref(), Some("NOT_FOUND"), "{}", direct.body);
        }
        for key in [format!("clean/{id}"), format!("quarantine/{id}"), format!("thumbs/{id}.webp")] {
            assert!(app.app.storage().get(&key).await.unwrap().is_none(), "{key} is still stored");
            if local {
                assert!(!app.data_dir.join("objects").join(&key).exists(), "{key} is still on disk");
            }
        }
    }
}

/// Puts `channel_events` back as the previous code left it (a full message snapshot per row, in
/// the table shape the first chat migration made) with `events`, and forgets that the migration
/// that slims it ran.
async fn legacy_event_log(app: &TestApp, channel: &str, events: Vec<(i64, &str, Value, &str)>) {
    use sea_orm::ConnectionTrait as _;
    use sea_orm_migration::prelude::*;
    use sea_orm_migration::schema::{big_integer, json, pk_uuid, timestamp_with_time_zone, uuid};
    let db = app.app.db_for_tests();
    let backend = db.get_database_backend();
    let sql = |s: &str| if backend == sea_orm::DbBackend::Sqlite { s.replace('$', "?") } else { s.to_owned() };
    let m = SchemaManager::new(db);
    m.drop_table(Table::drop().table(Alias::new("channel_events")).to_owned()).await.unwrap();
    let table = Table::create()
        .table(Alias::new("channel_events"))
        .col(pk_uuid(Alias::new("id")))
        .col(uuid(Alias::new("channel_id")))
        .col(big_integer(Alias::new("seq")))
        .col(json(Alias::new("payload")))
        .col(timestamp_with_time_zone(Alias::new("created_at")))
        .to_owned();
    m.create_table(table).await.unwrap();
    let index = Index::create()
        .name("idx_channel_events_channel_seq")
        .table(Alias::new("channel_events"))
        .col(Alias::new("channel_id"))
        .col(Alias::new("seq"))
        .unique()
        .to_owned();
    m.create_index(index).await.unwrap();
    let channel_id: uuid::Uuid = channel.parse().unwrap();
    for (seq, kind, message, body) in events {
        let mut snapshot = message.clone();
        snapshot["body"] = body.into();
        let payload = json!({ "channel_id": channel, "seq": seq, "kind": kind, "snapshot": {
            "message": snapshot, "author": { "id": message["author_id"], "display_name": "alice" }, "reactions": [] } });
        let values: Vec<sea_orm::Value> =
            vec![uuid::Uuid::now_v7().into(), channel_id.into(), seq.into(), payload.into(), chrono::Utc::now().into()];
        let insert =
            sql("INSERT INTO channel_events (id, channel_id, seq, payload, created_at) VALUES ($1, $2, $3, $4, $5)");
        db.execute_raw(sea_orm::Statement::from_sql_and_values(backend, insert, values)).await.unwrap();
    }
    let forget = "DELETE FROM seaql_migrations WHERE version = 'm20261201_120000_slim_channel_events'";
    assert_eq!(db.execute_unprepared(forget).await.unwrap().rows_affected(), 1);
}

/// A message row as the previous code serialized it into an event (`domain::chat::Message`).
fn stored_message(channel: &str, author: &TestUser, posted: &Value) -> Value {
    json!({
        "id": posted["id"], "channel_id": channel, "seq": posted["seq"], "author_id": author.id, "body": "",
        "thread_root_id": null, "reply_count": 0, "last_reply_at": null, "created_at": chrono::Utc::now(),
        "edited_at": null, "deleted_at": null, "pinned_at": null,
    })
}

#[tokio::test]
async fn migrating_an_old_event_log_drops_its_text_and_it_replays_the_current_messages() {
    use sea_orm::ConnectionTrait as _;
    use stoa_migration::MigratorTrait as _;
    let app = spawn_app().await;
    let (alice, members, ws) = workspace(&app, &["bob"]).await;
    let bob = &members[0];
    let general = channel(&app, &alice, &ws, &[bob]).await;
    let gone = post(&app, &alice, json!({ "channelId": general, "body": "old secret" })).await;
    delete(&app, &alice, &gone["id"]).await;
    let fixed = post(&app, &alice, json!({ "channelId": general, "body": "old draft" })).await;
    edit(&app, &alice, &fixed["id"], "current text").await;
    let (gone, fixed) = (stored_message(&general, &alice, &gone), stored_message(&general, &alice, &fixed));
    let events = vec![
        (1, "posted", gone.clone(), "old secret"),
        (2, "deleted", gone, ""),
        (3, "posted", fixed.clone(), "old draft"),
        (4, "edited", fixed, "current text"),
    ];
    legacy_event_log(&app, &general, events).await;
    let db = app.app.db_for_tests();

    stoa_migration::Migrator::up(db, None).await.expect("the migration runs on an old event log");

    assert!(db.execute_unprepared("SELECT payload FROM channel_events").await.is_err(), "no payload column is left");
    let frames = replay(&app, bob, &general, 4).await;
    assert_eq!(kinds(&frames), ["POSTED", "DELETED", "POSTED", "EDITED"]);
    assert_absent(&frames, &["secret", "draft"]);
    let bodies: Vec<&str> = frames.iter().map(|f| event(f)["message"]["body"].as_str().unwrap()).collect();
    assert_eq!(bodies, ["", "", "current text", "current text"]);
    post(&app, &alice, json!({ "channelId": general, "body": "after the migration" })).await;
    let frames = replay(&app, bob, &general, 5).await;
    assert_eq!(event(&frames[4])["seq"], 5);
    assert_eq!(event(&frames[4])["message"]["body"], "after the migration");
}
