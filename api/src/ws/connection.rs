//! One WebSocket connection: the init handshake, the protocol's messages dispatched by type,
//! operations by id, keep-alive and close codes. Frames go out through [`Writer`]; each operation is
//! a stream built in [`super::operation`].
//!
//! A connection is one task. Its operations are streams polled by that task (no task, channel or
//! writer task per operation): an idle subscription costs a few hundred bytes beside the socket's
//! own buffers, and a delivery wakes one task.
//!
//! The task never waits for the peer while operations are mid-flight. Frames go to an outbox that
//! the loop writes out as the socket accepts them, beside reading and running operations; an
//! operation that has produced a frame is parked (not polled) until that frame is in the socket,
//! so a result in the middle of a transaction is never held up by a slow reader, and a slow
//! reader costs at most one frame per operation. While the outbox is long the loop stops reading
//! (TCP pushes back on the peer); a peer that takes nothing for 3x keep-alive is dropped.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use axum::extract::ws::{Message, WebSocket};
use futures::stream::BoxStream;
use futures::{SinkExt as _, StreamExt as _};
use serde_json::{Value, json};
use stoa_domain::chat::presence;
use stoa_schema::RequestActor;
use stoa_schema::error::{ErrorCode, transport_error};
use tokio_stream::StreamMap;

use crate::gql;
use crate::state::AppState;
use crate::ws::operation::{OpItem, error_frame, start};
use crate::ws::protocol::{self, Protocol, close, message};
use crate::ws::writer::Writer;

/// What the main loop does after a message.
enum Flow {
    Continue,
    Close(u16, String),
    /// The peer is gone (a write failed or timed out): nothing more can be sent.
    Gone,
}

/// Frames waiting in the outbox, beside one per parked operation, beyond which the loop stops
/// reading from the peer (what it reads only adds answers it is not taking).
const READ_PAUSE: usize = 64;

/// Who is on the other end, for the audit log: the client address and user agent of the upgrade.
pub struct Client {
    pub address: String,
    pub user_agent: Option<String>,
}

struct Conn {
    state: AppState,
    ip: String,
    /// Until `connection_init` attaches it to the actor.
    client: Option<Client>,
    protocol: Protocol,
    writer: Writer,
    /// Running operations by id; removing one cancels it.
    ops: StreamMap<String, BoxStream<'static, OpItem>>,
    /// Operations whose last frame is still in the outbox.
    parked: HashMap<String, BoxStream<'static, OpItem>>,
    /// When the peer counts as gone if the socket takes nothing more.
    write_deadline: Option<tokio::time::Instant>,
    init_seen: bool,
    actor: Option<RequestActor>,
    /// The signed-in user, counted in presence while the socket lives.
    user: Option<stoa_domain::ids::UserId>,
    /// How long the socket may take nothing while frames wait before the peer counts as gone.
    write_timeout: Duration,
    /// When the access token of `connection_init` expires: the socket closes with 4403 then.
    expires_at: Option<tokio::time::Instant>,
    /// This socket's place among its session's sockets: woken when the session is revoked.
    session: Option<crate::sessions::Registration>,
}

