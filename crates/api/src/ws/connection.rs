//! One WebSocket connection: the init handshake, operations by id, keep-alive and close codes.
//!
//! A connection is one task. Its operations are streams polled by that task (no task, channel or
//! writer task per operation), and frames are written straight to the socket: an idle
//! subscription costs a few hundred bytes beside the socket's own buffers, and a delivery wakes
//! one task.

use std::time::{Duration, Instant};

use axum::extract::ws::{Message, WebSocket};
use futures::stream::{BoxStream, SplitSink};
use futures::{SinkExt as _, StreamExt as _};
use serde_json::{Value, json};
use stoa_schema::RequestActor;
use stoa_schema::error::{codes, transport_error};
use stoa_schema::limits::classify_errors;
use tokio_stream::StreamMap;

use stoa_domain::chat::presence;

use crate::gql;
use crate::server::AppState;
use crate::ws::protocol::{self, Protocol, close, message};

/// What an operation's stream yields to the connection.
enum OpItem {
    /// A `next`/`data` frame.
    Frame(Message),
    /// The operation is over: an optional last frame (an `error`), then `complete` when set.
    End { frame: Option<Message>, complete: bool },
}

/// What the main loop does after a message.
enum Flow {
    Continue,
    Close(u16, String),
    /// The peer is gone (a write failed or timed out): nothing more can be sent.
    Gone,
}

struct Conn {
    state: AppState,
    ip: String,
    protocol: Protocol,
    sink: SplitSink<WebSocket, Message>,
    /// Running operations by id; removing one cancels it.
    ops: StreamMap<String, BoxStream<'static, OpItem>>,
    init_seen: bool,
    actor: Option<RequestActor>,
    /// The signed-in user, counted in presence while the socket lives.
    user: Option<stoa_domain::ids::UserId>,
    /// How long one frame may take to reach the peer's socket before the peer counts as gone.
    write_timeout: Duration,
    /// A write failed: the peer is gone.
    gone: bool,
}

/// Serves `socket` until either side closes.
pub async fn serve(socket: WebSocket, state: AppState, ip: String, protocol: Protocol) {
    let (sink, mut stream) = socket.split();
    let ws = state.ws.clone();
    let mut conn = Conn {
        state,
        ip,
        protocol,
        sink,
        ops: StreamMap::new(),
        init_seen: false,
        actor: None,
        user: None,
        write_timeout: ws.keepalive * 3,
        gone: false,
    };
    if protocol == Protocol::Unsupported {
        conn.write(protocol::close_frame(close::SUBPROTOCOL_NOT_ACCEPTABLE, "Subprotocol not acceptable")).await;
        let _ = conn.sink.close().await;
        return;
    }
    conn.state.metrics.socket_opened();
    let metrics = std::sync::Arc::clone(&conn.state.metrics);
    let init_deadline = tokio::time::sleep(ws.init_timeout);
    tokio::pin!(init_deadline);
    let mut keepalive = tokio::time::interval_at(tokio::time::Instant::now() + ws.keepalive, ws.keepalive);
    let mut last_seen = Instant::now();
    let flow = loop {
        let flow = tokio::select! {
            () = &mut init_deadline, if !conn.init_seen => {
                Flow::Close(close::INIT_TIMEOUT, "Connection initialisation timeout".into())
            }
            _ = keepalive.tick() => {
                if last_seen.elapsed() > ws.keepalive * 3 {
                    tracing::debug!("websocket peer silent; closing");
                    break Flow::Close(close::GOING_AWAY, "keep-alive timeout".into());
                }
                Box::pin(conn.on_keepalive()).await
            }
            Some((id, item)) = conn.ops.next() => conn.on_op_item(id, item).await,
            msg = stream.next() => {
                let Some(Ok(msg)) = msg else { break Flow::Gone };
                last_seen = Instant::now();
                match msg {
                    // Handlers run boxed: an idle connection's task holds only what it waits on.
                    Message::Text(text) => Box::pin(conn.on_text(text.as_str())).await,
                    Message::Binary(_) => Box::pin(conn.invalid()).await,
                    Message::Ping(_) | Message::Pong(_) => Flow::Continue,
                    Message::Close(_) => break Flow::Gone,
                }
            }
        };
        // A failed write leaves nothing to say to the peer, whatever the handler decided.
        if conn.gone {
            break Flow::Gone;
        }
        if !matches!(flow, Flow::Continue) {
            break flow;
        }
    };
    conn.ops.clear();
    if let Some(user) = conn.user
        && let Err(e) = presence::disconnected(&conn.state.app, user).await
    {
        tracing::warn!(error = %e, "presence disconnect failed");
    }
    if let Flow::Close(code, reason) = flow {
        metrics.close(code);
        conn.write(protocol::close_frame(code, &reason)).await;
    }
    let _ = tokio::time::timeout(conn.write_timeout, conn.sink.close()).await;
    metrics.socket_closed();
}

