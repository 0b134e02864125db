//! Amplification: one cheap request must not buy unbounded work or storage. Reactions are real
//! emoji, at most 50 different ones per message.

use serde_json::json;

use crate::helpers::{TestApp, TestUser, spawn_app};

const CREATE_CHANNEL: &str =
    "mutation($input: CreateChannelInput!) { createChannel(input: $input) { channel { id } } }";
const POST: &str = "mutation($input: PostMessageInput!) { postMessage(input: $input) { message { id } } }";
const REACT: &str = "mutation($id: ID!, $e: String!) { toggleReaction(input: { messageId: $id, emoji: $e }) { added message { reactions { emoji } } } }";

/// alice alone in a workspace with one public channel and one message in it.
async fn one_message(app: &TestApp) -> (TestUser, String) {
    let alice = app.signed_up("alice").await;
    let ws = app.workspace(&alice, "W").await;
    let input = json!({ "input": { "workspaceId": ws, "name": "general", "kind": "PUBLIC", "memberIds": [] } });
    let res = app.gql_as(Some(&alice.token), CREATE_CHANNEL, input).await.ok();
    let channel = res.data()["createChannel"]["channel"]["id"].as_str().unwrap().to_owned();
    let res =
        app.gql_as(Some(&alice.token), POST, json!({ "input": { "channelId": channel, "body": "hi" } })).await.ok();
    (alice, res.data()["postMessage"]["message"]["id"].as_str().unwrap().to_owned())
}

#[tokio::test]
async fn reactions_are_real_emoji_and_at_most_50_different_per_message() {
    let app = spawn_app().await;
    let (alice, message) = one_message(&app).await;
    for good in ["👍", "👍🏽", "👩‍👩‍👧", "❤️", "🇫🇷"] {
        let res = app.gql_as(Some(&alice.token), REACT, json!({ "id": message, "e": good })).await;
        assert_eq!(res.body["data"]["toggleReaction"]["added"], true, "{good}: {}", res.body);
        app.gql_as(Some(&alice.token), REACT, json!({ "id": message, "e": good })).await.ok();
    }
    // Symbols that are not emoji, and strings of several emoji, are refused.
    for bad in ["→", "★★", "👍👍", "§", "٩(◕‿◕)۶", "\u{200d}", "👍 "] {
        let res = app.gql_as(Some(&alice.token), REACT, json!({ "id": message, "e": bad })).await;
        assert_eq!(res.error_code().as_deref(), Some("BAD_USER_INPUT"), "{bad:?}: {}", res.body);
    }
    let fifty: Vec<&str> = emojis_sample();
    assert_eq!(fifty.len(), 51);
    for e in &fifty[..50] {
        app.gql_as(Some(&alice.token), REACT, json!({ "id": message, "e": e })).await.ok();
    }
    let one_more = app.gql_as(Some(&alice.token), REACT, json!({ "id": message, "e": fifty[50] })).await;
    assert_eq!(one_more.error_code().as_deref(), Some("CONFLICT"), "{}", one_more.body);
    // An emoji already on the message can still be toggled.
    let again = app.gql_as(Some(&alice.token), REACT, json!({ "id": message, "e": fifty[0] })).await.ok();
    assert_eq!(again.data()["toggleReaction"]["added"], false);
}

/// 51 different single emoji.
fn emojis_sample() -> Vec<&'static str> {
    vec![
        "😀", "😁", "😂", "🤣", "😃", "😄", "😅", "😆", "😉", "😊", "😋", "😎", "😍", "😘", "🥰", "😗", "😙", "😚",
        "🙂", "🤗", "🤩", "🤔", "🤨", "😐", "😑", "😶", "🙄", "😏", "😣", "😥", "😮", "🤐", "😯", "😪", "😫", "🥱",
        "😴", "😌", "😛", "😜", "😝", "🤤", "😒", "😓", "😔", "😕", "🙃", "🤑", "😲", "🙁", "😖",
    ]
}

#[tokio::test]
async fn at_channel_in_a_large_channel_needs_a_moderator_and_notifies_everyone_in_one_go() {
    let app = crate::helpers::spawn_app_with(&[("STOA_CHANNEL_MENTION_MAX_MEMBERS", "2")]).await;
    let (alice, bob, carol) = (app.signed_up("alice").await, app.signed_up("bob").await, app.signed_up("carol").await);
    let ws = app.workspace(&alice, "W").await;
    app.add(&alice, &ws, &bob, "MEMBER").await;
    app.add(&alice, &ws, &carol, "MEMBER").await;
    let input =
        json!({ "input": { "workspaceId": ws, "name": "all", "kind": "PRIVATE", "memberIds": [bob.id, carol.id] } });
    let res = app.gql_as(Some(&alice.token), CREATE_CHANNEL, input).await.ok();
    let channel = res.data()["createChannel"]["channel"]["id"].as_str().unwrap().to_owned();
    let post = |by: &TestUser, body: &str| {
        let vars = json!({ "input": { "channelId": channel, "body": body } });
        let token = by.token.clone();
        let app = &app;
        async move { app.gql_as(Some(&token), POST, vars).await }
    };

    let refused = post(&bob, "@channel everyone look").await;
    assert_eq!(refused.error_code().as_deref(), Some("FORBIDDEN"), "{}", refused.body);
    assert_eq!(refused.body["errors"][0]["extensions"]["needed"], "MentionEveryone");
    post(&bob, "a plain post is fine").await.ok();
    post(&alice, "@channel from the owner").await.ok();

    for user in [&bob, &carol] {
        let count = app.gql_as(Some(&user.token), "{ unreadNotificationCount }", json!({})).await.ok();
        assert_eq!(count.data()["unreadNotificationCount"], 1, "{}", user.id);
    }
}

#[tokio::test]
async fn channels_come_a_page_at_a_time() {
    let app = spawn_app().await;
    let alice = app.signed_up("alice").await;
    let ws = app.workspace(&alice, "W").await;
    for name in ["a", "b", "c"] {
        let input = json!({ "input": { "workspaceId": ws, "name": name, "kind": "PUBLIC", "memberIds": [] } });
        app.gql_as(Some(&alice.token), CREATE_CHANNEL, input).await.ok();
    }
    let page = "query($ws: ID!, $first: Int, $after: String) { channels(workspaceId: $ws, first: $first, after: $after) { edges { cursor node { name } } pageInfo { hasNextPage } } }";
    let first = app.gql_as(Some(&alice.token), page, json!({ "ws": ws, "first": 2 })).await.ok();
    let c = &first.data()["channels"];
    let names: Vec<&str> = c["edges"].as_array().unwrap().iter().map(|e| e["node"]["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["a", "b"]);
    assert_eq!(c["pageInfo"]["hasNextPage"], true);
    let cursor = c["edges"][1]["cursor"].as_str().unwrap();
    let rest = app.gql_as(Some(&alice.token), page, json!({ "ws": ws, "first": 2, "after": cursor })).await.ok();
    assert_eq!(rest.data()["channels"]["edges"].as_array().map(Vec::len), Some(1));
    assert_eq!(rest.data()["channels"]["pageInfo"]["hasNextPage"], false);
    let negative = app.gql_as(Some(&alice.token), page, json!({ "ws": ws, "first": -1 })).await;
    assert_eq!(negative.error_code().as_deref(), Some("BAD_USER_INPUT"));
}
