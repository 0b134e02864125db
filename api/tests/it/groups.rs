//! Render once, deliver many (#17): identical `channelEvents` subscriptions on a server form one
//! group; each live event is executed and serialised once per group and spliced behind each
//! member's own operation id. Sharing is proven with the `/metrics` counters
//! (`stoa_subscription_groups`, `stoa_subscription_renders_total`,
//! `stoa_subscription_group_deliveries_total`); what each member receives is checked frame by frame.

use std::time::Duration;

use serde_json::{Value, json};

use crate::helpers::{TestApp, TestUser, WsClient, WsEvent, spawn_app, spawn_app_with};

const CREATE_CHANNEL: &str =
    "mutation($input: CreateChannelInput!) { createChannel(input: $input) { channel { id } } }";
const POST: &str = "mutation($input: PostMessageInput!) { postMessage(input: $input) { message { id seq } } }";
const REACT: &str =
    "mutation($id: ID!, $e: String!) { toggleReaction(input: { messageId: $id, emoji: $e }) { added } }";
const REMOVE_FROM_CHANNEL: &str =
    "mutation($c: ID!, $u: ID!) { removeChannelMember(input: { channelId: $c, userId: $u }) { ok } }";
const REMOVE_FROM_WORKSPACE: &str = "mutation($input: RemoveMemberInput!) { removeMember(input: $input) { userId } }";
/// No viewer-dependent field: every viewer with the same variables shares one group.
const EVENTS: &str = "subscription($id: ID!, $after: Int) { channelEvents(channelId: $id, after: $after) { seq kind message { id seq body author { displayName } } } }";
/// [`EVENTS`] with other runs of whitespace, line breaks and commas: the same operation, so the same
/// group.
const EVENTS_RESPACED: &str = "subscription($id: ID!,  $after: Int)\n{\n  channelEvents(channelId: $id, after: $after) {\n    seq,\n    kind\n    message { id, seq, body, author { displayName } }\n  }\n}\n";
/// Selects `reactedByMe`: grouped per viewer.
const REACTIONS: &str = "subscription($id: ID!, $after: Int) { channelEvents(channelId: $id, after: $after) { seq kind message { id reactions { emoji count reactedByMe } } } }";
/// Accepted at subscribe (a negative page size costs nothing), refused with `BAD_USER_INPUT` each
/// time an event is rendered.
const FAILING: &str = "subscription($id: ID!, $after: Int) { channelEvents(channelId: $id, after: $after) { seq message { body replies(first: -1) { nodes { id } } } } }";

/// The group counters of `/metrics`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Counts {
    groups: u64,
    renders: u64,
    deliveries: u64,
}

impl Counts {
    async fn of(app: &TestApp) -> Self {
        let text = app.http.get(format!("http://{}/metrics", app.addr)).send().await.unwrap().text().await.unwrap();
        let read = |name: &str| {
            text.lines()
                .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse::<u64>().ok())
                .unwrap_or_else(|| panic!("{name} missing from /metrics:\n{text}"))
        };
        Self {
            groups: read("stoa_subscription_groups"),
            renders: read("stoa_subscription_renders_total"),
            deliveries: read("stoa_subscription_group_deliveries_total"),
        }
    }

    /// Renders and deliveries since `before`.
    fn since(self, before: Self) -> (u64, u64) {
        (self.renders - before.renders, self.deliveries - before.deliveries)
    }
}

/// alice (owner), bob and carol (members) of one workspace.
async fn setup(app: &TestApp) -> (TestUser, TestUser, TestUser, String) {
    let (alice, bob, carol) = (app.signed_up("alice").await, app.signed_up("bob").await, app.signed_up("carol").await);
    let ws = app.workspace(&alice, "W").await;
    app.add(&alice, &ws, &bob, "MEMBER").await;
    app.add(&alice, &ws, &carol, "MEMBER").await;
    (alice, bob, carol, ws)
}

async fn channel(app: &TestApp, by: &TestUser, ws: &str, name: &str, kind: &str, members: &[&TestUser]) -> String {
    let ids: Vec<&str> = members.iter().map(|m| m.id.as_str()).collect();
    let input = json!({ "input": { "workspaceId": ws, "name": name, "kind": kind, "memberIds": ids } });
    let res = app.gql_as(Some(&by.token), CREATE_CHANNEL, input).await.ok();
    res.data()["createChannel"]["channel"]["id"].as_str().unwrap().to_owned()
}

/// Posts `body` as `by`; the message's id and sequence number.
async fn post(app: &TestApp, by: &TestUser, channel: &str, body: &str) -> (String, i64) {
    let res = app.gql_as(Some(&by.token), POST, json!({ "input": { "channelId": channel, "body": body } })).await.ok();
    let msg = &res.data()["postMessage"]["message"];
    (msg["id"].as_str().unwrap().to_owned(), msg["seq"].as_i64().unwrap())
}

