//! One operation on a socket as a stream of frames: the budget check, the pre-scan and
//! preparation, then async-graphql's response stream turned into `next`/`data`, `error` and
//! `complete` frames. The connection polls these streams; nothing here touches the socket.

use std::sync::Arc;

use async_graphql::Value as GqlValue;
use axum::extract::ws::Message;
use futures::StreamExt as _;
use futures::stream::BoxStream;
use serde_json::json;
use stoa_schema::RequestActor;
use stoa_schema::error::{INTERNAL_RESPONSE, internal_errors};
use stoa_schema::fanout::{EventTap, RenderOne};
use stoa_schema::limits::classify_errors;

use crate::gql;
use crate::state::AppState;
use crate::ws::groups::Group;
use crate::ws::protocol::{Protocol, message};

/// What an operation's stream yields to the connection.
pub(super) enum OpItem {
    /// A `next`/`data` frame.
    Frame(Message),
    /// The operation is over: an optional last frame (an `error`), then `complete` when set.
    End { frame: Option<Message>, complete: bool },
}

/// An operation from its budget check to its last result.
pub(super) fn start(
    state: AppState,
    ip: String,
    actor: RequestActor,
    incoming: gql::Incoming,
    id: String,
    protocol: Protocol,
) -> BoxStream<'static, OpItem> {
    let refuse = move |state: &AppState, id: &str, errors: &[async_graphql::ServerError]| {
        state.metrics.errors(errors);
        let end = OpItem::End { frame: Some(error_frame(id, errors)), complete: protocol == Protocol::Legacy };
        futures::stream::once(futures::future::ready(end)).boxed()
    };
    // Boxed: the start's state (the request, the budget check) is freed once the operation runs.
    futures::stream::once(Box::pin(async move {
        if let Err(refused) = state.ops.check(&state.app, &ip, &actor, 1).await {
            return refuse(&state, &id, &[refused.error()]);
        }
        let admitted = match gql::admit(&state.docs, &state.limits, &state.app, &actor, incoming).await {
            Ok(admitted) => admitted,
            Err(refusal) => return refuse(&state, &id, &refusal.errors),
        };
        let (docs, limits) = if admitted.operator {
            (&state.operator_docs, &state.operator_limits)
        } else {
            (&state.docs, &state.limits)
        };
        let request = admitted.request;
        let variables = request.variables.clone();
        let viewer = actor.0.as_ref().ok().and_then(|a| a.user_id().ok());
        let member = actor.clone();
        match gql::check(request, docs, limits, false, actor, &ip) {
            Ok(mut request) => {
                if let Some(group) = state.groups.group_for(&mut request, &variables, viewer) {
                    grouped(state, request, group, member, ip, &id, protocol)
                } else {
                    let request = stoa_schema::with_loaders(request, &state.app, viewer);
                    operation(&state.schema, request, &id, protocol)
                }
            }
            Err(refusal) => refuse(&state, &id, &refusal.errors),
        }
    }))
    .flatten()
    .boxed()
}

/// An `error` message for `id` carrying `errors`.
pub(super) fn error_frame(id: &str, errors: &[async_graphql::ServerError]) -> Message {
    message("error", Some(id), Some(errors_payload(serde_json::to_value(errors))))
}

/// Serialised errors, or the coded `INTERNAL` list when serialising failed.
fn errors_payload(serialised: serde_json::Result<serde_json::Value>) -> serde_json::Value {
    serialised.unwrap_or_else(|e| {
        tracing::error!(error = %e, "serialising an error frame failed");
        internal_errors()
    })
}

