//! Test harness: a fresh database per test, the real server, GraphQL and WebSocket clients.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::Duration;

use futures::{SinkExt as _, StreamExt as _};
use serde_json::{Value, json};
use stoa_api::{Config, Server};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;

/// Which backends this run uses.
pub enum TestBackend {
    Sqlite,
    Postgres { url: String, redis: String },
}

impl TestBackend {
    /// `TEST_DATABASE_URL` set: Postgres + Redis (both required); otherwise `SQLite`.
    pub fn from_env() -> Self {
        match std::env::var("TEST_DATABASE_URL").ok().filter(|v| !v.is_empty()) {
            None => Self::Sqlite,
            Some(url) => {
                let redis = std::env::var("TEST_REDIS_URL")
                    .ok()
                    .filter(|v| !v.is_empty())
                    .expect("TEST_REDIS_URL must be set with TEST_DATABASE_URL");
                Self::Postgres { url, redis }
            }
        }
    }
}

/// The first line of a test named `…_on_postgres` (and `#[ignore]`d, so the SQLite pass lists it
/// as skipped): a run that includes it without both services configured fails here, saying what to
/// set, instead of passing without testing anything.
pub fn require_postgres_and_redis() {
    for var in ["TEST_DATABASE_URL", "TEST_REDIS_URL"] {
        assert!(
            std::env::var(var).is_ok_and(|v| !v.is_empty()),
            "{var} is unset: this test needs Postgres + Redis; run it in the .ci/run Postgres pass, which sets \
             TEST_DATABASE_URL and TEST_REDIS_URL"
        );
    }
}

pub struct TestApp {
    /// The variables this server was started with (a second instance can share its database).
    pub vars: HashMap<String, String>,
    pub addr: SocketAddr,
    pub http: reqwest::Client,
    pub secret: String,
    pub app: stoa_domain::AppCtx,
    /// The server's clock: `clock.advance(…)` moves its "now" (auto-close, SLA deadlines).
    pub clock: std::sync::Arc<stoa_domain::ports::clock::ShiftedClock>,
    pub data_dir: std::path::PathBuf,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        let _ = std::fs::remove_dir_all(&self.data_dir);
    }
}

/// A fresh database for one test: a temp `SQLite` file, or `CREATE DATABASE stoa_test_<id>`.
pub async fn fresh_database(backend: &TestBackend, data_dir: &std::path::Path) -> String {
    match backend {
        TestBackend::Sqlite => format!("sqlite://{}", data_dir.join("test.db").display()),
        TestBackend::Postgres { url, .. } => {
            use sea_orm::ConnectionTrait as _;
            let name = format!("stoa_test_{}", uuid::Uuid::now_v7().simple());
            let admin = sea_orm::Database::connect(url.as_str())
                .await
                .expect("TEST_DATABASE_URL is set but Postgres is unreachable");
            admin.execute_unprepared(&format!("CREATE DATABASE {name}")).await.expect("create test database");
            let _ = admin.close().await;
            let base = url.rsplit_once('/').map_or(url.as_str(), |(base, _)| base);
            format!("{base}/{name}")
        }
    }
}

/// Starts a server with the test defaults plus `overrides` (environment-style variables).
pub async fn spawn_app_with(overrides: &[(&str, &str)]) -> TestApp {
    spawn_app_with_clock(overrides, std::sync::Arc::new(stoa_domain::ports::clock::ShiftedClock::default())).await
}

/// [`spawn_app_with`] on `clock` (a second server sharing a first one's moved time).
pub async fn spawn_app_with_clock(
    overrides: &[(&str, &str)],
    clock: std::sync::Arc<stoa_domain::ports::clock::ShiftedClock>,
) -> TestApp {
    let backend = TestBackend::from_env();
    let data_dir = std::env::temp_dir().join(format!("stoa-it-{}", uuid::Uuid::now_v7()));
    std::fs::create_dir_all(&data_dir).unwrap();
    let database_url = fresh_database(&backend, &data_dir).await;
    let secret = format!("test-secret-{}", uuid::Uuid::now_v7().simple());
    let mut vars: HashMap<String, String> = HashMap::from([
        ("STOA_BIND".into(), "127.0.0.1:0".into()),
        ("STOA_DATA_DIR".into(), data_dir.display().to_string()),
        ("DATABASE_URL".into(), database_url),
        ("STOA_JWT_SECRET".into(), secret.clone()),
        ("STOA_JOBS".into(), "inline".into()),
    ]);
    if let TestBackend::Postgres { redis, .. } = &backend {
        vars.insert("REDIS_URL".into(), redis.clone());
        vars.insert("STOA_REDIS_PREFIX".into(), format!("stoa-test-{}", uuid::Uuid::now_v7().simple()));
        // The scaled-out column sends mail over real SMTP (maildev, started by .ci/run).
        if let Some(smtp) = std::env::var("TEST_SMTP_URL").ok().filter(|v| !v.is_empty()) {
            vars.insert("STOA_SMTP_URL".into(), smtp);
        }
    }
    for (k, v) in overrides {
        vars.insert((*k).into(), (*v).into());
    }
    let config = Config::from_lookup(|k| vars.get(k).cloned()).expect("test config loads");
    let server = Server::build_with_clock(config, clock.clone()).await.expect("server builds");
    let addr = server.local_addr().unwrap();
    let app = server.app_ctx();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(server.run_until(async move {
        let _ = rx.await;
    }));
    TestApp { vars, addr, http: reqwest::Client::new(), secret, app, clock, data_dir, shutdown: Some(tx) }
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(&[]).await
}

