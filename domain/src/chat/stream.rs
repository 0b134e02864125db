//! The resumable channel stream: replay from `channel_events` after a sequence number, then live
//! events from the bus, with no gap and no duplicate. A live event that skips numbers (a lost
//! pub/sub message, or commits published out of order) is filled in from the database. Replayed
//! and filled-in events carry their message as it is when read (current text, or a tombstone);
//! live ones the snapshot published at their commit.
//! The stream ends when the viewer leaves or is removed from the channel or its workspace: at the
//! removal's event, before any replay or gap-fill, and at a periodic re-check (for a lost event).

use std::collections::VecDeque;
use std::sync::Arc;

use futures::StreamExt as _;
use futures::stream::BoxStream;

use crate::actor::Actor;
use crate::app::AppCtx;
use crate::chat::model::ChatEvent;
use crate::chat::store;
use crate::error::{DomainError, Result};
use crate::events::{Event, Topic};
use crate::ids::ChannelId;
use crate::recheck::{channel_access, while_allowed};

/// Events fetched from the database per round trip while replaying.
const REPLAY_BATCH: u64 = 200;

struct State {
    app: AppCtx,
    channel: ChannelId,
    /// The highest sequence number delivered so far.
    delivered: i64,
    live: BoxStream<'static, Event>,
    pending: VecDeque<Arc<ChatEvent>>,
    /// Whether the database may hold events newer than `delivered` (when resuming, and after a gap).
    behind: bool,
    me: crate::ids::UserId,
    actor: Actor,
    workspace: crate::ids::WorkspaceId,
    done: bool,
}

/// Opens the stream. Authorization is checked after subscribing to the bus, so nothing published
/// between the check and the subscription is missed.
///
/// # Errors
/// `NOT_FOUND` when the actor cannot read the channel.
pub async fn channel_events(
    app: &AppCtx,
    actor: &Actor,
    id: ChannelId,
    after: Option<i64>,
) -> Result<BoxStream<'static, Result<Arc<ChatEvent>>>> {
    let me = actor.user_id()?;
    let channel_events = app.bus().subscribe(&Topic::Channel(id));
    let user_events = app.bus().subscribe(&Topic::User(me));
    app.bus().subscribed(&Topic::Channel(id)).await;
    let access = store::readable(app.db(), actor, id).await?;
    let delivered = after.unwrap_or(access.channel.last_seq).max(0);
    let state = State {
        app: app.clone(),
        channel: id,
        delivered,
        live: futures::stream::select(channel_events, user_events).boxed(),
        pending: VecDeque::new(),
        // Resuming reads the database first. A fresh stream starts at the `last_seq` read after the
        // bus subscription, so everything newer arrives live: no query until a gap shows.
        behind: after.is_some(),
        me,
        actor: actor.clone(),
        workspace: access.workspace(),
        done: false,
    };
    // Boxed: each item moves the state through `next`, and a pointer moves cheaper than the state.
    let stream = futures::stream::unfold(Box::new(state), next).boxed();
    Ok(while_allowed(stream, app.chat().stream_recheck, channel_access(app, actor, id)))
}

/// What a catch-up from the database did.
enum CatchUp {
    /// Events were queued, or none were missing.
    Read,
    /// The viewer may no longer read the channel.
    Ended,
    Failed(DomainError),
}

async fn catch_up(s: &mut State) -> CatchUp {
    // Replay and gap-fill read the log on the viewer's behalf: access is asked again first, so a
    // stream whose removal event was lost ends here instead of reading on.
    match store::readable(s.app.db(), &s.actor, s.channel).await {
        Ok(_) => {}
        Err(e @ (DomainError::Internal(_) | DomainError::Unavailable { .. })) => return CatchUp::Failed(e),
        Err(_) => return CatchUp::Ended,
    }
    match store::events_after(s.app.db(), s.channel, s.delivered, REPLAY_BATCH).await {
        Ok(events) => {
            s.behind = events.len() as u64 == REPLAY_BATCH;
            s.pending.extend(events);
            CatchUp::Read
        }
        Err(e) => CatchUp::Failed(e),
    }
}

async fn next(mut s: Box<State>) -> Option<(Result<Arc<ChatEvent>>, Box<State>)> {
    loop {
        if s.done {
            return None;
        }
        if let Some(event) = s.pending.pop_front() {
            s.delivered = event.seq;
            return Some((Ok(event), s));
        }
        // Catch up from the database only when we may be behind (start, or after a gap); live
        // events in order cost no query. Boxed: an idle stream's state holds none of the reads'.
        if s.behind {
            match Box::pin(catch_up(&mut s)).await {
                CatchUp::Read => continue,
                CatchUp::Ended => return None,
                CatchUp::Failed(e) => {
                    s.done = true;
                    return Some((Err(e), s));
                }
            }
        }
        loop {
            let event = s.live.next().await?;
            match event {
                Event::Chat(event) if event.channel_id == s.channel => {
                    if event.seq <= s.delivered {
                        continue; // already replayed
                    }
                    if event.seq == s.delivered + 1 {
                        s.pending.push_back(event);
                    } else {
                        s.behind = true; // a gap: filled from the database, this event included
                    }
                    break;
                }
                Event::Resync => {
                    s.behind = true; // the bus may have dropped events: read the log
                    break;
                }
                Event::ChannelMemberRemoved { channel_id, user_id } if channel_id == s.channel && user_id == s.me => {
                    return None;
                }
                Event::MemberRemoved { workspace_id, user_id } if workspace_id == s.workspace && user_id == s.me => {
                    return None;
                }
                _ => {}
            }
        }
    }
}
