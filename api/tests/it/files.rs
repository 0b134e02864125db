//! Files through the API: multipart and signed-URL uploads, scanning, attachments, downloads, and
//! every refusal. Runs on the local folder by default; on S3 when `.ci/run` sets `TEST_S3_*`.

use serde_json::{Value, json};

use crate::helpers::{TestApp, TestUser, WsClient, error_code as code, spawn_app, spawn_app_with};

pub(crate) const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR fake png body";
const EICAR: &[u8] = br"X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*";
const UPLOAD: &str = "mutation($ws: ID!, $file: Upload!) { uploadFile(workspaceId: $ws, file: $file) { attachment { id status filename mime size scanDetail } } }";
const ATTACHMENT: &str = "query($id: ID!) { attachment(id: $id) { id status downloadUrl } }";

/// Storage settings for this run: S3 (the real peer `.ci/run` starts) or the local folder.
fn storage_vars() -> Vec<(String, String)> {
    match std::env::var("TEST_S3_ENDPOINT") {
        Ok(endpoint) => vec![
            ("STORAGE_URL".into(), format!("s3://{}", std::env::var("TEST_S3_BUCKET").expect("TEST_S3_BUCKET"))),
            ("S3_ENDPOINT".into(), endpoint),
            ("AWS_ACCESS_KEY_ID".into(), std::env::var("TEST_S3_ACCESS_KEY").expect("TEST_S3_ACCESS_KEY")),
            ("AWS_SECRET_ACCESS_KEY".into(), std::env::var("TEST_S3_SECRET_KEY").expect("TEST_S3_SECRET_KEY")),
        ],
        Err(_) => Vec::new(),
    }
}

pub(crate) async fn files_app(extra: &[(&str, &str)]) -> TestApp {
    let mut vars = storage_vars();
    vars.extend(extra.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())));
    spawn_app_with(&vars.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect::<Vec<_>>()).await
}

/// A GraphQL multipart request (spec: operations, map, files).
pub(crate) async fn multipart(
    app: &TestApp,
    token: &str,
    ws: &str,
    name: &str,
    mime: &str,
    bytes: &[u8],
    preflight: bool,
) -> (u16, Value) {
    let operations = json!({ "query": UPLOAD, "variables": { "ws": ws, "file": null } });
    let form = reqwest::multipart::Form::new()
        .text("operations", operations.to_string())
        .text("map", json!({ "0": ["variables.file"] }).to_string())
        .part("0", reqwest::multipart::Part::bytes(bytes.to_vec()).file_name(name.to_owned()).mime_str(mime).unwrap());
    let mut req = app.http.post(app.url()).bearer_auth(token).multipart(form);
    if preflight {
        req = req.header("apollo-require-preflight", "true");
    }
    let res = req.send().await.unwrap();
    (res.status().as_u16(), res.json().await.unwrap())
}

async fn setup(app: &TestApp) -> (TestUser, String) {
    let alice = app.signed_up("alice").await;
    let ws = app.workspace(&alice, "W").await;
    (alice, ws)
}

#[tokio::test]
async fn a_clean_upload_is_attached_to_a_message_and_downloads_through_a_signed_url() {
    let app = files_app(&[]).await;
    let (alice, ws) = setup(&app).await;
    let (status, body) = multipart(&app, &alice.token, &ws, "photo.png", "image/png", PNG, true).await;
    assert_eq!(status, 200, "{body}");
    let attachment = &body["data"]["uploadFile"]["attachment"];
    assert_eq!(attachment["status"], "CLEAN", "the inline scan runs before the mutation returns");
    assert_eq!(attachment["size"], PNG.len());
    let id = attachment["id"].as_str().unwrap();

    let channel = app
        .gql_as(
            Some(&alice.token),
            "mutation($ws: ID!) { createChannel(input: { workspaceId: $ws, name: \"pics\" }) { channel { id } } }",
            json!({ "ws": ws }),
        )
        .await
        .ok();
    let channel = channel.data()["createChannel"]["channel"]["id"].as_str().unwrap().to_owned();
    let posted = app
        .gql_as(
            Some(&alice.token),
            "mutation($c: ID!, $a: [ID!]!) { postMessage(input: { channelId: $c, body: \"look\", attachmentIds: $a }) { message { id } } }",
            json!({ "c": channel, "a": [id] }),
        )
        .await
        .ok();
    let message = posted.data()["postMessage"]["message"]["id"].clone();
    let read = app
        .gql_as(
            Some(&alice.token),
            "query($id: ID!) { message(id: $id) { attachments { id filename downloadUrl } } }",
            json!({ "id": message }),
        )
        .await
        .ok();
    let url = read.data()["message"]["attachments"][0]["downloadUrl"].as_str().unwrap().to_owned();
    let downloaded = app.http.get(&url).send().await.unwrap();
    assert_eq!(downloaded.status().as_u16(), 200);
    assert_eq!(downloaded.bytes().await.unwrap().as_ref(), PNG);

    let again = app
        .gql_as(Some(&alice.token), "mutation($c: ID!, $a: [ID!]!) { postMessage(input: { channelId: $c, body: \"twice\", attachmentIds: $a }) { message { id } } }", json!({ "c": channel, "a": [id] }))
        .await;
    assert_eq!(again.error_code().as_deref(), Some("BAD_USER_INPUT"), "an attachment has one owner");
}

