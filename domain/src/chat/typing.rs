//! Typing indicators: ephemeral, published on the channel topic without touching the database
//! beyond the visibility check, and the stream that turns those signals into starts and stops.

use std::collections::HashMap;
use std::time::Duration;

use futures::StreamExt as _;
use futures::stream::BoxStream;
use tokio::time::Instant;

use crate::actor::Actor;
use crate::app::AppCtx;
use crate::chat::store;
use crate::error::Result;
use crate::events::{Event, Topic};
use crate::identity;
use crate::ids::{ChannelId, UserId};
use crate::recheck::{channel_access, while_allowed};

/// How long a "typing" lasts without a refresh.
pub const TYPING_TTL: Duration = Duration::from_secs(5);

/// How often the stream looks for starts that ran out.
const EXPIRY_TICK: Duration = Duration::from_millis(500);

/// Someone started or stopped typing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TypingChange {
    pub user_id: UserId,
    pub display_name: String,
    /// True while typing; false when they stopped or [`TYPING_TTL`] passed without a refresh.
    pub typing: bool,
}

/// Announces that the actor started (`true`) or stopped typing in a channel they belong to.
///
/// # Errors
/// `NOT_FOUND`, `FORBIDDEN` (not a member, or archived).
pub async fn set_typing(app: &AppCtx, actor: &Actor, id: ChannelId, typing: bool) -> Result<()> {
    let access = store::readable(app.db(), actor, id).await?;
    access.require_writable()?;
    let me = identity::me(app, actor).await?;
    app.signal(Event::TypingChanged { channel_id: id, user_id: me.id, display_name: me.display_name, typing }).await;
    Ok(())
}

/// Typing starts and stops in a channel the actor can read. Every refresh of a start is passed on
/// (clients keep their own timers); a start not refreshed within [`TYPING_TTL`] is followed by a
/// stop. Authorization is checked after subscribing, so nothing between the two is missed; the
/// stream ends when the actor is removed from the channel or its workspace, or at the next
/// periodic re-check once they cannot read it any more.
///
/// # Errors
/// `NOT_FOUND` when the actor cannot read the channel.
pub async fn typing_events(app: &AppCtx, actor: &Actor, id: ChannelId) -> Result<BoxStream<'static, TypingChange>> {
    let me = actor.user_id()?;
    let events =
        futures::stream::select(app.bus().subscribe(&Topic::Channel(id)), app.bus().subscribe(&Topic::User(me)));
    let workspace = store::readable(app.db(), actor, id).await?.workspace();
    let events = events.take_while(move |event| {
        let removed = match event {
            Event::ChannelMemberRemoved { channel_id, user_id } => *channel_id == id && *user_id == me,
            Event::MemberRemoved { workspace_id, user_id } => *workspace_id == workspace && *user_id == me,
            _ => false,
        };
        futures::future::ready(!removed)
    });
    let ticks = tokio_stream::wrappers::IntervalStream::new(tokio::time::interval(EXPIRY_TICK));
    let source = events.map(Input::Event).chain(futures::stream::once(futures::future::ready(Input::End)));
    let merged = futures::stream::select(source, ticks.map(|_| Input::Tick));
    let stream = merged
        .scan(Typing::default(), move |typing, item| {
            let out = match item {
                Input::Event(event) => typing.on_event(id, event, Instant::now()),
                Input::Tick => typing.expire(Instant::now()),
                Input::End => return futures::future::ready(None),
            };
            futures::future::ready(Some(futures::stream::iter(out)))
        })
        .flatten()
        .boxed();
    Ok(while_allowed(stream, app.chat().stream_recheck, channel_access(app, actor, id)))
}

/// What the typing stream reacts to.
enum Input {
    Event(Event),
    /// Time to look for starts that ran out.
    Tick,
    /// The viewer lost access: the stream ends.
    End,
}

/// Who is typing in one channel, and until when.
#[derive(Default)]
struct Typing {
    until: HashMap<UserId, (String, Instant)>,
}

impl Typing {
    fn on_event(&mut self, channel: ChannelId, event: Event, now: Instant) -> Vec<TypingChange> {
        let Event::TypingChanged { channel_id, user_id, display_name, typing } = event else {
            return Vec::new();
        };
        if channel_id != channel {
            return Vec::new();
        }
        let was = self.until.contains_key(&user_id);
        if typing {
            self.until.insert(user_id, (display_name.clone(), now + TYPING_TTL));
        } else {
            self.until.remove(&user_id);
        }
        if typing || was { vec![TypingChange { user_id, display_name, typing }] } else { Vec::new() }
    }

    fn expire(&mut self, now: Instant) -> Vec<TypingChange> {
        let expired: Vec<UserId> = self.until.iter().filter(|(_, (_, t))| *t <= now).map(|(u, _)| *u).collect();
        expired
            .into_iter()
            .filter_map(|user| {
                let (display_name, _) = self.until.remove(&user)?;
                Some(TypingChange { user_id: user, display_name, typing: false })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn signal(channel: ChannelId, user: UserId, typing: bool) -> Event {
        Event::TypingChanged { channel_id: channel, user_id: user, display_name: "Ann".into(), typing }
    }

    #[test]
    fn a_start_runs_out_after_the_ttl_and_a_stop_without_a_start_says_nothing() {
        let (channel, ann) = (ChannelId::new(), UserId::new());
        let mut t = Typing::default();
        let t0 = Instant::now();
        assert!(t.on_event(channel, signal(channel, ann, false), t0).is_empty());
        assert_eq!(t.on_event(channel, signal(channel, ann, true), t0).len(), 1);
        assert!(t.expire(t0 + TYPING_TTL / 2).is_empty());
        let stopped = t.expire(t0 + TYPING_TTL);
        assert_eq!(stopped, vec![TypingChange { user_id: ann, display_name: "Ann".into(), typing: false }]);
        assert!(t.expire(t0 + TYPING_TTL * 2).is_empty());
    }

    #[test]
    fn another_channels_signals_are_ignored() {
        let (channel, other, ann) = (ChannelId::new(), ChannelId::new(), UserId::new());
        let mut t = Typing::default();
        assert!(t.on_event(channel, signal(other, ann, true), Instant::now()).is_empty());
        assert!(t.until.is_empty());
    }
}