impl Conn {
    /// Writes one frame; a failure or a peer that stops reading for `write_timeout` marks it gone.
    async fn write(&mut self, msg: Message) {
        if self.gone {
            return;
        }
        // A frame that fits the socket buffer is written at once; only a stalled peer arms a timer.
        let writing = self.sink.send(msg);
        tokio::pin!(writing);
        let ok = match futures::poll!(&mut writing) {
            std::task::Poll::Ready(result) => result.is_ok(),
            std::task::Poll::Pending => matches!(tokio::time::timeout(self.write_timeout, writing).await, Ok(Ok(()))),
        };
        self.gone = !ok;
    }

    async fn on_keepalive(&mut self) -> Flow {
        self.write(Message::Ping(Vec::new().into())).await;
        if let Some(user) = self.user
            && let Err(e) = presence::heartbeat(&self.state.app, user).await
        {
            tracing::warn!(error = %e, "presence heartbeat failed");
        }
        if self.protocol == Protocol::Legacy && self.actor.is_some() {
            self.write(message("ka", None, None)).await;
        }
        Flow::Continue
    }

    async fn on_op_item(&mut self, id: String, item: OpItem) -> Flow {
        match item {
            OpItem::Frame(frame) => self.write(frame).await,
            OpItem::End { frame, complete } => {
                self.ops.remove(&id);
                if let Some(frame) = frame {
                    self.write(frame).await;
                }
                if complete {
                    self.write(message("complete", Some(&id), None)).await;
                }
            }
        }
        Flow::Continue
    }

    /// An unparsable or unknown message: 4400 on graphql-transport-ws; an `error` on the legacy protocol.
    async fn invalid(&mut self) -> Flow {
        match self.protocol {
            Protocol::Legacy => {
                self.write(message("error", None, Some(json!({ "message": "Invalid message received" })))).await;
                Flow::Continue
            }
            _ => Flow::Close(close::BAD_REQUEST, "Invalid message received".into()),
        }
    }