/// The next frame on `socket`, which must be a `ty` frame of operation `id` (legacy `ka`s skipped);
/// its payload.
async fn next_payload(socket: &mut WsClient, id: &str, ty: &str) -> Value {
    let mut msg = socket.next_json().await;
    while msg["type"] == "ka" {
        msg = socket.next_json().await;
    }
    assert_eq!((msg["id"].as_str(), msg["type"].as_str()), (Some(id), Some(ty)), "{msg}");
    msg["payload"].clone()
}

/// The next event of graphql-transport-ws operation `id`: `channelEvents` of a `next` without errors.
async fn next_event(socket: &mut WsClient, id: &str) -> Value {
    let payload = next_payload(socket, id, "next").await;
    assert!(payload.get("errors").is_none(), "{payload}");
    payload["data"]["channelEvents"].clone()
}

/// Nothing more is on its way to `socket` (graphql-transport-ws): a ping is answered first.
async fn hears_nothing(socket: &mut WsClient) {
    socket.send(json!({ "type": "ping" })).await;
    assert_eq!(socket.next_json().await, json!({ "type": "pong" }), "nothing arrives before the pong");
}

/// A signed-in graphql-transport-ws socket subscribed to `query` as operation `id`.
async fn subscribed(app: &TestApp, user: &TestUser, id: &str, query: &str, variables: Value) -> WsClient {
    let mut socket = WsClient::init(app, Some(&user.token)).await;
    socket.subscribe(id, query, variables).await;
    socket
}

#[tokio::test]
async fn identical_subscriptions_share_one_render_per_event_and_each_gets_every_event_once_in_order() {
    let app = spawn_app().await;
    let (alice, bob, _, ws) = setup(&app).await;
    let general = channel(&app, &alice, &ws, "general", "PUBLIC", &[&bob]).await;
    let vars = json!({ "id": general, "after": 0 });
    // Two viewers, the same operation written two ways: one group (no field depends on the viewer).
    let mut a = subscribed(&app, &alice, "a", EVENTS, vars.clone()).await;
    let mut b = subscribed(&app, &bob, "b", EVENTS_RESPACED, vars).await;
    // `after: 0` replays whatever came before a stream went live; once both have the first event,
    // both are live and what follows is shared.
    post(&app, &alice, &general, "warm-up").await;
    for (socket, id) in [(&mut a, "a"), (&mut b, "b")] {
        assert_eq!(next_event(socket, id).await["message"]["body"], "warm-up");
    }
    let before = Counts::of(&app).await;
    assert_eq!(before.groups, 1, "{before:?}");

    let mut posted = Vec::new();
    for i in 1..=5 {
        let by = if i % 2 == 0 { &bob } else { &alice };
        let body = format!("message {i}");
        let (message_id, seq) = post(&app, by, &general, &body).await;
        posted.push(json!({
            "seq": seq,
            "kind": "POSTED",
            "message": { "id": message_id, "seq": seq, "body": body, "author": { "displayName": if i % 2 == 0 { "bob" } else { "alice" } } },
        }));
    }
    for (socket, id) in [(&mut a, "a"), (&mut b, "b")] {
        let mut got = Vec::new();
        for _ in 0..posted.len() {
            got.push(next_event(socket, id).await);
        }
        assert_eq!(got, posted, "operation {id}: every event, in order");
        hears_nothing(socket).await;
    }

    let after = Counts::of(&app).await;
    assert_eq!(after.since(before), (5, 10), "one render per event, one delivery per member: {after:?}");
    assert_eq!(after.groups, 1);
}

#[tokio::test]
async fn removing_one_member_ends_only_its_stream_and_the_group_keeps_delivering() {
    let app = spawn_app().await;
    let (alice, bob, carol, ws) = setup(&app).await;
    let secret = channel(&app, &alice, &ws, "secret", "PRIVATE", &[&bob, &carol]).await;
    let vars = json!({ "id": secret, "after": 0 });
    let mut a = subscribed(&app, &alice, "a", EVENTS, vars.clone()).await;
    let mut b = subscribed(&app, &bob, "b", EVENTS, vars.clone()).await;
    let mut c = subscribed(&app, &carol, "c", EVENTS, vars).await;
    post(&app, &alice, &secret, "for all three").await;
    for (socket, id) in [(&mut a, "a"), (&mut b, "b"), (&mut c, "c")] {
        assert_eq!(next_event(socket, id).await["message"]["body"], "for all three");
    }
    assert_eq!(Counts::of(&app).await.groups, 1);

    // Bob leaves the channel (removed from it), carol the workspace: each one's stream ends with
    // `complete`, as an ungrouped one does, and nothing more reaches them.
    app.gql_as(Some(&alice.token), REMOVE_FROM_CHANNEL, json!({ "c": secret, "u": bob.id })).await.ok();
    assert_eq!(b.next_json().await, json!({ "id": "b", "type": "complete" }));
    let input = json!({ "input": { "workspaceId": ws, "userId": carol.id } });
    app.gql_as(Some(&alice.token), REMOVE_FROM_WORKSPACE, input).await.ok();
    assert_eq!(c.next_json().await, json!({ "id": "c", "type": "complete" }));

    let before = Counts::of(&app).await;
    let mut seqs = Vec::new();
    for i in 0..3 {
        seqs.push(post(&app, &alice, &secret, &format!("after the removals {i}")).await.1);
    }
    for (i, seq) in seqs.iter().enumerate() {
        let event = next_event(&mut a, "a").await;
        assert_eq!(
            (event["seq"].as_i64(), event["message"]["body"].as_str()),
            (Some(*seq), Some(&*format!("after the removals {i}")))
        );
    }
    for socket in [&mut a, &mut b, &mut c] {
        hears_nothing(socket).await;
    }
    let after = Counts::of(&app).await;
    assert_eq!(after.since(before), (3, 3), "alice alone is left in the group: {after:?}");
    assert_eq!(after.groups, 1);
}

