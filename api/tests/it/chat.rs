//! Chat through the API: channels, DMs, messages, threads, reactions, mentions, search, the
//! resumable channel stream, typing, presence, and access denials.

use std::time::Duration;

use serde_json::{Value, json};

use crate::helpers::{TestApp, TestUser, WsClient, WsEvent, require_postgres_and_redis, spawn_app, spawn_app_with};

const CREATE_CHANNEL: &str = "mutation($input: CreateChannelInput!) { createChannel(input: $input) { channel { id name kind isMember lastSeq } } }";
const POST: &str = "mutation($input: PostMessageInput!) { postMessage(input: $input) { message { id seq body author { id displayName } threadRootId } } }";
const HISTORY: &str = "query($id: ID!, $first: Int, $after: String, $last: Int, $before: String) { channel(id: $id) { messages(first: $first, after: $after, last: $last, before: $before) { edges { cursor node { seq body replyCount author { displayName } reactions { emoji count reactedByMe users { id } } threadParticipants { id } } } pageInfo { hasNextPage hasPreviousPage } } } }";
/// A page of 50 message bodies: with `big_channel`, ~400 KB.
const BIG_PAGE: &str = "query($id: ID!) { channel(id: $id) { messages(last: 50) { edges { node { body } } } } }";
const CHANNEL_EVENTS: &str = "subscription($id: ID!, $after: Int) { channelEvents(channelId: $id, after: $after) { seq kind message { id seq body deleted pinned author { id displayName } reactions { emoji count reactedByMe } } } }";

fn code(res: &crate::helpers::Gql) -> String {
    res.error_code().unwrap_or_else(|| format!("no error: {}", res.body))
}

async fn channel(app: &TestApp, by: &TestUser, ws: &str, name: &str, kind: &str, members: &[&TestUser]) -> String {
    let ids: Vec<&str> = members.iter().map(|m| m.id.as_str()).collect();
    let res = app
        .gql_as(
            Some(&by.token),
            CREATE_CHANNEL,
            json!({ "input": { "workspaceId": ws, "name": name, "kind": kind, "memberIds": ids } }),
        )
        .await
        .ok();
    res.data()["createChannel"]["channel"]["id"].as_str().unwrap().to_owned()
}

async fn post(app: &TestApp, by: &TestUser, channel: &str, body: &str) -> Value {
    let res = app.gql_as(Some(&by.token), POST, json!({ "input": { "channelId": channel, "body": body } })).await.ok();
    res.data()["postMessage"]["message"].clone()
}

/// A workspace with alice (owner) and bob (member).
async fn setup(app: &TestApp) -> (TestUser, TestUser, String) {
    let (alice, bob) = (app.signed_up("alice").await, app.signed_up("bob").await);
    let ws = app.workspace(&alice, "W").await;
    app.add(&alice, &ws, &bob, "MEMBER").await;
    (alice, bob, ws)
}

/// The next `next` payload's data for subscription `id`.
async fn next_data(socket: &mut WsClient, id: &str) -> Value {
    loop {
        let msg = socket.next_json().await;
        assert_ne!(msg["type"], "error", "{msg}");
        if msg["type"] == "next" && msg["id"] == id {
            return msg["payload"]["data"].clone();
        }
    }
}

#[tokio::test]
async fn two_users_on_two_sockets_see_each_others_messages() {
    let app = spawn_app().await;
    let (alice, bob, ws) = setup(&app).await;
    let general = channel(&app, &alice, &ws, "general", "PUBLIC", &[&bob]).await;
    let mut a = WsClient::init(&app, Some(&alice.token)).await;
    let mut b = WsClient::init(&app, Some(&bob.token)).await;
    a.subscribe("a", CHANNEL_EVENTS, json!({ "id": general, "after": 0 })).await;
    b.subscribe("b", CHANNEL_EVENTS, json!({ "id": general, "after": 0 })).await;

    post(&app, &alice, &general, "hello bob").await;
    post(&app, &bob, &general, "hi alice").await;

    for (socket, id) in [(&mut a, "a"), (&mut b, "b")] {
        let first = next_data(socket, id).await;
        let second = next_data(socket, id).await;
        assert_eq!(first["channelEvents"]["message"]["body"], "hello bob");
        assert_eq!(first["channelEvents"]["kind"], "POSTED");
        assert_eq!(first["channelEvents"]["message"]["author"]["displayName"], "alice");
        assert_eq!(second["channelEvents"]["message"]["body"], "hi alice");
        assert_eq!(second["channelEvents"]["seq"], first["channelEvents"]["seq"].as_i64().unwrap() + 1);
    }
}

#[tokio::test]
async fn resuming_with_after_replays_everything_missed_then_streams_live() {
    let app = spawn_app().await;
    let (alice, bob, ws) = setup(&app).await;
    let general = channel(&app, &alice, &ws, "general", "PUBLIC", &[&bob]).await;
    let first = post(&app, &alice, &general, "one").await;
    let seen = first["seq"].as_i64().unwrap();
    // Bob is offline while these happen.
    let two = post(&app, &alice, &general, "two").await;
    app.gql_as(
        Some(&alice.token),
        "mutation($id: ID!) { editMessage(input: { messageId: $id, body: \"two (edited)\" }) { message { id } } }",
        json!({ "id": two["id"] }),
    )
    .await
    .ok();
    post(&app, &alice, &general, "three").await;

    let mut b = WsClient::init(&app, Some(&bob.token)).await;
    b.subscribe("r", CHANNEL_EVENTS, json!({ "id": general, "after": seen })).await;
    let mut got = Vec::new();
    for _ in 0..3 {
        let e = next_data(&mut b, "r").await;
        got.push((
            e["channelEvents"]["seq"].as_i64().unwrap(),
            e["channelEvents"]["kind"].as_str().unwrap().to_owned(),
        ));
    }
    assert_eq!(got, vec![(seen + 1, "POSTED".into()), (seen + 2, "EDITED".into()), (seen + 3, "POSTED".into())]);

    post(&app, &alice, &general, "four").await;
    let live = next_data(&mut b, "r").await;
    assert_eq!(live["channelEvents"]["seq"], seen + 4);
    assert_eq!(live["channelEvents"]["message"]["body"], "four");
}