#[tokio::test]
async fn eicar_is_caught_deleted_and_its_uploader_told() {
    let app = files_app(&[]).await;
    let (alice, ws) = setup(&app).await;
    let mut socket = WsClient::init(&app, Some(&alice.token)).await;
    socket.send(json!({ "id": "s", "type": "subscribe", "payload": { "query": "subscription { attachmentScanned { id status scanDetail } }" } })).await;
    socket.send(json!({ "type": "ping" })).await;
    assert_eq!(socket.next_json().await["type"], "pong");

    let (_, body) = multipart(&app, &alice.token, &ws, "readme.txt", "text/plain", EICAR, true).await;

    let attachment = &body["data"]["uploadFile"]["attachment"];
    assert_eq!(attachment["status"], "INFECTED", "{body}");
    assert!(attachment["scanDetail"].as_str().unwrap().to_lowercase().contains("eicar"));
    let id = attachment["id"].as_str().unwrap();
    let download = app.gql_as(Some(&alice.token), ATTACHMENT, json!({ "id": id })).await;
    assert_eq!(download.error_code().as_deref(), Some("CONFLICT"));
    let notes =
        app.gql_as(Some(&alice.token), "{ notifications(first: 1) { edges { node { kind } } } }", json!({})).await.ok();
    assert_eq!(notes.data()["notifications"]["edges"][0]["node"]["kind"], "file_infected");
    let pushed = loop {
        let msg = socket.next_json().await;
        if msg["type"] == "next" {
            break msg;
        }
    };
    assert_eq!(pushed["payload"]["data"]["attachmentScanned"]["status"], "INFECTED");
}

#[tokio::test]
async fn oversize_wrong_type_disguised_executables_and_missing_preflight_are_refused() {
    let app = files_app(&[("STOA_MAX_UPLOAD_BYTES", "1000")]).await;
    let (alice, ws) = setup(&app).await;
    let (status, body) = multipart(&app, &alice.token, &ws, "big.txt", "text/plain", &[b'a'; 1001], true).await;
    assert_eq!((status, code(&body)), (413, "PAYLOAD_TOO_LARGE"), "{body}");
    let cases: [(&str, &str, &[u8], &str); 3] = [
        ("tool.exe", "application/x-msdownload", b"MZ\x90\x00", "mime"),
        ("photo.png", "image/png", b"MZ\x90\x00 really a windows program", "file"),
        ("photo.jpg", "image/png", PNG, "mime"),
    ];
    for (name, mime, bytes, field) in cases {
        let (_, body) = multipart(&app, &alice.token, &ws, name, mime, bytes, true).await;
        assert_eq!(code(&body), "BAD_USER_INPUT", "{name}: {body}");
        assert_eq!(body["errors"][0]["extensions"]["field"], field, "{name}");
    }
    let (status, body) = multipart(&app, &alice.token, &ws, "photo.png", "image/png", PNG, false).await;
    assert_eq!(status, 400);
    assert_eq!(code(&body), "BAD_REQUEST");
}