#[tokio::test]
async fn a_document_selecting_reacted_by_me_is_rendered_per_viewer() {
    let app = spawn_app().await;
    let (alice, bob, _, ws) = setup(&app).await;
    let general = channel(&app, &alice, &ws, "general", "PUBLIC", &[&bob]).await;
    let vars = json!({ "id": general, "after": 0 });
    let mut a = subscribed(&app, &alice, "a", REACTIONS, vars.clone()).await;
    // Bob twice, on two sockets: his two subscriptions share, but never with alice.
    let mut b1 = subscribed(&app, &bob, "b1", REACTIONS, vars.clone()).await;
    let mut b2 = subscribed(&app, &bob, "b2", REACTIONS, vars).await;
    let (message_id, _) = post(&app, &alice, &general, "react to me").await;
    for (socket, id) in [(&mut a, "a"), (&mut b1, "b1"), (&mut b2, "b2")] {
        assert_eq!(next_event(socket, id).await["message"]["reactions"], json!([]));
    }
    let before = Counts::of(&app).await;
    assert_eq!(before.groups, 2, "one group per viewer: {before:?}");

    let react = |user: &TestUser| {
        let token = user.token.clone();
        let vars = json!({ "id": message_id, "e": "👍" });
        let app = &app;
        async move { assert_eq!(app.gql_as(Some(&token), REACT, vars).await.ok().data()["toggleReaction"]["added"], true) }
    };
    react(&alice).await;
    let mine = next_event(&mut a, "a").await;
    assert_eq!(mine["kind"], "REACTION_CHANGED");
    assert_eq!(mine["message"]["reactions"], json!([{ "emoji": "👍", "count": 1, "reactedByMe": true }]));
    for (socket, id) in [(&mut b1, "b1"), (&mut b2, "b2")] {
        let theirs = next_event(socket, id).await;
        assert_eq!(theirs["seq"], mine["seq"], "the same event");
        assert_eq!(theirs["message"]["reactions"], json!([{ "emoji": "👍", "count": 1, "reactedByMe": false }]));
    }
    let after = Counts::of(&app).await;
    assert_eq!(after.since(before), (2, 3), "one render per viewer, three deliveries: {after:?}");

    react(&bob).await;
    let both = json!([{ "emoji": "👍", "count": 2, "reactedByMe": true }]);
    assert_eq!(next_event(&mut a, "a").await["message"]["reactions"], both);
    for (socket, id) in [(&mut b1, "b1"), (&mut b2, "b2")] {
        assert_eq!(next_event(socket, id).await["message"]["reactions"], both);
    }
    for socket in [&mut a, &mut b1, &mut b2] {
        hears_nothing(socket).await;
    }
    assert_eq!(Counts::of(&app).await.since(after), (2, 3));
}

/// The next frame of `id` is a `next` whose payload carries the render's error (the negative page
/// size of [`FAILING`]), with its code.
async fn failed_render(socket: &mut WsClient, id: &str) {
    let payload = next_payload(socket, id, "next").await;
    let errors = payload["errors"].as_array().unwrap_or_else(|| panic!("no errors: {payload}"));
    assert!(!errors.is_empty(), "{payload}");
    for error in errors {
        assert!(error["extensions"]["code"].is_string(), "error without a code: {payload}");
    }
    assert_eq!(errors[0]["extensions"]["code"], "BAD_USER_INPUT", "{payload}");
    assert_eq!(errors[0]["extensions"]["field"], "first", "{payload}");
    assert_eq!(errors[0]["path"], json!(["channelEvents", "message", "replies"]), "{payload}");
}

