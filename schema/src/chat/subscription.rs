//! Chat subscriptions. Each checks visibility when it starts; channel streams end when the viewer
//! loses access.

use async_graphql::{Context, ID, Subscription};
use futures::{Stream, StreamExt as _};
use stoa_domain::chat;

use std::sync::Arc;

use crate::chat::types::{ChannelEvent, Notification, Presence, TypingEvent};
use crate::context::{ContextExt as _, parse_id};
use crate::error::Result;
use crate::fanout::{EventTap, RenderOne, closed_tap};

/// Chat subscriptions.
#[derive(Default)]
pub struct ChatSubscription;

#[Subscription]
impl ChatSubscription {
    /// Messages posted, edited, deleted, reacted to, pinned and unpinned in a channel. With
    /// `after`, first replays every event with a greater `seq` from the database (each with its
    /// message as it is now), then streams live with no gap or duplicate. Ends when the viewer
    /// leaves or is removed.
    async fn channel_events(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The channel to follow.")] channel_id: ID,
        #[graphql(desc = "The last `seq` seen: later events are replayed before live ones.")] after: Option<i64>,
    ) -> Result<futures::stream::BoxStream<'static, Result<ChannelEvent>>> {
        if let Some(RenderOne(crate::fanout::SharedEvent::Chat(event))) = ctx.data_opt::<RenderOne>() {
            return Ok(futures::stream::once(futures::future::ready(Ok(ChannelEvent(Arc::clone(event))))).boxed());
        }
        let id = parse_id(&channel_id, "channelId")?;
        let stream = chat::channel_events(ctx.app()?, ctx.actor()?, id, after).await?;
        if let Some(tap) = ctx.data_opt::<EventTap>().and_then(EventTap::take) {
            // Started: the transport takes the stream over and renders its events once per group.
            if tap.send(stream.map(|item| item.map(crate::fanout::SharedEvent::Chat)).boxed()).is_ok() {
                return Ok(futures::stream::pending().boxed());
            }
            return Err(closed_tap());
        }
        Ok(stream.map(|item| item.map(ChannelEvent).map_err(Into::into)).boxed())
    }

    /// Changes to a channel the viewer can read: renamed, new topic or purpose, archived,
    /// unarchived, deleted (the last event; the stream then ends).
    async fn channel_changed(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The channel to watch.")] channel_id: ID,
    ) -> Result<impl Stream<Item = ChannelChanged>> {
        let id = parse_id(&channel_id, "channelId")?;
        let stream = chat::channel_changes(ctx.app()?, ctx.actor()?, id).await?;
        Ok(stream.map(ChannelChanged))
    }

    /// Typing starts and stops in a channel the viewer can read. A start not refreshed within ~5 s
    /// is followed by a stop.
    async fn typing(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The channel to watch.")] channel_id: ID,
    ) -> Result<impl Stream<Item = TypingEvent>> {
        let id = parse_id(&channel_id, "channelId")?;
        let stream = chat::typing_events(ctx.app()?, ctx.actor()?, id).await?;
        Ok(stream.map(TypingEvent::from))
    }

    /// Presence changes (online, away, offline, custom status) in a workspace the viewer belongs to.
    async fn presence_changed(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The workspace to watch, which the viewer must belong to.")] workspace_id: ID,
    ) -> Result<impl Stream<Item = Presence>> {
        let workspace = parse_id(&workspace_id, "workspaceId")?;
        let stream = chat::presence::presence_events(ctx.app()?, ctx.actor()?, workspace).await?;
        Ok(stream.map(Presence::from))
    }

    /// The viewer's new notifications (mentions, direct messages), each delivered only while the
    /// viewer can still read the channel it is about.
    async fn notification_received(&self, ctx: &Context<'_>) -> Result<impl Stream<Item = Notification>> {
        let stream = chat::notification_events(ctx.app()?, ctx.actor()?).await?;
        Ok(stream.map(Notification))
    }
}

/// What happened to a channel.
#[derive(async_graphql::Enum, Copy, Clone, Eq, PartialEq, Debug)]
pub enum ChannelChange {
    /// Renamed, or a new topic or purpose.
    Updated,
    /// Read-only from now on.
    Archived,
    /// Writable again.
    Unarchived,
    /// Deleted with its messages: the last event of the stream.
    Deleted,
}

/// A channel after a change.
pub struct ChannelChanged(pub chat::ChannelChange);

/// A channel after a change.
#[async_graphql::Object]
impl ChannelChanged {
    /// What happened.
    async fn change(&self) -> ChannelChange {
        match self.0.kind {
            chat::ChannelChangeKind::Updated => ChannelChange::Updated,
            chat::ChannelChangeKind::Archived => ChannelChange::Archived,
            chat::ChannelChangeKind::Unarchived => ChannelChange::Unarchived,
            chat::ChannelChangeKind::Deleted => ChannelChange::Deleted,
        }
    }
    /// The channel.
    async fn channel_id(&self) -> ID {
        ID(self.0.channel_id.to_string())
    }
    /// Its name after the change.
    async fn name(&self) -> Option<&str> {
        self.0.name.as_deref()
    }
    /// Its topic after the change.
    async fn topic(&self) -> Option<&str> {
        self.0.topic.as_deref()
    }
    /// Its purpose after the change.
    async fn purpose(&self) -> Option<&str> {
        self.0.purpose.as_deref()
    }
    /// Whether it is archived.
    async fn archived(&self) -> bool {
        self.0.archived
    }
}