/// The id and text of the generated client's operation `name` in the manifest the server embeds.
pub fn trusted_document(name: &str) -> (String, String) {
    let manifest: HashMap<String, String> = serde_json::from_str(stoa_api::trusted::EMBEDDED_MANIFEST).unwrap();
    let found = manifest.into_iter().find(|(_, text)| {
        ["query", "mutation", "subscription"]
            .iter()
            .any(|kind| text.contains(&format!("{kind} {name}(")) || text.contains(&format!("{kind} {name} {{")))
    });
    found.unwrap_or_else(|| panic!("the generated client has an operation {name}"))
}

/// The trusted id (`sha256:<hex>`) of the generated client's operation `name`.
pub fn trusted_id(name: &str) -> String {
    trusted_document(name).0
}

/// `extensions.code` of a response body's first error, `<none>` without one.
pub fn error_code(body: &Value) -> &str {
    body["errors"][0]["extensions"]["code"].as_str().unwrap_or("<none>")
}

/// A GraphQL response.
#[derive(Debug)]
pub struct Gql {
    pub body: Value,
}

impl Gql {
    pub fn data(&self) -> &Value {
        &self.body["data"]
    }

    /// The first error's code; panics if an error has no code (every error must carry one).
    pub fn error_code(&self) -> Option<String> {
        let errors = self.body["errors"].as_array()?;
        for err in errors {
            assert!(err["extensions"]["code"].is_string(), "error without extensions.code: {err}");
        }
        errors.first().map(|e| e["extensions"]["code"].as_str().unwrap_or_default().to_owned())
    }

    /// Panics unless the response succeeded.
    pub fn ok(self) -> Self {
        assert!(self.body.get("errors").is_none(), "unexpected errors: {}", self.body);
        self
    }
}

pub struct TestUser {
    pub id: String,
    pub email: String,
    pub password: String,
    pub token: String,
    pub refresh: String,
}

pub const REGISTER: &str = "mutation($input: RegisterInput!) { register(input: $input) { accessToken refreshToken viewer { id email displayName } } }";
pub const LOGIN: &str =
    "mutation($input: LoginInput!) { login(input: $input) { accessToken refreshToken viewer { id } } }";
pub const CREATE_WORKSPACE: &str =
    "mutation($input: CreateWorkspaceInput!) { createWorkspace(input: $input) { workspace { id name slug myRole } } }";
pub const ADD_MEMBER: &str =
    "mutation($input: AddMemberInput!) { addMember(input: $input) { member { role user { id displayName } } } }";

impl TestApp {
    /// `stoa <args>` as a child process on this server's database, secret and Redis namespace, in
    /// its data folder, plus `env` (which wins); its output goes to `<data_dir>/<name>.log`.
    pub fn stoa_process(&self, name: &str, args: &[&str], env: &[(&str, String)]) -> KillOnDrop {
        let log = self.data_dir.join(format!("{name}.log"));
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_stoa"));
        cmd.args(args).env_clear().env("STOA_LOG", "info").env("STOA_DATA_DIR", &self.data_dir);
        for (k, v) in self.shared_vars() {
            cmd.env(k, v);
        }
        for (k, v) in env {
            cmd.env(k, v);
        }
        let out = std::fs::File::create(&log).expect("log file");
        cmd.stdout(out.try_clone().expect("log file")).stderr(out);
        KillOnDrop(cmd.spawn().expect("stoa starts"), log)
    }