#[tokio::test]
async fn a_burst_of_posts_arrives_in_order_with_no_gap_or_duplicate() {
    let app = spawn_app().await;
    let (alice, bob, ws) = setup(&app).await;
    let general = channel(&app, &alice, &ws, "general", "PUBLIC", &[&bob]).await;
    let mut b = WsClient::init(&app, Some(&bob.token)).await;
    b.subscribe("s", CHANNEL_EVENTS, json!({ "id": general, "after": 0 })).await;
    // A fresh stream (no `after`) starts live, and the protocol has no "subscribed" message: post
    // until it shows one, then it must see the whole burst.
    let mut fresh = WsClient::init(&app, Some(&bob.token)).await;
    fresh.subscribe("live", CHANNEL_EVENTS, json!({ "id": general })).await;
    let mut ready = None;
    for _ in 0..50 {
        post(&app, &alice, &general, "ready").await;
        if let Ok(event) = tokio::time::timeout(Duration::from_millis(200), next_data(&mut fresh, "live")).await {
            ready = event["channelEvents"]["seq"].as_i64();
            break;
        }
    }
    let ready = ready.expect("the fresh stream went live");

    // Plain posts share group commits; every fifth mentions Bob and takes its own transaction.
    let posts: Vec<_> = (0..30)
        .map(|i| {
            let (app, alice, general) = (&app, &alice, general.clone());
            let body = if i % 5 == 0 { format!("m{i} <@{}>", bob.id) } else { format!("m{i}") };
            async move { post(app, alice, &general, &body).await["seq"].as_i64().unwrap() }
        })
        .collect();
    let mut answered = futures::future::join_all(posts).await;
    answered.sort_unstable();
    let last = answered.last().copied().unwrap();
    assert_eq!(answered, (last - 29..=last).collect::<Vec<_>>(), "each post answers its own sequence number");

    for (socket, id, want) in
        [(&mut b, "s", (1..=last).collect::<Vec<i64>>()), (&mut fresh, "live", (ready + 1..=last).collect())]
    {
        let mut seqs = Vec::new();
        while seqs.len() < want.len() {
            seqs.push(next_data(socket, id).await["channelEvents"]["seq"].as_i64().unwrap());
        }
        assert_eq!(seqs, want, "stream {id}");
    }
    let page = app.gql_as(Some(&bob.token), HISTORY, json!({ "id": general, "last": 50 })).await.ok();
    let bodies = page.data()["channel"]["messages"]["edges"].as_array().unwrap().len();
    assert_eq!(bodies, usize::try_from(last).unwrap(), "every answered post is stored");
}

#[tokio::test]
async fn a_user_removed_from_a_channel_stops_receiving_its_events_at_once() {
    let app = spawn_app().await;
    let (alice, bob, ws) = setup(&app).await;
    let secret = channel(&app, &alice, &ws, "secret", "PRIVATE", &[&bob]).await;
    let mut b = WsClient::init(&app, Some(&bob.token)).await;
    b.subscribe("s", CHANNEL_EVENTS, json!({ "id": secret, "after": 0 })).await;
    post(&app, &alice, &secret, "before").await;
    assert_eq!(next_data(&mut b, "s").await["channelEvents"]["message"]["body"], "before");

    app.gql_as(
        Some(&alice.token),
        "mutation($c: ID!, $u: ID!) { removeChannelMember(input: { channelId: $c, userId: $u }) { ok } }",
        json!({ "c": secret, "u": bob.id }),
    )
    .await
    .ok();

    assert_eq!(b.next_json().await, json!({ "id": "s", "type": "complete" }));
    post(&app, &alice, &secret, "after").await;
    b.send(json!({ "type": "ping" })).await;
    assert_eq!(b.next_json().await, json!({ "type": "pong" }), "nothing more arrives for bob");
    let history = app.gql_as(Some(&bob.token), HISTORY, json!({ "id": secret })).await;
    assert_eq!(code(&history), "NOT_FOUND");
}

#[tokio::test]
async fn access_is_denied_to_outsiders_and_bad_posts_are_refused() {
    let app = spawn_app_with(&[("STOA_MAX_MESSAGE_BYTES", "100")]).await;
    let (alice, bob, ws) = setup(&app).await;
    let carol = app.signed_up("carol").await;
    let private = channel(&app, &alice, &ws, "private", "PRIVATE", &[]).await;
    let public = channel(&app, &alice, &ws, "public", "PUBLIC", &[]).await;
    let msg = post(&app, &alice, &public, "mine").await;

    for (user, id) in [(&carol, &public), (&carol, &private), (&bob, &private)] {
        let res = app.gql_as(Some(&user.token), HISTORY, json!({ "id": id })).await;
        assert_eq!(code(&res), "NOT_FOUND");
        let res = app.gql_as(Some(&user.token), POST, json!({ "input": { "channelId": id, "body": "x" } })).await;
        assert_eq!(code(&res), "NOT_FOUND");
    }
    let not_joined = app.gql_as(Some(&bob.token), POST, json!({ "input": { "channelId": public, "body": "x" } })).await;
    assert_eq!(code(&not_joined), "FORBIDDEN");
    app.gql_as(
        Some(&bob.token),
        "mutation($id: ID!) { joinChannel(channelId: $id) { channel { isMember } } }",
        json!({ "id": public }),
    )
    .await
    .ok();
    let edit = app
        .gql_as(
            Some(&bob.token),
            "mutation($id: ID!) { editMessage(input: { messageId: $id, body: \"hacked\" }) { message { id } } }",
            json!({ "id": msg["id"] }),
        )
        .await;
    assert_eq!(code(&edit), "FORBIDDEN");
    let delete = app
        .gql_as(
            Some(&bob.token),
            "mutation($id: ID!) { deleteMessage(messageId: $id) { message { id } } }",
            json!({ "id": msg["id"] }),
        )
        .await;
    assert_eq!(code(&delete), "FORBIDDEN");
    for body in ["", "   ", &"x".repeat(101)] {
        let res = app.gql_as(Some(&bob.token), POST, json!({ "input": { "channelId": public, "body": body } })).await;
        assert_eq!(code(&res), "BAD_USER_INPUT");
        assert_eq!(res.body["errors"][0]["extensions"]["field"], "body");
    }
    app.gql_as(
        Some(&alice.token),
        "mutation($id: ID!) { archiveChannel(channelId: $id) { channel { archived } } }",
        json!({ "id": public }),
    )
    .await
    .ok();
    let archived =
        app.gql_as(Some(&bob.token), POST, json!({ "input": { "channelId": public, "body": "late" } })).await;
    assert_eq!(code(&archived), "FORBIDDEN");

    let mut socket = WsClient::init(&app, Some(&carol.token)).await;
    socket.subscribe("x", CHANNEL_EVENTS, json!({ "id": private, "after": 0 })).await;
    let msg = socket.next_json().await;
    assert_eq!(msg["type"], "error");
    assert_eq!(msg["payload"][0]["extensions"]["code"], "NOT_FOUND");
    let history = app.gql_as(Some(&alice.token), HISTORY, json!({ "id": public })).await.ok();
    assert_eq!(history.data()["channel"]["messages"]["edges"][0]["node"]["body"], "mine", "nothing was lost");
}