#[tokio::test]
async fn a_render_that_fails_sends_its_error_to_every_member_and_later_events_still_flow() {
    let app = spawn_app().await;
    let (alice, bob, _, ws) = setup(&app).await;
    let general = channel(&app, &alice, &ws, "general", "PUBLIC", &[&bob]).await;
    let vars = json!({ "id": general, "after": 0 });
    // `replies` is viewer-dependent (its resolver asks access again), so one viewer on two sockets
    // is what shares a render of it.
    let mut a = subscribed(&app, &bob, "a", FAILING, vars.clone()).await;
    let mut b = subscribed(&app, &bob, "b", FAILING, vars).await;
    // The subscription itself is accepted: the first event comes, as an error.
    post(&app, &alice, &general, "warm-up").await;
    for (socket, id) in [(&mut a, "a"), (&mut b, "b")] {
        failed_render(socket, id).await;
    }
    let before = Counts::of(&app).await;
    assert_eq!(before.groups, 1, "{before:?}");

    for i in 0..3 {
        post(&app, &alice, &general, &format!("later {i}")).await;
    }
    for (socket, id) in [(&mut a, "a"), (&mut b, "b")] {
        for _ in 0..3 {
            failed_render(socket, id).await;
        }
        // Still subscribed: no `complete`, nothing else.
        hears_nothing(socket).await;
    }
    let after = Counts::of(&app).await;
    assert_eq!(after.since(before), (3, 6), "each failing event rendered once for the group: {after:?}");
    assert_eq!(after.groups, 1);
}

#[tokio::test]
async fn different_variables_never_share_a_render() {
    let app = spawn_app().await;
    let (alice, bob, _, ws) = setup(&app).await;
    let general = channel(&app, &alice, &ws, "general", "PUBLIC", &[&bob]).await;
    let random = channel(&app, &alice, &ws, "random", "PUBLIC", &[&bob]).await;
    // One viewer, one document; only the variables differ. On a channel with no events yet,
    // `after: 0` and `after: null` deliver the same events, but they are different operations.
    let mut zero = subscribed(&app, &bob, "zero", EVENTS, json!({ "id": general, "after": 0 })).await;
    let mut live = subscribed(&app, &bob, "live", EVENTS, json!({ "id": general, "after": null })).await;
    let mut other = subscribed(&app, &bob, "other", EVENTS, json!({ "id": random, "after": 0 })).await;
    // Without `after` a stream starts live, and the protocol has no "subscribed" message: post
    // until it shows one; then both streams are live up to the last post.
    let (mut last, mut seen) = (0, None);
    for attempt in 0..50 {
        last = post(&app, &alice, &general, &format!("ready {attempt}")).await.1;
        if let Some(WsEvent::Json(msg)) = live.try_next(Duration::from_millis(200)).await {
            assert_eq!((msg["id"].as_str(), msg["type"].as_str()), (Some("live"), Some("next")), "{msg}");
            seen = msg["payload"]["data"]["channelEvents"]["seq"].as_i64();
            break;
        }
    }
    let mut seen = seen.expect("the stream without `after` went live");
    while seen < last {
        seen = next_event(&mut live, "live").await["seq"].as_i64().unwrap();
    }
    while next_event(&mut zero, "zero").await["seq"].as_i64() != Some(last) {}
    let before = Counts::of(&app).await;
    assert_eq!(before.groups, 3, "{before:?}");

    let mut seqs = Vec::new();
    for i in 0..3 {
        seqs.push(post(&app, &alice, &general, &format!("general {i}")).await.1);
    }
    for (socket, id) in [(&mut zero, "zero"), (&mut live, "live")] {
        for seq in &seqs {
            assert_eq!(next_event(socket, id).await["seq"].as_i64(), Some(*seq), "operation {id}");
        }
    }
    hears_nothing(&mut other).await;
    let after = Counts::of(&app).await;
    assert_eq!(after.since(before), (6, 6), "each operation renders its own: {after:?}");

    let (_, seq) = post(&app, &alice, &random, "random 0").await;
    let event = next_event(&mut other, "other").await;
    assert_eq!((event["seq"].as_i64(), event["message"]["body"].as_str()), (Some(seq), Some("random 0")));
    for socket in [&mut zero, &mut live, &mut other] {
        hears_nothing(socket).await;
    }
    assert_eq!(Counts::of(&app).await.since(after), (1, 1));
}