    /// A handle on another server (a `stoa serve` process) at `addr`, sharing `like`'s database
    /// and secret; dropping it stops nothing.
    pub fn remote(like: &Self, addr: SocketAddr) -> Self {
        Self {
            vars: like.vars.clone(),
            addr,
            http: reqwest::Client::new(),
            secret: like.secret.clone(),
            app: like.app.clone(),
            clock: like.clock.clone(),
            data_dir: std::env::temp_dir().join(format!("stoa-remote-{}", uuid::Uuid::now_v7())),
            shutdown: None,
        }
    }

    /// Variables for a second instance on the same database, secret and Redis namespace.
    pub fn shared_vars(&self) -> Vec<(String, String)> {
        [
            "DATABASE_URL",
            "STOA_JWT_SECRET",
            "REDIS_URL",
            "STOA_REDIS_PREFIX",
            "STORAGE_URL",
            "S3_ENDPOINT",
            "AWS_ACCESS_KEY_ID",
            "AWS_SECRET_ACCESS_KEY",
        ]
        .iter()
        .filter_map(|k| self.vars.get(*k).map(|v| ((*k).to_owned(), v.clone())))
        .collect()
    }

    /// The server's "now" (its shifted clock).
    pub fn clock_now(&self) -> chrono::DateTime<chrono::Utc> {
        use stoa_domain::ports::clock::Clock as _;
        self.clock.now()
    }

    pub fn url(&self) -> String {
        format!("http://{}/graphql", self.addr)
    }

    pub fn ws_url(&self) -> String {
        format!("ws://{}/graphql", self.addr)
    }

    /// POSTs a GraphQL request, optionally with a bearer token.
    pub async fn gql_as(&self, token: Option<&str>, query: &str, variables: Value) -> Gql {
        let mut req = self.http.post(self.url()).json(&json!({ "query": query, "variables": variables }));
        if let Some(token) = token {
            req = req.bearer_auth(token);
        }
        let res = req.send().await.expect("request sent");
        Gql { body: res.json().await.expect("JSON body") }
    }

    /// POSTs `body` as it is (a request by `documentId`, a batch, …): the status and the body.
    pub async fn post_json(&self, token: Option<&str>, body: &Value) -> (u16, Value) {
        let mut req = self.http.post(self.url()).json(body);
        if let Some(token) = token {
            req = req.bearer_auth(token);
        }
        let res = req.send().await.expect("request sent");
        (res.status().as_u16(), res.json().await.expect("JSON body"))
    }

    /// Registers `name` through the generated client's trusted `Register` document, which runs in
    /// every trusted-documents mode (`signed_up` sends text, refused under `enforce`).
    pub async fn signed_up_trusted(&self, name: &str) -> TestUser {
        let email = format!("{name}.{}@example.com", uuid::Uuid::now_v7().simple());
        let password = format!("pw-{name}-12345");
        let input = json!({ "email": email, "password": password, "displayName": name });
        let (status, body) = self
            .post_json(None, &json!({ "documentId": trusted_id("Register"), "variables": { "input": input } }))
            .await;
        assert_eq!(status, 200, "{body}");
        let auth = &body["data"]["register"];
        TestUser {
            id: auth["viewer"]["id"].as_str().unwrap().to_owned(),
            email,
            password,
            token: auth["accessToken"].as_str().unwrap().to_owned(),
            refresh: auth["refreshToken"].as_str().unwrap().to_owned(),
        }
    }

    pub async fn gql(&self, query: &str, variables: Value) -> Gql {
        self.gql_as(None, query, variables).await
    }

    /// Registers `name` with a unique email.
    pub async fn signed_up(&self, name: &str) -> TestUser {
        let email = format!("{name}.{}@example.com", uuid::Uuid::now_v7().simple());
        let password = format!("pw-{name}-12345");
        let res = self
            .gql(REGISTER, json!({ "input": { "email": email, "password": password, "displayName": name } }))
            .await
            .ok();
        let r = &res.data()["register"];
        TestUser {
            id: r["viewer"]["id"].as_str().unwrap().to_owned(),
            email,
            password,
            token: r["accessToken"].as_str().unwrap().to_owned(),
            refresh: r["refreshToken"].as_str().unwrap().to_owned(),
        }
    }

    /// Creates a workspace owned by `owner`; returns its id.
    pub async fn workspace(&self, owner: &TestUser, name: &str) -> String {
        let res = self.gql_as(Some(&owner.token), CREATE_WORKSPACE, json!({ "input": { "name": name } })).await.ok();
        res.data()["createWorkspace"]["workspace"]["id"].as_str().unwrap().to_owned()
    }

