//! Trusted documents: a production server runs the generated client's documents by id (POST, GET,
//! batches, Apollo's extension and WebSocket subscribe) and refuses other text, unknown ids and
//! malformed ones with stable codes; a bad manifest stops startup naming the id.

use std::collections::HashMap;
use std::time::Duration;

use serde_json::{Value, json};
use stoa_api::{Config, Server};

use crate::helpers::{
    TestApp, TestUser, WsClient, WsEvent, error_code as code, spawn_app_with, trusted_document as document,
    trusted_id as id,
};

async fn get(app: &TestApp, token: Option<&str>, params: &[(&str, &str)]) -> (u16, Value) {
    let mut req = app.http.get(app.url()).query(params);
    if let Some(token) = token {
        req = req.bearer_auth(token);
    }
    let res = req.send().await.unwrap();
    (res.status().as_u16(), res.json().await.unwrap())
}

async fn production() -> TestApp {
    spawn_app_with(&[("STOA_ENV", "production")]).await
}

#[tokio::test]
async fn production_runs_trusted_documents_by_id_and_refuses_other_text() {
    let app = production().await;
    let TestUser { id: user, token, .. } = app.signed_up_trusted("tess").await;
    let me = json!({ "documentId": id("Me") });
    let (status, body) = app.post_json(Some(&token), &me).await;
    assert_eq!((status, body["data"]["me"]["id"].as_str()), (200, Some(user.as_str())), "{body}");

    // Apollo's persisted-query extension names the same document by its bare hash.
    let hash = id("Me").trim_start_matches("sha256:").to_owned();
    let apollo = json!({ "query": "", "extensions": { "persistedQuery": { "version": 1, "sha256Hash": hash } } });
    let (status, body) = app.post_json(Some(&token), &apollo).await;
    assert_eq!((status, body["data"]["me"]["id"].as_str()), (200, Some(user.as_str())), "{body}");

    // The exact listed text runs without its id (Apollo's safelist); other text does not.
    let (_, text) = document("Me");
    let (status, body) = app.post_json(Some(&token), &json!({ "query": text })).await;
    assert_eq!((status, body["data"]["me"]["id"].as_str()), (200, Some(user.as_str())), "{body}");
    let (status, body) = app.post_json(Some(&token), &json!({ "query": "{ me { id } }" })).await;
    assert_eq!((status, code(&body)), (400, "TRUSTED_DOCUMENTS_ONLY"), "{body}");

    // A batch of ids.
    let (status, body) = app.post_json(Some(&token), &json!([me, { "documentId": id("Workspaces") }])).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body[0]["data"]["me"]["id"].as_str(), Some(user.as_str()), "{body}");
    assert!(body[1]["errors"].is_null(), "{body}");
}

#[tokio::test]
async fn unknown_malformed_and_disagreeing_ids_are_refused_with_stable_codes() {
    let app = production().await;
    let TestUser { token, .. } = app.signed_up_trusted("ursula").await;
    let unknown = format!("sha256:{}", stoa_api::trusted::sha256_hex("query Nope { me { id } }"));
    let (status, body) = app.post_json(Some(&token), &json!({ "documentId": unknown })).await;
    assert_eq!((status, code(&body)), (404, "PERSISTED_QUERY_NOT_FOUND"), "{body}");
    for bad in ["md5:0123456789abcdef0123456789abcdef", "sha256:not-hex", "sha256:abc", "my-custom-id", ""] {
        let (status, body) = app.post_json(Some(&token), &json!({ "documentId": bad })).await;
        assert_eq!((status, code(&body)), (400, "BAD_REQUEST"), "{bad:?}: {body}");
    }
    let (status, body) =
        app.post_json(Some(&token), &json!({ "query": "{ me { id } }", "documentId": id("Me") })).await;
    assert_eq!((status, code(&body)), (400, "BAD_REQUEST"), "the text is not the named document: {body}");
    let old = json!({ "extensions": { "persistedQuery": { "version": 2, "sha256Hash": "00" } } });
    let (status, body) = app.post_json(Some(&token), &old).await;
    assert_eq!((status, code(&body)), (400, "BAD_REQUEST"), "{body}");
    // The server is unharmed.
    let (status, body) = app.post_json(Some(&token), &json!({ "documentId": id("Me") })).await;
    assert_eq!(status, 200, "{body}");
}

