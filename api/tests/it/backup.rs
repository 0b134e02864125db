//! Backups that hold (#16), against the real `stoa` binary on SQLite (always, even in the Postgres
//! pass: these are facts about SQLite files): a clean SIGTERM leaves everything in `stoa.db`; a
//! SIGKILL with posts in flight loses no acknowledged post; `stoa backup` copies a live database and
//! `stoa restore` brings it back, refusing while a server runs and refusing bad backups with one
//! line and nothing lost.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use sea_orm::sqlx::sqlite::SqliteConnectOptions;
use sea_orm::sqlx::{self, ConnectOptions as _, Connection as _, Row as _};
use serde_json::{Value, json};
use tokio::io::AsyncBufReadExt as _;
use tokio::process::{Child, Command};

use crate::helpers::{CREATE_WORKSPACE, REGISTER};

const CREATE_CHANNEL: &str =
    "mutation($input: CreateChannelInput!) { createChannel(input: $input) { channel { id } } }";
const POST: &str = "mutation($input: PostMessageInput!) { postMessage(input: $input) { message { id seq body } } }";
const PAGE: &str = "query($id: ID!, $after: String) { channel(id: $id) { messages(first: 100, after: $after) { edges { cursor node { id seq body } } pageInfo { hasNextPage } } } }";

/// A temp folder with the data dir inside (and room for backups beside it); removed on drop.
struct Scratch(PathBuf);

impl Scratch {
    fn new() -> Self {
        let root = std::env::temp_dir().join(format!("stoa-backup-it-{}", uuid::Uuid::now_v7()));
        std::fs::create_dir_all(root.join("data")).unwrap();
        Self(root)
    }

    fn data(&self) -> PathBuf {
        self.0.join("data")
    }

    fn db(&self) -> PathBuf {
        self.data().join("stoa.db")
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// `stoa <args>` on the SQLite database in `data`: every variable that could point it elsewhere is
/// removed, so the Postgres pass runs it on SQLite too.
fn stoa(data: &Path, args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_stoa"));
    for var in ["DATABASE_URL", "TEST_DATABASE_URL", "REDIS_URL", "TEST_REDIS_URL", "STORAGE_URL", "STOA_WORKERS"] {
        cmd.env_remove(var);
    }
    cmd.args(args)
        .env("STOA_DATA_DIR", data)
        .env("STOA_BIND", "127.0.0.1:0")
        .env("STOA_LOG", "warn")
        .env("STOA_RATE_LIMIT_IP_PER_MIN", "60000000")
        .env("STOA_RATE_LIMITS", "owner=60000000,member=60000000")
        .kill_on_drop(true);
    cmd
}

/// Runs a short command to its end.
async fn run(data: &Path, args: &[&str]) -> Output {
    let out = tokio::time::timeout(Duration::from_secs(20), stoa(data, args).output()).await;
    out.expect("stoa finished in time").expect("stoa ran")
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).trim().to_owned()
}

/// A running `stoa serve`.
struct Running {
    child: Child,
    url: String,
    http: reqwest::Client,
}

impl Running {
    async fn start(data: &Path) -> Self {
        let mut child = stoa(data, &["serve"]).stdout(Stdio::piped()).stderr(Stdio::inherit()).spawn().unwrap();
        let stdout = child.stdout.take().unwrap();
        let mut lines = tokio::io::BufReader::new(stdout).lines();
        let line = tokio::time::timeout(Duration::from_secs(30), lines.next_line())
            .await
            .expect("stoa printed its address in time")
            .unwrap()
            .expect("stoa printed a line");
        let url = line.split_whitespace().find(|w| w.ends_with("/graphql")).expect("a GraphQL URL").to_owned();
        Self { child, url, http: reqwest::Client::new() }
    }

    async fn gql(&self, token: Option<&str>, query: &str, variables: Value) -> reqwest::Result<Value> {
        let mut req = self.http.post(&self.url).json(&json!({ "query": query, "variables": variables }));
        if let Some(token) = token {
            req = req.bearer_auth(token);
        }
        req.send().await?.json().await
    }

