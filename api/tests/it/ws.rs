//! Both WebSocket subprotocols, one test per protocol rule, through a real socket.

use std::time::Duration;

use serde_json::json;

use crate::helpers::{WsClient, WsEvent, spawn_app, spawn_app_with};

const TYPENAME: &str = "{ __typename }";

fn subscribe(id: &str, query: &str) -> serde_json::Value {
    json!({ "id": id, "type": "subscribe", "payload": { "query": query } })
}

#[tokio::test]
async fn queries_run_over_the_socket_and_finish_with_complete() {
    let app = spawn_app().await;
    let alice = app.signed_up("alice").await;
    let mut ws = WsClient::init(&app, Some(&alice.token)).await;

    ws.send(subscribe("q1", "{ me { id } }")).await;

    let next = ws.next_json().await;
    assert_eq!(next, json!({ "id": "q1", "type": "next", "payload": { "data": { "me": { "id": alice.id } } } }));
    assert_eq!(ws.next_json().await, json!({ "id": "q1", "type": "complete" }));
}

#[tokio::test]
async fn no_connection_init_in_time_closes_4408() {
    let app = spawn_app_with(&[("STOA_WS_INIT_TIMEOUT_MS", "200")]).await;
    let mut ws = WsClient::connect(&app, "graphql-transport-ws").await;
    ws.expect_close(4408).await;
}

#[tokio::test]
async fn subscribe_before_ack_closes_4401() {
    let app = spawn_app().await;
    let mut ws = WsClient::connect(&app, "graphql-transport-ws").await;
    ws.send(subscribe("1", TYPENAME)).await;
    ws.expect_close(4401).await;
}

#[tokio::test]
async fn a_refused_token_in_connection_init_closes_4403() {
    let app = spawn_app().await;
    let mut ws = WsClient::connect(&app, "graphql-transport-ws").await;
    ws.send(json!({ "type": "connection_init", "payload": { "authorization": "Bearer forged.token.here" } })).await;
    ws.expect_close(4403).await;
}

#[tokio::test]
async fn a_second_connection_init_closes_4429() {
    let app = spawn_app().await;
    let mut ws = WsClient::init(&app, None).await;
    ws.send(json!({ "type": "connection_init" })).await;
    ws.expect_close(4429).await;
}

#[tokio::test]
async fn malformed_and_unknown_messages_close_4400() {
    let app = spawn_app().await;
    for bad in [
        "not json".to_owned(),
        json!({ "type": "nonsense" }).to_string(),
        json!({ "id": "1" }).to_string(),
        json!({ "type": "subscribe", "payload": { "query": TYPENAME } }).to_string(),
        json!({ "type": "subscribe", "id": "1", "payload": { "nope": 1 } }).to_string(),
    ] {
        let mut ws = WsClient::init(&app, None).await;
        ws.send_raw(&bad).await;
        ws.expect_close(4400).await;
    }
    let mut ws = WsClient::connect(&app, "graphql-transport-ws").await;
    ws.send(json!({ "type": "connection_init", "payload": "a string" })).await;
    ws.expect_close(4400).await;
}

#[tokio::test]
async fn a_second_subscribe_with_a_running_id_closes_4409() {
    let app = spawn_app().await;
    let alice = app.signed_up("alice").await;
    let ws_id = app.workspace(&alice, "W").await;
    let mut ws = WsClient::init(&app, Some(&alice.token)).await;
    let sub = json!({ "id": "s", "type": "subscribe", "payload": { "query": "subscription($w: ID!) { membershipChanged(workspaceId: $w) { userId } }", "variables": { "w": ws_id } } });
    ws.send(sub.clone()).await;
    ws.send(sub).await;
    ws.expect_close(4409).await;
}

#[tokio::test]
async fn a_subscribe_that_fails_validation_gets_an_error_message() {
    let app = spawn_app().await;
    let mut ws = WsClient::init(&app, None).await;
    ws.send(subscribe("v", "{ nope }")).await;
    let msg = ws.next_json().await;
    assert_eq!(msg["type"], "error");
    assert_eq!(msg["id"], "v");
    assert_eq!(msg["payload"][0]["extensions"]["code"], "GRAPHQL_VALIDATION_FAILED");
    ws.send(json!({ "type": "ping" })).await;
    assert_eq!(ws.next_json().await["type"], "pong", "the connection stays usable and no complete follows the error");
}

#[tokio::test]
async fn a_hostile_document_over_the_socket_is_refused_and_the_socket_lives() {
    let app = spawn_app().await;
    let mut ws = WsClient::init(&app, None).await;
    ws.send(subscribe("h", &format!("{{ me(a: {}1{}) {{ id }} }}", "[".repeat(1600), "]".repeat(1600)))).await;
    let msg = ws.next_json().await;
    assert_eq!(msg["type"], "error");
    assert_eq!(msg["payload"][0]["extensions"]["code"], "QUERY_TOO_COMPLEX");
    ws.send(subscribe("ok", TYPENAME)).await;
    assert_eq!(ws.next_json().await["payload"]["data"]["__typename"], "Query");
}