/// Serves `socket` until either side closes.
pub async fn serve(socket: WebSocket, state: AppState, ip: String, client: Client, protocol: Protocol) {
    let (sink, mut stream) = socket.split();
    let ws = state.ws.clone();
    let mut conn = Conn {
        state,
        ip,
        client: Some(client),
        protocol,
        writer: Writer::new(sink),
        ops: StreamMap::new(),
        parked: HashMap::new(),
        write_deadline: None,
        init_seen: false,
        actor: None,
        user: None,
        write_timeout: ws.keepalive * 3,
        expires_at: None,
        session: None,
    };
    if protocol == Protocol::Unsupported {
        conn.send(protocol::close_frame(close::SUBPROTOCOL_NOT_ACCEPTABLE, "Subprotocol not acceptable"));
        conn.drain().await;
        let _ = conn.writer.sink.close().await;
        return;
    }
    conn.state.metrics.socket_opened();
    let now = tokio::time::Instant::now();
    let mut deadlines =
        Deadlines { init: now + ws.init_timeout, keepalive: now + ws.keepalive, period: ws.keepalive, armed: None };
    let timer = tokio::time::sleep_until(now + ws.init_timeout.min(ws.keepalive));
    tokio::pin!(timer);
    let mut last_seen = Instant::now();
    let mut revocation = None;
    let flow = loop {
        let due = conn.earliest(&deadlines);
        if deadlines.armed.is_none_or(|armed| due < armed) {
            timer.as_mut().reset(due);
            deadlines.armed = Some(due);
        }
        let flow = tokio::select! {
            () = &mut timer => {
                deadlines.armed = None; // set again next turn
                match conn.due(&mut deadlines, tokio::time::Instant::now()) {
                    Due::KeepAlive if last_seen.elapsed() > ws.keepalive * 3 => {
                        tracing::debug!("websocket peer silent; closing");
                        break Flow::Close(close::GOING_AWAY, "keep-alive timeout".into());
                    }
                    Due::KeepAlive => Box::pin(conn.on_keepalive()).await,
                    Due::Now(flow) => flow,
                }
            }
            written = conn.writer.write_out(), if conn.writer.pending() => {
                if written.is_ok() { Flow::Continue } else { Flow::Gone }
            }
            () = revoked(&mut revocation, conn.session.as_ref()) => Flow::Close(close::FORBIDDEN, "session revoked".into()),
            Some((id, item)) = conn.ops.next() => conn.on_op_item(id, item),
            msg = stream.next(), if conn.writer.outbox.len() < READ_PAUSE + conn.parked.len() => {
                let Some(Ok(msg)) = msg else { break Flow::Gone };
                last_seen = Instant::now();
                match msg {
                    // Handlers run boxed: an idle connection's task holds only what it waits on.
                    Message::Text(text) => Box::pin(conn.on_text(text.as_str())).await,
                    Message::Binary(_) => conn.invalid(),
                    Message::Ping(_) | Message::Pong(_) => Flow::Continue,
                    Message::Close(_) => break Flow::Gone,
                }
            }
        };
        if !matches!(flow, Flow::Continue) {
            break flow;
        }
        conn.after_turn();
    };
    // Boxed: the closing steps' state is not part of every idle socket's task.
    Box::pin(conn.finish(flow)).await;
}

/// The times a socket acts on by itself, behind one timer (with the token's expiry and the write
/// deadline, which live on [`Conn`]).
struct Deadlines {
    /// When a socket without `connection_init` is closed.
    init: tokio::time::Instant,
    /// The next keep-alive.
    keepalive: tokio::time::Instant,
    period: Duration,
    /// What the timer is set to (`None`: to be set). It may ring before the earliest deadline: one
    /// that moved later (the write deadline, every frame) is not set again each time, only when
    /// the timer rings.
    armed: Option<tokio::time::Instant>,
}

/// What the timer found due.
enum Due {
    KeepAlive,
    Now(Flow),
}

/// Resolves when the socket's session is revoked; never without a session. The waiter lives in
/// `slot` across turns, made once the socket has a session: one made afresh each turn would be
/// linked into and out of the session's list on every delivery.
async fn revoked(
    slot: &mut Option<std::pin::Pin<Box<tokio::sync::futures::OwnedNotified>>>,
    session: Option<&crate::sessions::Registration>,
) {
    if slot.is_none() {
        *slot = session.map(|s| Box::pin(std::sync::Arc::clone(&s.revoked).notified_owned()));
    }
    match slot {
        Some(revocation) => revocation.as_mut().await,
        None => std::future::pending().await,
    }
}

impl Conn {
    /// The earliest deadline the socket has now.
    fn earliest(&self, d: &Deadlines) -> tokio::time::Instant {
        let init = (!self.init_seen).then_some(d.init);
        [init, self.expires_at, self.write_deadline].into_iter().flatten().fold(d.keepalive, std::cmp::Ord::min)
    }

    /// What is due at `now`, the timer having rung (perhaps early: then nothing is).
    fn due(&mut self, d: &mut Deadlines, now: tokio::time::Instant) -> Due {
        if !self.init_seen && now >= d.init {
            return Due::Now(Flow::Close(close::INIT_TIMEOUT, "Connection initialisation timeout".into()));
        }
        if self.expires_at.is_some_and(|at| now >= at) {
            // graphql-ws retries 4403 and reads its connectionParams again: a client holding a
            // fresh token reconnects by itself. The legacy protocol gets the same close.
            return Due::Now(Flow::Close(close::FORBIDDEN, "token expired".into()));
        }
        if self.write_deadline.is_some_and(|at| now >= at) {
            tracing::debug!("websocket peer stopped reading; dropping it");
            return Due::Now(Flow::Gone);
        }
        if now >= d.keepalive {
            d.keepalive = now + d.period;
            return Due::KeepAlive;
        }
        Due::Now(Flow::Continue)
    }

