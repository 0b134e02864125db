//! One WebSocket connection: the init handshake, operations by id, keep-alive and close codes.

use std::collections::HashMap;
use std::time::Instant;

use axum::extract::ws::{Message, WebSocket};
use futures::{SinkExt as _, StreamExt as _};
use serde_json::{Value, json};
use stoa_schema::RequestActor;
use stoa_schema::error::{codes, transport_error};
use stoa_schema::limits::classify_errors;
use tokio::sync::mpsc;
use tokio::task::AbortHandle;

use stoa_domain::chat::presence;

use crate::gql;
use crate::server::AppState;
use crate::ws::protocol::{self, Protocol, close, message};

/// An operation finished on its own: `(id, generation, send complete)`.
type Done = (String, u64, bool);

/// What the main loop does after a message.
enum Flow {
    Continue,
    Close(u16, String),
}

struct Conn {
    state: AppState,
    ip: String,
    protocol: Protocol,
    out: mpsc::Sender<Message>,
    done: mpsc::UnboundedSender<Done>,
    ops: HashMap<String, (u64, AbortHandle)>,
    generation: u64,
    init_seen: bool,
    actor: Option<RequestActor>,
    /// The signed-in user, counted in presence while the socket lives.
    user: Option<stoa_domain::ids::UserId>,
}

/// Serves `socket` until either side closes.
pub async fn serve(socket: WebSocket, state: AppState, ip: String, protocol: Protocol) {
    let (mut sink, mut stream) = socket.split();
    let (out, mut out_rx) = mpsc::channel::<Message>(64);
    let writer = tokio::spawn(async move {
        while let Some(msg) = out_rx.recv().await {
            let closing = matches!(msg, Message::Close(_));
            if sink.send(msg).await.is_err() || closing {
                break;
            }
        }
        let _ = sink.close().await;
    });
    if protocol == Protocol::Unsupported {
        let _ = out.send(protocol::close_frame(close::SUBPROTOCOL_NOT_ACCEPTABLE, "Subprotocol not acceptable")).await;
        drop(out);
        let _ = writer.await;
        return;
    }
    state.metrics.socket_opened();
    let metrics = std::sync::Arc::clone(&state.metrics);
    let (done, mut done_rx) = mpsc::unbounded_channel();
    let ws = state.ws.clone();
    let mut conn = Conn {
        state,
        ip,
        protocol,
        out,
        done,
        ops: HashMap::new(),
        generation: 0,
        init_seen: false,
        actor: None,
        user: None,
    };
    let init_deadline = tokio::time::sleep(ws.init_timeout);
    tokio::pin!(init_deadline);
    let mut keepalive = tokio::time::interval_at(tokio::time::Instant::now() + ws.keepalive, ws.keepalive);
    let mut last_seen = Instant::now();
    let flow = loop {
        tokio::select! {
            () = &mut init_deadline, if !conn.init_seen => {
                break Flow::Close(close::INIT_TIMEOUT, "Connection initialisation timeout".into());
            }
            _ = keepalive.tick() => {
                if last_seen.elapsed() > ws.keepalive * 3 {
                    tracing::debug!("websocket peer silent; closing");
                    break Flow::Close(close::GOING_AWAY, "keep-alive timeout".into());
                }
                let _ = conn.out.try_send(Message::Ping(Vec::new().into()));
                if let Some(user) = conn.user
                    && let Err(e) = presence::heartbeat(&conn.state.app, user).await
                {
                    tracing::warn!(error = %e, "presence heartbeat failed");
                }
                if conn.protocol == Protocol::Legacy && conn.actor.is_some() {
                    let _ = conn.out.try_send(message("ka", None, None));
                }
            }
            Some((id, generation, complete)) = done_rx.recv() => conn.finished(&id, generation, complete).await,
            msg = stream.next() => {
                let Some(Ok(msg)) = msg else { break Flow::Continue };
                last_seen = Instant::now();
                let flow = match msg {
                    Message::Text(text) => conn.on_text(text.as_str()).await,
                    Message::Binary(_) => conn.invalid(),
                    Message::Ping(_) | Message::Pong(_) => Flow::Continue,
                    Message::Close(_) => break Flow::Continue,
                };
                if let Flow::Close(..) = flow {
                    break flow;
                }
            }
        }
    };
    for (_, (_, handle)) in conn.ops.drain() {
        handle.abort();
    }
    if let Some(user) = conn.user
        && let Err(e) = presence::disconnected(&conn.state.app, user).await
    {
        tracing::warn!(error = %e, "presence disconnect failed");
    }
    if let Flow::Close(code, reason) = flow {
        metrics.close(code);
        let _ = conn.out.send(protocol::close_frame(code, &reason)).await;
    }
    metrics.socket_closed();
    drop(conn);
    let _ = writer.await;
}

