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

enum Item<T> {
    Event(T),
    Tick,
    /// The source stream ended.
    End,
}

/// `stream`, ended once `check` refuses (`NOT_FOUND`, `FORBIDDEN`, `UNAUTHENTICATED`), asked every
/// `every`. A check that fails for another reason (the database is down) is logged and the stream
/// goes on: an outage must not end every subscription at once, and the next tick asks again.
pub(crate) fn while_allowed<T: Send + 'static>(
    stream: BoxStream<'static, T>,
    every: Duration,
    check: AccessCheck,
) -> BoxStream<'static, T> {
    let start = tokio::time::Instant::now() + every;
    let ticks = tokio_stream::wrappers::IntervalStream::new(tokio::time::interval_at(start, every));
    let source = stream.map(Item::Event).chain(futures::stream::once(futures::future::ready(Item::End)));
    futures::stream::select(source, ticks.map(|_| Item::Tick))
        .then(move |item| -> BoxFuture<'static, Option<Option<T>>> {
            match item {
                Item::Event(event) => Box::pin(futures::future::ready(Some(Some(event)))),
                Item::End => Box::pin(futures::future::ready(None)),
                Item::Tick => {
                    let asked = check();
                    Box::pin(async move {
                        match asked.await {
                            Ok(()) => Some(None),
                            Err(e) if refuses(&e) => None,
                            Err(e) => {
                                tracing::warn!(error = %format!("{e:#}"), "stream access re-check failed; keeping the stream");
                                Some(None)
                            }
                        }
                    })
                }
            }
        })
        .take_while(|verdict| futures::future::ready(verdict.is_some()))
        .filter_map(|verdict| futures::future::ready(verdict.flatten()))
        .boxed()
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