    /// Ends the connection: its operations, presence, the close frame for `flow`, the socket.
    async fn finish(mut self, flow: Flow) {
        self.ops.clear();
        self.parked.clear();
        if let Some(user) = self.user
            && let Err(e) = presence::disconnected(&self.state.app, user).await
        {
            tracing::warn!(error = %format_args!("{e:#}"), "presence disconnect failed");
        }
        let metrics = std::sync::Arc::clone(&self.state.metrics);
        if let Flow::Close(code, reason) = &flow {
            metrics.close(*code);
            // What was already said goes out first, then the close frame.
            self.send(protocol::close_frame(*code, reason));
            self.drain().await;
        }
        // Also answers a peer's close frame; a peer that stopped reading gets a few seconds at most.
        let _ = tokio::time::timeout(self.write_timeout.min(Duration::from_secs(5)), self.writer.sink.close()).await;
        metrics.socket_closed();
    }

    /// Queues one frame for the peer.
    fn send(&mut self, msg: Message) {
        self.writer.outbox.push_back((msg, None));
    }

    /// Writes out everything queued, for at most `write_timeout` (the connection is ending).
    async fn drain(&mut self) {
        let _ = tokio::time::timeout(self.write_timeout, self.writer.write_out()).await;
    }

    /// Book-keeping between turns of the loop: resumes operations whose frame reached the socket
    /// and moves the deadline by which a stalled peer counts as gone.
    fn after_turn(&mut self) {
        for id in self.writer.sent.drain(..) {
            if let Some(op) = self.parked.remove(&id) {
                self.ops.insert(id, op);
            }
        }
        if !self.writer.pending() {
            self.write_deadline = None;
        } else if self.writer.progressed || self.write_deadline.is_none() {
            self.write_deadline = Some(tokio::time::Instant::now() + self.write_timeout);
        }
        self.writer.progressed = false;
    }

    /// Whether an operation runs (or waits to resume) under `id`.
    fn has_op(&self, id: &str) -> bool {
        self.ops.contains_key(id) || self.parked.contains_key(id)
    }

    /// Stops the operation `id`, dropping its frames not yet written; whether one ran.
    fn stop_op(&mut self, id: &str) -> bool {
        let ran = self.ops.remove(id).is_some() | self.parked.remove(id).is_some();
        if ran {
            self.writer.outbox.retain(|(_, op)| op.as_deref() != Some(id));
        }
        ran
    }

    async fn on_keepalive(&mut self) -> Flow {
        if self.writer.outbox.is_empty() {
            // A burst's queue need not stay allocated on an idle socket.
            self.writer.outbox.shrink_to_fit();
            self.writer.sent.shrink_to_fit();
        }
        self.send(Message::Ping(Vec::new().into()));
        if let Some(user) = self.user
            && let Err(e) = presence::heartbeat(&self.state.app, user).await
        {
            tracing::warn!(error = %format_args!("{e:#}"), "presence heartbeat failed");
        }
        if self.protocol == Protocol::Legacy && self.actor.is_some() {
            self.send(message("ka", None, None));
        }
        Flow::Continue
    }

    fn on_op_item(&mut self, id: String, item: OpItem) -> Flow {
        match item {
            OpItem::Frame(frame) => {
                // Not polled again until this frame is in the socket.
                if let Some(op) = self.ops.remove(&id) {
                    self.parked.insert(id.clone(), op);
                }
                self.writer.outbox.push_back((frame, Some(id)));
            }
            OpItem::End { frame, complete } => {
                self.ops.remove(&id);
                if let Some(frame) = frame {
                    self.send(frame);
                }
                if complete {
                    self.send(message("complete", Some(&id), None));
                }
            }
        }
        Flow::Continue
    }