impl Conn {
    async fn send(&self, msg: Message) {
        let _ = self.out.send(msg).await;
    }

    /// An unparsable or unknown message: 4400 on graphql-transport-ws; an `error` on the legacy protocol.
    fn invalid(&self) -> Flow {
        match self.protocol {
            Protocol::Legacy => {
                let _ =
                    self.out.try_send(message("error", None, Some(json!({ "message": "Invalid message received" }))));
                Flow::Continue
            }
            _ => Flow::Close(close::BAD_REQUEST, "Invalid message received".into()),
        }
    }

    async fn finished(&mut self, id: &str, generation: u64, complete: bool) {
        if self.ops.get(id).is_some_and(|(g, _)| *g == generation) {
            self.ops.remove(id);
            if complete {
                self.send(message("complete", Some(id), None)).await;
            }
        }
    }

    async fn on_text(&mut self, text: &str) -> Flow {
        let Ok(msg) = serde_json::from_str::<Value>(text) else {
            return self.invalid();
        };
        let Some(ty) = msg.get("type").and_then(Value::as_str) else {
            return self.invalid();
        };
        match (self.protocol, ty) {
            (_, "connection_init") => self.on_init(msg.get("payload")).await,
            (Protocol::Transport, "ping") => {
                self.send(message("pong", None, None)).await;
                Flow::Continue
            }
            (Protocol::Transport, "pong") => Flow::Continue,
            (Protocol::Transport, "subscribe") | (Protocol::Legacy, "start") => self.on_subscribe(&msg).await,
            (Protocol::Transport, "complete") | (Protocol::Legacy, "stop") => {
                let Some(id) = msg.get("id").and_then(Value::as_str) else {
                    return self.invalid();
                };
                if let Some((_, handle)) = self.ops.remove(id) {
                    handle.abort();
                    if self.protocol == Protocol::Legacy {
                        self.send(message("complete", Some(id), None)).await;
                    }
                }
                Flow::Continue
            }
            (Protocol::Legacy, "connection_terminate") => Flow::Close(close::NORMAL, "terminated".into()),
            _ => self.invalid(),
        }
    }

    async fn on_init(&mut self, payload: Option<&Value>) -> Flow {
        if self.init_seen {
            return match self.protocol {
                Protocol::Legacy => Flow::Continue,
                _ => Flow::Close(close::TOO_MANY_INIT, "Too many initialisation requests".into()),
            };
        }
        self.init_seen = true;
        if payload.is_some_and(|p| !p.is_object() && !p.is_null()) {
            return Flow::Close(close::BAD_REQUEST, "Invalid connection_init payload".into());
        }
        let token = protocol::token(payload);
        let Some(actor) = gql::authenticate(&self.state.app, token.as_deref()) else {
            if self.protocol == Protocol::Legacy {
                self.send(message("connection_error", None, Some(json!({ "message": "Forbidden" })))).await;
            }
            return Flow::Close(close::FORBIDDEN, "Forbidden".into());
        };
        self.user = actor.0.as_ref().ok().and_then(|a| a.user_id().ok());
        self.actor = Some(actor);
        self.send(message("connection_ack", None, None)).await;
        if let Some(user) = self.user
            && let Err(e) = presence::connected(&self.state.app, user).await
        {
            tracing::warn!(error = %e, "presence connect failed");
        }
        if self.protocol == Protocol::Legacy {
            self.send(message("ka", None, None)).await;
        }
        Flow::Continue
    }