    async fn on_text(&mut self, text: &str) -> Flow {
        let Ok(msg) = serde_json::from_str::<Value>(text) else {
            return self.invalid().await;
        };
        let Some(ty) = msg.get("type").and_then(Value::as_str) else {
            return self.invalid().await;
        };
        match (self.protocol, ty) {
            (_, "connection_init") => self.on_init(msg.get("payload")).await,
            (Protocol::Transport, "ping") => {
                self.write(message("pong", None, None)).await;
                Flow::Continue
            }
            (Protocol::Transport, "pong") => Flow::Continue,
            (Protocol::Transport, "subscribe") | (Protocol::Legacy, "start") => self.on_subscribe(&msg).await,
            (Protocol::Transport, "complete") | (Protocol::Legacy, "stop") => {
                let Some(id) = msg.get("id").and_then(Value::as_str) else {
                    return self.invalid().await;
                };
                if self.ops.remove(id).is_some() && self.protocol == Protocol::Legacy {
                    self.write(message("complete", Some(id), None)).await;
                }
                Flow::Continue
            }
            (Protocol::Legacy, "connection_terminate") => Flow::Close(close::NORMAL, "terminated".into()),
            _ => self.invalid().await,
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
                self.write(message("connection_error", None, Some(json!({ "message": "Forbidden" })))).await;
            }
            return Flow::Close(close::FORBIDDEN, "Forbidden".into());
        };
        self.user = actor.0.as_ref().ok().and_then(|a| a.user_id().ok());
        self.actor = Some(actor);
        self.write(message("connection_ack", None, None)).await;
        if let Some(user) = self.user
            && let Err(e) = presence::connected(&self.state.app, user).await
        {
            tracing::warn!(error = %e, "presence connect failed");
        }
        if self.protocol == Protocol::Legacy {
            self.write(message("ka", None, None)).await;
        }
        Flow::Continue
    }

    /// Sends an `error` for `id` (graphql-transport-ws: an array of errors; legacy: the same).
    async fn error(&mut self, id: &str, errors: &[async_graphql::ServerError]) {
        self.state.metrics.errors(errors);
        self.write(error_frame(id, errors)).await;
    }

    async fn on_subscribe(&mut self, msg: &Value) -> Flow {
        let Some(id) = msg.get("id").and_then(Value::as_str).filter(|id| !id.is_empty()) else {
            return self.invalid().await;
        };
        let Some(payload) = msg.get("payload").filter(|p| p.get("query").is_some_and(Value::is_string)) else {
            return self.invalid().await;
        };
        let Ok(request) = serde_json::from_value::<async_graphql::Request>(payload.clone()) else {
            return self.invalid().await;
        };
        let Some(actor) = self.actor.clone() else {
            if self.protocol == Protocol::Legacy {
                let err = transport_error(codes::UNAUTHENTICATED, "send connection_init first");
                self.error(id, &[err]).await;
                return Flow::Continue;
            }
            return Flow::Close(close::UNAUTHORIZED, "Unauthorized".into());
        };
        if self.ops.contains_key(id) {
            if self.protocol == Protocol::Transport {
                return Flow::Close(close::SUBSCRIBER_EXISTS, format!("Subscriber for {id} already exists"));
            }
            self.ops.remove(id); // the legacy protocol replaces an operation started again under its id
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
        let request = match gql::prepare(
            request,
            &self.state.docs,
            &self.state.limits,
            false,
            &self.state.app,
            actor,
            &self.ip,
        ) {
            Ok(request) => request,
            Err(refusal) => {
                self.error(id, &refusal.errors).await;
                return Flow::Continue;
            }
        };
        let stream = operation(&self.state.schema, request, id, self.protocol);
        self.ops.insert(id.to_owned(), stream);
        Flow::Continue
    }
}

/// An `error` message for `id` carrying `errors`.
fn error_frame(id: &str, errors: &[async_graphql::ServerError]) -> Message {
    let payload = serde_json::to_value(errors).unwrap_or_else(|_| json!([{ "message": "internal error" }]));
    message("error", Some(id), Some(payload))
}

/// One operation's results as frames. A first result without data is an `error` (validation, or
/// the subscription refused at start) and ends the operation; later ones are `next`/`data`.
fn operation(
    schema: &stoa_schema::StoaSchema,
    request: async_graphql::Request,
    id: &str,
    protocol: Protocol,
) -> BoxStream<'static, OpItem> {
    let next = if protocol == Protocol::Legacy { "data" } else { "next" };
    // The frame's head is built once per operation, not once per result.
    let head = format!(r#"{{"id":{},"type":"{next}","payload":"#, json!(id));
    let state = Op { responses: schema.execute_stream(request), first: true, head, id: id.to_owned() };
    futures::stream::unfold(Some(state), move |state| async move {
        let mut op = state?;
        let Some(mut response) = op.responses.next().await else {
            return Some((OpItem::End { frame: None, complete: true }, None));
        };
        classify_errors(&mut response.errors);
        if op.first && response.data == async_graphql::Value::Null && !response.errors.is_empty() {
            let frame = error_frame(&op.id, &response.errors);
            return Some((OpItem::End { frame: Some(frame), complete: protocol == Protocol::Legacy }, None));
        }
        op.first = false;
        // Serialised straight into the frame: the hot path of fan-out builds no JSON tree.
        let mut buf = Vec::with_capacity(op.head.len() + 128);
        buf.extend_from_slice(op.head.as_bytes());
        if serde_json::to_writer(&mut buf, &response).is_err() {
            buf.truncate(op.head.len());
            buf.extend_from_slice(br#"{"errors":[{"message":"internal error","extensions":{"code":"INTERNAL"}}]}"#);
        }
        buf.push(b'}');
        let text = String::from_utf8(buf).unwrap_or_default();
        Some((OpItem::Frame(Message::Text(text.into())), Some(op)))
    })
    .boxed()
}

/// A running operation's state between results.
struct Op {
    responses: BoxStream<'static, async_graphql::Response>,
    first: bool,
    /// `{"id":…,"type":"next","payload":`
    head: String,
    id: String,
}