#[tokio::test]
async fn moderators_delete_others_messages_and_a_tombstone_stays() {
    let app = spawn_app().await;
    let (alice, bob, ws) = setup(&app).await;
    let general = channel(&app, &bob, &ws, "general", "PUBLIC", &[&alice]).await;
    let msg = post(&app, &bob, &general, "spam").await;

    let res = app
        .gql_as(
            Some(&alice.token),
            "mutation($id: ID!) { deleteMessage(messageId: $id) { message { body deleted } } }",
            json!({ "id": msg["id"] }),
        )
        .await
        .ok();

    assert_eq!(res.data()["deleteMessage"]["message"], json!({ "body": "", "deleted": true }));
    let history = app.gql_as(Some(&bob.token), HISTORY, json!({ "id": general })).await.ok();
    assert_eq!(history.data()["channel"]["messages"]["edges"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn threads_count_replies_and_name_participants() {
    let app = spawn_app().await;
    let (alice, bob, ws) = setup(&app).await;
    let general = channel(&app, &alice, &ws, "general", "PUBLIC", &[&bob]).await;
    let root = post(&app, &alice, &general, "question?").await;
    for (user, body) in [(&bob, "answer 1"), (&alice, "thanks"), (&bob, "answer 2")] {
        app.gql_as(
            Some(&user.token),
            POST,
            json!({ "input": { "channelId": general, "body": body, "threadRootId": root["id"] } }),
        )
        .await
        .ok();
    }
    let nested = app
        .gql_as(
            Some(&bob.token),
            POST,
            json!({ "input": { "channelId": general, "body": "x", "threadRootId": general } }),
        )
        .await;
    assert_eq!(code(&nested), "BAD_USER_INPUT");

    let history = app.gql_as(Some(&alice.token), HISTORY, json!({ "id": general })).await.ok();
    let edges = history.data()["channel"]["messages"]["edges"].as_array().unwrap().clone();
    assert_eq!(edges.len(), 1, "replies stay out of the channel history");
    assert_eq!(edges[0]["node"]["replyCount"], 3);
    assert_eq!(edges[0]["node"]["threadParticipants"], json!([{ "id": bob.id }, { "id": alice.id }]));
    let replies = app
        .gql_as(
            Some(&alice.token),
            "query($id: ID!) { message(id: $id) { replies(first: 10) { edges { node { body } } } } }",
            json!({ "id": root["id"] }),
        )
        .await
        .ok();
    let bodies: Vec<&str> = replies.data()["message"]["replies"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"]["body"].as_str().unwrap())
        .collect();
    assert_eq!(bodies, ["answer 1", "thanks", "answer 2"]);
}

#[tokio::test]
async fn reactions_toggle_and_pins_reach_subscribers() {
    let app = spawn_app().await;
    let (alice, bob, ws) = setup(&app).await;
    let general = channel(&app, &alice, &ws, "general", "PUBLIC", &[&bob]).await;
    let msg = post(&app, &alice, &general, "vote").await;
    let mut a = WsClient::init(&app, Some(&alice.token)).await;
    a.subscribe("s", CHANNEL_EVENTS, json!({ "id": general, "after": msg["seq"] })).await;
    let react = "mutation($id: ID!, $e: String!) { toggleReaction(input: { messageId: $id, emoji: $e }) { added message { reactions { emoji count reactedByMe } } } }";

    let on = app.gql_as(Some(&bob.token), react, json!({ "id": msg["id"], "e": "👍" })).await.ok();
    assert_eq!(on.data()["toggleReaction"]["added"], true);
    assert_eq!(
        on.data()["toggleReaction"]["message"]["reactions"],
        json!([{ "emoji": "👍", "count": 1, "reactedByMe": true }])
    );
    let pushed = next_data(&mut a, "s").await;
    assert_eq!(pushed["channelEvents"]["kind"], "REACTION_CHANGED");
    assert_eq!(
        pushed["channelEvents"]["message"]["reactions"],
        json!([{ "emoji": "👍", "count": 1, "reactedByMe": false }])
    );

    let off = app.gql_as(Some(&bob.token), react, json!({ "id": msg["id"], "e": "👍" })).await.ok();
    assert_eq!(off.data()["toggleReaction"]["added"], false);
    assert_eq!(off.data()["toggleReaction"]["message"]["reactions"], json!([]));
    let bad = app.gql_as(Some(&bob.token), react, json!({ "id": msg["id"], "e": "thumbs" })).await;
    assert_eq!(code(&bad), "BAD_USER_INPUT");

    app.gql_as(
        Some(&bob.token),
        "mutation($id: ID!) { pinMessage(messageId: $id) { message { pinned } } }",
        json!({ "id": msg["id"] }),
    )
    .await
    .ok();
    let _removed = next_data(&mut a, "s").await;
    let pinned = next_data(&mut a, "s").await;
    assert_eq!(pinned["channelEvents"]["kind"], "PINNED");
    assert_eq!(pinned["channelEvents"]["message"]["pinned"], true);
}

#[tokio::test]
async fn mentions_notify_count_as_unread_and_clear_when_read() {
    let app = spawn_app().await;
    let (alice, bob, ws) = setup(&app).await;
    let general = channel(&app, &alice, &ws, "general", "PUBLIC", &[&bob]).await;
    let mut b = WsClient::init(&app, Some(&bob.token)).await;
    b.subscribe("n", "subscription { notificationReceived { kind preview actor { id } } }", json!({})).await;
    b.send(json!({ "type": "ping" })).await;
    assert_eq!(b.next_json().await["type"], "pong");

    // Retried until the subscription is live: pub/sub has no replay for notifications.
    let mut pushed = None;
    for attempt in 0..20 {
        post(&app, &alice, &general, &format!("<@{}> look at this ({attempt})", bob.id)).await;
        if let Some(WsEvent::Json(msg)) = b.try_next(Duration::from_millis(500)).await {
            pushed = Some(msg);
            break;
        }
    }
    let pushed = pushed.expect("a notification arrives");
    assert_eq!(pushed["payload"]["data"]["notificationReceived"]["kind"], "mention");
    assert_eq!(pushed["payload"]["data"]["notificationReceived"]["actor"]["id"], alice.id.as_str());
    post(&app, &alice, &general, "no mention").await;

    let channels =
        "query($ws: ID!) { channels(workspaceId: $ws) { edges { node { id unreadCount mentionCount lastSeq } } } }";
    let before = app.gql_as(Some(&bob.token), channels, json!({ "ws": ws })).await.ok();
    let ch = &before.data()["channels"]["edges"][0]["node"];
    let mentions = ch["mentionCount"].as_i64().unwrap();
    assert!(mentions >= 1);
    assert_eq!(ch["unreadCount"].as_i64().unwrap(), mentions + 1);
    let count = app.gql_as(Some(&bob.token), "{ unreadNotificationCount }", json!({})).await.ok();
    assert_eq!(count.data()["unreadNotificationCount"].as_i64().unwrap(), mentions);

    app.gql_as(
        Some(&bob.token),
        "mutation($c: ID!, $s: Int!) { markChannelRead(channelId: $c, seq: $s) { channel { lastReadSeq } } }",
        json!({ "c": general, "s": ch["lastSeq"] }),
    )
    .await
    .ok();
    app.gql_as(Some(&bob.token), "mutation { markAllNotificationsRead { count } }", json!({})).await.ok();
    let after = app.gql_as(Some(&bob.token), channels, json!({ "ws": ws })).await.ok();
    assert_eq!(
        (
            after.data()["channels"]["edges"][0]["node"]["unreadCount"].as_i64(),
            after.data()["channels"]["edges"][0]["node"]["mentionCount"].as_i64(),
        ),
        (Some(0), Some(0))
    );
    let count = app.gql_as(Some(&bob.token), "{ unreadNotificationCount }", json!({})).await.ok();
    assert_eq!(count.data()["unreadNotificationCount"], 0);
}

#[tokio::test]
async fn direct_channels_are_found_by_their_member_set_and_notify() {
    let app = spawn_app().await;
    let (alice, bob, ws) = setup(&app).await;
    let carol = app.signed_up("carol").await;
    let open = "mutation($ws: ID!, $u: [ID!]!) { openDirectChannel(input: { workspaceId: $ws, userIds: $u }) { channel { id kind } } }";

    let first = app.gql_as(Some(&alice.token), open, json!({ "ws": ws, "u": [bob.id] })).await.ok();
    let again = app.gql_as(Some(&bob.token), open, json!({ "ws": ws, "u": [alice.id] })).await.ok();
    let id = first.data()["openDirectChannel"]["channel"]["id"].as_str().unwrap().to_owned();
    assert_eq!(again.data()["openDirectChannel"]["channel"]["id"], id.as_str());
    assert_eq!(first.data()["openDirectChannel"]["channel"]["kind"], "DIRECT");
    let outsider = app.gql_as(Some(&alice.token), open, json!({ "ws": ws, "u": [carol.id] })).await;
    assert_eq!(code(&outsider), "BAD_USER_INPUT");

    post(&app, &alice, &id, "psst").await;
    let list = app
        .gql_as(Some(&bob.token), "{ notifications(first: 5) { edges { node { kind preview read } } } }", json!({}))
        .await
        .ok();
    assert_eq!(
        list.data()["notifications"]["edges"][0]["node"],
        json!({ "kind": "direct_message", "preview": "psst", "read": false })
    );
    let peek = app.gql_as(Some(&carol.token), HISTORY, json!({ "id": id })).await;
    assert_eq!(code(&peek), "NOT_FOUND");
}

#[tokio::test]
async fn history_pages_both_ways_with_a_constant_number_of_statements() {
    let app = spawn_app().await;
    let (alice, bob, ws) = setup(&app).await;
    let general = channel(&app, &alice, &ws, "general", "PUBLIC", &[&bob]).await;
    for i in 0..60 {
        let m = post(&app, if i % 2 == 0 { &alice } else { &bob }, &general, &format!("m{i}")).await;
        if i % 10 == 0 {
            app.gql_as(
                Some(&bob.token),
                "mutation($id: ID!) { toggleReaction(input: { messageId: $id, emoji: \"🎉\" }) { added } }",
                json!({ "id": m["id"] }),
            )
            .await
            .ok();
            app.gql_as(
                Some(&bob.token),
                POST,
                json!({ "input": { "channelId": general, "body": "reply", "threadRootId": m["id"] } }),
            )
            .await
            .ok();
        }
    }

    let statements = |n: i64| {
        let (app, alice, general) = (&app, &alice, general.clone());
        async move {
            let before = app.app.sql_statements();
            let res = app.gql_as(Some(&alice.token), HISTORY, json!({ "id": general, "last": n })).await.ok();
            (app.app.sql_statements() - before, res)
        }
    };
    let (ten, _) = statements(10).await;
    let (fifty, page) = statements(50).await;
    assert_eq!(ten, fifty, "statements must not grow with the page size");
    // channel(id): visibility (1); messages: the page with its authors' cards (1) and the relations
    // the selection reads, each with its users' cards (reactions, thread participants: 2;
    // attachments are not selected).
    assert_eq!(fifty, 4, "{fifty} statements for one page");
    let bare = "query($id: ID!) { channel(id: $id) { messages(last: 50) { edges { node { seq body } } } } }";
    let before = app.app.sql_statements();
    let plain = app.gql_as(Some(&alice.token), bare, json!({ "id": general })).await.ok();
    assert_eq!(app.app.sql_statements() - before, 2, "a page without relations reads none");
    assert_eq!(plain.data()["channel"]["messages"]["edges"].as_array().map(Vec::len), Some(50));

    let conn = &page.data()["channel"]["messages"];
    let edges = conn["edges"].as_array().unwrap();
    assert_eq!(edges.len(), 50);
    assert_eq!(edges[49]["node"]["body"], "m59");
    assert_eq!(conn["pageInfo"]["hasPreviousPage"], true);
    let oldest = edges[0]["cursor"].as_str().unwrap();
    let older =
        app.gql_as(Some(&alice.token), HISTORY, json!({ "id": general, "last": 50, "before": oldest })).await.ok();
    let older_edges = older.data()["channel"]["messages"]["edges"].as_array().unwrap();
    assert_eq!(older_edges.len(), 10);
    assert_eq!(older_edges[0]["node"]["body"], "m0");
    assert_eq!(older_edges[0]["node"]["reactions"][0]["count"], 1);
    assert_eq!(older_edges[0]["node"]["threadParticipants"], json!([{ "id": bob.id }]));
    assert_eq!(older.data()["channel"]["messages"]["pageInfo"]["hasPreviousPage"], false);
    let newer = app
        .gql_as(Some(&alice.token), HISTORY, json!({ "id": general, "first": 5, "after": older_edges[9]["cursor"] }))
        .await
        .ok();
    assert_eq!(newer.data()["channel"]["messages"]["edges"][0]["node"]["body"], "m10");
}

#[tokio::test]
async fn search_finds_words_only_in_channels_the_viewer_can_read() {
    let app = spawn_app().await;
    let (alice, bob, ws) = setup(&app).await;
    let public = channel(&app, &alice, &ws, "general", "PUBLIC", &[]).await;
    let private = channel(&app, &alice, &ws, "board", "PRIVATE", &[]).await;
    post(&app, &alice, &public, "The boiler in block B is broken").await;
    post(&app, &alice, &public, "Gate code changed").await;
    post(&app, &alice, &private, "Boiler budget approved").await;
    let search =
        "query($ws: ID!, $q: String!) { searchMessages(workspaceId: $ws, query: $q) { edges { node { body } } } }";

    let mine = app.gql_as(Some(&alice.token), search, json!({ "ws": ws, "q": "boiler" })).await.ok();
    let theirs = app.gql_as(Some(&bob.token), search, json!({ "ws": ws, "q": "BOILER" })).await.ok();
    let both = app.gql_as(Some(&bob.token), search, json!({ "ws": ws, "q": "boiler broken" })).await.ok();
    let none = app.gql_as(Some(&bob.token), search, json!({ "ws": ws, "q": "boiler gate" })).await.ok();

    assert_eq!(mine.data()["searchMessages"]["edges"].as_array().unwrap().len(), 2);
    assert_eq!(
        theirs.data()["searchMessages"]["edges"],
        json!([{ "node": { "body": "The boiler in block B is broken" } }])
    );
    assert_eq!(both.data()["searchMessages"]["edges"].as_array().unwrap().len(), 1);
    assert_eq!(none.data()["searchMessages"]["edges"], json!([]));
    let outsider = app.signed_up("carol").await;
    let denied = app.gql_as(Some(&outsider.token), search, json!({ "ws": ws, "q": "boiler" })).await;
    assert_eq!(code(&denied), "NOT_FOUND");
    let junk = app.gql_as(Some(&bob.token), search, json!({ "ws": ws, "q": "\"*)(" })).await;
    assert_eq!(code(&junk), "BAD_USER_INPUT");
}

#[tokio::test]
async fn typing_is_seen_by_others_and_stops_by_itself() {
    let app = spawn_app().await;
    let (alice, bob, ws) = setup(&app).await;
    let general = channel(&app, &alice, &ws, "general", "PUBLIC", &[&bob]).await;
    let mut b = WsClient::init(&app, Some(&bob.token)).await;
    b.subscribe(
        "t",
        "subscription($c: ID!) { typing(channelId: $c) { userId displayName typing } }",
        json!({ "c": general }),
    )
    .await;
    let set = "mutation($c: ID!) { setTyping(channelId: $c) { ok } }";

    let mut started = None;
    for _ in 0..20 {
        app.gql_as(Some(&alice.token), set, json!({ "c": general })).await.ok();
        if let Some(WsEvent::Json(msg)) = b.try_next(Duration::from_millis(300)).await {
            started = Some(msg);
            break;
        }
    }
    let started = started.expect("typing arrives");
    assert_eq!(
        started["payload"]["data"]["typing"],
        json!({ "userId": alice.id, "displayName": "alice", "typing": true })
    );
    let stopped = loop {
        let WsEvent::Json(msg) = b.next_within(Duration::from_secs(8)).await else { panic!("socket closed") };
        if msg["payload"]["data"]["typing"]["typing"] == false {
            break msg;
        }
    };
    assert_eq!(stopped["payload"]["data"]["typing"]["userId"], alice.id.as_str());
    let outsider = app.signed_up("carol").await;
    let denied = app.gql_as(Some(&outsider.token), set, json!({ "c": general })).await;
    assert_eq!(code(&denied), "NOT_FOUND");
}

#[tokio::test]
async fn presence_follows_sockets_and_away() {
    let app = spawn_app().await;
    let (alice, bob, ws) = setup(&app).await;
    let mut a = WsClient::init(&app, Some(&alice.token)).await;
    a.subscribe(
        "p",
        "subscription($ws: ID!) { presenceChanged(workspaceId: $ws) { userId status } }",
        json!({ "ws": ws }),
    )
    .await;

    let mut online = false;
    for _ in 0..20 {
        let b = WsClient::init(&app, Some(&bob.token)).await;
        if let Some(WsEvent::Json(msg)) = a.try_next(Duration::from_millis(300)).await {
            assert_eq!(msg["payload"]["data"]["presenceChanged"], json!({ "userId": bob.id, "status": "ONLINE" }));
            online = true;
            let listed = app
                .gql_as(
                    Some(&alice.token),
                    "query($ws: ID!) { presence(workspaceId: $ws) { userId status } }",
                    json!({ "ws": ws }),
                )
                .await
                .ok();
            let statuses: Vec<&Value> = listed.data()["presence"].as_array().unwrap().iter().collect();
            assert!(statuses.contains(&&json!({ "userId": bob.id, "status": "ONLINE" })), "{statuses:?}");
            app.gql_as(Some(&bob.token), "mutation { setAway(away: true) }", json!({})).await.ok();
            let away = next_data(&mut a, "p").await;
            assert_eq!(away["presenceChanged"]["status"], "AWAY");
            drop(b);
            let offline = next_data(&mut a, "p").await;
            assert_eq!(offline["presenceChanged"], json!({ "userId": bob.id, "status": "OFFLINE" }));
            break;
        }
        drop(b);
        while let Some(WsEvent::Json(_)) = a.try_next(Duration::from_millis(200)).await {}
    }
    assert!(online, "bob's presence never arrived");
}

#[tokio::test]
async fn a_custom_status_change_streams_on_presence_changed() {
    let app = spawn_app().await;
    let (alice, bob, ws) = setup(&app).await;
    let mut a = WsClient::init(&app, Some(&alice.token)).await;
    a.subscribe(
        "p",
        "subscription($ws: ID!) { presenceChanged(workspaceId: $ws) { userId status statusText statusEmoji } }",
        json!({ "ws": ws }),
    )
    .await;
    // The subscription is live once alice's own socket announces her; then bob changes his status.
    let mut seen = None;
    for _ in 0..20 {
        app.gql_as(
            Some(&bob.token),
            "mutation { updateProfile(input: { statusText: \"at lunch\", statusEmoji: \"🌮\" }) { viewer { id } } }",
            json!({}),
        )
        .await
        .ok();
        while let Some(WsEvent::Json(msg)) = a.try_next(Duration::from_millis(300)).await {
            let changed = &msg["payload"]["data"]["presenceChanged"];
            if changed["userId"] == bob.id.as_str() {
                seen = Some(changed.clone());
            }
        }
        if seen.is_some() {
            break;
        }
    }
    assert_eq!(
        seen,
        Some(json!({ "userId": bob.id, "status": "OFFLINE", "statusText": "at lunch", "statusEmoji": "🌮" })),
        "bob has no socket, so he is offline, with his new status"
    );
    app.gql_as(
        Some(&bob.token),
        "mutation { updateProfile(input: { displayName: \"Bobby\" }) { viewer { id } } }",
        json!({}),
    )
    .await
    .ok();
    assert!(a.try_next(Duration::from_millis(300)).await.is_none(), "a display-name change is not a status change");
}

#[tokio::test]
#[ignore = "needs Postgres + Redis: runs in the .ci/run Postgres pass (--run-ignored all)"]
async fn cross_instance_delivery_over_redis_on_postgres() {
    require_postgres_and_redis();
    let a = spawn_app().await;
    assert_eq!(a.app.db_for_tests().get_database_backend(), sea_orm::DatabaseBackend::Postgres);
    assert!(a.vars.contains_key("REDIS_URL"), "the Postgres pass runs on Redis");
    let shared = a.shared_vars();
    let b = spawn_app_with(&shared.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect::<Vec<_>>()).await;
    let (alice, bob, ws) = setup(&a).await;
    let general = channel(&a, &alice, &ws, "general", "PUBLIC", &[&bob]).await;
    let mut on_b = WsClient::init(&b, Some(&bob.token)).await;
    on_b.subscribe("x", CHANNEL_EVENTS, json!({ "id": general })).await;

    let mut delivered = None;
    for attempt in 0..20 {
        post(&a, &alice, &general, &format!("from A {attempt}")).await;
        if let Some(WsEvent::Json(msg)) = on_b.try_next(Duration::from_millis(500)).await {
            delivered = Some(msg);
            break;
        }
    }
    let msg = delivered.expect("a message posted on A reaches a subscriber on B");
    assert_eq!(msg["type"], "next");
    assert!(msg["payload"]["data"]["channelEvents"]["message"]["body"].as_str().unwrap().starts_with("from A"));
}

/// Alice and bob in a channel holding 50 messages of 8 KiB.
async fn big_channel(app: &TestApp) -> (TestUser, TestUser, String) {
    let (alice, bob, ws) = setup(app).await;
    let general = channel(app, &alice, &ws, "general", "PUBLIC", &[&bob]).await;
    let big = "x".repeat(8 * 1024);
    for _ in 0..50 {
        post(app, &alice, &general, &big).await;
    }
    (alice, bob, general)
}

#[tokio::test]
async fn a_socket_that_stops_reading_holds_up_neither_its_own_operations_nor_the_server() {
    let app = spawn_app_with(&[("STOA_RATE_LIMITS", "owner=100000,member=100000")]).await;
    let (alice, bob, general) = big_channel(&app).await;
    // Bob asks for 40 pages of 50 large messages (~16 MB, far beyond the socket buffers) over one
    // socket and reads none of it, then, on the same socket, posts.
    let mut slow = WsClient::init(&app, Some(&bob.token)).await;
    for i in 0..40 {
        slow.subscribe(&format!("page{i}"), BIG_PAGE, json!({ "id": general })).await;
    }
    let input = json!({ "input": { "channelId": general, "body": "still here" } });
    slow.subscribe("post", POST, input).await;

    // The post lands while his socket is backed up, and the server keeps answering everyone.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let last = app.gql_as(Some(&alice.token), HISTORY, json!({ "id": general, "last": 1 })).await.ok();
        if last.data()["channel"]["messages"]["edges"][0]["node"]["body"] == "still here" {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "bob's post did not land while his socket was full");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // When he reads again, every answer is there, whole, each operation completed once.
    let mut pages = std::collections::HashSet::new();
    let mut completed = std::collections::HashSet::new();
    while completed.len() < 41 {
        let msg = slow.next_json().await;
        let id = msg["id"].as_str().unwrap_or_default().to_owned();
        match msg["type"].as_str() {
            Some("next") if id == "post" => {
                assert_eq!(msg["payload"]["data"]["postMessage"]["message"]["body"], "still here");
            }
            Some("next") => {
                let edges = msg["payload"]["data"]["channel"]["messages"]["edges"].as_array().map(Vec::len);
                assert_eq!(edges, Some(50), "{id}");
                assert!(pages.insert(id.clone()), "{id} answered twice");
            }
            Some("complete") => assert!(completed.insert(id.clone()), "{id} completed twice"),
            other => panic!("unexpected {other:?}: {msg}"),
        }
    }
    assert_eq!(pages.len(), 40);
}

#[tokio::test]
async fn a_peer_that_keeps_talking_but_never_reads_is_dropped() {
    let app =
        spawn_app_with(&[("STOA_RATE_LIMITS", "owner=100000,member=100000"), ("STOA_WS_KEEPALIVE_SECS", "1")]).await;
    let (alice, bob, general) = big_channel(&app).await;
    let connections = || async {
        let metrics = app.http.get(format!("http://{}/metrics", app.addr)).send().await.unwrap().text().await.unwrap();
        metrics.lines().find_map(|l| l.strip_prefix("stoa_ws_connections ")).and_then(|n| n.parse::<u64>().ok())
    };
    let mut slow = WsClient::init(&app, Some(&bob.token)).await;
    assert_eq!(connections().await, Some(1));
    for i in 0..40 {
        slow.subscribe(&format!("page{i}"), BIG_PAGE, json!({ "id": general })).await;
    }
    // It keeps sending (so it is not silent) but takes nothing: after 3 keep-alives without the
    // socket accepting a byte, the server lets it go.
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    loop {
        let _ = slow.try_send_raw(r#"{"type":"pong"}"#).await;
        if connections().await == Some(0) {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "a peer that never reads is still connected");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // The server is fine.
    assert_eq!(app.gql_as(Some(&alice.token), "{ me { id } }", json!({})).await.ok().data()["me"]["id"], alice.id);
}

const ADD_CHANNEL_MEMBER: &str =
    "mutation($c: ID!, $u: ID!) { addChannelMember(input: { channelId: $c, userId: $u }) { ok } }";
const CHANNEL: &str = "query($id: ID!) { channel(id: $id) { id isMember lastSeq } }";

async fn add_channel_member(app: &TestApp, by: &TestUser, channel: &str, user: &str) -> crate::helpers::Gql {
    app.gql_as(Some(&by.token), ADD_CHANNEL_MEMBER, json!({ "c": channel, "u": user })).await
}

#[tokio::test]
async fn a_member_added_to_a_private_channel_reads_it_and_receives_its_events() {
    let app = spawn_app().await;
    let (alice, bob, ws) = setup(&app).await;
    let secret = channel(&app, &alice, &ws, "secret", "PRIVATE", &[]).await;
    post(&app, &alice, &secret, "said before bob came").await;
    let hidden = app.gql_as(Some(&bob.token), CHANNEL, json!({ "id": secret })).await;
    assert_eq!(code(&hidden), "NOT_FOUND");

    let added = add_channel_member(&app, &alice, &secret, &bob.id).await.ok();

    assert_eq!(added.data()["addChannelMember"]["ok"], true);
    let seen = app.gql_as(Some(&bob.token), CHANNEL, json!({ "id": secret })).await.ok();
    assert_eq!(seen.data()["channel"]["isMember"], true);
    let history = app.gql_as(Some(&bob.token), HISTORY, json!({ "id": secret })).await.ok();
    assert_eq!(history.data()["channel"]["messages"]["edges"][0]["node"]["body"], "said before bob came");
    let mut b = WsClient::init(&app, Some(&bob.token)).await;
    let after = seen.data()["channel"]["lastSeq"].clone();
    b.subscribe("s", CHANNEL_EVENTS, json!({ "id": secret, "after": after })).await;
    post(&app, &alice, &secret, "welcome").await;
    assert_eq!(next_data(&mut b, "s").await["channelEvents"]["message"]["body"], "welcome");
    post(&app, &bob, &secret, "thanks").await;
}

#[tokio::test]
async fn adding_a_channel_member_is_refused_to_those_who_cannot_see_or_write_in_it() {
    let app = spawn_app().await;
    let (alice, bob, ws) = setup(&app).await;
    let (carol, dave) = (app.signed_up("carol").await, app.signed_up("dave").await);
    app.add(&alice, &ws, &dave, "MEMBER").await;
    let secret = channel(&app, &alice, &ws, "secret", "PRIVATE", &[]).await;
    let public = channel(&app, &alice, &ws, "public", "PUBLIC", &[]).await;

    // Outside the workspace, or in it but not in the private channel: the channel does not exist for them.
    for user in [&carol, &dave] {
        assert_eq!(code(&add_channel_member(&app, user, &secret, &dave.id).await), "NOT_FOUND");
    }
    assert_eq!(code(&add_channel_member(&app, &dave, &public, &bob.id).await), "FORBIDDEN", "not a member");
    let outsider = add_channel_member(&app, &alice, &secret, &carol.id).await;
    assert_eq!(code(&outsider), "BAD_USER_INPUT");
    assert_eq!(outsider.body["errors"][0]["extensions"]["field"], "userId");
    add_channel_member(&app, &alice, &secret, &bob.id).await.ok();
    assert_eq!(code(&add_channel_member(&app, &alice, &secret, &bob.id).await), "CONFLICT");
    let open = "mutation($ws: ID!, $u: [ID!]!) { openDirectChannel(input: { workspaceId: $ws, userIds: $u }) { channel { id } } }";
    let direct = app.gql_as(Some(&alice.token), open, json!({ "ws": ws, "u": [bob.id] })).await.ok();
    let direct = direct.data()["openDirectChannel"]["channel"]["id"].as_str().unwrap().to_owned();
    assert_eq!(code(&add_channel_member(&app, &alice, &direct, &dave.id).await), "FORBIDDEN", "direct channel");
    app.gql_as(
        Some(&alice.token),
        "mutation($id: ID!) { archiveChannel(channelId: $id) { channel { archived } } }",
        json!({ "id": public }),
    )
    .await
    .ok();
    assert_eq!(code(&add_channel_member(&app, &alice, &public, &dave.id).await), "FORBIDDEN", "archived");

    // The rule today: any member of a channel may add any workspace member, with no role needed.
    add_channel_member(&app, &bob, &secret, &dave.id).await.ok();
    let seen = app.gql_as(Some(&dave.token), CHANNEL, json!({ "id": secret })).await.ok();
    assert_eq!(seen.data()["channel"]["isMember"], true);
}

const NOTIFICATIONS: &str =
    "query($unread: Boolean!) { notifications(first: 10, unreadOnly: $unread) { edges { node { id preview read } } } }";
const MARK_NOTIFICATION_READ: &str = "mutation($id: ID!) { markNotificationRead(id: $id) { count } }";

async fn unread_notifications(app: &TestApp, user: &TestUser) -> i64 {
    let res = app.gql_as(Some(&user.token), "{ unreadNotificationCount }", json!({})).await.ok();
    res.data()["unreadNotificationCount"].as_i64().unwrap()
}

/// Bob, mentioned twice by alice: his two notifications, newest first.
async fn mentioned_twice(app: &TestApp) -> (TestUser, TestUser, Vec<Value>) {
    let (alice, bob, ws) = setup(app).await;
    let general = channel(app, &alice, &ws, "general", "PUBLIC", &[&bob]).await;
    post(app, &alice, &general, &format!("<@{}> first", bob.id)).await;
    post(app, &alice, &general, &format!("<@{}> second", bob.id)).await;
    let list = app.gql_as(Some(&bob.token), NOTIFICATIONS, json!({ "unread": false })).await.ok();
    let edges = list.data()["notifications"]["edges"].as_array().unwrap();
    (alice, bob, edges.iter().map(|e| e["node"].clone()).collect())
}

#[tokio::test]
async fn a_notification_marked_read_drops_the_unread_count_and_shows_as_read() {
    let app = spawn_app().await;
    let (_alice, bob, mine) = mentioned_twice(&app).await;
    assert_eq!(mine.len(), 2);
    assert_eq!(unread_notifications(&app, &bob).await, 2);

    let marked = app.gql_as(Some(&bob.token), MARK_NOTIFICATION_READ, json!({ "id": mine[0]["id"] })).await.ok();

    assert_eq!(marked.data()["markNotificationRead"]["count"], 1);
    assert_eq!(unread_notifications(&app, &bob).await, 1);
    let all = app.gql_as(Some(&bob.token), NOTIFICATIONS, json!({ "unread": false })).await.ok();
    let read: Vec<(&Value, &Value)> = all.data()["notifications"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (&e["node"]["id"], &e["node"]["read"]))
        .collect();
    assert_eq!(read, [(&mine[0]["id"], &json!(true)), (&mine[1]["id"], &json!(false))]);
    let unread = app.gql_as(Some(&bob.token), NOTIFICATIONS, json!({ "unread": true })).await.ok();
    assert_eq!(unread.data()["notifications"]["edges"], json!([{ "node": mine[1] }]));
    let again = app.gql_as(Some(&bob.token), MARK_NOTIFICATION_READ, json!({ "id": mine[0]["id"] })).await.ok();
    assert_eq!(again.data()["markNotificationRead"]["count"], 0, "marking twice changes nothing");
}

#[tokio::test]
async fn nobody_marks_someone_elses_notification_read() {
    let app = spawn_app().await;
    let (alice, bob, mine) = mentioned_twice(&app).await;

    let theirs = app.gql_as(Some(&alice.token), MARK_NOTIFICATION_READ, json!({ "id": mine[0]["id"] })).await;
    let missing =
        app.gql_as(Some(&bob.token), MARK_NOTIFICATION_READ, json!({ "id": uuid::Uuid::now_v7().to_string() })).await;
    let anonymous = app.gql(MARK_NOTIFICATION_READ, json!({ "id": mine[0]["id"] })).await;
    let junk = app.gql_as(Some(&bob.token), MARK_NOTIFICATION_READ, json!({ "id": "not-an-id" })).await;

    assert_eq!(code(&theirs), "NOT_FOUND", "someone else's is as good as missing");
    assert_eq!(code(&missing), "NOT_FOUND");
    assert_eq!(code(&anonymous), "UNAUTHENTICATED");
    assert_eq!(code(&junk), "BAD_USER_INPUT");
    assert_eq!(junk.body["errors"][0]["extensions"]["field"], "id");
    assert_eq!(unread_notifications(&app, &bob).await, 2, "bob's notifications are untouched");
}

#[tokio::test]
async fn a_negative_page_size_is_refused_on_every_connection_and_a_huge_one_is_capped() {
    let app = spawn_app().await;
    let (alice, _bob, ws) = setup(&app).await;
    let general = channel(&app, &alice, &ws, "general", "PUBLIC", &[]).await;
    let root = post(&app, &alice, &general, "hello").await;
    let pages = [
        (
            "query($id: ID!, $n: Int) { channel(id: $id) { messages(first: $n) { edges { cursor } } } }",
            "first",
            general.as_str(),
        ),
        (
            "query($id: ID!, $n: Int) { channel(id: $id) { messages(last: $n) { edges { cursor } } } }",
            "last",
            general.as_str(),
        ),
        (
            "query($id: ID!, $n: Int) { message(id: $id) { replies(first: $n) { edges { cursor } } } }",
            "first",
            root["id"].as_str().unwrap(),
        ),
        (
            "query($id: ID!, $n: Int) { searchMessages(workspaceId: $id, query: \"hello\", first: $n) { edges { cursor } } }",
            "first",
            ws.as_str(),
        ),
        (
            "query($id: ID!, $n: Int) { auditLog(workspaceId: $id, first: $n) { edges { cursor } } }",
            "first",
            ws.as_str(),
        ),
        ("query($n: Int) { notifications(first: $n) { edges { cursor } } }", "first", ""),
    ];
    for (query, argument, id) in pages {
        let refused = app.gql_as(Some(&alice.token), query, json!({ "id": id, "n": -1 })).await;
        assert_eq!(code(&refused), "BAD_USER_INPUT", "{query}");
        assert_eq!(refused.body["errors"][0]["extensions"]["field"], argument, "{query}");
        app.gql_as(Some(&alice.token), query, json!({ "id": id, "n": 100_000 })).await.ok();
    }
}

#[tokio::test]
async fn refused_posters_in_a_group_commit_fail_alone_and_the_others_commit_in_order() {
    let app = spawn_app().await;
    let (alice, bob, ws) = setup(&app).await;
    let carol = app.signed_up("carol").await;
    let public = channel(&app, &alice, &ws, "busy", "PUBLIC", &[]).await;
    // The channel's kind is known once a post has read it: later plain posts go straight to its
    // group commit, which checks each poster there.
    post(&app, &alice, &public, "first").await;
    let attempt = |user: &TestUser, i: usize| {
        let token = user.token.clone();
        let app = &app;
        let public = &public;
        async move {
            let body = format!("post {i}");
            app.gql_as(Some(&token), POST, json!({ "input": { "channelId": public, "body": body } })).await
        }
    };
    // Members, a workspace member who is not in the channel, and an outsider, all at once.
    let (mine, bobs, carols) = tokio::join!(
        futures::future::join_all((0..20).map(|i| attempt(&alice, i))),
        futures::future::join_all((0..20).map(|i| attempt(&bob, i))),
        futures::future::join_all((0..20).map(|i| attempt(&carol, i))),
    );
    for res in &bobs {
        assert_eq!(code(res), "FORBIDDEN", "not a channel member");
    }
    for res in &carols {
        assert_eq!(code(res), "NOT_FOUND", "not in the workspace");
    }
    let mut seqs: Vec<i64> =
        mine.into_iter().map(|res| res.ok().data()["postMessage"]["message"]["seq"].as_i64().unwrap_or(-1)).collect();
    seqs.sort_unstable();
    assert_eq!(seqs, (2..=21).collect::<Vec<i64>>(), "every accepted post has its own number, with no gap");
    let page = app.gql_as(Some(&alice.token), HISTORY, json!({ "id": public, "last": 50 })).await.ok();
    let edges = page.data()["channel"]["messages"]["edges"].as_array().cloned().unwrap_or_default();
    assert_eq!(edges.len(), 21, "only the member's posts were stored");
    let first_author = &edges[0]["node"]["author"]["displayName"];
    assert!(edges.iter().all(|e| &e["node"]["author"]["displayName"] == first_author), "{edges:?}");
}