    async fn ok(&self, token: Option<&str>, query: &str, variables: Value) -> Value {
        let body = self.gql(token, query, variables).await.unwrap();
        assert!(body.get("errors").is_none(), "unexpected errors: {body}");
        body["data"].clone()
    }

    /// Registers a user, a workspace and a public channel; returns (token, channel id).
    async fn channel(&self) -> (String, String) {
        let email = format!("ops.{}@example.com", uuid::Uuid::now_v7().simple());
        let input = json!({ "input": { "email": email, "password": "pw-ops-123456", "displayName": "ops" } });
        let token = self.ok(None, REGISTER, input).await["register"]["accessToken"].as_str().unwrap().to_owned();
        let ws = self.ok(Some(&token), CREATE_WORKSPACE, json!({ "input": { "name": "Ops" } })).await;
        let ws = ws["createWorkspace"]["workspace"]["id"].as_str().unwrap().to_owned();
        let input = json!({ "input": { "workspaceId": ws, "name": "log", "kind": "PUBLIC", "memberIds": [] } });
        let channel = self.ok(Some(&token), CREATE_CHANNEL, input).await;
        (token, channel["createChannel"]["channel"]["id"].as_str().unwrap().to_owned())
    }

    async fn post(&self, token: &str, channel: &str, body: &str) -> Value {
        let input = json!({ "input": { "channelId": channel, "body": body } });
        self.ok(Some(token), POST, input).await["postMessage"]["message"].clone()
    }

    /// Every message of `channel`, oldest first.
    async fn messages(&self, token: &str, channel: &str) -> Vec<Value> {
        let (mut all, mut after) = (Vec::new(), Value::Null);
        loop {
            let page = self.ok(Some(token), PAGE, json!({ "id": channel, "after": after })).await;
            let page = &page["channel"]["messages"];
            let edges = page["edges"].as_array().unwrap();
            all.extend(edges.iter().map(|e| e["node"].clone()));
            if page["pageInfo"]["hasNextPage"] != true {
                return all;
            }
            after = edges.last().unwrap()["cursor"].clone();
        }
    }

    fn bodies(messages: &[Value]) -> Vec<String> {
        messages.iter().map(|m| m["body"].as_str().unwrap().to_owned()).collect()
    }