    /// Adds `user` to `workspace` with `role`, as `by`.
    pub async fn add(&self, by: &TestUser, workspace: &str, user: &TestUser, role: &str) {
        self.gql_as(
            Some(&by.token),
            ADD_MEMBER,
            json!({ "input": { "workspaceId": workspace, "email": user.email, "role": role } }),
        )
        .await
        .ok();
    }
}

/// A WebSocket client speaking one subprotocol.
pub struct WsClient {
    stream: tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>,
}

/// What the server did next.
#[derive(Debug, PartialEq)]
pub enum WsEvent {
    Json(Value),
    Closed(Option<u16>),
}

impl WsClient {
    pub async fn connect(app: &TestApp, protocol: &str) -> Self {
        let mut request = app.ws_url().into_client_request().unwrap();
        request.headers_mut().insert("Sec-WebSocket-Protocol", protocol.parse().unwrap());
        let (stream, response) = tokio_tungstenite::connect_async(request).await.expect("websocket connects");
        assert_eq!(response.headers().get("sec-websocket-protocol").and_then(|v| v.to_str().ok()), Some(protocol));
        Self { stream }
    }

    pub async fn send(&mut self, value: Value) {
        self.stream.send(Message::Text(value.to_string().into())).await.expect("ws send");
    }

    /// Sends `text`; `false` when the connection is gone.
    pub async fn try_send_raw(&mut self, text: &str) -> bool {
        self.stream.send(Message::Text(text.to_owned().into())).await.is_ok()
    }

    pub async fn send_raw(&mut self, text: &str) {
        self.stream.send(Message::Text(text.to_owned().into())).await.expect("ws send");
    }

    /// The next JSON message or the close, skipping pings; panics after `within`.
    pub async fn next_within(&mut self, within: Duration) -> WsEvent {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let msg =
                tokio::time::timeout_at(deadline, self.stream.next()).await.expect("nothing from the server in time");
            match msg {
                None | Some(Err(_)) => return WsEvent::Closed(None),
                Some(Ok(Message::Text(t))) => {
                    return WsEvent::Json(serde_json::from_str(t.as_str()).expect("JSON message"));
                }
                Some(Ok(Message::Close(frame))) => return WsEvent::Closed(frame.map(|f| u16::from(f.code))),
                Some(Ok(_)) => {}
            }
        }
    }

    /// The next JSON message or close within `within`, or `None` when nothing came (skips pings).
    pub async fn try_next(&mut self, within: Duration) -> Option<WsEvent> {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let msg = tokio::time::timeout_at(deadline, self.stream.next()).await.ok()?;
            match msg {
                None | Some(Err(_)) => return Some(WsEvent::Closed(None)),
                Some(Ok(Message::Text(t))) => {
                    return Some(WsEvent::Json(serde_json::from_str(t.as_str()).expect("JSON message")));
                }
                Some(Ok(Message::Close(frame))) => return Some(WsEvent::Closed(frame.map(|f| u16::from(f.code)))),
                Some(Ok(_)) => {}
            }
        }
    }

    /// Starts operation `id` (graphql-transport-ws `subscribe`).
    pub async fn subscribe(&mut self, id: &str, query: &str, variables: Value) {
        self.send(json!({ "id": id, "type": "subscribe", "payload": { "query": query, "variables": variables } }))
            .await;
    }

    /// The next JSON message; panics on a close.
    pub async fn next_json(&mut self) -> Value {
        match self.next_within(Duration::from_secs(5)).await {
            WsEvent::Json(v) => v,
            other @ WsEvent::Closed(_) => panic!("expected a message, got {other:?}"),
        }
    }

    /// Expects the server to close with `code`.
    pub async fn expect_close(&mut self, code: u16) {
        loop {
            match self.next_within(Duration::from_secs(5)).await {
                WsEvent::Closed(got) => {
                    assert_eq!(got, Some(code), "close code");
                    return;
                }
                WsEvent::Json(v) => {
                    if v["type"] == "ka" || v["type"] == "ping" {
                        continue;
                    }
                    panic!("expected close {code}, got {v}");
                }
            }
        }
    }

    /// graphql-transport-ws handshake with `token`.
    pub async fn init(app: &TestApp, token: Option<&str>) -> Self {
        let mut ws = Self::connect(app, "graphql-transport-ws").await;
        let payload = token.map_or(json!({}), |t| json!({ "authorization": format!("Bearer {t}") }));
        ws.send(json!({ "type": "connection_init", "payload": payload })).await;
        assert_eq!(ws.next_json().await["type"], "connection_ack");
        ws
    }
}