#[tokio::test]
async fn get_runs_trusted_queries_by_id_and_refuses_a_mutations_id() {
    let app = production().await;
    let TestUser { id: user, token, .. } = app.signed_up_trusted("gail").await;
    let me = id("Me");
    let (status, body) = get(&app, Some(&token), &[("documentId", &me)]).await;
    assert_eq!((status, body["data"]["me"]["id"].as_str()), (200, Some(user.as_str())), "{body}");
    let hash = me.trim_start_matches("sha256:");
    let extensions = json!({ "persistedQuery": { "version": 1, "sha256Hash": hash } }).to_string();
    let (status, body) = get(&app, Some(&token), &[("extensions", &extensions)]).await;
    assert_eq!((status, body["data"]["me"]["id"].as_str()), (200, Some(user.as_str())), "{body}");
    let logout = id("LogoutEverywhere");
    let (status, body) = get(&app, Some(&token), &[("documentId", &logout)]).await;
    assert_eq!((status, code(&body)), (405, "METHOD_NOT_ALLOWED"), "{body}");
    let (status, body) = get(&app, Some(&token), &[("extensions", "[1]")]).await;
    assert_eq!((status, code(&body)), (400, "BAD_REQUEST"), "{body}");
    let (status, body) = get(&app, Some(&token), &[("query", "{ me { id } }")]).await;
    assert_eq!((status, code(&body)), (400, "TRUSTED_DOCUMENTS_ONLY"), "{body}");
}