#[tokio::test]
async fn both_subprotocols_share_a_group_and_each_frame_carries_its_own_id_and_type() {
    let app = spawn_app().await;
    let (alice, bob, _, ws) = setup(&app).await;
    let general = channel(&app, &alice, &ws, "general", "PUBLIC", &[&bob]).await;
    let vars = json!({ "id": general, "after": 0 });
    let mut modern = subscribed(&app, &alice, "a", EVENTS, vars.clone()).await;
    let mut legacy = WsClient::connect(&app, "graphql-ws").await;
    legacy.send(json!({ "type": "connection_init", "payload": { "authToken": bob.token } })).await;
    assert_eq!(legacy.next_json().await["type"], "connection_ack");
    legacy.send(json!({ "type": "start", "id": "b", "payload": { "query": EVENTS, "variables": vars } })).await;
    post(&app, &alice, &general, "warm-up").await;
    assert_eq!(next_event(&mut modern, "a").await["message"]["body"], "warm-up");
    assert_eq!(next_payload(&mut legacy, "b", "data").await["data"]["channelEvents"]["message"]["body"], "warm-up");
    let before = Counts::of(&app).await;
    assert_eq!(before.groups, 1, "{before:?}");

    for i in 0..3 {
        let (_, seq) = post(&app, &bob, &general, &format!("both {i}")).await;
        let shared = next_payload(&mut modern, "a", "next").await;
        assert_eq!(shared["data"]["channelEvents"]["seq"].as_i64(), Some(seq), "{shared}");
        assert_eq!(shared["data"]["channelEvents"]["message"]["body"], format!("both {i}"));
        assert_eq!(next_payload(&mut legacy, "b", "data").await, shared, "the same payload behind each id");
    }
    let after = Counts::of(&app).await;
    assert_eq!(after.since(before), (3, 6), "{after:?}");

    // Stopping the legacy operation ends it alone.
    legacy.send(json!({ "type": "stop", "id": "b" })).await;
    assert_eq!(next_payload(&mut legacy, "b", "complete").await, Value::Null);
    let (_, seq) = post(&app, &alice, &general, "one left").await;
    assert_eq!(next_event(&mut modern, "a").await["seq"].as_i64(), Some(seq));
    hears_nothing(&mut modern).await;
    assert_eq!(Counts::of(&app).await.since(after), (1, 1));
}

/// What the kernel may buffer for a socket that is never read, on Linux: the sender's largest send
/// buffer and the receiver's starting receive buffer (8 MiB where unknown).
fn kernel_socket_buffers() -> usize {
    let field =
        |path: &str, i: usize| std::fs::read_to_string(path).ok()?.split_whitespace().nth(i)?.parse::<usize>().ok();
    match (field("/proc/sys/net/ipv4/tcp_wmem", 2), field("/proc/sys/net/ipv4/tcp_rmem", 1)) {
        (Some(send), Some(receive)) => send + receive,
        _ => 8 << 20,
    }
}

#[tokio::test]
async fn a_member_that_stops_reading_does_not_hold_up_its_group() {
    const POSTS: usize = 100;
    const READERS: usize = 20;
    const QUERY: &str =
        "subscription($id: ID!, $after: Int) { channelEvents(channelId: $id, after: $after) { seq message { body } } }";
    let app =
        spawn_app_with(&[("STOA_RATE_LIMITS", "owner=100000,member=100000"), ("STOA_RATE_LIMIT_IP_PER_MIN", "100000")])
            .await;
    let (alice, bob, _, ws) = setup(&app).await;
    let general = channel(&app, &alice, &ws, "general", "PUBLIC", &[&bob]).await;
    let vars = json!({ "id": general, "after": 0 });
    // Bodies at the default limit (8 KiB), each frame a little more.
    let body = |i: usize| format!("{i:03}:{}", "x".repeat(8 * 1024 - 4));
    let frame = body(0).len() + 100;
    // One socket that never reads holds several operations of the group, so that what is due to it
    // is twice what the kernel can buffer for it: the server has to hold the rest back.
    let stalled_ops = (2 * kernel_socket_buffers()).div_ceil(POSTS * frame).clamp(1, 90);
    let mut stalled = WsClient::init(&app, Some(&bob.token)).await;
    for op in 0..stalled_ops {
        stalled.subscribe(&format!("s{op}"), QUERY, vars.clone()).await;
    }
    let mut readers = Vec::new();
    for r in 0..READERS {
        readers.push(subscribed(&app, if r % 2 == 0 { &alice } else { &bob }, "r", QUERY, vars.clone()).await);
    }
    let before = Counts::of(&app).await;

    // Posted a few at a time (they share commits); the answers say which sequence number each got.
    let posting = async {
        let (app, alice, general) = (&app, &alice, general.as_str());
        let mut posted = Vec::new();
        for batch in (0..POSTS).collect::<Vec<_>>().chunks(4) {
            let answers = batch.iter().map(|&i| async move { (post(app, alice, general, &body(i)).await.1, i) });
            posted.extend(futures::future::join_all(answers).await);
        }
        posted.sort_unstable();
        posted
    };
    let reading = futures::future::join_all(readers.iter_mut().map(|socket| async move {
        let mut got = Vec::new();
        for _ in 0..POSTS {
            let event = next_event(socket, "r").await;
            let text = event["message"]["body"].as_str().unwrap();
            let i: usize = text[..3].parse().unwrap();
            assert_eq!(text, body(i), "post {i} whole");
            got.push((event["seq"].as_i64().unwrap(), i));
        }
        got
    }));
    let (posted, got) = tokio::join!(posting, reading);
    for (n, reader) in got.iter().enumerate() {
        assert_eq!(reader, &posted, "reader {n}: every post, in order");
    }
    for socket in &mut readers {
        hears_nothing(socket).await;
    }
    // One group, and the stalled socket's operations are behind: not every delivery due to them
    // was made.
    let counts = Counts::of(&app).await;
    assert_eq!(counts.groups, 1, "{counts:?}");
    let delivered = counts.since(before).1;
    let due = u64::try_from(POSTS * (READERS + stalled_ops)).unwrap();
    assert!(delivered < due, "the stalled socket took everything ({delivered} of {due}): its buffers never filled");
    let seqs: Vec<i64> = posted.iter().map(|(seq, _)| *seq).collect();

    // When it reads again, each of its operations has every post, in order, once.
    let mut seen: std::collections::HashMap<String, Vec<i64>> = std::collections::HashMap::new();
    for _ in 0..POSTS * stalled_ops {
        let msg = stalled.next_json().await;
        assert_eq!(msg["type"], "next", "{}: {}", msg["id"], msg["payload"]["errors"]);
        let seq = msg["payload"]["data"]["channelEvents"]["seq"].as_i64().unwrap();
        seen.entry(msg["id"].as_str().unwrap().to_owned()).or_default().push(seq);
    }
    assert_eq!(seen.len(), stalled_ops);
    for (id, got) in &seen {
        assert_eq!(got, &seqs, "stalled operation {id}");
    }
    hears_nothing(&mut stalled).await;
}

