//! Chat queries.

use async_graphql::connection::{Connection, Edge, EmptyFields};
use async_graphql::{Context, ID, Object};
use stoa_domain::chat;

use crate::chat::types::{Channel, Message, Notification, Presence};
use crate::context::{ContextExt as _, parse_id};
use crate::error::Result;
use crate::pagination;

/// Chat queries.
#[derive(Default)]
pub struct ChatQuery;

#[Object]
impl ChatQuery {
    /// Channels of a workspace the viewer can see: every public one and those they belong to,
    /// oldest first, `first` at a time (default 50, at most 100).
    #[graphql(complexity = "pagination::cost(first, 50, child_complexity)")]
    async fn channels(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The workspace whose channels are listed.")] workspace_id: ID,
        #[graphql(desc = "Return at most this many channels (default 50, at most 100).")] first: Option<i32>,
        #[graphql(desc = "Cursor of the last channel of the previous page.")] after: Option<String>,
    ) -> Result<Connection<String, Channel, EmptyFields, EmptyFields>> {
        let workspace = parse_id(&workspace_id, "workspaceId")?;
        let page = pagination::page(first, after)?;
        let result = chat::channels(ctx.app()?, ctx.actor()?, workspace, page).await?;
        let mut c = Connection::new(page.after.is_some(), result.has_next_page);
        c.edges.extend(result.items.into_iter().map(|ch| Edge::new(ch.id.to_string(), Channel(ch))));
        Ok(c)
    }

    /// One channel. `NOT_FOUND` unless the viewer may read it.
    async fn channel(&self, ctx: &Context<'_>, #[graphql(desc = "The channel's ID.")] id: ID) -> Result<Channel> {
        Ok(Channel(chat::channel(ctx.app()?, ctx.actor()?, parse_id(&id, "id")?).await?))
    }

    /// One message. `NOT_FOUND` unless the viewer may read its channel.
    async fn message(&self, ctx: &Context<'_>, #[graphql(desc = "The message's ID.")] id: ID) -> Result<Message> {
        Ok(Message::loaded(chat::message(ctx.app()?, ctx.actor()?, parse_id(&id, "id")?).await?))
    }

    /// Full-text search over messages of the channels the viewer can read in a workspace, newest
    /// first. Every word must match.
    #[graphql(complexity = "pagination::cost(first, 20, child_complexity)")]
    async fn search_messages(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The workspace whose readable channels are searched.")] workspace_id: ID,
        #[graphql(desc = "Words that must all match: at most 500 bytes, of which only the first 16 words count.")]
        query: String,
        #[graphql(desc = "Return at most this many messages (default 20, at most 100).")] first: Option<i32>,
        #[graphql(desc = "Cursor of the last message of the previous page.")] after: Option<String>,
    ) -> Result<Connection<String, Message, EmptyFields, EmptyFields>> {
        let workspace = parse_id(&workspace_id, "workspaceId")?;
        let page = pagination::page(first, after)?;
        let hits =
            chat::search(ctx.app()?, ctx.actor()?, workspace, &query, page.first, page.after.map(Into::into)).await?;
        let mut c = Connection::new(page.after.is_some(), hits.has_next_page);
        c.edges.extend(hits.items.into_iter().map(|m| Edge::new(m.id.to_string(), Message::loaded(m))));
        Ok(c)
    }

    /// The viewer's notifications, newest first.
    #[graphql(complexity = "pagination::cost(first, 50, child_complexity)")]
    async fn notifications(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Return at most this many notifications (default 50, at most 100).")] first: Option<i32>,
        #[graphql(desc = "Cursor of the last notification of the previous page.")] after: Option<String>,
        #[graphql(default = false, desc = "Return only the notifications not yet read.")] unread_only: bool,
    ) -> Result<Connection<String, Notification, EmptyFields, EmptyFields>> {
        let page = pagination::page(first, after)?;
        let result = chat::notifications(ctx.app()?, ctx.actor()?, page, unread_only).await?;
        let mut c = Connection::new(page.after.is_some(), result.has_next_page);
        c.edges.extend(result.items.into_iter().map(|n| Edge::new(n.id.to_string(), Notification(n))));
        Ok(c)
    }

    /// How many of the viewer's notifications are unread.
    async fn unread_notification_count(&self, ctx: &Context<'_>) -> Result<u64> {
        Ok(chat::unread_notification_count(ctx.app()?, ctx.actor()?).await?)
    }

    /// Presence and custom status of every member of a workspace.
    #[graphql(complexity = "10 * child_complexity")]
    async fn presence(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The workspace whose members are listed.")] workspace_id: ID,
    ) -> Result<Vec<Presence>> {
        let workspace = parse_id(&workspace_id, "workspaceId")?;
        let list = chat::presence::workspace_presence(ctx.app()?, ctx.actor()?, workspace).await?;
        Ok(list.into_iter().map(Presence::from).collect())
    }
}