#[tokio::test]
async fn a_websocket_subscribes_by_id_and_is_refused_other_text() {
    let app = production().await;
    let TestUser { token, .. } = app.signed_up_trusted("wanda").await;
    let (status, body) = app
        .post_json(
            Some(&token),
            &json!({ "documentId": id("CreateWorkspace"), "variables": { "input": { "name": "Trusted" } } }),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let workspace = body["data"]["createWorkspace"]["workspace"]["id"].as_str().unwrap().to_owned();
    let input = json!({ "workspaceId": workspace, "name": "general" });
    let (_, body) = app
        .post_json(Some(&token), &json!({ "documentId": id("CreateChannel"), "variables": { "input": input } }))
        .await;
    let channel = body["data"]["createChannel"]["channel"]["id"].as_str().unwrap().to_owned();

    let mut ws = WsClient::init(&app, Some(&token)).await;
    let payload = |extra: Value| {
        let mut payload = json!({ "query": "", "variables": { "channelId": channel } });
        for (key, value) in extra.as_object().cloned().unwrap_or_default() {
            payload[key] = value;
        }
        payload
    };
    ws.send(
        json!({ "id": "1", "type": "subscribe", "payload": payload(json!({ "documentId": id("ChannelEvents") })) }),
    )
    .await;
    let unknown = format!("sha256:{}", "0".repeat(64));
    ws.send(json!({ "id": "2", "type": "subscribe", "payload": payload(json!({ "documentId": unknown })) })).await;
    ws.send(json!({ "id": "3", "type": "subscribe", "payload": payload(json!({ "query": "subscription { typing(channelId: \"x\") { channelId } }" })) }))
        .await;
    let mut refused = HashMap::new();
    for _ in 0..2 {
        let frame = ws.next_json().await;
        assert_eq!(frame["type"], "error", "{frame}");
        refused.insert(frame["id"].as_str().unwrap().to_owned(), frame["payload"][0]["extensions"]["code"].clone());
    }
    assert_eq!(refused["2"], "PERSISTED_QUERY_NOT_FOUND");
    assert_eq!(refused["3"], "TRUSTED_DOCUMENTS_ONLY");

    let post_input = json!({ "channelId": channel, "body": "by id" });
    let (status, body) = app
        .post_json(Some(&token), &json!({ "documentId": id("PostMessage"), "variables": { "input": post_input } }))
        .await;
    assert_eq!(status, 200, "{body}");
    let event = loop {
        match ws.next_within(Duration::from_secs(5)).await {
            WsEvent::Json(frame) if frame["type"] == "next" => break frame,
            WsEvent::Json(frame) if frame["type"] == "ping" => {}
            other => panic!("expected the event, got {other:?}"),
        }
    };
    assert_eq!(event["id"], "1");
    assert_eq!(event["payload"]["data"]["channelEvents"]["message"]["body"], "by id", "{event}");
}

#[tokio::test]
async fn development_runs_any_text_and_log_mode_runs_it_too() {
    for mode in ["off", "log"] {
        let app = spawn_app_with(&[("STOA_TRUSTED_DOCUMENTS_MODE", mode)]).await;
        let res = app.gql("{ __typename }", json!({})).await;
        assert_eq!(res.body["data"]["__typename"], "Query", "{mode}: {}", res.body);
        let (status, body) = app.post_json(None, &json!({ "documentId": id("Me") })).await;
        assert_eq!((status, code(&body)), (200, "UNAUTHENTICATED"), "{mode}: ids resolve in every mode: {body}");
    }
}

async fn startup_error(vars: &[(&str, String)]) -> String {
    let dir = std::env::temp_dir().join(format!("stoa-trusted-{}", uuid::Uuid::now_v7()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut all: HashMap<String, String> = HashMap::from([
        ("STOA_BIND".into(), "127.0.0.1:0".into()),
        ("STOA_DATA_DIR".into(), dir.display().to_string()),
        ("DATABASE_URL".into(), format!("sqlite://{}", dir.join("t.db").display())),
    ]);
    all.extend(vars.iter().map(|(k, v)| ((*k).to_owned(), v.clone())));
    let config = Config::from_lookup(|k| all.get(k).cloned()).unwrap();
    let error = Server::build(config).await.err().map(|e| format!("{e:#}")).unwrap_or_default();
    let _ = std::fs::remove_dir_all(&dir);
    error
}

#[tokio::test]
async fn a_bad_manifest_stops_startup_naming_the_document() {
    let dir = std::env::temp_dir().join(format!("stoa-manifests-{}", uuid::Uuid::now_v7()));
    std::fs::create_dir_all(&dir).unwrap();
    let text = "query Other { me { id } }";
    let wrong = format!("sha256:{}", stoa_api::trusted::sha256_hex("query Else { me { id } }"));
    let broken = "query Broken { me { id ";
    let broken_id = format!("sha256:{}", stoa_api::trusted::sha256_hex(broken));
    let cases = [
        (json!({ wrong.clone(): text }).to_string(), wrong.clone()),
        (json!({ broken_id.clone(): broken }).to_string(), broken_id.clone()),
        ("not json".to_owned(), "not a JSON object".to_owned()),
    ];
    for (i, (manifest, expected)) in cases.into_iter().enumerate() {
        let path = dir.join(format!("m{i}.json"));
        std::fs::write(&path, manifest).unwrap();
        let error = startup_error(&[("STOA_TRUSTED_DOCUMENTS", path.display().to_string())]).await;
        assert!(error.contains(&expected) && error.contains("STOA_TRUSTED_DOCUMENTS"), "{error}");
    }
    let missing = startup_error(&[("STOA_TRUSTED_DOCUMENTS", dir.join("absent.json").display().to_string())]).await;
    assert!(missing.contains("absent.json"), "{missing}");
    // A good extra manifest is served beside the embedded one.
    let path = dir.join("good.json");
    let good = format!("sha256:{}", stoa_api::trusted::sha256_hex(text));
    std::fs::write(&path, json!({ good.clone(): text }).to_string()).unwrap();
    let app =
        spawn_app_with(&[("STOA_ENV", "production"), ("STOA_TRUSTED_DOCUMENTS", &path.display().to_string())]).await;
    let (status, body) = app.post_json(None, &json!({ "documentId": good })).await;
    assert_eq!((status, code(&body)), (200, "UNAUTHENTICATED"), "{body}");
    let _ = std::fs::remove_dir_all(&dir);
}