    /// SIGTERM, then the exit status (a clean shutdown exits 0).
    async fn terminate(mut self) -> std::process::ExitStatus {
        let pid = self.child.id().unwrap().to_string();
        let sent = std::process::Command::new("kill").args(["-TERM", &pid]).status().unwrap();
        assert!(sent.success(), "kill -TERM {pid}");
        tokio::time::timeout(Duration::from_secs(20), self.child.wait()).await.expect("stopped in time").unwrap()
    }
}

/// Opens a SQLite file directly (not through Stoa).
async fn open(path: &Path) -> sqlx::SqliteConnection {
    SqliteConnectOptions::new().filename(path).create_if_missing(false).connect().await.unwrap()
}

async fn integrity(path: &Path) -> Vec<String> {
    let mut db = open(path).await;
    let rows = sqlx::query("PRAGMA integrity_check").fetch_all(&mut db).await.unwrap();
    let _ = db.close().await;
    rows.iter().map(|r| r.get::<String, _>(0)).collect()
}

async fn count(path: &Path, sql: &'static str) -> i64 {
    let mut db = open(path).await;
    let n = sqlx::query(sql).fetch_one(&mut db).await.unwrap().get::<i64, _>(0);
    let _ = db.close().await;
    n
}

#[tokio::test]
async fn a_clean_sigterm_leaves_every_commit_in_the_database_file() {
    let scratch = Scratch::new();
    let server = Running::start(&scratch.data()).await;
    let (token, channel) = server.channel().await;
    for i in 0..20 {
        server.post(&token, &channel, &format!("kept-{i}")).await;
    }

    let status = server.terminate().await;

    assert!(status.success(), "clean shutdown exits 0: {status}");
    let wal = scratch.data().join("stoa.db-wal");
    assert!(std::fs::metadata(&wal).map_or(true, |m| m.len() == 0), "the log is folded in: {wal:?}");
    // A backup that copies only the file: it must hold everything.
    let copy = scratch.0.join("copied.db");
    std::fs::copy(scratch.db(), &copy).unwrap();
    assert_eq!(integrity(&copy).await, ["ok"]);
    assert_eq!(count(&copy, "SELECT COUNT(*) FROM messages WHERE body LIKE 'kept-%'").await, 20);
}

#[tokio::test]
async fn a_sigkill_with_posts_in_flight_loses_no_acknowledged_post() {
    let scratch = Scratch::new();
    let mut server = Running::start(&scratch.data()).await;
    let (token, channel) = server.channel().await;
    let (url, http) = (server.url.clone(), server.http.clone());
    let acked = Arc::new(AtomicUsize::new(0));
    // 16 writers post back to back, so about 16 posts are in flight at every moment.
    let writers: Vec<_> = (0..16)
        .map(|w| {
            let (url, http, token, channel, acked) =
                (url.clone(), http.clone(), token.clone(), channel.clone(), Arc::clone(&acked));
            tokio::spawn(async move {
                let mut mine = Vec::new();
                // Ends when the server dies; `true` when this writer's post was sent and then cut off.
                for n in 0.. {
                    let body = format!("w{w}-{n}");
                    let query =
                        json!({ "query": POST, "variables": { "input": { "channelId": channel, "body": body } } });
                    let res = match http.post(&url).bearer_auth(&token).json(&query).send().await {
                        Ok(res) => res.json::<Value>().await,
                        Err(e) => return (mine, !e.is_connect()),
                    };
                    let Ok(res) = res else { return (mine, true) };
                    let message = &res["data"]["postMessage"]["message"];
                    if message["body"] == body.as_str() {
                        mine.push((body, message["id"].as_str().unwrap().to_owned()));
                        acked.fetch_add(1, Ordering::SeqCst);
                    }
                }
                (mine, false)
            })
        })
        .collect();
    tokio::time::timeout(Duration::from_secs(20), async {
        while acked.load(Ordering::SeqCst) < 150 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await
    .expect("150 posts acknowledged in time");

    server.child.start_kill().unwrap(); // SIGKILL
    let status = server.child.wait().await.unwrap();
    let (mut acknowledged, mut cut_off) = (HashMap::new(), 0);
    for writer in writers {
        let (mine, in_flight) = writer.await.unwrap();
        acknowledged.extend(mine);
        cut_off += usize::from(in_flight);
    }

    assert!(!status.success(), "killed, not stopped: {status}");
    assert!(cut_off > 0, "posts were in flight when the server died");
    assert!(acknowledged.len() >= 150, "{} acknowledged", acknowledged.len());
    assert_eq!(integrity(&scratch.db()).await, ["ok"], "the crashed database is sound");
    let restarted = Running::start(&scratch.data()).await;
    let messages = restarted.messages(&token, &channel).await;
    let mut seen: HashMap<&str, usize> = HashMap::new();
    for m in &messages {
        *seen.entry(m["body"].as_str().unwrap()).or_default() += 1;
    }
    for (body, id) in &acknowledged {
        assert_eq!(seen.get(body.as_str()), Some(&1), "acknowledged post {body} is there exactly once");
        assert!(messages.iter().any(|m| m["body"] == body.as_str() && m["id"] == id.as_str()), "{body} keeps its id");
    }
    let mut seqs: Vec<i64> = messages.iter().map(|m| m["seq"].as_i64().unwrap()).collect();
    seqs.dedup();
    assert_eq!(seqs.len(), messages.len(), "no sequence number twice");
    assert!(restarted.terminate().await.success());
}

#[tokio::test]
async fn a_live_backup_restores_into_a_stopped_server_and_restore_refuses_a_running_one() {
    let scratch = Scratch::new();
    let server = Running::start(&scratch.data()).await;
    let (token, channel) = server.channel().await;
    for i in 0..10 {
        server.post(&token, &channel, &format!("before-{i}")).await;
    }
    let backup = scratch.0.join("nightly.db");
    let backup_arg = backup.to_str().unwrap();

    let out = run(&scratch.data(), &["backup", backup_arg]).await;

    assert!(out.status.success(), "backup of a live database: {}", stderr(&out));
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(said.contains("integrity_check ok") && said.contains("manifest.json"), "{said}");
    assert_eq!(integrity(&backup).await, ["ok"]);
    assert!(!Path::new(&format!("{backup_arg}-wal")).exists(), "the backup is one file");
    let manifest: Value =
        serde_json::from_slice(&std::fs::read(format!("{backup_arg}.manifest.json")).unwrap()).unwrap();
    assert_eq!(manifest["format"], "stoa-objects-manifest/1");
    assert_eq!(manifest["database_backup"], "nightly.db");
    assert!(manifest["objects"].is_array(), "{manifest}");

    server.post(&token, &channel, "after-backup").await;
    let refused = run(&scratch.data(), &["restore", backup_arg]).await;
    assert!(!refused.status.success());
    assert!(stderr(&refused).contains("is in use by a running stoa"), "{}", stderr(&refused));
    assert!(Running::bodies(&server.messages(&token, &channel).await).contains(&"after-backup".to_owned()));
    assert!(server.terminate().await.success());

    let out = run(&scratch.data(), &["restore", backup_arg]).await;

    assert!(out.status.success(), "restore into a stopped server: {}", stderr(&out));
    let said = String::from_utf8_lossy(&out.stdout);
    let aside = said.lines().find_map(|l| l.strip_prefix("the replaced database is kept at ")).unwrap().to_owned();
    assert_eq!(count(Path::new(&aside), "SELECT COUNT(*) FROM messages WHERE body = 'after-backup'").await, 1);
    let restarted = Running::start(&scratch.data()).await;
    let bodies = Running::bodies(&restarted.messages(&token, &channel).await);
    assert_eq!(bodies, (0..10).map(|i| format!("before-{i}")).collect::<Vec<_>>());
    assert!(restarted.terminate().await.success());
}

/// Asserts `out` failed with exactly one line on stderr that contains `needle`.
fn refused_with(out: &Output, needle: &str) {
    let err = stderr(out);
    assert!(!out.status.success(), "expected a refusal containing {needle:?}");
    assert_eq!(err.lines().count(), 1, "one line: {err}");
    assert!(err.starts_with("stoa: ") && err.contains(needle), "{err}");
}

#[tokio::test]
async fn backup_and_restore_refuse_bad_input_with_one_line_and_lose_nothing() {
    let scratch = Scratch::new();
    assert!(run(&scratch.data(), &["migrate"]).await.status.success());
    let good = scratch.0.join("good.db");
    assert!(run(&scratch.data(), &["backup", good.to_str().unwrap()]).await.status.success());
    let database_before = std::fs::read(scratch.db()).unwrap();
    let good_before = std::fs::read(&good).unwrap();
    let text = scratch.0.join("notes.txt");
    std::fs::write(&text, "not a database").unwrap();
    let foreign = scratch.0.join("foreign.db");
    let mut db = SqliteConnectOptions::new().filename(&foreign).create_if_missing(true).connect().await.unwrap();
    sqlx::query("CREATE TABLE t (x INTEGER)").execute(&mut db).await.unwrap();
    let _ = db.close().await;
    let damaged = scratch.0.join("damaged.db");
    let mut bytes = good_before.clone();
    let page = 4096;
    bytes[page * 2..page * 6].fill(0xA5); // pages 3 to 6: b-tree pages of Stoa's tables
    std::fs::write(&damaged, bytes).unwrap();
    let arg = |p: &Path| p.to_str().unwrap().to_owned();

    refused_with(&run(&scratch.data(), &["backup", &arg(&good)]).await, "already exists");
    refused_with(&run(&scratch.data(), &["backup", &arg(&scratch.0.join("no/such/dir/b.db"))]).await, "does not exist");
    let no_data = scratch.0.join("no-data");
    refused_with(&run(&no_data, &["backup", &arg(&scratch.0.join("b.db"))]).await, "not found");
    assert!(!no_data.exists(), "a failed backup creates nothing");
    refused_with(&run(&scratch.data(), &["restore", &arg(&scratch.0.join("missing.db"))]).await, "not found");
    refused_with(&run(&scratch.data(), &["restore", &arg(&scratch.0)]).await, "is not a file");
    refused_with(&run(&scratch.data(), &["restore", &arg(&text)]).await, "is not a SQLite database");
    refused_with(&run(&scratch.data(), &["restore", &arg(&foreign)]).await, "is not a Stoa database");
    let out = run(&scratch.data(), &["restore", &arg(&damaged)]).await;
    refused_with(&out, &arg(&damaged));
    assert!(stderr(&out).contains("damaged") || stderr(&out).contains("integrity_check"), "{}", stderr(&out));

    assert_eq!(std::fs::read(&good).unwrap(), good_before, "an existing backup is never overwritten");
    assert_eq!(std::fs::read(scratch.db()).unwrap(), database_before, "the database is untouched");
    let left: Vec<String> = std::fs::read_dir(scratch.data())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with('.') || n.contains("pre-restore"))
        .collect();
    assert!(left.is_empty(), "no temporary or set-aside files: {left:?}");
}

#[tokio::test]
async fn on_postgres_and_s3_backup_and_restore_print_their_commands_without_the_password() {
    let scratch = Scratch::new();
    let target = scratch.0.join("stoa.dump");
    // Addresses that resolve nowhere: neither command may connect.
    let elsewhere = |args: &[&str]| {
        let mut cmd = stoa(&scratch.data(), args);
        cmd.env("DATABASE_URL", "postgres://stoa:hunter2@db.invalid:5432/stoa")
            .env("STORAGE_URL", "s3://stoa-files")
            .env("AWS_ACCESS_KEY_ID", "key")
            .env("AWS_SECRET_ACCESS_KEY", "secret");
        cmd
    };

    let out = elsewhere(&["backup", target.to_str().unwrap()]).output().await.unwrap();

    assert!(out.status.success(), "{}", stderr(&out));
    let said = String::from_utf8_lossy(&out.stdout);
    let dump =
        format!("pg_dump --format=custom --no-owner --file={} postgres://stoa@db.invalid:5432/stoa", target.display());
    assert!(said.contains(&dump), "{said}");
    assert!(said.contains("PGPASSWORD"), "{said}");
    assert!(!said.contains("hunter2") && !stderr(&out).contains("hunter2"), "the password is never printed");
    assert!(!target.exists(), "nothing dumped: the operator runs pg_dump");
    let manifest: Value =
        serde_json::from_slice(&std::fs::read(format!("{}.manifest.json", target.display())).unwrap()).unwrap();
    assert_eq!(manifest["storage"], "s3://stoa-files");
    assert!(manifest["objects"].is_null(), "{manifest}");
    assert!(manifest["note"].as_str().unwrap().contains("backed up by the bucket's own means"), "{manifest}");

    std::fs::write(&target, b"PGDMP").unwrap();
    let out = elsewhere(&["restore", target.to_str().unwrap()]).output().await.unwrap();

    assert!(out.status.success(), "{}", stderr(&out));
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(said.contains("pg_restore --clean --if-exists") && !said.contains("hunter2"), "{said}");
}