    /// Sends an `error` for `id` (graphql-transport-ws: an array of errors; legacy: the same).
    async fn error(&self, id: &str, errors: &[async_graphql::ServerError]) {
        self.state.metrics.errors(errors);
        let payload = serde_json::to_value(errors).unwrap_or_else(|_| json!([{ "message": "internal error" }]));
        self.send(message("error", Some(id), Some(payload))).await;
    }

    async fn on_subscribe(&mut self, msg: &Value) -> Flow {
        let Some(id) = msg.get("id").and_then(Value::as_str).filter(|id| !id.is_empty()) else {
            return self.invalid();
        };
        let Some(payload) = msg.get("payload").filter(|p| p.get("query").is_some_and(Value::is_string)) else {
            return self.invalid();
        };
        let Ok(request) = serde_json::from_value::<async_graphql::Request>(payload.clone()) else {
            return self.invalid();
        };
        let Some(actor) = self.actor.clone() else {
            if self.protocol == Protocol::Legacy {
                let err = transport_error(codes::UNAUTHENTICATED, "send connection_init first");
                self.error(id, &[err]).await;
                return Flow::Continue;
            }
            return Flow::Close(close::UNAUTHORIZED, "Unauthorized".into());
        };
        if let Some((_, handle)) = self.ops.get(id) {
            if self.protocol == Protocol::Transport {
                return Flow::Close(close::SUBSCRIBER_EXISTS, format!("Subscriber for {id} already exists"));
            }
            handle.abort(); // the legacy protocol replaces an operation started again under its id
            self.ops.remove(id);
        }
        if self.ops.len() >= self.state.ws.max_operations {
            let err = transport_error(codes::RATE_LIMITED, "too many operations running on this connection");
            self.error(id, &[err]).await;
            return Flow::Continue;
        }
        if let Err(budget) = self.state.ops.check(&self.state.app, &self.ip, &actor, 1).await {
            let retry = budget.retry_after_s.unwrap_or(1);
            let mut err = transport_error(codes::RATE_LIMITED, format!("too many operations: retry in {retry}s"));
            err.extensions.get_or_insert_with(Default::default).set("retryAfter", retry);
            self.error(id, &[err]).await;
            return Flow::Continue;
        }
        let request = match gql::prepare(request, &self.state.limits, false, &self.state.app, actor, &self.ip) {
            Ok(request) => request,
            Err(refusal) => {
                self.error(id, &refusal.errors).await;
                return Flow::Continue;
            }
        };
        self.generation += 1;
        let handle = tokio::spawn(run_operation(
            self.state.schema.clone(),
            request,
            id.to_owned(),
            self.generation,
            self.protocol,
            self.out.clone(),
            self.done.clone(),
        ));
        self.ops.insert(id.to_owned(), (self.generation, handle.abort_handle()));
        Flow::Continue
    }
}

/// Streams one operation's results. A first result without data is an `error` (validation, or the
/// subscription refused at start); later ones are `next`/`data`. The main loop sends `complete`.
async fn run_operation(
    schema: stoa_schema::StoaSchema,
    request: async_graphql::Request,
    id: String,
    generation: u64,
    protocol: Protocol,
    out: mpsc::Sender<Message>,
    done: mpsc::UnboundedSender<Done>,
) {
    let next = if protocol == Protocol::Legacy { "data" } else { "next" };
    let mut stream = schema.execute_stream(request);
    let mut first = true;
    while let Some(mut response) = stream.next().await {
        classify_errors(&mut response.errors);
        if first && response.data == async_graphql::Value::Null && !response.errors.is_empty() {
            let payload = serde_json::to_value(&response.errors).unwrap_or_else(|_| json!([]));
            let _ = out.send(message("error", Some(&id), Some(payload))).await;
            let _ = done.send((id, generation, protocol == Protocol::Legacy));
            return;
        }
        first = false;
        // Serialised straight to text: the hot path of fan-out builds no intermediate JSON tree.
        let payload = serde_json::to_string(&response).unwrap_or_else(|_| {
            r#"{"errors":[{"message":"internal error","extensions":{"code":"INTERNAL"}}]}"#.to_owned()
        });
        let frame = format!(r#"{{"id":{},"type":"{next}","payload":{payload}}}"#, json!(id));
        if out.send(Message::Text(frame.into())).await.is_err() {
            return;
        }
    }
    let _ = done.send((id, generation, true));
}
