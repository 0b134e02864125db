//! The bare baseline: a tokio + tungstenite broadcast server with no GraphQL, no storage and a
//! 4 KiB read buffer, run as its own process (`stoa-bench baseline-server`) so its CPU is its
//! own. It speaks just enough graphql-transport-ws for the same subscribers: `connection_init` →
//! `connection_ack`, `subscribe` joins the broadcast, `ping` → `pong`. A publisher socket sends
//! `{"type":"publish","body":…}` and gets `{"seq":N}` back; every subscriber gets the event in the
//! frame shape Stoa sends, behind its own operation id.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use futures::{SinkExt as _, StreamExt as _};
use tokio::sync::broadcast;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::handshake::server::{Request, Response};
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

/// Serves on `bind` until killed; prints `baseline listening on ADDR` once bound.
pub async fn serve(bind: &str) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(bind).await?;
    println!("baseline listening on {}", listener.local_addr()?);
    let (events, _) = broadcast::channel::<Arc<str>>(1024);
    let seq = Arc::new(AtomicI64::new(0));
    loop {
        let (stream, _) = listener.accept().await?;
        let _ = stream.set_nodelay(true);
        let (events, seq) = (events.clone(), Arc::clone(&seq));
        tokio::spawn(async move {
            let _ = connection(stream, events, seq).await;
        });
    }
}

async fn connection(
    stream: tokio::net::TcpStream,
    events: broadcast::Sender<Arc<str>>,
    seq: Arc<AtomicI64>,
) -> anyhow::Result<()> {
    #[expect(clippy::result_large_err, reason = "tungstenite's handshake callback type")]
    let protocol = |_: &Request, mut res: Response| {
        let protocol = tokio_tungstenite::tungstenite::http::HeaderValue::from_static("graphql-transport-ws");
        res.headers_mut().insert("sec-websocket-protocol", protocol);
        Ok(res)
    };
    let config = WebSocketConfig::default().read_buffer_size(4096);
    let mut socket = tokio_tungstenite::accept_hdr_async_with_config(stream, protocol, Some(config)).await?;
    let mut live: Option<(broadcast::Receiver<Arc<str>>, String)> = None;
    loop {
        tokio::select! {
            msg = socket.next() => {
                let Some(Ok(msg)) = msg else { return Ok(()) };
                let Message::Text(text) = msg else { continue };
                let value: serde_json::Value = serde_json::from_str(text.as_str()).unwrap_or_default();
                match value["type"].as_str() {
                    Some("connection_init") => {
                        socket.send(Message::Text(r#"{"type":"connection_ack"}"#.into())).await?;
                    }
                    Some("ping") => socket.send(Message::Text(r#"{"type":"pong"}"#.into())).await?,
                    Some("subscribe") => {
                        let id = serde_json::to_string(&value["id"]).unwrap_or_default();
                        live = Some((events.subscribe(), format!(r#"{{"id":{id},"type":"next","payload":"#)));
                    }
                    Some("publish") => {
                        let n = seq.fetch_add(1, Ordering::Relaxed) + 1;
                        let body = serde_json::to_string(&value["body"]).unwrap_or_default();
                        let payload = format!(r#"{{"data":{{"channelEvents":{{"seq":{n},"message":{{"body":{body}}}}}}}}}"#);
                        let _ = events.send(Arc::from(payload));
                        socket.send(Message::Text(format!(r#"{{"seq":{n}}}"#).into())).await?;
                    }
                    _ => {}
                }
            }
            event = async {
                match live.as_mut() {
                    Some((rx, _)) => rx.recv().await,
                    None => std::future::pending().await,
                }
            } => {
                let Ok(payload) = event else { continue };
                let Some((_, head)) = live.as_ref() else { continue };
                let mut frame = String::with_capacity(head.len() + payload.len() + 1);
                frame.push_str(head);
                frame.push_str(&payload);
                frame.push('}');
                socket.send(Message::Text(frame.into())).await?;
            }
        }
    }
}

/// A baseline server in a child process, killed on drop.
pub struct Child {
    child: tokio::process::Child,
    pub base: String,
}

impl Child {
    /// Starts `stoa-bench baseline-server` (this executable) and waits for its address.
    pub async fn start() -> anyhow::Result<Self> {
        use tokio::io::AsyncBufReadExt as _;
        let mut child = tokio::process::Command::new(std::env::current_exe()?)
            .args(["baseline-server", "--bind", "127.0.0.1:0"])
            .stdout(std::process::Stdio::piped())
            .kill_on_drop(true)
            .spawn()?;
        let stdout = child.stdout.take().ok_or_else(|| anyhow::anyhow!("no stdout"))?;
        let mut lines = tokio::io::BufReader::new(stdout).lines();
        let line = lines.next_line().await?.unwrap_or_default();
        let addr =
            line.strip_prefix("baseline listening on ").ok_or_else(|| anyhow::anyhow!("baseline said {line:?}"))?;
        Ok(Self { base: format!("http://{addr}"), child })
    }

    /// User + system CPU seconds the child has used.
    pub fn cpu_seconds(&self) -> Option<f64> {
        let pid = self.child.id()?;
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
        let rest = stat.rsplit_once(')')?.1;
        let mut fields = rest.split_whitespace().skip(11);
        let utime: u64 = fields.next()?.parse().ok()?;
        let stime: u64 = fields.next()?.parse().ok()?;
        Some((utime + stime) as f64 / 100.0)
    }

    /// Resident memory of the child in bytes.
    pub fn resident_bytes(&self) -> Option<u64> {
        let pid = self.child.id()?;
        let statm = std::fs::read_to_string(format!("/proc/{pid}/statm")).ok()?;
        let pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
        Some(pages * 4096)
    }
}

/// A publisher socket on the baseline.
pub struct Publisher(crate::client::Socket);

impl Publisher {
    pub async fn connect(api: &crate::client::Api) -> anyhow::Result<Self> {
        Ok(Self(api.socket("baseline").await?))
    }

    /// Broadcasts `body`; returns its seq.
    pub async fn publish(&mut self, body: &str) -> anyhow::Result<i64> {
        let msg = serde_json::json!({ "type": "publish", "body": body });
        self.0.send(Message::Text(msg.to_string().into())).await?;
        loop {
            match self.0.next().await {
                Some(Ok(Message::Text(t))) => {
                    let v: serde_json::Value = serde_json::from_str(t.as_str())?;
                    if let Some(seq) = v["seq"].as_i64() {
                        return Ok(seq);
                    }
                }
                Some(Ok(_)) => {}
                other => anyhow::bail!("baseline publisher closed: {other:?}"),
            }
        }
    }
}