/// One operation's results as frames. A first result without data is an `error` (validation, or
/// the subscription refused at start) and ends the operation; later ones are `next`/`data`.
fn operation(
    schema: &stoa_schema::StoaSchema,
    request: async_graphql::Request,
    id: &str,
    protocol: Protocol,
) -> BoxStream<'static, OpItem> {
    // The frame's head is built once per operation, not once per result.
    let head = result_head(id, protocol);
    let state = Op { responses: schema.execute_stream(request), first: true, head, id: id.to_owned() };
    futures::stream::unfold(Some(state), move |state| async move {
        let mut op = state?;
        let Some(mut response) = op.responses.next().await else {
            return Some((OpItem::End { frame: None, complete: true }, None));
        };
        classify_errors(&mut response.errors);
        if op.first && response.data == GqlValue::Null && !response.errors.is_empty() {
            let frame = error_frame(&op.id, &response.errors);
            return Some((OpItem::End { frame: Some(frame), complete: protocol == Protocol::Legacy }, None));
        }
        op.first = false;
        // Serialised straight into the frame: the hot path of fan-out builds no JSON tree.
        let mut buf = Vec::with_capacity(op.head.len() + 128);
        buf.extend_from_slice(op.head.as_bytes());
        if let Err(e) = serde_json::to_writer(&mut buf, &response) {
            tracing::error!(error = %e, "serialising a result frame failed");
            buf.truncate(op.head.len());
            buf.extend_from_slice(INTERNAL_RESPONSE.as_bytes());
        }
        buf.push(b'}');
        let text = String::from_utf8(buf).unwrap_or_default();
        Some((OpItem::Frame(Message::Text(text.into())), Some(op)))
    })
    .boxed()
}

/// `{"id":…,"type":"next","payload":` (`data` on the legacy protocol): what every result frame of
/// operation `id` starts with.
fn result_head(id: &str, protocol: Protocol) -> String {
    let next = if protocol == Protocol::Legacy { "data" } else { "next" };
    format!(r#"{{"id":{},"type":"{next}","payload":"#, json!(id))
}

/// A result frame: `head`, then a serialised response, then the closing brace.
fn result_frame(head: &str, payload: &str) -> OpItem {
    let mut text = String::with_capacity(head.len() + payload.len() + 1);
    text.push_str(head);
    text.push_str(payload);
    text.push('}');
    OpItem::Frame(Message::Text(text.into()))
}

/// A grouped subscription's frames. The executor runs the member's start (validation, the access
/// check); a refusal is answered as in [`operation`]. Once started, the resolver hands over the
/// member's own event stream and the executor's stream is dropped: each event is rendered once for
/// the group and the shared payload is spliced behind this member's id, with no executor, tap or
/// document copy left per member.
fn grouped(
    state: AppState,
    request: async_graphql::Request,
    group: Arc<Group>,
    actor: RequestActor,
    ip: String,
    id: &str,
    protocol: Protocol,
) -> BoxStream<'static, OpItem> {
    let head = result_head(id, protocol);
    let (tap, handed) = EventTap::new();
    let mut start = state.schema.execute_stream(request.data(tap));
    let id = id.to_owned();
    let started = async move {
        tokio::pin!(handed);
        loop {
            tokio::select! {
                biased;
                events = &mut handed => {
                    return Ok(events.ok().map(|events| Box::new(Member { events, group, actor, ip, state, head })));
                }
                response = start.next() => match response {
                    // The start was refused (or failed): as an ungrouped operation answers it.
                    Some(mut response) => {
                        classify_errors(&mut response.errors);
                        if response.errors.is_empty() {
                            continue;
                        }
                        return Err(error_frame(&id, &response.errors));
                    }
                    None => return Ok(None),
                },
            }
        }
    };
    // Boxed: the start's state (the executor's stream) is freed once the member runs.
    futures::stream::once(Box::pin(started))
        .flat_map(move |outcome| match outcome {
            Ok(Some(member)) => member_frames(member),
            Ok(None) => {
                futures::stream::once(futures::future::ready(OpItem::End { frame: None, complete: true })).boxed()
            }
            Err(frame) => {
                let end = OpItem::End { frame: Some(frame), complete: protocol == Protocol::Legacy };
                futures::stream::once(futures::future::ready(end)).boxed()
            }
        })
        .boxed()
}

/// One started member: its own events, its group, and what a render needs.
struct Member {
    events: stoa_schema::fanout::MemberEvents,
    group: Arc<Group>,
    actor: RequestActor,
    ip: String,
    state: AppState,
    /// `{"id":…,"type":"next","payload":`
    head: String,
}