/// A child process killed when the test ends, failed assertions included; when the test failed,
/// the child's output is printed with the failure.
pub struct KillOnDrop(pub std::process::Child, pub std::path::PathBuf);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
        if std::thread::panicking() {
            let output = std::fs::read_to_string(&self.1).unwrap_or_default();
            eprintln!("--- {} ---\n{output}", self.1.display());
        }
    }
}

/// A mail as a test reads it back: from the `.eml` outbox (embedded default) or from maildev's
/// HTTP API (SMTP).
#[derive(Debug, Clone)]
pub struct ReceivedMail {
    /// The decoded plain-text part (outbox: the whole message, quoted-printable decoded).
    pub text: String,
    /// The message as it was delivered, headers included.
    pub source: String,
}

impl ReceivedMail {
    /// The token of the link to `path` (e.g. `/verify-email`) in the mail.
    pub fn token(&self, path: &str) -> String {
        let marker = format!("{path}#token=");
        let at = self.text.find(&marker).unwrap_or_else(|| panic!("no {marker} link in {}", self.text));
        self.text[at + marker.len()..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
            .collect()
    }
}

/// Undoes quoted-printable: soft line breaks and `=XX` escapes.
fn unquote(raw: &str) -> String {
    let joined = raw.replace("=\r\n", "").replace("=\n", "");
    let bytes = joined.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'='
            && i + 2 < bytes.len()
            && let Ok(b) = u8::from_str_radix(&joined[i + 1..i + 3], 16)
        {
            out.push(b);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

impl TestApp {
    /// Whether this server sends mail over SMTP (to maildev) rather than to its outbox folder.
    fn smtp(&self) -> Option<String> {
        self.vars.get("STOA_SMTP_URL")?;
        Some(std::env::var("TEST_MAILDEV_URL").expect("TEST_SMTP_URL is set, so TEST_MAILDEV_URL must be too"))
    }

    /// Every mail delivered to `to` so far, oldest first.
    pub async fn mails_to(&self, to: &str) -> Vec<ReceivedMail> {
        if let Some(api) = self.smtp() {
            let url = format!("{api}/api/email?to.address={to}");
            let list: Vec<Value> = self.http.get(&url).send().await.unwrap().json().await.unwrap();
            let mut mails = Vec::new();
            for mail in list {
                let id = mail["id"].as_str().unwrap();
                let source = self.http.get(format!("{api}/api/email/{id}/source")).send().await.unwrap();
                let text = mail["text"].as_str().unwrap_or_default().to_owned();
                mails.push(ReceivedMail { text, source: source.text().await.unwrap() });
            }
            return mails;
        }
        let dir = self.data_dir.join("outbox");
        let Ok(entries) = std::fs::read_dir(&dir) else { return Vec::new() };
        let mut files: Vec<_> = entries
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "eml"))
            .collect();
        files.sort(); // UUID v7 names sort by time
        files
            .into_iter()
            .map(|p| std::fs::read_to_string(p).unwrap())
            .filter(|source| source.lines().any(|l| l.eq_ignore_ascii_case(&format!("To: {to}"))))
            .map(|source| ReceivedMail { text: unquote(&source), source })
            .collect()
    }

    /// Waits (up to 10 s) until `to` has received `n` mails carrying a `path` link
    /// (`/invite#token=…`), and returns the `n`th of them. Mails are sent by jobs after their
    /// transactions commit, so two mails to one address may arrive in either order: a test that
    /// wants one kind asks for it by its link, not by its place among all.
    pub async fn nth_mail_with_link(&self, to: &str, path: &str, n: usize) -> ReceivedMail {
        let marker = format!("{path}#token=");
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            let mails: Vec<ReceivedMail> =
                self.mails_to(to).await.into_iter().filter(|m| m.text.contains(&marker)).collect();
            if mails.len() >= n {
                return mails[n - 1].clone();
            }
            assert!(tokio::time::Instant::now() < deadline, "{to} got {} {path} mails, expected {n}", mails.len());
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Waits (up to 10 s) until `to` has received `n` mails, and returns the latest.
    pub async fn nth_mail_to(&self, to: &str, n: usize) -> ReceivedMail {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            let mails = self.mails_to(to).await;
            if mails.len() >= n {
                return mails[n - 1].clone();
            }
            assert!(tokio::time::Instant::now() < deadline, "{to} got {} mails, expected {n}", mails.len());
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}
