//! Faults from outside, in the Postgres pass: each test starts its own Redis (`redis-server` on a
//! free port) or its own Postgres cluster (`initdb` + `pg_ctl` as the `postgres` user) and kills
//! or stops it; the machine's own services are never touched. A replica is killed as a real
//! `stoa serve` process.

use std::collections::HashSet;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::files::{multipart, wait_for_status_within};
use crate::helpers::{KillOnDrop, TestApp, TestUser, WsClient, WsEvent, require_postgres_and_redis, spawn_app_with};

const POST: &str = "mutation($input: PostMessageInput!) { postMessage(input: $input) { message { id seq body } } }";
const EVENTS: &str =
    "subscription($id: ID!, $after: Int) { channelEvents(channelId: $id, after: $after) { seq message { body } } }";
const ME: &str = "{ me { id } }";
/// Budgets no fault test comes near: what is measured is the outage, not the limiter.
const UNLIMITED: (&str, &str) = ("STOA_RATE_LIMITS", "owner=100000,member=100000");

fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
    listener.local_addr().expect("bound").port()
}

/// Waits until something accepts TCP connections on `port`.
async fn wait_for_port(port: u16, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_err() {
        assert!(Instant::now() < deadline, "{what} did not start on port {port}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A Redis of this test's own.
struct PrivateRedis {
    port: u16,
    child: Option<std::process::Child>,
}

impl PrivateRedis {
    async fn start() -> Self {
        let mut redis = Self { port: free_port(), child: None };
        redis.restart().await;
        redis
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    async fn restart(&mut self) {
        let child = Command::new("redis-server")
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server is installed");
        self.child = Some(child);
        wait_for_port(self.port, "redis-server").await;
    }

    /// SIGKILL: no goodbye to its clients.
    fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            child.kill().expect("SIGKILL redis-server");
            let _ = child.wait();
        }
    }
}

impl Drop for PrivateRedis {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A Postgres cluster of this test's own, run by the `postgres` user.
struct PrivateCluster {
    dir: std::path::PathBuf,
    port: u16,
}

/// Runs a Postgres tool as the `postgres` user (initdb refuses root).
fn as_postgres(tool: &str, args: &[&str]) -> std::process::Output {
    let root = Command::new("id").arg("-u").output().is_ok_and(|o| o.stdout.starts_with(b"0\n"));
    let mut cmd = if root {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--", tool]);
        c
    } else {
        Command::new(tool)
    };
    let out = cmd.args(args).output().unwrap_or_else(|e| panic!("{tool} runs: {e}"));
    assert!(out.status.success(), "{tool} {args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
    out
}

impl PrivateCluster {
    fn start() -> Self {
        let dir = std::env::temp_dir().join(format!("stoa-pg-{}", uuid::Uuid::now_v7().simple()));
        std::fs::create_dir_all(&dir).expect("cluster folder");
        let _ = Command::new("chown").args(["postgres:postgres", &dir.display().to_string()]).status();
        let data = dir.join("data");
        let data = data.display().to_string();
        as_postgres("initdb", &["-D", &data, "-A", "trust", "-U", "postgres", "--no-sync", "-E", "UTF8"]);
        let cluster = Self { dir, port: free_port() };
        cluster.pg_ctl_start();
        cluster
    }

    fn data(&self) -> String {
        self.dir.join("data").display().to_string()
    }

    fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    fn pg_ctl_start(&self) {
        let opts = format!("-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off", self.port, self.dir.display());
        let log = self.dir.join("log").display().to_string();
        as_postgres("pg_ctl", &["-D", &self.data(), "-l", &log, "-o", &opts, "-w", "start"]);
    }

    /// `pg_ctl stop -m immediate`: every connection cut, no checkpoint.
    fn stop_immediately(&self) {
        as_postgres("pg_ctl", &["-D", &self.data(), "-m", "immediate", "-w", "stop"]);
    }
}

impl Drop for PrivateCluster {
    fn drop(&mut self) {
        let _ = Command::new("runuser")
            .args(["-u", "postgres", "--", "pg_ctl", "-D", &self.data(), "-m", "immediate", "stop"])
            .output();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn vars(pairs: &[(String, String)]) -> Vec<(&str, &str)> {
    pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect()
}

/// Alice (owner) and bob in a workspace, and a public channel both are in: `(alice, bob, channel)`.
async fn channel_with_two(app: &TestApp) -> (TestUser, TestUser, String) {
    let (alice, bob, _, channel) = workspace_with_two(app).await;
    (alice, bob, channel)
}

/// As [`channel_with_two`], with the workspace: `(alice, bob, workspace, channel)`.
async fn workspace_with_two(app: &TestApp) -> (TestUser, TestUser, String, String) {
    let (alice, bob) = (app.signed_up("alice").await, app.signed_up("bob").await);
    let ws = app.workspace(&alice, "W").await;
    app.add(&alice, &ws, &bob, "MEMBER").await;
    let res = app
        .gql_as(
            Some(&alice.token),
            "mutation($input: CreateChannelInput!) { createChannel(input: $input) { channel { id } } }",
            json!({ "input": { "workspaceId": ws, "name": "general", "kind": "PUBLIC", "memberIds": [bob.id] } }),
        )
        .await
        .ok();
    let channel = res.data()["createChannel"]["channel"]["id"].as_str().unwrap().to_owned();
    (alice, bob, ws, channel)
}

/// Posts `body`; `Ok(seq)` when the server acknowledged it, `Err(response)` otherwise.
async fn try_post(app: &TestApp, by: &TestUser, channel: &str, body: &str) -> Result<i64, Value> {
    let res = app.gql_as(Some(&by.token), POST, json!({ "input": { "channelId": channel, "body": body } })).await;
    res.body["data"]["postMessage"]["message"]["seq"].as_i64().ok_or(res.body)
}

/// A subscriber in its own task, collecting `(seq, body)` of every `next`.
struct Collector {
    seen: Arc<Mutex<Vec<(i64, String)>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Collector {
    async fn start(app: &TestApp, user: &TestUser, channel: &str, after: i64) -> Self {
        let mut socket = WsClient::init(app, Some(&user.token)).await;
        socket.subscribe("c", EVENTS, json!({ "id": channel, "after": after })).await;
        let seen: Arc<Mutex<Vec<(i64, String)>>> = Arc::default();
        let sink = Arc::clone(&seen);
        let task = tokio::spawn(async move {
            while let Some(event) = socket.try_next(Duration::from_mins(2)).await {
                let WsEvent::Json(msg) = event else { break };
                if msg["type"] == "next" {
                    let e = &msg["payload"]["data"]["channelEvents"];
                    let (seq, body) = (e["seq"].as_i64().unwrap_or(-1), e["message"]["body"].as_str().unwrap_or(""));
                    sink.lock().unwrap().push((seq, body.to_owned()));
                } else if msg["type"] != "ka" {
                    sink.lock().unwrap().push((-1, msg.to_string()));
                }
            }
        });
        Self { seen, task }
    }

    fn seen(&self) -> Vec<(i64, String)> {
        self.seen.lock().unwrap().clone()
    }

    /// Waits until every body of `acked` arrived (or `within` passes), then returns what arrived.
    async fn wait_for(&self, acked: &[String], within: Duration) -> Vec<(i64, String)> {
        let deadline = Instant::now() + within;
        loop {
            let seen = self.seen();
            let bodies: HashSet<&str> = seen.iter().map(|(_, b)| b.as_str()).collect();
            if acked.iter().all(|b| bodies.contains(b.as_str())) || Instant::now() > deadline {
                return seen;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for Collector {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Every acknowledged post arrived exactly once, in sequence order, and nothing but posts arrived.
fn assert_every_post_once(seen: &[(i64, String)], acked: &[String]) {
    let bodies: Vec<&str> = seen.iter().map(|(_, b)| b.as_str()).collect();
    for body in acked {
        let n = bodies.iter().filter(|b| **b == body.as_str()).count();
        assert_eq!(n, 1, "{body:?} arrived {n} times; the subscriber saw {seen:?}");
    }
    assert!(seen.iter().all(|(seq, _)| *seq > 0), "only posts arrive: {seen:?}");
    assert!(seen.windows(2).all(|w| w[0].0 < w[1].0), "in sequence order: {seen:?}");
}

async fn readyz(app: &TestApp) -> (u16, Value, Duration) {
    let started = Instant::now();
    let res = app.http.get(format!("http://{}/readyz", app.addr)).send().await.expect("readyz answers");
    let status = res.status().as_u16();
    (status, res.json().await.expect("a JSON body"), started.elapsed())
}

#[tokio::test]
#[ignore = "needs Postgres + Redis: runs in the .ci/run Postgres pass (--run-ignored all)"]
async fn redis_killed_for_3s_requests_keep_answering_and_a_subscriber_on_the_other_replica_gets_every_post_on_postgres()
{
    require_postgres_and_redis();
    let mut redis = PrivateRedis::start().await;
    let a = spawn_app_with(&[("REDIS_URL", &redis.url()), UNLIMITED]).await;
    let b = spawn_app_with(&vars(&a.shared_vars())).await;
    let (alice, bob, channel) = channel_with_two(&a).await;
    let subscriber = Collector::start(&b, &bob, &channel, 0).await;
    let mut acked = Vec::new();
    for n in 0..3 {
        let body = format!("before {n}");
        try_post(&a, &alice, &channel, &body).await.expect("posts before the outage");
        acked.push(body);
    }
    assert_eq!(subscriber.wait_for(&acked, Duration::from_secs(10)).await.len(), 3, "live before the outage");

    redis.kill();
    let outage = Instant::now();
    let mut slowest = Duration::ZERO;
    let mut n = 0;
    while outage.elapsed() < Duration::from_secs(3) {
        let body = format!("during {n}");
        let started = Instant::now();
        let posted = try_post(if n % 2 == 0 { &a } else { &b }, &alice, &channel, &body).await;
        slowest = slowest.max(started.elapsed());
        posted.unwrap_or_else(|e| panic!("a post while Redis is down is answered and stored: {e}"));
        acked.push(body);
        let started = Instant::now();
        b.gql_as(Some(&bob.token), ME, json!({})).await.ok();
        slowest = slowest.max(started.elapsed());
        n += 1;
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (status, body, took) = readyz(&a).await;
    assert_eq!(status, 200, "a shared dependency down leaves the replica in service: {body}");
    assert_eq!(body["status"], "degraded", "{body}");
    assert_eq!(body["checks"]["redis"]["status"], "fail", "{body}");
    assert!(took < Duration::from_secs(1), "readyz took {took:?}");
    redis.restart().await;

    for n in 0..3 {
        let body = format!("after {n}");
        // Posted on A, which published nothing for 3 s: its first publish may still find the
        // connection being re-established; the post is stored and its event retried either way.
        try_post(&a, &alice, &channel, &body).await.expect("posts after the outage");
        acked.push(body);
    }
    let seen = subscriber.wait_for(&acked, Duration::from_secs(15)).await;
    assert_every_post_once(&seen, &acked);
    // The deadline bound: each Redis call waits at most 250 ms and a request makes a few; before
    // the deadlines a request waited for the client to reconnect (4.3 s for a 3 s outage).
    assert!(slowest < Duration::from_secs(2), "the slowest request during the outage took {slowest:?}");
    eprintln!("redis outage: {} posts acknowledged, slowest request {slowest:?}", acked.len());
}

#[tokio::test]
#[ignore = "needs Postgres + Redis: runs in the .ci/run Postgres pass (--run-ignored all)"]
async fn postgres_stopped_for_5s_is_unavailable_fast_and_recovers_without_a_restart_on_postgres() {
    require_postgres_and_redis();
    let cluster = PrivateCluster::start();
    let app = spawn_app_with(&[("DATABASE_URL", &cluster.url()), ("STOA_JOBS", "queue"), UNLIMITED]).await;
    let (alice, _bob, ws, channel) = workspace_with_two(&app).await;
    let mut socket = WsClient::init(&app, Some(&alice.token)).await;
    try_post(&app, &alice, &channel, "before").await.expect("posts before the outage");

    cluster.stop_immediately();
    let outage = Instant::now();
    // HTTP: UNAVAILABLE within the acquire deadline (2 s), 503 with Retry-After.
    for query in [POST, ME] {
        let started = Instant::now();
        let res = app
            .http
            .post(app.url())
            .bearer_auth(&alice.token)
            .json(&json!({ "query": query, "variables": { "input": { "channelId": channel, "body": "during" } } }))
            .send()
            .await
            .expect("answered");
        let took = started.elapsed();
        let status = res.status().as_u16();
        let retry_after = res.headers().get("retry-after").and_then(|v| v.to_str().ok()).map(str::to_owned);
        let body: Value = res.json().await.expect("JSON");
        assert_eq!(status, 503, "{body}");
        assert_eq!(body["errors"][0]["extensions"]["code"], "UNAVAILABLE", "{body}");
        assert!(body["errors"][0]["extensions"]["retryAfter"].as_u64().is_some_and(|s| s > 0), "{body}");
        assert!(retry_after.is_some_and(|v| v.parse::<u64>().is_ok_and(|s| s > 0)), "Retry-After on a 503");
        assert!(took < Duration::from_millis(2500), "{query}: {took:?}, past the 2 s acquire deadline");
    }
    // A socket: an `error` for that operation, and the socket stays open.
    socket.subscribe("s1", EVENTS, json!({ "id": channel, "after": 0 })).await;
    let refused = socket.next_json().await;
    assert_eq!((refused["type"].as_str(), refused["id"].as_str()), (Some("error"), Some("s1")), "{refused}");
    assert_eq!(refused["payload"][0]["extensions"]["code"], "UNAVAILABLE", "{refused}");
    // Readiness: 503 once the background probe has seen it, and every answer within a second.
    let mut unready = None;
    while unready.is_none() && outage.elapsed() < Duration::from_secs(4) {
        let (status, body, took) = readyz(&app).await;
        assert!(took < Duration::from_secs(1), "readyz took {took:?}");
        if status == 503 {
            unready = Some(body);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let unready = unready.expect("readyz says 503 during the outage");
    assert_eq!(unready["status"], "unready");
    assert_eq!(unready["checks"]["database"]["status"], "fail", "{unready}");

    tokio::time::sleep(Duration::from_secs(5).saturating_sub(outage.elapsed())).await;
    cluster.pg_ctl_start();
    let back = Instant::now();
    let mut posted = None;
    while posted.is_none() && back.elapsed() < Duration::from_secs(15) {
        posted = try_post(&app, &alice, &channel, "after").await.ok();
        if posted.is_none() {
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
    assert!(posted.is_some(), "posts work again without restarting stoa");
    let recovered = back.elapsed();
    // The socket opened before the outage still works.
    socket.subscribe("s2", EVENTS, json!({ "id": channel, "after": 0 })).await;
    let replayed = socket.next_json().await;
    assert_eq!(replayed["type"], "next", "{replayed}");
    assert_eq!(replayed["payload"]["data"]["channelEvents"]["message"]["body"], "before", "{replayed}");
    // The job workers came back: an upload queued after the outage scans within 5 s.
    let (_, uploaded) = multipart(&app, &alice.token, &ws, "after.txt", "text/plain", b"after the outage", true).await;
    let id = uploaded["data"]["uploadFile"]["attachment"]["id"].as_str().expect("uploaded").to_owned();
    let queued = Instant::now();
    wait_for_status_within(&app, &alice.token, &id, "CLEAN", 5).await;
    let (status, body, _) = readyz(&app).await;
    assert_eq!(status, 200, "{body}");
    eprintln!("postgres outage: first post {recovered:?} after restart, scan {:?} after upload", queued.elapsed());
}

/// A `stoa serve` process on the database, Redis and secret of `like`.
fn replica_process(like: &TestApp, name: &str) -> (KillOnDrop, u16) {
    let port = free_port();
    let env = [
        ("STOA_DATA_DIR", like.data_dir.join(name).display().to_string()),
        ("STOA_BIND", format!("127.0.0.1:{port}")),
        ("STOA_JOBS", "inline".to_owned()),
        (UNLIMITED.0, UNLIMITED.1.to_owned()),
    ];
    (like.stoa_process(name, &[], &env), port)
}

#[tokio::test]
#[ignore = "needs Postgres + Redis: runs in the .ci/run Postgres pass (--run-ignored all)"]
async fn a_replica_killed_under_a_live_subscription_resumes_on_the_other_with_after_on_postgres() {
    require_postgres_and_redis();
    let b = spawn_app_with(&[UNLIMITED]).await;
    let (alice, bob, channel) = channel_with_two(&b).await;
    let (mut replica, port) = replica_process(&b, "a");
    wait_for_port(port, "stoa serve").await;
    let a_addr: std::net::SocketAddr = ([127, 0, 0, 1], port).into();
    // The subscriber is on A (the process), the poster on B.
    let on_a = TestApp::remote(&b, a_addr);
    let subscriber = Collector::start(&on_a, &bob, &channel, 0).await;
    let mut acked = Vec::new();
    for n in 0..5 {
        let body = format!("live {n}");
        try_post(&b, &alice, &channel, &body).await.expect("posted");
        acked.push(body);
    }
    let before = subscriber.wait_for(&acked, Duration::from_secs(10)).await;
    assert_every_post_once(&before, &acked);
    let last = before.last().map_or(0, |(seq, _)| *seq);

    replica.0.kill().expect("SIGKILL the subscriber's replica");
    let _ = replica.0.wait();
    let killed = Instant::now();
    for n in 0..5 {
        let body = format!("while away {n}");
        try_post(&b, &alice, &channel, &body).await.expect("posted on the surviving replica");
        acked.push(body);
    }
    // The client reconnects to the other replica and resumes after the last seq it saw.
    let resumed = Collector::start(&b, &bob, &channel, last).await;
    let rest = resumed.wait_for(&acked[5..], Duration::from_secs(10)).await;
    let resume_took = killed.elapsed();
    assert_every_post_once(&rest, &acked[5..]);
    assert!(rest.iter().all(|(seq, _)| *seq > last), "nothing already seen is sent again: {rest:?}");
    eprintln!("replica killed: resumed with {} posts in {resume_took:?}", rest.len());
}

#[tokio::test]
async fn a_worker_process_reports_its_loops_in_readyz_and_metrics() {
    let app = spawn_app_with(&[("STOA_JOBS", "queue"), ("STOA_WORKERS", "false")]).await;
    let port = free_port();
    let _worker = app.stoa_process("worker", &["worker"], &[("STOA_WORKER_BIND", format!("127.0.0.1:{port}"))]);
    wait_for_port(port, "stoa worker").await;
    let base = format!("http://127.0.0.1:{port}");
    let deadline = Instant::now() + Duration::from_secs(10);
    let body = loop {
        let res = app.http.get(format!("{base}/readyz")).send().await.expect("readyz answers");
        let status = res.status().as_u16();
        let body: Value = res.json().await.expect("JSON");
        if status == 200 {
            break body;
        }
        assert!(Instant::now() < deadline, "the worker never became ready: {status} {body}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(body["role"], "worker", "{body}");
    assert_eq!(body["checks"]["database"]["status"], "ok", "{body}");
    assert_eq!(body["checks"]["schema"]["status"], "ok", "{body}");
    assert_eq!(body["checks"]["workers"]["status"], "ok", "{body}");
    assert_eq!(body["checks"]["workers"]["jobs"]["up"], true, "{body}");
    let metrics = app.http.get(format!("{base}/metrics")).send().await.expect("metrics").text().await.expect("text");
    assert!(metrics.contains("stoa_worker_up{worker=\"jobs\"} 1"), "{metrics}");
    assert!(metrics.contains("stoa_worker_restarts_total{worker=\"jobs\"} 0"), "{metrics}");
    assert_eq!(app.http.get(format!("{base}/healthz")).send().await.expect("healthz").status(), 200);
    // The API server's own readiness names its checks too.
    let (status, body, _) = readyz(&app).await;
    assert_eq!((status, body["status"].as_str(), body["role"].as_str()), (200, Some("ready"), Some("server")));
    assert_eq!(body["checks"]["draining"]["status"], "ok", "{body}");
}

#[tokio::test]
#[ignore = "needs Postgres + Redis: runs in the .ci/run Postgres pass (--run-ignored all)"]
async fn with_the_closed_policy_redis_down_refuses_unavailable_and_redis_back_serves_again_on_postgres() {
    require_postgres_and_redis();
    let mut redis = PrivateRedis::start().await;
    let app = spawn_app_with(&[("REDIS_URL", &redis.url()), ("STOA_RATE_LIMIT_REDIS_DOWN", "closed")]).await;
    let alice = app.signed_up("alice").await;
    app.gql_as(Some(&alice.token), ME, json!({})).await.ok();
    redis.kill();
    let started = Instant::now();
    let res = app.http.post(app.url()).bearer_auth(&alice.token).json(&json!({ "query": ME })).send().await.unwrap();
    let took = started.elapsed();
    assert_eq!(res.status().as_u16(), 503);
    assert!(res.headers().contains_key("retry-after"));
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["errors"][0]["extensions"]["code"], "UNAVAILABLE", "{body}");
    assert_eq!(body["errors"][0]["extensions"]["dependency"], "redis", "{body}");
    assert!(took < Duration::from_secs(1), "refused within the Redis deadline, took {took:?}");
    redis.restart().await;
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let res = app.gql_as(Some(&alice.token), ME, json!({})).await;
        if res.error_code().is_none() {
            assert_eq!(res.data()["me"]["id"], alice.id.as_str());
            break;
        }
        assert!(Instant::now() < deadline, "still refused after Redis came back: {}", res.body);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let metrics = app.http.get(format!("http://{}/metrics", app.addr)).send().await.unwrap().text().await.unwrap();
    assert!(!metrics.contains("stoa_ratelimit_redis_down_total{outcome=\"refused\"} 0"), "counted: {metrics}");
}

#[tokio::test]
#[ignore = "needs Postgres + Redis: runs in the .ci/run Postgres pass (--run-ignored all)"]
async fn replicas_starting_together_on_a_fresh_database_all_come_up_on_postgres() {
    require_postgres_and_redis();
    let backend = crate::helpers::TestBackend::from_env();
    let dir = std::env::temp_dir().join(format!("stoa-race-{}", uuid::Uuid::now_v7().simple()));
    let url = crate::helpers::fresh_database(&backend, &dir).await;
    let config = |n: u32| {
        let vars: std::collections::HashMap<String, String> = [
            ("DATABASE_URL", url.clone()),
            ("STOA_BIND", "127.0.0.1:0".to_owned()),
            ("STOA_DATA_DIR", dir.join(n.to_string()).display().to_string()),
            ("STOA_JWT_SECRET", "race-secret-race-secret-race-secret-12".to_owned()),
            ("STOA_JOBS", "inline".to_owned()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
        stoa_api::Config::from_lookup(move |k| vars.get(k).cloned()).expect("config loads")
    };
    // Three at once: before the migration lock, two replicas on a fresh database failed with a
    // duplicate CREATE TYPE.
    let (a, b, c) = tokio::join!(
        stoa_api::Server::build(config(1)),
        stoa_api::Server::build(config(2)),
        stoa_api::Server::build(config(3))
    );
    for (n, server) in [a, b, c].into_iter().enumerate() {
        assert!(
            server.is_ok(),
            "replica {n} failed to start: {:#}",
            server.err().map(|e| e.to_string()).unwrap_or_default()
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}