#[tokio::test]
async fn a_large_upload_goes_through_a_signed_put_url_and_completes() {
    let app = files_app(&[]).await;
    let (alice, ws) = setup(&app).await;
    let created = app
        .gql_as(
            Some(&alice.token),
            "mutation($i: CreateUploadInput!) { createUpload(input: $i) { uploadUrl attachment { id status } } }",
            json!({ "i": { "workspaceId": ws, "filename": "report.pdf", "mime": "application/pdf", "size": 9 } }),
        )
        .await
        .ok();
    let upload = &created.data()["createUpload"];
    assert_eq!(upload["attachment"]["status"], "AWAITING_UPLOAD");
    let id = upload["attachment"]["id"].as_str().unwrap().to_owned();
    let url = upload["uploadUrl"].as_str().unwrap().to_owned();

    let early = app
        .gql_as(
            Some(&alice.token),
            "mutation($id: ID!) { completeUpload(id: $id) { attachment { status } } }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(early.error_code().as_deref(), Some("BAD_USER_INPUT"), "nothing uploaded yet");
    let put =
        app.http.put(&url).header("content-type", "application/pdf").body(b"%PDF-1.7\n".to_vec()).send().await.unwrap();
    assert!(put.status().is_success(), "{}", put.status());
    let done = app
        .gql_as(
            Some(&alice.token),
            "mutation($id: ID!) { completeUpload(id: $id) { attachment { status } } }",
            json!({ "id": id }),
        )
        .await
        .ok();
    assert_eq!(done.data()["completeUpload"]["attachment"]["status"], "CLEAN");
    let url = app.gql_as(Some(&alice.token), ATTACHMENT, json!({ "id": id })).await.ok();
    let download = app.http.get(url.data()["attachment"]["downloadUrl"].as_str().unwrap()).send().await.unwrap();
    // Saved, never rendered: on S3 the presigned GET forces these, locally Stoa's handler sets them.
    let header = |name: &str| download.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
    assert_eq!(header("content-type").as_deref(), Some("application/octet-stream"));
    assert!(
        header("content-disposition").is_some_and(|d| d.starts_with("attachment")),
        "{:?}",
        header("content-disposition")
    );
    assert_eq!(download.bytes().await.unwrap().as_ref(), b"%PDF-1.7\n");
}

/// `url` with the last hex digit of its signature changed to another hex digit. Replacing it with a
/// fixed digit would leave the URL valid whenever the signature already ended in that digit.
fn tamper(url: &str) -> String {
    let (head, last) = url.split_at(url.len() - 1);
    let digit = u32::from_str_radix(last, 16).unwrap_or_else(|_| panic!("{url} does not end in a hex digit"));
    let other = char::from_digit((digit + 1) % 16, 16).unwrap();
    format!("{head}{other}")
}

#[tokio::test]
async fn tampered_and_expired_signed_urls_are_refused_on_local_storage() {
    use hmac::{Hmac, Mac as _};
    assert!(
        std::env::var("TEST_S3_ENDPOINT").is_err(),
        "this test covers Stoa's local signed URLs (S3 checks its own): exclude it where TEST_S3_ENDPOINT is set"
    );
    let app = files_app(&[]).await;
    let (alice, ws) = setup(&app).await;
    let (_, body) = multipart(&app, &alice.token, &ws, "a.txt", "text/plain", b"secret notes", true).await;
    let id = body["data"]["uploadFile"]["attachment"]["id"].as_str().unwrap().to_owned();
    let res = app.gql_as(Some(&alice.token), ATTACHMENT, json!({ "id": id })).await.ok();
    let url = res.data()["attachment"]["downloadUrl"].as_str().unwrap().to_owned();

    let tampered_sig = tamper(&url);
    assert_ne!(tampered_sig, url);
    let other_key = url.replace(&id, &uuid::Uuid::now_v7().to_string());
    let unsigned = url.split('?').next().unwrap().to_owned();
    for (what, bad) in [("signature", tampered_sig), ("key", other_key), ("unsigned", unsigned)] {
        let status = app.http.get(&bad).send().await.unwrap().status().as_u16();
        assert_eq!(status, 403, "{what}");
    }
    let key = stoa_api::secret::files_signing_key(&app.secret.as_bytes().to_vec().into());
    let exp = chrono::Utc::now().timestamp() - 10;
    let path = format!("clean/{id}");
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(&key).unwrap();
    mac.update(format!("GET\n{path}\n{exp}").as_bytes());
    let sig = hex::encode(mac.finalize().into_bytes());
    let expired = format!("http://{}/files/{path}?exp={exp}&sig={sig}", app.addr);
    assert_eq!(app.http.get(&expired).send().await.unwrap().status().as_u16(), 403, "expired");
    let upload_elsewhere = url.replace("/files/clean/", "/files/quarantine/");
    assert_eq!(app.http.put(&upload_elsewhere).body("x").send().await.unwrap().status().as_u16(), 403);
}

#[tokio::test]
async fn another_workspaces_file_is_not_found() {
    let app = spawn_app().await;
    let (alice, ws) = setup(&app).await;
    let mallory = app.signed_up("mallory").await;
    let (_, body) = multipart(&app, &alice.token, &ws, "a.txt", "text/plain", b"private", true).await;
    let id = body["data"]["uploadFile"]["attachment"]["id"].as_str().unwrap().to_owned();

    let peek = app.gql_as(Some(&mallory.token), ATTACHMENT, json!({ "id": id })).await;
    assert_eq!(peek.error_code().as_deref(), Some("NOT_FOUND"));
    let (_, body) = multipart(&app, &mallory.token, &ws, "b.txt", "text/plain", b"x", true).await;
    assert_eq!(code(&body), "NOT_FOUND", "uploading into someone else's workspace");
    let complete = app
        .gql_as(
            Some(&mallory.token),
            "mutation($id: ID!) { completeUpload(id: $id) { attachment { id } } }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(complete.error_code().as_deref(), Some("NOT_FOUND"));
}

#[tokio::test]
async fn a_database_outage_while_checking_who_may_see_a_file_is_internal_not_not_found() {
    use sea_orm::ConnectionTrait as _;
    let app = files_app(&[]).await;
    let (alice, ws) = setup(&app).await;
    let bob = app.signed_up("bob").await;
    app.add(&alice, &ws, &bob, "MEMBER").await;
    let (_, body) = multipart(&app, &alice.token, &ws, "a.txt", "text/plain", b"shared", true).await;
    let id = body["data"]["uploadFile"]["attachment"]["id"].as_str().unwrap().to_owned();
    let channel = app
        .gql_as(
            Some(&alice.token),
            "mutation($ws: ID!) { createChannel(input: { workspaceId: $ws, name: \"docs\" }) { channel { id } } }",
            json!({ "ws": ws }),
        )
        .await
        .ok();
    let channel = channel.data()["createChannel"]["channel"]["id"].clone();
    app.gql_as(
        Some(&alice.token),
        "mutation($c: ID!, $a: [ID!]!) { postMessage(input: { channelId: $c, body: \"see\", attachmentIds: $a }) { message { id } } }",
        json!({ "c": channel, "a": [id] }),
    )
    .await
    .ok();
    let peek = "query($id: ID!) { attachment(id: $id) { id } }";
    app.gql_as(Some(&bob.token), peek, json!({ "id": id })).await.ok();
    let db = app.app.db_for_tests();

    // Bob sees the file through the message's channel: its membership table is gone.
    db.execute_unprepared("ALTER TABLE channel_members RENAME TO channel_members_gone").await.unwrap();
    let res = app.gql_as(Some(&bob.token), peek, json!({ "id": id })).await;
    assert_eq!(res.error_code().as_deref(), Some("INTERNAL"), "{}", res.body);
    assert_eq!(res.body["errors"][0]["message"], "internal error");
    app.gql_as(Some(&alice.token), peek, json!({ "id": id })).await.ok(); // the uploader needs no channel

    // Alice sees it as a workspace member: the workspace membership table is gone.
    db.execute_unprepared("ALTER TABLE memberships RENAME TO memberships_gone").await.unwrap();
    let res = app.gql_as(Some(&alice.token), peek, json!({ "id": id })).await;
    assert_eq!(res.error_code().as_deref(), Some("INTERNAL"), "{}", res.body);
}

#[tokio::test]
async fn of_two_concurrent_completions_of_an_upload_one_wins_and_the_other_is_a_conflict() {
    let app = files_app(&[]).await;
    let (alice, ws) = setup(&app).await;
    let created = app
        .gql_as(
            Some(&alice.token),
            "mutation($i: CreateUploadInput!) { createUpload(input: $i) { uploadUrl attachment { id } } }",
            json!({ "i": { "workspaceId": ws, "filename": "notes.txt", "mime": "text/plain", "size": 5 } }),
        )
        .await
        .ok();
    let upload = &created.data()["createUpload"];
    let id = upload["attachment"]["id"].as_str().unwrap().to_owned();
    let put = app
        .http
        .put(upload["uploadUrl"].as_str().unwrap())
        .header("content-type", "text/plain")
        .body(b"notes".to_vec())
        .send()
        .await
        .unwrap();
    assert!(put.status().is_success(), "{}", put.status());

    let complete = "mutation($id: ID!) { completeUpload(id: $id) { attachment { status } } }";
    let (a, b) = tokio::join!(
        app.gql_as(Some(&alice.token), complete, json!({ "id": id })),
        app.gql_as(Some(&alice.token), complete, json!({ "id": id })),
    );
    let mut codes = [a.error_code(), b.error_code()];
    codes.sort();
    assert_eq!(codes, [None, Some("CONFLICT".to_owned())], "{} / {}", a.body, b.body);
    let winner = if a.error_code().is_none() { a } else { b };
    assert_eq!(winner.data()["completeUpload"]["attachment"]["status"], "CLEAN");
}

#[tokio::test]
async fn a_dead_scanner_never_marks_a_file_clean() {
    let app = files_app(&[("STOA_SCANNER", "clamd://127.0.0.1:1")]).await;
    let (alice, ws) = setup(&app).await;
    let (_, body) = multipart(&app, &alice.token, &ws, "a.txt", "text/plain", b"innocent", true).await;
    let attachment = &body["data"]["uploadFile"]["attachment"];
    assert_eq!(attachment["status"], "SCAN_FAILED", "{body}");
    let download = app.gql_as(Some(&alice.token), ATTACHMENT, json!({ "id": attachment["id"] })).await;
    assert_eq!(download.error_code().as_deref(), Some("CONFLICT"));
}

#[tokio::test]
#[ignore = "needs clamd: runs in the .ci/run Postgres pass (--run-ignored all)"]
async fn clamd_catches_eicar_on_postgres() {
    let addr = std::env::var("TEST_CLAMD_ADDR")
        .expect("TEST_CLAMD_ADDR must name a running clamd: .ci/run starts one and sets it in the Postgres pass");
    let app = files_app(&[("STOA_SCANNER", &format!("clamd://{addr}"))]).await;
    let (alice, ws) = setup(&app).await;
    let (_, clean) = multipart(&app, &alice.token, &ws, "a.txt", "text/plain", b"hello clamd", true).await;
    assert_eq!(clean["data"]["uploadFile"]["attachment"]["status"], "CLEAN", "{clean}");
    let (_, bad) = multipart(&app, &alice.token, &ws, "e.txt", "text/plain", EICAR, true).await;
    assert_eq!(bad["data"]["uploadFile"]["attachment"]["status"], "INFECTED", "{bad}");
    assert!(!bad["data"]["uploadFile"]["attachment"]["scanDetail"].as_str().unwrap().is_empty());
}

#[tokio::test]
async fn bytes_put_again_after_complete_upload_never_reach_clean() {
    let app = files_app(&[("STOA_JOBS", "queue"), ("STOA_RATE_LIMITS", "owner=100000,member=100000")]).await;
    let (alice, ws) = setup(&app).await;
    let checked = b"plain notes, checked".to_vec();
    let created = app
        .gql_as(
            Some(&alice.token),
            "mutation($i: CreateUploadInput!) { createUpload(input: $i) { uploadUrl attachment { id } } }",
            json!({ "i": { "workspaceId": ws, "filename": "notes.txt", "mime": "text/plain", "size": checked.len() } }),
        )
        .await
        .ok();
    let id = created.data()["createUpload"]["attachment"]["id"].as_str().unwrap().to_owned();
    let url = created.data()["createUpload"]["uploadUrl"].as_str().unwrap().to_owned();
    let put = app.http.put(&url).header("content-type", "text/plain").body(checked.clone()).send().await.unwrap();
    assert!(put.status().is_success(), "{}", put.status());
    let complete = "mutation($id: ID!) { completeUpload(id: $id) { attachment { status } } }";
    let done = app.gql_as(Some(&alice.token), complete, json!({ "id": id })).await.ok();
    assert_eq!(done.data()["completeUpload"]["attachment"]["status"], "PENDING_SCAN");

    // The signed URL is still valid: the same-size swap lands before the worker scans.
    let swapped = b"<script>alert(1)</script>".to_vec();
    let _ = app
        .http
        .put(&url)
        .header("content-type", "text/plain")
        .body(swapped[..checked.len()].to_vec())
        .send()
        .await
        .unwrap();

    wait_for_status(&app, &alice.token, &id, "CLEAN").await;
    let res = app.gql_as(Some(&alice.token), ATTACHMENT, json!({ "id": id })).await.ok();
    let download = app.http.get(res.data()["attachment"]["downloadUrl"].as_str().unwrap()).send().await.unwrap();
    assert_eq!(download.bytes().await.unwrap().as_ref(), checked.as_slice(), "exactly the bytes that were checked");
}

#[tokio::test]
async fn a_direct_put_larger_than_declared_is_refused_without_reading_it() {
    let app = files_app(&[("STOA_MAX_UPLOAD_BYTES", "1000")]).await;
    let (alice, ws) = setup(&app).await;
    let created = app
        .gql_as(
            Some(&alice.token),
            "mutation($i: CreateUploadInput!) { createUpload(input: $i) { uploadUrl attachment { id } } }",
            json!({ "i": { "workspaceId": ws, "filename": "a.txt", "mime": "text/plain", "size": 10 } }),
        )
        .await
        .ok();
    let id = created.data()["createUpload"]["attachment"]["id"].as_str().unwrap().to_owned();
    let url = created.data()["createUpload"]["uploadUrl"].as_str().unwrap().to_owned();
    // Stored as sent (below the server's limit on local storage; S3 takes any length):
    // completeUpload measures the object before reading it.
    let put = app.http.put(&url).header("content-type", "text/plain").body(vec![b'a'; 900]).send().await.unwrap();
    assert!(put.status().is_success() || put.status().is_client_error(), "{}", put.status());
    let complete = "mutation($id: ID!) { completeUpload(id: $id) { attachment { status } } }";
    let res = app.gql_as(Some(&alice.token), complete, json!({ "id": id })).await;
    assert_eq!(res.error_code().as_deref(), Some("BAD_USER_INPUT"), "{}", res.body);
}

#[tokio::test]
async fn a_text_file_whose_4096th_byte_splits_a_character_is_accepted() {
    let app = files_app(&[]).await;
    let (alice, ws) = setup(&app).await;
    let mut text = "a".repeat(4095).into_bytes();
    text.extend_from_slice("é and more".as_bytes());
    let (_, body) = multipart(&app, &alice.token, &ws, "long.txt", "text/plain", &text, true).await;
    assert_eq!(body["data"]["uploadFile"]["attachment"]["status"], "CLEAN", "{body}");
}

async fn wait_for_status(app: &TestApp, token: &str, id: &str, status: &str) -> Value {
    wait_for_status_within(app, token, id, status, 30).await
}

pub(crate) async fn wait_for_status_within(app: &TestApp, token: &str, id: &str, status: &str, secs: u64) -> Value {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(secs);
    loop {
        let res = app
            .gql_as(Some(token), "query($id: ID!) { attachment(id: $id) { status } }", json!({ "id": id }))
            .await
            .ok();
        if res.data()["attachment"]["status"] == status {
            return res.data().clone();
        }
        assert!(std::time::Instant::now() < deadline, "still {} after {secs} s", res.data()["attachment"]["status"]);
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    }
}

#[tokio::test]
async fn the_durable_queue_scans_in_the_background() {
    let app = files_app(&[("STOA_JOBS", "queue"), ("STOA_RATE_LIMITS", "owner=100000,member=100000")]).await;
    let (alice, ws) = setup(&app).await;
    let (_, body) = multipart(&app, &alice.token, &ws, "a.txt", "text/plain", b"queued", true).await;
    let attachment = &body["data"]["uploadFile"]["attachment"];
    assert_eq!(attachment["status"], "PENDING_SCAN", "{body}");
    wait_for_status(&app, &alice.token, attachment["id"].as_str().unwrap(), "CLEAN").await;
}

#[tokio::test]
async fn a_worker_killed_mid_scan_is_replaced_and_the_job_finishes() {
    let app = files_app(&[
        ("STOA_JOBS", "queue"),
        ("STOA_WORKERS", "false"),
        ("STOA_RATE_LIMITS", "owner=100000,member=100000"),
    ])
    .await;
    let (alice, ws) = setup(&app).await;
    let (_, body) = multipart(&app, &alice.token, &ws, "a.txt", "text/plain", b"durable", true).await;
    let id = body["data"]["uploadFile"]["attachment"]["id"].as_str().unwrap().to_owned();
    let still = app
        .gql_as(Some(&alice.token), "query($id: ID!) { attachment(id: $id) { status } }", json!({ "id": id }))
        .await
        .ok();
    assert_eq!(still.data()["attachment"]["status"], "PENDING_SCAN", "no worker runs yet");

    // A "clamd" that accepts and never answers: a worker scanning against it hangs mid-scan.
    let black_hole = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let hole = black_hole.local_addr().unwrap();
    let worker = |name: &str, extra: &[(&str, String)]| {
        // Tests run in parallel: no fixed port for the worker's health endpoint.
        let mut env = vec![("STOA_WORKER_BIND", "127.0.0.1:0".to_owned())];
        env.extend(extra.iter().cloned());
        app.stoa_process(name, &["worker"], &env)
    };
    let mut stuck = worker("stuck", &[("STOA_SCANNER", format!("clamd://{hole}"))]);
    let held = tokio::time::timeout(std::time::Duration::from_secs(20), black_hole.accept()).await;
    assert!(held.is_ok(), "the first worker started scanning");
    stuck.0.kill().expect("SIGKILL the worker mid-scan");
    let _ = stuck.0.wait();

    let _second = worker("second", &[("STOA_SCAN_SWEEP_SECS", "1".into()), ("STOA_SCAN_STALE_SECS", "1".into())]);
    // The replacement starts idle and the job is queued again a second later: an idle worker must
    // notice it well before its 30 s heartbeat (apalis' interval poll once slept until then).
    wait_for_status_within(&app, &alice.token, &id, "CLEAN", 15).await;
}

pub(crate) fn real_png() -> Vec<u8> {
    let img = image::RgbaImage::from_pixel(640, 480, image::Rgba([10, 120, 200, 255]));
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png).expect("encodes");
    out.into_inner()
}

#[tokio::test]
async fn a_clean_image_gets_a_webp_thumbnail() {
    let app = files_app(&[]).await;
    let (alice, ws) = setup(&app).await;
    let (_, body) = multipart(&app, &alice.token, &ws, "photo.png", "image/png", &real_png(), true).await;
    let id = body["data"]["uploadFile"]["attachment"]["id"].as_str().unwrap().to_owned();
    let res = app
        .gql_as(
            Some(&alice.token),
            "query($id: ID!) { attachment(id: $id) { status thumbnailUrl } }",
            json!({ "id": id }),
        )
        .await
        .ok();
    assert_eq!(res.data()["attachment"]["status"], "CLEAN");
    let url = res.data()["attachment"]["thumbnailUrl"].as_str().expect("a thumbnail").to_owned();
    let webp = app.http.get(&url).send().await.unwrap().bytes().await.unwrap();
    assert_eq!((&webp[..4], &webp[8..12]), (&b"RIFF"[..], &b"WEBP"[..]));
    let thumb = image::load_from_memory(&webp).expect("a real WebP");
    assert_eq!((thumb.width(), thumb.height()), (256, 192));
}

#[tokio::test]
async fn admins_list_and_retry_dead_letters_and_cap_uploads() {
    let app = files_app(&[("STOA_SCANNER", "clamd://127.0.0.1:1")]).await;
    let (alice, ws) = setup(&app).await;
    let bob = app.signed_up("bob").await;
    app.add(&alice, &ws, &bob, "MEMBER").await;
    let (_, body) = multipart(&app, &bob.token, &ws, "a.txt", "text/plain", b"needs a scanner", true).await;
    let id = body["data"]["uploadFile"]["attachment"]["id"].as_str().unwrap().to_owned();
    let failed = "query($ws: ID!) { failedScans(workspaceId: $ws) { id status scanDetail } }";

    let list = app.gql_as(Some(&alice.token), failed, json!({ "ws": ws })).await.ok();
    assert_eq!(list.data()["failedScans"][0]["id"], id.as_str());
    assert!(list.data()["failedScans"][0]["scanDetail"].as_str().unwrap().contains("clamd"));
    let denied = app.gql_as(Some(&bob.token), failed, json!({ "ws": ws })).await;
    assert_eq!(denied.error_code().as_deref(), Some("FORBIDDEN"));
    let retried = app
        .gql_as(
            Some(&alice.token),
            "mutation($id: ID!) { retryScan(id: $id) { attachment { status } } }",
            json!({ "id": id }),
        )
        .await
        .ok();
    assert_eq!(
        retried.data()["retryScan"]["attachment"]["status"],
        "SCAN_FAILED",
        "still no scanner: back in the dead letters"
    );

    app.gql_as(
        Some(&alice.token),
        "mutation($ws: ID!) { setUploadLimit(workspaceId: $ws, maxBytes: 5) { maxBytes } }",
        json!({ "ws": ws }),
    )
    .await
    .ok();
    let (_, body) = multipart(&app, &bob.token, &ws, "b.txt", "text/plain", b"123456", true).await;
    assert_eq!(code(&body), "BAD_USER_INPUT");
    assert_eq!(body["errors"][0]["extensions"]["field"], "size");
}

#[tokio::test]
async fn a_clean_image_becomes_a_square_avatar_and_an_infected_or_non_image_file_is_refused() {
    let app = files_app(&[]).await;
    let (alice, ws) = setup(&app).await;
    let bob = app.signed_up("bob").await;
    app.add(&alice, &ws, &bob, "MEMBER").await;
    let set = "mutation($a: ID!) { setAvatar(attachmentId: $a) { ok } }";
    let upload = |name: &'static str, mime: &'static str, bytes: Vec<u8>| {
        let (app, token, ws) = (&app, alice.token.clone(), ws.clone());
        async move {
            let (_, body) = multipart(app, &token, &ws, name, mime, &bytes, true).await;
            body["data"]["uploadFile"]["attachment"]["id"].as_str().unwrap().to_owned()
        }
    };
    let text = upload("notes.txt", "text/plain", b"not a picture".to_vec()).await;
    let refused = app.gql_as(Some(&alice.token), set, json!({ "a": text })).await;
    assert_eq!(refused.body["errors"][0]["extensions"]["field"], "attachmentId", "{}", refused.body);
    let virus = upload("eicar.txt", "text/plain", EICAR.to_vec()).await;
    let infected = app.gql_as(Some(&alice.token), set, json!({ "a": virus })).await;
    assert_eq!(infected.body["errors"][0]["extensions"]["field"], "attachmentId", "not clean: {}", infected.body);

    let photo = upload("me.png", "image/png", real_png()).await;
    let not_hers = app.gql_as(Some(&bob.token), set, json!({ "a": photo })).await;
    assert_eq!(code(&not_hers.body), "NOT_FOUND", "only one's own upload");
    app.gql_as(Some(&alice.token), set, json!({ "a": photo })).await.ok();
    let seen = app
        .gql_as(
            Some(&bob.token),
            "query($w: ID!) { workspace(id: $w) { members { user { id large: avatarUrl small: avatarUrl(size: SMALL) } } } }",
            json!({ "w": ws }),
        )
        .await
        .ok();
    let row = seen.data()["workspace"]["members"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["user"]["id"] == alice.id.as_str())
        .cloned()
        .unwrap();
    for (field, side) in [("large", 256), ("small", 64)] {
        let url = row["user"][field].as_str().unwrap_or_else(|| panic!("no {field} avatar: {row}"));
        let webp = app.http.get(url).send().await.unwrap().bytes().await.unwrap();
        let picture = image::load_from_memory(&webp).expect("a real WebP");
        assert_eq!((picture.width(), picture.height()), (side, side), "square, centre-cropped");
    }
    app.gql_as(Some(&alice.token), "mutation { removeAvatar { ok } }", json!({})).await.ok();
    let me = app.gql_as(Some(&alice.token), "{ me { avatarUrl } }", json!({})).await.ok();
    assert_eq!(me.data()["me"]["avatarUrl"], Value::Null);

    let icon = "mutation($w: ID!, $a: ID) { setWorkspaceIcon(workspaceId: $w, attachmentId: $a) { workspaceId } }";
    assert_eq!(code(&app.gql_as(Some(&bob.token), icon, json!({ "w": ws, "a": photo })).await.body), "FORBIDDEN");
    app.gql_as(Some(&alice.token), icon, json!({ "w": ws, "a": photo })).await.ok();
    let with_icon = app
        .gql_as(Some(&bob.token), "query($w: ID!) { workspace(id: $w) { iconUrl(size: SMALL) } }", json!({ "w": ws }))
        .await
        .ok();
    assert!(with_icon.data()["workspace"]["iconUrl"].is_string());
}