#[tokio::test]
async fn a_viewer_who_cannot_read_the_channel_is_refused_and_never_joins_the_group() {
    let app = spawn_app().await;
    let (alice, bob, carol, ws) = setup(&app).await;
    let dave = app.signed_up("dave").await;
    let secret = channel(&app, &alice, &ws, "secret", "PRIVATE", &[&bob]).await;
    let vars = json!({ "id": secret, "after": 0 });
    let mut a = subscribed(&app, &alice, "a", EVENTS, vars.clone()).await;
    let mut b = subscribed(&app, &bob, "b", EVENTS, vars.clone()).await;
    post(&app, &alice, &secret, "warm-up").await;
    for (socket, id) in [(&mut a, "a"), (&mut b, "b")] {
        assert_eq!(next_event(socket, id).await["message"]["body"], "warm-up");
    }
    let before = Counts::of(&app).await;
    assert_eq!(before.groups, 1, "{before:?}");

    // Carol (in the workspace, not in the channel) and dave (not in the workspace) send the very
    // same operation: each is refused with NOT_FOUND, and neither hears what follows.
    let mut refused = Vec::new();
    for (user, id) in [(&carol, "c"), (&dave, "d")] {
        let mut socket = subscribed(&app, user, id, EVENTS, vars.clone()).await;
        let msg = socket.next_json().await;
        assert_eq!((msg["id"].as_str(), msg["type"].as_str()), (Some(id), Some("error")), "{msg}");
        assert_eq!(msg["payload"][0]["extensions"]["code"], "NOT_FOUND", "{msg}");
        refused.push(socket);
    }
    for i in 0..3 {
        post(&app, &alice, &secret, &format!("secret {i}")).await;
    }
    for (socket, id) in [(&mut a, "a"), (&mut b, "b")] {
        for i in 0..3 {
            assert_eq!(next_event(socket, id).await["message"]["body"], format!("secret {i}"));
        }
    }
    for socket in &mut refused {
        hears_nothing(socket).await;
    }
    let after = Counts::of(&app).await;
    assert_eq!(after.since(before), (3, 6), "alice and bob only: {after:?}");
    assert_eq!(after.groups, 1);
}

