//! A member removed from a workspace stops hearing it: channel memberships end with the workspace
//! membership, notifications follow current access, and every stream ends on removal, even when
//! the removal's bus event never arrives (a periodic re-check).

use std::time::Duration;

use serde_json::{Value, json};

use crate::helpers::{TestApp, TestUser, WsClient, WsEvent, spawn_app, spawn_app_with};

const CREATE_CHANNEL: &str =
    "mutation($input: CreateChannelInput!) { createChannel(input: $input) { channel { id } } }";
const POST: &str = "mutation($input: PostMessageInput!) { postMessage(input: $input) { message { id } } }";
const REMOVE: &str = "mutation($input: RemoveMemberInput!) { removeMember(input: $input) { userId } }";
const NOTIFICATIONS: &str = "{ notifications(first: 50) { edges { node { kind preview } } } unreadNotificationCount }";

/// alice (owner) and bob (member), with a private channel `secret` both belong to.
async fn setup(app: &TestApp) -> (TestUser, TestUser, String, String) {
    let (alice, bob) = (app.signed_up("alice").await, app.signed_up("bob").await);
    let ws = app.workspace(&alice, "W").await;
    app.add(&alice, &ws, &bob, "MEMBER").await;
    let input = json!({ "input": { "workspaceId": ws, "name": "secret", "kind": "PRIVATE", "memberIds": [bob.id] } });
    let res = app.gql_as(Some(&alice.token), CREATE_CHANNEL, input).await.ok();
    let secret = res.data()["createChannel"]["channel"]["id"].as_str().unwrap().to_owned();
    (alice, bob, ws, secret)
}

async fn post(app: &TestApp, by: &TestUser, channel: &str, body: &str) {
    app.gql_as(Some(&by.token), POST, json!({ "input": { "channelId": channel, "body": body } })).await.ok();
}

async fn remove(app: &TestApp, by: &TestUser, ws: &str, user: &TestUser) {
    app.gql_as(Some(&by.token), REMOVE, json!({ "input": { "workspaceId": ws, "userId": user.id } })).await.ok();
}

/// Nothing more arrives on `socket`: a ping is answered before anything else.
async fn hears_nothing(socket: &mut WsClient) {
    socket.send(json!({ "type": "ping" })).await;
    assert_eq!(socket.next_json().await, json!({ "type": "pong" }), "nothing arrives before the pong");
}

/// Waits for `complete` of operation `id`, skipping its `next`s, for at most `within`.
async fn completes_within(socket: &mut WsClient, id: &str, within: Duration) {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        let Some(WsEvent::Json(msg)) = socket.try_next(left).await else {
            panic!("no complete for {id} in {within:?}")
        };
        assert_ne!(msg["type"], "error", "{msg}");
        if msg["type"] == "complete" && msg["id"] == id {
            return;
        }
    }
}

#[tokio::test]
async fn a_removed_member_loses_private_channels_and_readding_does_not_restore_them() {
    let app = spawn_app().await;
    let (alice, bob, ws, secret) = setup(&app).await;
    post(&app, &alice, &secret, "plans").await;

    remove(&app, &alice, &ws, &bob).await;
    app.add(&alice, &ws, &bob, "MEMBER").await;

    let channel =
        app.gql_as(Some(&bob.token), "query($id: ID!) { channel(id: $id) { id } }", json!({ "id": secret })).await;
    assert_eq!(channel.error_code().as_deref(), Some("NOT_FOUND"), "{}", channel.body);
    let list = app
        .gql_as(
            Some(&bob.token),
            "query($ws: ID!) { channels(workspaceId: $ws) { edges { node { id } } } }",
            json!({ "ws": ws }),
        )
        .await
        .ok();
    let ids: Vec<&Value> =
        list.data()["channels"]["edges"].as_array().unwrap().iter().map(|e| &e["node"]["id"]).collect();
    assert!(!ids.contains(&&json!(secret)), "the private channel came back: {ids:?}");
}

#[tokio::test]
async fn a_removed_member_hears_no_notifications_and_lists_none_from_the_workspace() {
    let app = spawn_app().await;
    let (alice, bob, ws, secret) = setup(&app).await;
    let mut b = WsClient::init(&app, Some(&bob.token)).await;
    b.subscribe("n", "subscription { notificationReceived { kind preview } }", json!({})).await;
    // Retried until the subscription is live: notifications have no replay.
    let mut heard = false;
    for attempt in 0..20 {
        post(&app, &alice, &secret, &format!("<@{}> the plan ({attempt})", bob.id)).await;
        if let Some(WsEvent::Json(msg)) = b.try_next(Duration::from_millis(500)).await {
            assert_eq!(msg["payload"]["data"]["notificationReceived"]["kind"], "mention", "{msg}");
            heard = true;
            break;
        }
    }
    assert!(heard, "bob hears mentions while a member");

    remove(&app, &alice, &ws, &bob).await;
    post(&app, &alice, &secret, "@channel the secret plan").await;
    post(&app, &alice, &secret, &format!("<@{}> still there?", bob.id)).await;

    hears_nothing(&mut b).await;
    let listed = app.gql_as(Some(&bob.token), NOTIFICATIONS, json!({})).await.ok();
    assert_eq!(listed.data()["notifications"]["edges"], json!([]), "nothing from a workspace bob left");
    assert_eq!(listed.data()["unreadNotificationCount"], 0);
}

