//! The socket's sending half and its outbox. Frames queue here and go out as the socket accepts
//! them, beside reading and running operations, so a slow reader never holds up an operation
//! mid-flight; each frame remembers the operation to resume once it is in the socket.

use std::collections::VecDeque;
use std::task::Poll;

use axum::extract::ws::{Message, WebSocket};
use futures::Sink as _;
use futures::stream::SplitSink;

/// The socket's sending half and what waits to go through it.
pub(super) struct Writer {
    pub(super) sink: SplitSink<WebSocket, Message>,
    /// Frames on their way to the socket, each with the operation to resume once it is written.
    pub(super) outbox: VecDeque<(Message, Option<String>)>,
    /// Operations whose frame reached the socket since the loop last resumed them.
    pub(super) sent: Vec<String>,
    /// Frames were handed to the socket and not yet flushed.
    pub(super) unflushed: bool,
    /// The socket took something since the loop last looked.
    pub(super) progressed: bool,
}

impl Writer {
    /// An empty outbox in front of `sink`.
    pub(super) fn new(sink: SplitSink<WebSocket, Message>) -> Self {
        Self { sink, outbox: VecDeque::new(), sent: Vec::new(), unflushed: false, progressed: false }
    }

    /// Whether frames wait to be handed to the socket or flushed.
    pub(super) fn pending(&self) -> bool {
        !self.outbox.is_empty() || self.unflushed
    }

    /// Hands queued frames to the socket while it accepts them, then flushes. Ready once everything
    /// queued is flushed, or on a write error. Cancel-safe: a frame leaves the outbox only when the
    /// socket has taken it.
    pub(super) fn write_out(&mut self) -> impl Future<Output = Result<(), axum::Error>> + '_ {
        futures::future::poll_fn(move |cx| {
            while !self.outbox.is_empty() {
                match std::pin::Pin::new(&mut self.sink).poll_ready(cx) {
                    Poll::Ready(Ok(())) => {}
                    Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                    Poll::Pending => return Poll::Pending,
                }
                let Some((frame, op)) = self.outbox.pop_front() else { break };
                if let Err(e) = std::pin::Pin::new(&mut self.sink).start_send(frame) {
                    return Poll::Ready(Err(e));
                }
                self.unflushed = true;
                self.progressed = true;
                self.sent.extend(op);
            }
            match std::pin::Pin::new(&mut self.sink).poll_flush(cx) {
                Poll::Ready(Ok(())) => {
                    self.unflushed = false;
                    self.progressed = true;
                    Poll::Ready(Ok(()))
                }
                Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
                Poll::Pending => Poll::Pending,
            }
        })
    }
}
