//! Chat queries.

use async_graphql::connection::{Connection, Edge, EmptyFields};
use async_graphql::{Context, ID, Object};
use stoa_domain::chat;
use stoa_domain::pagination::PageRequest;

use crate::chat::types::{Channel, Message, Notification, Presence};
use crate::context::{ContextExt as _, parse_id};
use crate::error::{GqlError, Result};

/// Chat queries.
#[derive(Default)]
pub struct ChatQuery;

fn cursor(after: Option<String>) -> Result<Option<uuid::Uuid>> {
    after.map(|c| uuid::Uuid::parse_str(&c).map_err(|_| GqlError::invalid("after", "not a valid cursor"))).transpose()
}

fn count(first: Option<i32>) -> Option<u64> {
    first.map(|f| u64::try_from(f.max(1)).unwrap_or(1))
}

#[Object]
impl ChatQuery {
    /// Channels of a workspace the viewer can see: every public one and those they belong to.
    #[graphql(complexity = "10 * child_complexity")]
    async fn channels(&self, ctx: &Context<'_>, workspace_id: ID) -> Result<Vec<Channel>> {
        let workspace = parse_id(&workspace_id, "workspaceId")?;
        Ok(chat::channels(ctx.app()?, ctx.actor()?, workspace).await?.into_iter().map(Channel).collect())
    }

    /// One channel. `NOT_FOUND` unless the viewer may read it.
    async fn channel(&self, ctx: &Context<'_>, id: ID) -> Result<Channel> {
        Ok(Channel(chat::channel(ctx.app()?, ctx.actor()?, parse_id(&id, "id")?).await?))
    }

    /// One message. `NOT_FOUND` unless the viewer may read its channel.
    async fn message(&self, ctx: &Context<'_>, id: ID) -> Result<Message> {
        Ok(Message::loaded(chat::message(ctx.app()?, ctx.actor()?, parse_id(&id, "id")?).await?))
    }

    /// Full-text search over messages of the channels the viewer can read in a workspace, newest
    /// first. Every word must match.
    #[graphql(complexity = "first.unwrap_or(20).clamp(0, 100) as usize * child_complexity")]
    async fn search_messages(
        &self,
        ctx: &Context<'_>,
        workspace_id: ID,
        query: String,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<Connection<String, Message, EmptyFields, EmptyFields>> {
        let workspace = parse_id(&workspace_id, "workspaceId")?;
        let after_id = cursor(after)?;
        let page =
            chat::search(ctx.app()?, ctx.actor()?, workspace, &query, count(first), after_id.map(Into::into)).await?;
        let mut c = Connection::new(after_id.is_some(), page.has_next_page);
        c.edges.extend(page.items.into_iter().map(|m| Edge::new(m.id.to_string(), Message::loaded(m))));
        Ok(c)
    }

    /// The viewer's notifications, newest first.
    #[graphql(complexity = "first.unwrap_or(50).clamp(0, 100) as usize * child_complexity")]
    async fn notifications(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        #[graphql(default = false)] unread_only: bool,
    ) -> Result<Connection<String, Notification, EmptyFields, EmptyFields>> {
        let page = PageRequest { first: count(first), after: cursor(after)? };
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
    async fn presence(&self, ctx: &Context<'_>, workspace_id: ID) -> Result<Vec<Presence>> {
        let workspace = parse_id(&workspace_id, "workspaceId")?;
        let list = chat::presence::workspace_presence(ctx.app()?, ctx.actor()?, workspace).await?;
        Ok(list.into_iter().map(Presence::from).collect())
    }
}