#[tokio::test]
async fn typing_ends_when_the_viewer_is_removed_from_the_workspace() {
    let app = spawn_app().await;
    let (alice, bob, ws, _) = setup(&app).await;
    let input = json!({ "input": { "workspaceId": ws, "name": "general", "kind": "PUBLIC", "memberIds": [] } });
    let res = app.gql_as(Some(&alice.token), CREATE_CHANNEL, input).await.ok();
    let general = res.data()["createChannel"]["channel"]["id"].as_str().unwrap().to_owned();
    let mut b = WsClient::init(&app, Some(&bob.token)).await;
    let typing = "subscription($c: ID!) { typing(channelId: $c) { userId typing } }";
    b.subscribe("t", typing, json!({ "c": general })).await;
    hears_nothing(&mut b).await;

    remove(&app, &alice, &ws, &bob).await;

    completes_within(&mut b, "t", Duration::from_secs(5)).await;
}

#[tokio::test]
async fn a_stream_ends_within_the_recheck_period_when_access_goes_without_an_event() {
    use sea_orm::ConnectionTrait as _;
    let app = spawn_app_with(&[("STOA_STREAM_RECHECK_SECS", "1")]).await;
    let (alice, bob, _ws, secret) = setup(&app).await;
    let mut b = WsClient::init(&app, Some(&bob.token)).await;
    let events = "subscription($id: ID!) { channelEvents(channelId: $id) { seq } }";
    b.subscribe("e", events, json!({ "id": secret })).await;
    let typing = "subscription($c: ID!) { typing(channelId: $c) { userId } }";
    b.subscribe("t", typing, json!({ "c": secret })).await;
    // Both streams are live before access goes (each delivers once).
    let (mut events_live, mut typing_live) = (false, false);
    for attempt in 0..20 {
        if !events_live {
            post(&app, &alice, &secret, &format!("are you there? ({attempt})")).await;
        }
        if !typing_live {
            let set = "mutation($c: ID!) { setTyping(channelId: $c) { ok } }";
            app.gql_as(Some(&alice.token), set, json!({ "c": secret })).await.ok();
        }
        while let Some(WsEvent::Json(msg)) = b.try_next(Duration::from_millis(300)).await {
            assert_eq!(msg["type"], "next", "{msg}");
            events_live |= msg["id"] == "e";
            typing_live |= msg["id"] == "t";
        }
        if events_live && typing_live {
            break;
        }
    }
    assert!(events_live && typing_live, "both subscriptions deliver before the test removes access");

    // Access ends with no bus event at all (as when Redis was down during the removal).
    let db = app.app.db_for_tests();
    let sql = if db.get_database_backend() == sea_orm::DatabaseBackend::Sqlite {
        "DELETE FROM channel_members WHERE user_id = ?"
    } else {
        "DELETE FROM channel_members WHERE user_id = $1"
    };
    let bob_id: uuid::Uuid = bob.id.parse().unwrap();
    db.execute_raw(sea_orm::Statement::from_sql_and_values(db.get_database_backend(), sql, [bob_id.into()]))
        .await
        .unwrap();

    completes_within(&mut b, "e", Duration::from_secs(5)).await;
    completes_within(&mut b, "t", Duration::from_secs(5)).await;
}

#[tokio::test]
async fn a_former_participant_cannot_reopen_a_direct_channel() {
    let app = spawn_app().await;
    let (alice, bob, ws, _) = setup(&app).await;
    let open = "mutation($ws: ID!, $u: [ID!]!) { openDirectChannel(input: { workspaceId: $ws, userIds: $u }) { channel { id messages(last: 5) { edges { node { body } } } } } }";
    let dm = app.gql_as(Some(&alice.token), open, json!({ "ws": ws, "u": [bob.id] })).await.ok();
    let dm = dm.data()["openDirectChannel"]["channel"]["id"].as_str().unwrap().to_owned();
    post(&app, &alice, &dm, "just between us").await;

    remove(&app, &alice, &ws, &bob).await;
    app.add(&alice, &ws, &bob, "MEMBER").await;

    let reopened = app.gql_as(Some(&bob.token), open, json!({ "ws": ws, "u": [alice.id] })).await;
    assert_eq!(reopened.error_code().as_deref(), Some("NOT_FOUND"), "{}", reopened.body);
    assert!(!reopened.body.to_string().contains("just between us"));
    // The remaining participant still has it.
    let mine = app.gql_as(Some(&alice.token), open, json!({ "ws": ws, "u": [bob.id] })).await.ok();
    assert_eq!(mine.data()["openDirectChannel"]["channel"]["id"], dm.as_str());
}