#[tokio::test]
async fn a_line_break_that_ends_a_comment_is_not_whitespace_to_collapse() {
    let app = spawn_app().await;
    let (alice, bob, carol, ws) = setup(&app).await;
    let general = channel(&app, &alice, &ws, "general", "PUBLIC", &[&bob, &carol]).await;
    let vars = json!({ "id": general, "after": 0 });
    // The same characters but for where a line breaks: the first selects the message, in the
    // second the comment swallows it. Read with the line break as a space, they would be one text.
    let with_message = "subscription($id: ID!, $after: Int) { channelEvents(channelId: $id, after: $after) { seq # the message:\n message { body } } }";
    let seq_only = "subscription($id: ID!, $after: Int) { channelEvents(channelId: $id, after: $after) { seq # the message: message { body }\n } }";
    // Comments are ignored tokens: this one still shares with `with_message`.
    let commented = "subscription($id: ID!, $after: Int) { channelEvents(channelId: $id, after: $after) { seq # another comment\n message { body } } }";
    let mut a = subscribed(&app, &alice, "a", with_message, vars.clone()).await;
    let mut b = subscribed(&app, &bob, "b", seq_only, vars.clone()).await;
    let mut c = subscribed(&app, &carol, "c", commented, vars).await;
    let (_, seq) = post(&app, &alice, &general, "warm-up").await;
    for (socket, id) in [(&mut a, "a"), (&mut c, "c")] {
        assert_eq!(next_event(socket, id).await, json!({ "seq": seq, "message": { "body": "warm-up" } }));
    }
    assert_eq!(next_event(&mut b, "b").await, json!({ "seq": seq }));
    let before = Counts::of(&app).await;
    assert_eq!(before.groups, 2, "{before:?}");

    let (_, seq) = post(&app, &bob, &general, "shaped per document").await;
    for (socket, id) in [(&mut a, "a"), (&mut c, "c")] {
        assert_eq!(next_event(socket, id).await, json!({ "seq": seq, "message": { "body": "shaped per document" } }));
    }
    assert_eq!(next_event(&mut b, "b").await, json!({ "seq": seq }), "only what bob's document selects");
    assert_eq!(Counts::of(&app).await.since(before), (2, 3));
}

/// `ticketEvents` without the viewer-dependent `ticket`: one group for every viewer.
const TICKET_EVENTS: &str =
    "subscription($t: ID!) { ticketEvents(ticketId: $t) { kind ticketId to version actor { displayName } } }";
/// The same with `ticket`, which each viewer sees their own way: grouped per viewer.
const TICKET_EVENTS_WITH_TICKET: &str =
    "subscription($t: ID!) { ticketEvents(ticketId: $t) { kind ticket { id availableTransitions } } }";

#[tokio::test]
async fn identical_ticket_event_subscriptions_share_renders_and_a_requester_still_hears_public_kinds_only() {
    let app = spawn_app().await;
    let (alice, bob, carol, ws) = setup(&app).await;
    let dept = "mutation($i: CreateDepartmentInput!) { createDepartment(input: $i) { department { id } } }";
    let fields = json!({ "name": "desk", "code": "DESK", "headUserId": alice.id, "capacity": 0 });
    let res =
        app.gql_as(Some(&alice.token), dept, json!({ "i": { "workspaceId": ws, "department": fields } })).await.ok();
    let dept = res.data()["createDepartment"]["department"]["id"].as_str().unwrap().to_owned();
    let add = "mutation($i: DepartmentMemberInput!) { addDepartmentMember(input: $i) { departmentId } }";
    app.gql_as(Some(&alice.token), add, json!({ "i": { "departmentId": dept, "userId": bob.id } })).await.ok();
    let open = "mutation($w: ID!, $d: ID!) { createTicket(workspaceId: $w, departmentId: $d, input: { title: \"leak\" }) { id channelId notesChannelId: id } }";
    let res = app.gql_as(Some(&carol.token), open, json!({ "w": ws, "d": dept })).await.ok();
    let ticket = res.data()["createTicket"]["id"].as_str().unwrap().to_owned();
    let q = "query($t: ID!) { ticket(id: $t) { channelId notesChannelId } }";
    let res = app.gql_as(Some(&bob.token), q, json!({ "t": ticket })).await.ok();
    let (public, notes) = (
        res.data()["ticket"]["channelId"].as_str().unwrap().to_owned(),
        res.data()["ticket"]["notesChannelId"].as_str().unwrap().to_owned(),
    );
    let vars = json!({ "t": ticket });
    let mut agents = [
        subscribed(&app, &alice, "a", TICKET_EVENTS, vars.clone()).await,
        subscribed(&app, &bob, "b", TICKET_EVENTS, vars.clone()).await,
    ];
    let mut requester = subscribed(&app, &carol, "c", TICKET_EVENTS, vars.clone()).await;
    // Live once a post in the conversation reaches all three (the protocol says nothing at start).
    let mut ready = false;
    for _ in 0..50 {
        post(&app, &bob, &public, "ready?").await;
        if tokio::time::timeout(Duration::from_millis(300), next_payload(&mut requester, "c", "next")).await.is_ok() {
            ready = true;
            break;
        }
    }
    assert!(ready, "the requester's stream never became live");
    for socket in agents.iter_mut().chain(std::iter::once(&mut requester)) {
        while socket.try_next(Duration::from_millis(300)).await.is_some() {}
    }
    let before = Counts::of(&app).await;
    post(&app, &bob, &notes, "internal only").await;
    post(&app, &bob, &public, "on my way").await;
    for (socket, id) in agents.iter_mut().zip(["a", "b"]) {
        let kinds: Vec<Value> = [next_payload(socket, id, "next").await, next_payload(socket, id, "next").await]
            .iter()
            .map(|p| p["data"]["ticketEvents"]["kind"].clone())
            .collect();
        assert_eq!(kinds, [json!("NOTE_ADDED"), json!("MESSAGE_POSTED")]);
    }
    let heard = next_payload(&mut requester, "c", "next").await;
    assert_eq!(heard["data"]["ticketEvents"]["kind"], "MESSAGE_POSTED", "the requester heard the note: {heard}");
    hears_nothing(&mut requester).await;
    let (renders, deliveries) = Counts::of(&app).await.since(before);
    assert_eq!((renders, deliveries), (2, 5), "two events rendered once each for the one group's five deliveries");

    // With `ticket` selected, each viewer renders their own.
    let mut own = [
        subscribed(&app, &alice, "x", TICKET_EVENTS_WITH_TICKET, vars.clone()).await,
        subscribed(&app, &bob, "y", TICKET_EVENTS_WITH_TICKET, vars.clone()).await,
    ];
    let mut live = false;
    for _ in 0..50 {
        post(&app, &bob, &public, "ready again?").await;
        if tokio::time::timeout(Duration::from_millis(300), next_payload(&mut own[1], "y", "next")).await.is_ok() {
            live = true;
            break;
        }
    }
    assert!(live);
    for socket in own.iter_mut().chain(agents.iter_mut()).chain(std::iter::once(&mut requester)) {
        while socket.try_next(Duration::from_millis(300)).await.is_some() {}
    }
    let before = Counts::of(&app).await;
    post(&app, &bob, &notes, "again internal").await;
    let alices = next_payload(&mut own[0], "x", "next").await;
    let bobs = next_payload(&mut own[1], "y", "next").await;
    assert_ne!(
        alices["data"]["ticketEvents"]["ticket"]["availableTransitions"],
        bobs["data"]["ticketEvents"]["ticket"]["availableTransitions"],
        "alice (owner) and bob (agent) may do different things: {alices} {bobs}"
    );
    let (renders, _) = Counts::of(&app).await.since(before);
    // One render for the shared group (alice and bob without `ticket`), one per viewer with it.
    assert_eq!(renders, 3, "per-viewer renders for the documents selecting `ticket`");
}

