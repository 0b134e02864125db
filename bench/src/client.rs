//! A minimal GraphQL client over HTTP and graphql-transport-ws: the bench talks to Stoa only as a
//! frontend would.

use anyhow::{Context as _, bail};
use futures::{SinkExt as _, StreamExt as _};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;

pub type Socket = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

#[derive(Clone)]
pub struct Api {
    pub base: String,
    pub http: reqwest::Client,
}

#[derive(Clone)]
pub struct User {
    pub token: String,
    pub id: String,
    pub email: String,
}

impl Api {
    pub fn new(base: &str) -> Self {
        let http = reqwest::Client::builder().pool_max_idle_per_host(64).build().unwrap_or_default();
        Self { base: base.trim_end_matches('/').to_owned(), http }
    }

    /// Runs one operation; fails on any GraphQL error.
    pub async fn gql(&self, token: Option<&str>, query: &str, variables: Value) -> anyhow::Result<Value> {
        let mut req =
            self.http.post(format!("{}/graphql", self.base)).json(&json!({ "query": query, "variables": variables }));
        if let Some(token) = token {
            req = req.bearer_auth(token);
        }
        let body: Value = req.send().await?.json().await?;
        if let Some(errors) = body.get("errors") {
            bail!("GraphQL errors: {errors}");
        }
        Ok(body["data"].clone())
    }

    /// [`Self::gql`] for setting a run up: an `UNAVAILABLE` answer (the server's database was
    /// busy past its deadline: nothing was done) is retried after its `retryAfter`, as a client
    /// should, up to five times. Measured requests use [`Self::gql`] and count such answers.
    pub async fn gql_setup(&self, token: Option<&str>, query: &str, variables: Value) -> anyhow::Result<Value> {
        let mut attempt = 0;
        loop {
            match self.gql(token, query, variables.clone()).await {
                Err(e) if attempt < 5 && e.to_string().contains("\"UNAVAILABLE\"") => {
                    attempt += 1;
                    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
                }
                other => return other,
            }
        }
    }

    pub async fn sign_up(&self, name: &str) -> anyhow::Result<User> {
        let email = format!("{name}.{}@bench.local", uuid::Uuid::now_v7().simple());
        let data = self
            .gql(
                None,
                "mutation($i: RegisterInput!) { register(input: $i) { accessToken viewer { id } } }",
                json!({ "i": { "email": email, "password": "bench-password-1", "displayName": name } }),
            )
            .await?;
        Ok(User {
            token: data["register"]["accessToken"].as_str().context("token")?.to_owned(),
            id: data["register"]["viewer"]["id"].as_str().context("id")?.to_owned(),
            email,
        })
    }

    /// A workspace owned by `owner` with `members` added, and a public channel they all belong to.
    pub async fn channel(&self, owner: &User, members: &[&User]) -> anyhow::Result<String> {
        let ws = self
            .gql(
                Some(&owner.token),
                "mutation { createWorkspace(input: { name: \"Bench\" }) { workspace { id } } }",
                json!({}),
            )
            .await?;
        let ws = ws["createWorkspace"]["workspace"]["id"].as_str().context("workspace")?.to_owned();
        for m in members {
            self.gql(
                Some(&owner.token),
                "mutation($i: AddMemberInput!) { addMember(input: $i) { member { role } } }",
                json!({ "i": { "workspaceId": ws, "email": m.email } }),
            )
            .await?;
        }
        let ids: Vec<&str> = members.iter().map(|m| m.id.as_str()).collect();
        let ch = self
            .gql(
                Some(&owner.token),
                "mutation($i: CreateChannelInput!) { createChannel(input: $i) { channel { id } } }",
                json!({ "i": { "workspaceId": ws, "name": "bench", "memberIds": ids } }),
            )
            .await?;
        Ok(ch["createChannel"]["channel"]["id"].as_str().context("channel")?.to_owned())
    }

    /// A graphql-transport-ws socket, initialised with `token`.
    pub async fn socket(&self, token: &str) -> anyhow::Result<Socket> {
        let url = format!("{}/graphql", self.base.replacen("http", "ws", 1));
        let mut request = url.into_client_request()?;
        request.headers_mut().insert("Sec-WebSocket-Protocol", "graphql-transport-ws".parse()?);
        let (mut socket, _) = tokio_tungstenite::connect_async(request).await?;
        let init = json!({ "type": "connection_init", "payload": { "authorization": format!("Bearer {token}") } });
        socket.send(Message::Text(init.to_string().into())).await?;
        loop {
            match socket.next().await {
                Some(Ok(Message::Text(t))) if t.as_str().contains("connection_ack") => return Ok(socket),
                Some(Ok(Message::Text(t))) => bail!("unexpected before ack: {t}"),
                Some(Ok(_)) => {}
                other => bail!("socket closed during init: {other:?}"),
            }
        }
    }

    /// Server counters from `/metrics`.
    pub async fn metric(&self, name: &str) -> anyhow::Result<f64> {
        let text = self.http.get(format!("{}/metrics", self.base)).send().await?.text().await?;
        text.lines()
            .find_map(|l| l.strip_prefix(name).and_then(|rest| rest.trim().parse::<f64>().ok()))
            .with_context(|| format!("metric {name} missing"))
    }
}

pub async fn subscribe(socket: &mut Socket, id: &str, query: &str, variables: Value) -> anyhow::Result<()> {
    let msg = json!({ "id": id, "type": "subscribe", "payload": { "query": query, "variables": variables } });
    socket.send(Message::Text(msg.to_string().into())).await?;
    Ok(())
}