#[tokio::test]
async fn ping_gets_pong_and_complete_stops_an_operation() {
    let app = spawn_app().await;
    let alice = app.signed_up("alice").await;
    let bob = app.signed_up("bob").await;
    let ws_id = app.workspace(&alice, "W").await;
    let mut ws = WsClient::init(&app, Some(&alice.token)).await;
    ws.send(json!({ "type": "ping" })).await;
    assert_eq!(ws.next_json().await, json!({ "type": "pong" }));
    let sub = json!({ "id": "s", "type": "subscribe", "payload": { "query": "subscription($w: ID!) { membershipChanged(workspaceId: $w) { userId } }", "variables": { "w": ws_id } } });
    ws.send(sub.clone()).await;
    ws.send(json!({ "id": "s", "type": "complete" })).await;
    ws.send(json!({ "type": "ping" })).await;
    assert_eq!(ws.next_json().await["type"], "pong");

    app.add(&alice, &ws_id, &bob, "MEMBER").await;

    ws.send(json!({ "type": "ping" })).await;
    assert_eq!(ws.next_json().await, json!({ "type": "pong" }), "nothing is sent for a completed id");
    ws.send(sub).await;
    ws.send(json!({ "type": "ping" })).await;
    assert_eq!(ws.next_json().await["type"], "pong", "the id can be reused after complete");
}

#[tokio::test]
async fn an_unknown_subprotocol_closes_4406() {
    let app = spawn_app().await;
    let mut request =
        tokio_tungstenite::tungstenite::client::IntoClientRequest::into_client_request(app.ws_url()).unwrap();
    request.headers_mut().insert("Sec-WebSocket-Protocol", "mqtt".parse().unwrap());
    // The handshake itself may be refused by the client for the missing protocol echo; either way no session starts.
    if let Ok((mut stream, _)) = tokio_tungstenite::connect_async(request).await {
        use futures::StreamExt as _;
        let msg = tokio::time::timeout(Duration::from_secs(5), stream.next()).await.unwrap();
        if let Some(Ok(tokio_tungstenite::tungstenite::Message::Close(Some(frame)))) = msg {
            assert_eq!(u16::from(frame.code), 4406);
        }
    }
}

#[tokio::test]
async fn the_legacy_protocol_acks_keeps_alive_streams_and_terminates_cleanly() {
    let app = spawn_app_with(&[("STOA_WS_KEEPALIVE_SECS", "1")]).await;
    let alice = app.signed_up("alice").await;
    let mut ws = WsClient::connect(&app, "graphql-ws").await;
    ws.send(json!({ "type": "connection_init", "payload": { "authToken": alice.token } })).await;
    assert_eq!(ws.next_json().await["type"], "connection_ack");
    assert_eq!(ws.next_json().await["type"], "ka");

    ws.send(json!({ "id": "1", "type": "start", "payload": { "query": "{ me { id } }" } })).await;
    let mut seen = Vec::new();
    while seen.last().map(|m: &serde_json::Value| m["type"].clone()) != Some(json!("complete")) {
        let msg = ws.next_json().await;
        if msg["type"] != "ka" {
            seen.push(msg);
        }
    }
    assert_eq!(seen[0], json!({ "id": "1", "type": "data", "payload": { "data": { "me": { "id": alice.id } } } }));
    assert_eq!(seen[1], json!({ "id": "1", "type": "complete" }));

    ws.send(json!({ "id": "2", "type": "start", "payload": { "query": "{ nope }" } })).await;
    let mut err = ws.next_json().await;
    while err["type"] == "ka" {
        err = ws.next_json().await;
    }
    assert_eq!(err["type"], "error");
    assert_eq!(err["id"], "2");

    let ka = loop {
        let msg = ws.next_json().await;
        if msg["type"] == "ka" {
            break msg;
        }
    };
    assert_eq!(ka, json!({ "type": "ka" }));
    ws.send(json!({ "type": "connection_terminate" })).await;
    loop {
        match ws.next_within(Duration::from_secs(5)).await {
            WsEvent::Closed(code) => {
                assert_eq!(code, Some(1000));
                break;
            }
            WsEvent::Json(msg) => assert_eq!(msg["type"], "ka"),
        }
    }
}

#[tokio::test]
async fn a_subscribe_over_budget_gets_a_rate_limited_error_and_the_socket_lives() {
    let app = spawn_app_with(&[("STOA_RATE_LIMIT_IP_PER_MIN", "2")]).await;
    let mut ws = WsClient::init(&app, None).await;
    for id in ["1", "2"] {
        ws.send(subscribe(id, TYPENAME)).await;
        assert_eq!(ws.next_json().await["type"], "next");
        assert_eq!(ws.next_json().await["type"], "complete");
    }
    ws.send(subscribe("3", TYPENAME)).await;
    let msg = ws.next_json().await;
    assert_eq!(msg["type"], "error");
    assert_eq!(msg["payload"][0]["extensions"]["code"], "RATE_LIMITED");
    ws.send(json!({ "type": "ping" })).await;
    assert_eq!(ws.next_json().await["type"], "pong");
}

#[tokio::test]
async fn legacy_protocol_errors_outside_an_operation_carry_a_code() {
    let app = spawn_app().await;
    let mut ws = WsClient::connect(&app, "graphql-ws").await;
    ws.send(json!({ "type": "connection_init" })).await;
    assert_eq!(ws.next_json().await["type"], "connection_ack");
    ws.send(json!({ "type": "nonsense" })).await;
    let mut err = ws.next_json().await;
    while err["type"] == "ka" {
        err = ws.next_json().await;
    }
    assert_eq!(err["type"], "error");
    assert_eq!(err["payload"]["extensions"]["code"], "BAD_REQUEST");

    let mut refused = WsClient::connect(&app, "graphql-ws").await;
    refused.send(json!({ "type": "connection_init", "payload": { "authToken": "forged.token.here" } })).await;
    let err = refused.next_json().await;
    assert_eq!(err["type"], "connection_error");
    assert_eq!(err["payload"]["extensions"]["code"], "UNAUTHENTICATED");
    refused.expect_close(4403).await;
}