#[tokio::test]
async fn identical_ticket_queue_subscriptions_share_one_render_per_move() {
    let app = spawn_app().await;
    let (alice, bob, carol, ws) = setup(&app).await;
    let dept = "mutation($i: CreateDepartmentInput!) { createDepartment(input: $i) { department { id } } }";
    let fields = json!({ "name": "desk", "code": "DESK", "headUserId": alice.id, "capacity": 1 });
    let res =
        app.gql_as(Some(&alice.token), dept, json!({ "i": { "workspaceId": ws, "department": fields } })).await.ok();
    let dept = res.data()["createDepartment"]["department"]["id"].as_str().unwrap().to_owned();
    let add = "mutation($i: DepartmentMemberInput!) { addDepartmentMember(input: $i) { departmentId } }";
    app.gql_as(Some(&alice.token), add, json!({ "i": { "departmentId": dept, "userId": bob.id } })).await.ok();
    let queue = "subscription($d: ID!) { ticketQueue(departmentId: $d) { ticketId admitted occupancy waiting } }";
    let mut a = subscribed(&app, &alice, "a", queue, json!({ "d": dept })).await;
    let mut b = subscribed(&app, &bob, "b", queue, json!({ "d": dept })).await;
    let open = "mutation($w: ID!, $d: ID!) { createTicket(workspaceId: $w, departmentId: $d, input: { title: \"job\" }) { state } }";
    app.gql_as(Some(&carol.token), open, json!({ "w": ws, "d": dept })).await.ok();
    // Each ticket past the one slot is queued, and the queue says so: open until both hear one.
    let mut live = false;
    for _ in 0..50 {
        app.gql_as(Some(&carol.token), open, json!({ "w": ws, "d": dept })).await.ok();
        let heard_a = tokio::time::timeout(Duration::from_millis(300), next_payload(&mut a, "a", "next")).await.is_ok();
        let heard_b = tokio::time::timeout(Duration::from_millis(300), next_payload(&mut b, "b", "next")).await.is_ok();
        if heard_a && heard_b {
            live = true;
            break;
        }
    }
    assert!(live, "the queue streams never became live");
    for socket in [&mut a, &mut b] {
        while socket.try_next(Duration::from_millis(300)).await.is_some() {}
    }
    let before = Counts::of(&app).await;
    app.gql_as(Some(&carol.token), open, json!({ "w": ws, "d": dept })).await.ok();
    let (pa, pb) = (next_payload(&mut a, "a", "next").await, next_payload(&mut b, "b", "next").await);
    assert_eq!(pa, pb, "both hear the same move");
    assert_eq!(pa["data"]["ticketQueue"]["admitted"], false);
    assert_eq!(Counts::of(&app).await.since(before), (1, 2), "one render for the group's two deliveries");
}
