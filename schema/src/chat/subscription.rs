//! Chat subscriptions. Each checks visibility when it starts; channel streams end when the viewer
//! loses access.

use std::collections::HashMap;
use std::time::Duration;

use async_graphql::{Context, ID, Subscription};
use futures::{Stream, StreamExt as _};
use stoa_domain::chat;
use stoa_domain::events::{Event, Topic};
use stoa_domain::ids::UserId;
use tokio::time::Instant;

use crate::chat::types::{ChannelEvent, Notification, Presence, TypingEvent};
use crate::context::{ContextExt as _, parse_id};
use crate::error::Result;

/// Chat subscriptions.
#[derive(Default)]
pub struct ChatSubscription;

#[Subscription]
impl ChatSubscription {
    /// Messages posted, edited, deleted, reacted to, pinned and unpinned in a channel. With
    /// `after`, first replays every event with a greater `seq` from the database, then streams live
    /// with no gap or duplicate. Ends when the viewer leaves or is removed.
    async fn channel_events(
        &self,
        ctx: &Context<'_>,
        channel_id: ID,
        after: Option<i64>,
    ) -> Result<impl Stream<Item = Result<ChannelEvent>>> {
        let id = parse_id(&channel_id, "channelId")?;
        let stream = chat::channel_events(ctx.app()?, ctx.actor()?, id, after).await?;
        Ok(stream.map(|item| item.map(ChannelEvent).map_err(Into::into)))
    }

    /// Typing starts and stops in a channel the viewer can read. A start not refreshed within ~5 s
    /// is followed by a stop.
    async fn typing(&self, ctx: &Context<'_>, channel_id: ID) -> Result<impl Stream<Item = TypingEvent>> {
        let id = parse_id(&channel_id, "channelId")?;
        let app = ctx.app()?.clone();
        let events = app.bus().subscribe(&Topic::Channel(id));
        chat::channel(&app, ctx.actor()?, id).await?;
        let ticks = tokio_stream::wrappers::IntervalStream::new(tokio::time::interval(Duration::from_millis(500)));
        let merged = futures::stream::select(events.map(Some), ticks.map(|_| None));
        let typing: HashMap<UserId, (String, Instant)> = HashMap::new();
        Ok(merged
            .scan(typing, move |typing, item| {
                let mut out = Vec::new();
                match item {
                    Some(Event::TypingChanged { channel_id, user_id, display_name, typing: on })
                        if channel_id == id =>
                    {
                        let was = typing.contains_key(&user_id);
                        if on {
                            typing.insert(user_id, (display_name.clone(), Instant::now() + chat::TYPING_TTL));
                        } else {
                            typing.remove(&user_id);
                        }
                        if on != was || on {
                            out.push(TypingEvent { user_id: ID(user_id.to_string()), display_name, typing: on });
                        }
                    }
                    Some(_) => {}
                    None => {
                        let now = Instant::now();
                        let expired: Vec<UserId> =
                            typing.iter().filter(|(_, (_, until))| *until <= now).map(|(u, _)| *u).collect();
                        for user in expired {
                            if let Some((name, _)) = typing.remove(&user) {
                                out.push(TypingEvent {
                                    user_id: ID(user.to_string()),
                                    display_name: name,
                                    typing: false,
                                });
                            }
                        }
                    }
                }
                futures::future::ready(Some(futures::stream::iter(out)))
            })
            .flatten())
    }

    /// Presence changes (online, away, offline, custom status) in a workspace the viewer belongs to.
    async fn presence_changed(&self, ctx: &Context<'_>, workspace_id: ID) -> Result<impl Stream<Item = Presence>> {
        let workspace = parse_id(&workspace_id, "workspaceId")?;
        let app = ctx.app()?.clone();
        let events = app.bus().subscribe(&Topic::Workspace(workspace));
        let me = ctx.actor()?.user_id()?;
        stoa_domain::workspaces::workspace(&app, ctx.actor()?, workspace).await?;
        Ok(events
            .take_while(move |e| {
                futures::future::ready(!matches!(e, Event::MemberRemoved { user_id, .. } if *user_id == me))
            })
            .filter_map(|e| {
                futures::future::ready(match e {
                    Event::PresenceChanged { user_id, status, status_text, status_emoji, .. } => Some(Presence {
                        user_id: ID(user_id.to_string()),
                        status: status.into(),
                        status_text,
                        status_emoji,
                    }),
                    _ => None,
                })
            }))
    }

    /// The viewer's new notifications (mentions, direct messages).
    #[expect(clippy::unused_async, reason = "async-graphql subscription resolvers are async")]
    async fn notification_received(&self, ctx: &Context<'_>) -> Result<impl Stream<Item = Notification>> {
        let me = ctx.actor()?.user_id()?;
        let events = ctx.app()?.bus().subscribe(&Topic::User(me));
        Ok(events.filter_map(|e| {
            futures::future::ready(match e {
                Event::NotificationCreated(n) => Some(Notification(n)),
                _ => None,
            })
        }))
    }
}