    /// An unparsable or unknown message: 4400 on graphql-transport-ws; an `error` on the legacy protocol.
    fn invalid(&mut self) -> Flow {
        match self.protocol {
            Protocol::Legacy => {
                let code = ErrorCode::BAD_REQUEST.as_str();
                let payload = json!({ "message": "Invalid message received", "extensions": { "code": code } });
                self.send(message("error", None, Some(payload)));
                Flow::Continue
            }
            _ => Flow::Close(close::BAD_REQUEST, "Invalid message received".into()),
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
                self.send(message("pong", None, None));
                Flow::Continue
            }
            (Protocol::Transport, "pong") => Flow::Continue,
            (Protocol::Transport, "subscribe") | (Protocol::Legacy, "start") => self.on_subscribe(&msg),
            (Protocol::Transport, "complete") | (Protocol::Legacy, "stop") => {
                let Some(id) = msg.get("id").and_then(Value::as_str) else {
                    return self.invalid();
                };
                if self.stop_op(id) && self.protocol == Protocol::Legacy {
                    self.send(message("complete", Some(id), None));
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
        let Some(caller) = gql::authenticate(&self.state.app, token.as_deref()).await else {
            if self.protocol == Protocol::Legacy {
                let payload =
                    json!({ "message": "Forbidden", "extensions": { "code": ErrorCode::UNAUTHENTICATED.as_str() } });
                self.send(message("connection_error", None, Some(payload)));
            }
            return Flow::Close(close::FORBIDDEN, "Forbidden".into());
        };
        let mut actor = caller.actor;
        if let Some(client) = self.client.take() {
            actor = RequestActor(actor.0.map(|a| a.from_client(&client.address, client.user_agent.as_deref())));
        }
        self.user = actor.0.as_ref().ok().and_then(|a| a.user_id().ok());
        if let Ok(stoa_domain::Actor::User { session, .. }) = &actor.0 {
            self.session = Some(self.state.sockets.register(*session));
        }
        self.expires_at = caller.expires_at.map(|at| {
            let left = (at - chrono::Utc::now()).to_std().unwrap_or_default();
            tokio::time::Instant::now() + left
        });
        self.actor = Some(actor);
        self.send(message("connection_ack", None, None));
        if let Some(user) = self.user
            && let Err(e) = presence::connected(&self.state.app, user).await
        {
            tracing::warn!(error = %format_args!("{e:#}"), "presence connect failed");
        }
        if self.protocol == Protocol::Legacy {
            self.send(message("ka", None, None));
        }
        Flow::Continue
    }

    /// Sends an `error` for `id` (graphql-transport-ws: an array of errors; legacy: the same).
    fn error(&mut self, id: &str, errors: &[async_graphql::ServerError]) {
        self.state.metrics.errors(errors);
        self.send(error_frame(id, errors));
    }

    /// Starts an operation. Everything that waits (the operation budget, which may ask Redis or the
    /// database, and the execution) runs inside the operation's stream, polled beside the others.
    fn on_subscribe(&mut self, msg: &Value) -> Flow {
        let Some(id) = msg.get("id").and_then(Value::as_str).filter(|id| !id.is_empty()) else {
            return self.invalid();
        };
        let Some(payload) = msg.get("payload").filter(|p| p.get("query").is_some_and(Value::is_string)) else {
            return self.invalid();
        };
        // `query` may be "" when the payload names a trusted document by `documentId` or Apollo's
        // `extensions.persistedQuery`.
        let Ok(request) = serde_json::from_value::<crate::gql::Incoming>(payload.clone()) else {
            return self.invalid();
        };
        let Some(actor) = self.actor.clone() else {
            if self.protocol == Protocol::Legacy {
                let err = transport_error(ErrorCode::UNAUTHENTICATED, "send connection_init first");
                self.error(id, &[err]);
                return Flow::Continue;
            }
            return Flow::Close(close::UNAUTHORIZED, "Unauthorized".into());
        };
        if self.has_op(id) {
            if self.protocol == Protocol::Transport {
                return Flow::Close(close::SUBSCRIBER_EXISTS, format!("Subscriber for {id} already exists"));
            }
            self.stop_op(id); // the legacy protocol replaces an operation started again under its id
        }
        if self.ops.len() + self.parked.len() >= self.state.ws.max_operations {
            let err = transport_error(ErrorCode::RATE_LIMITED, "too many operations running on this connection");
            self.error(id, &[err]);
            return Flow::Continue;
        }
        let stream = start(self.state.clone(), self.ip.clone(), actor, request, id.to_owned(), self.protocol);
        self.ops.insert(id.to_owned(), stream);
        Flow::Continue
    }
}