/// Boxed: each frame moves the member through the stream's step, and a pointer moves cheaper.
fn member_frames(member: Box<Member>) -> BoxStream<'static, OpItem> {
    futures::stream::unfold(Some(member), |member| async move {
        let mut m = member?;
        let item = match m.events.next().await {
            Some(Ok(event)) => {
                let (state, actor, ip) = (&m.state, m.actor.clone(), m.ip.as_str());
                // The render is boxed: only the member that renders an event makes it, and an idle
                // member's stream does not carry its state.
                let render = || Box::pin(render(state, &m.group, actor, ip, event.clone()));
                let payload = m.group.payload(&event, render).await;
                result_frame(&m.head, &payload)
            }
            Some(Err(e)) => {
                let mut errors = vec![stoa_schema::fanout::stream_error(e, &m.group.root)];
                classify_errors(&mut errors);
                result_frame(&m.head, &serialised(&async_graphql::Response::from_errors(errors)))
            }
            None => return Some((OpItem::End { frame: None, complete: true }, None)),
        };
        Some((item, Some(m)))
    })
    .boxed()
}

/// Executes the group's operation for one event, as `actor` (the member that needs it first).
async fn render(
    state: &AppState,
    group: &Group,
    actor: RequestActor,
    ip: &str,
    event: stoa_schema::fanout::SharedEvent,
) -> String {
    let viewer = actor.0.as_ref().ok().and_then(|a| a.user_id().ok());
    let mut request = async_graphql::Request::new(group.query.clone()).variables(group.variables.clone());
    if let Some(name) = &group.operation {
        request = request.operation_name(name.clone());
    }
    let mut response = match gql::prepare(request, &state.docs, &state.limits, false, &state.app, actor, ip) {
        Ok(request) => {
            // Loaders for what the event's fields read (a ticket event's actor).
            let request = stoa_schema::with_loaders(request, &state.app, viewer);
            let mut once = state.schema.execute_stream(request.data(RenderOne(event)));
            once.next().await.unwrap_or_else(|| {
                let err = async_graphql::ServerError::new("the render produced no result", None);
                async_graphql::Response::from_errors(vec![err])
            })
        }
        Err(refusal) => async_graphql::Response::from_errors(refusal.errors),
    };
    classify_errors(&mut response.errors);
    serialised(&response)
}

/// A response as JSON, or the coded `INTERNAL` body when it cannot be serialised.
fn serialised(response: &async_graphql::Response) -> String {
    serde_json::to_string(response).unwrap_or_else(|e| {
        tracing::error!(error = %e, "serialising a result failed");
        INTERNAL_RESPONSE.to_owned()
    })
}

/// A running operation's state between results.
struct Op {
    responses: BoxStream<'static, async_graphql::Response>,
    first: bool,
    /// `{"id":…,"type":"next","payload":`
    head: String,
    id: String,
}

#[cfg(test)]
mod tests {
    use super::*;
    use stoa_schema::error::{ErrorCode, transport_error};

    fn payload(frame: &Message) -> serde_json::Value {
        let Message::Text(text) = frame else { panic!("not a text frame") };
        serde_json::from_str::<serde_json::Value>(text.as_str()).unwrap_or_default()["payload"].clone()
    }

    #[test]
    fn an_error_frame_carries_the_codes_of_its_errors() {
        let frame = error_frame("1", &[transport_error(ErrorCode::QUERY_TOO_COMPLEX, "too deep")]);
        assert_eq!(payload(&frame)[0]["extensions"]["code"], "QUERY_TOO_COMPLEX");
    }

    #[test]
    fn errors_that_cannot_be_serialised_fall_back_to_a_coded_internal_error() {
        let Err(broken) = serde_json::from_str::<serde_json::Value>("{") else { panic!("parsed") };
        let fallback = errors_payload(Err(broken));
        assert_eq!(fallback[0]["message"], "internal error");
        assert_eq!(fallback[0]["extensions"]["code"], "INTERNAL");
    }
}
