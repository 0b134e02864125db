//! Streams that end when access ends even if the event announcing it never arrives: every
//! subscription re-asks its access rule on a timer (`ChatSettings::stream_recheck`, ≤ 30 s by
//! default), beside the bus events that end it at once.

use std::time::Duration;

use futures::StreamExt as _;
use futures::future::BoxFuture;
use futures::stream::BoxStream;

use crate::actor::Actor;
use crate::app::AppCtx;
use crate::error::{DomainError, Result};
use crate::ids::{ChannelId, WorkspaceId};

/// What decides whether a stream's viewer may still hear it.
pub(crate) type AccessCheck = Box<dyn Fn() -> BoxFuture<'static, Result<()>> + Send + Sync>;

/// `stream`, ended once `check` refuses (`NOT_FOUND`, `FORBIDDEN`, `UNAUTHENTICATED`), asked every
/// `every`. A check that fails for another reason (the database is down) is logged and the stream
/// goes on: an outage must not end every subscription at once, and the next tick asks again.
pub(crate) fn while_allowed<T: Send + 'static>(
    stream: BoxStream<'static, T>,
    every: Duration,
    check: AccessCheck,
) -> BoxStream<'static, T> {
    WhileAllowed {
        source: Some(stream),
        timer: Box::pin(tokio::time::sleep(every)),
        armed_for: None,
        every,
        check,
        asking: None,
    }
    .boxed()
}

/// The stream behind [`while_allowed`], written out by hand: it sits on every live subscription,
/// so a delivery costs one clock read here, no allocation and no timer poll.
struct WhileAllowed<T> {
    /// `None` once ended.
    source: Option<BoxStream<'static, T>>,
    /// When the next check is due.
    timer: std::pin::Pin<Box<tokio::time::Sleep>>,
    /// The waker the timer was last polled with: the timer is polled again only for another one
    /// (or after a reset), not on every wake.
    armed_for: Option<std::task::Waker>,
    every: Duration,
    check: AccessCheck,
    /// A check running; events wait behind it, as the verdict may end the stream.
    asking: Option<BoxFuture<'static, Result<()>>>,
}

impl<T> futures::Stream for WhileAllowed<T> {
    type Item = T;

    fn poll_next(self: std::pin::Pin<&mut Self>, cx: &mut std::task::Context<'_>) -> std::task::Poll<Option<T>> {
        use std::task::Poll;
        let this = self.get_mut();
        loop {
            if let Some(asking) = &mut this.asking {
                match asking.as_mut().poll(cx) {
                    Poll::Pending => return Poll::Pending,
                    Poll::Ready(Err(e)) if refuses(&e) => {
                        this.source = None;
                        this.asking = None;
                    }
                    Poll::Ready(verdict) => {
                        if let Err(e) = verdict {
                            tracing::warn!(error = %format!("{e:#}"), "stream access re-check failed; keeping the stream");
                        }
                        this.asking = None;
                        this.timer.as_mut().reset(tokio::time::Instant::now() + this.every);
                        this.armed_for = None;
                    }
                }
            }
            let Some(source) = &mut this.source else { return Poll::Ready(None) };
            // Due checks go first, so a busy stream cannot put its re-check off.
            if tokio::time::Instant::now() >= this.timer.deadline() {
                this.asking = Some((this.check)());
                continue;
            }
            match source.poll_next_unpin(cx) {
                Poll::Ready(None) => {
                    this.source = None;
                    return Poll::Ready(None);
                }
                Poll::Ready(Some(item)) => return Poll::Ready(Some(item)),
                Poll::Pending => {}
            }
            if this.armed_for.as_ref().is_some_and(|w| w.will_wake(cx.waker())) {
                return Poll::Pending;
            }
            this.armed_for = Some(cx.waker().clone());
            if this.timer.as_mut().poll(cx).is_pending() {
                return Poll::Pending;
            }
        }
    }
}

/// Access to read channel `id`, asked again on each call.
pub(crate) fn channel_access(app: &AppCtx, actor: &Actor, id: ChannelId) -> AccessCheck {
    let (app, actor) = (app.clone(), actor.clone());
    Box::new(move || {
        let (app, actor) = (app.clone(), actor.clone());
        Box::pin(async move { crate::chat::store::readable(app.db(), &actor, id).await.map(|_| ()) })
    })
}

/// Membership of `workspace`, asked again on each call.
pub(crate) fn workspace_access(app: &AppCtx, actor: &Actor, workspace: WorkspaceId) -> AccessCheck {
    let (app, actor) = (app.clone(), actor.clone());
    Box::new(move || {
        let (app, actor) = (app.clone(), actor.clone());
        Box::pin(async move { crate::workspaces::workspace(&app, &actor, workspace).await.map(|_| ()) })
    })
}

fn refuses(e: &DomainError) -> bool {
    matches!(e, DomainError::NotFound(_) | DomainError::Forbidden { .. } | DomainError::Unauthenticated(_))
}
